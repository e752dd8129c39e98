//! PackBench labels: a template (millimetre layout with bound fields) is laid out once and
//! rendered to PDF (printpdf), TSPL, ZPL or a PNG preview. No device IO here.
