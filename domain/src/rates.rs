//! Rate engine: carrier rate cards (zones, 首重/续重, brackets, volumetric weight, rounding,
//! surcharges, insurance) → explained quotes. Money in fen, weight in grams. No IO.
