//! Barcode semantics: AIM symbology identifiers, GS1 element strings, check digits,
//! normalisation for matching (EAN-13 ↔ UPC-A, GTIN-14 from AI 01), courier waybill hints.
//! Pure functions, no IO.
