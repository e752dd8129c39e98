//! Time per label per format (layout + render) for the shipped templates, and the PDF size.
//! Goals: PDF ≤ 5 ms and ≤ 50 KB with CJK text; TSPL/ZPL ≤ 0.5 ms.
//!
//! Besides the same label over and over (every cache warm), it measures the two cases a bench
//! really sees: `*_new_receiver` renders a label whose receiver, address, order, waybill and
//! weight are new on every iteration (their text lines miss the line cache; fixed captions,
//! carrier and sender hit it), and `*_cold` renders the first label after the font is loaded
//! (no glyph or line cached yet).
//! Run: `cargo bench -p packbench-labels --bench render -- --warm-up-time 1 --measurement-time 3`
//! (`PACKBENCH_CJK_FONT=PATH[#FACE]` measures another CJK font).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use labels::fonts::Face;
use labels::template::{Element, TextMode};
use labels::{FontConfig, Fonts, Format, LabelData, Template};
use std::cell::Cell;
use std::hint::black_box;
use std::path::Path;

/// Label data that differs in every variable field from all earlier calls.
fn new_receiver(n: u64) -> LabelData {
    const NAMES: &[&str] = &["王小明", "李娜", "欧阳晓峰", "陈静", "刘洋", "赵敏"];
    const STREETS: &[&str] = &["张江镇博云路", "龙阳路", "世纪大道", "中山北路", "南京西路"];
    let mut d = LabelData::sample();
    d.receiver.name = format!("{}{}", NAMES[(n % 6) as usize], n % 97);
    d.receiver.phone = format!("139{:08}", n);
    d.receiver.address = format!("{}{}号 {}栋{}室", STREETS[(n % 5) as usize], n, n % 31, n);
    d.order.no = format!("SO2026112{:07}", n);
    d.order.platform_no = format!("37182946{:08}", n);
    d.waybill.no = format!("7310{:010}", n);
    d.weight_g = Some(200 + n % 20_000);
    d.packed_at = format!("2026-11-25 14:{:02}", n % 60);
    d
}

fn fresh_fonts(bytes: &[u8], fonts: &Fonts) -> Fonts {
    Fonts {
        regular: Face::from_bytes(bytes.to_vec(), &fonts.regular.path, fonts.regular.index)
            .unwrap(),
        bold: None,
    }
}

fn bench(c: &mut Criterion) {
    let fonts = match Fonts::load(&FontConfig::default()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    };
    let font_bytes = std::fs::read(&fonts.regular.path).unwrap();
    let one_face = Face::load(&fonts.regular.path, fonts.regular.index)
        .ok()
        .map(|regular| Fonts {
            regular,
            bold: None,
        });
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let data = LabelData::sample();
    for name in ["express-100x150", "express-100x180", "parcel-76x130"] {
        let t = Template::load(&dir.join(format!("{name}.toml"))).unwrap();
        // Warm the font caches (the printpdf parse happens once per process).
        let pdf = labels::render_label(&t, &data, Format::Pdf, Some(&fonts)).unwrap();
        eprintln!("{name}: PDF size {} bytes", pdf.len());
        let tspl = labels::render_label(&t, &data, Format::Tspl, Some(&fonts)).unwrap();
        let zpl = labels::render_label(&t, &data, Format::Zpl, Some(&fonts)).unwrap();
        eprintln!("{name}: TSPL {} bytes, ZPL {} bytes", tspl.len(), zpl.len());
        let mut g = c.benchmark_group(name);
        g.bench_function("layout", |b| {
            b.iter(|| labels::layout(black_box(&t), black_box(&data), Some(&fonts)).unwrap())
        });
        for f in [Format::Pdf, Format::Tspl, Format::Zpl, Format::Png] {
            g.bench_function(f.extension(), |b| {
                b.iter(|| {
                    labels::render_label(black_box(&t), black_box(&data), f, Some(&fonts)).unwrap()
                })
            });
        }
        // Steady state on a real run: new receiver data on every label.
        let n = Cell::new(0u64);
        for f in [Format::Zpl, Format::Pdf] {
            g.bench_function(format!("{}_new_receiver", f.extension()), |b| {
                b.iter_batched(
                    || {
                        n.set(n.get() + 1);
                        new_receiver(n.get())
                    },
                    |d| labels::render_label(black_box(&t), &d, f, Some(&fonts)).unwrap(),
                    BatchSize::SmallInput,
                )
            });
        }
        // The first ZPL label after the font is loaded: every glyph rasterised, every line
        // composed and compressed.
        g.bench_function("zpl_cold", |b| {
            b.iter_batched(
                || fresh_fonts(&font_bytes, &fonts),
                |cold| {
                    labels::render_label(black_box(&t), &data, Format::Zpl, Some(&cold)).unwrap()
                },
                BatchSize::PerIteration,
            )
        });
        // TSPL with every text element in bitmap mode (the printer's GB font not used).
        let mut bitmap = t.clone();
        for el in &mut bitmap.file.elements {
            if let Element::Text { mode, .. } = el {
                *mode = TextMode::Bitmap;
            }
        }
        let out = labels::render_label(&bitmap, &data, Format::Tspl, Some(&fonts)).unwrap();
        eprintln!("{name}: TSPL with bitmap text {} bytes", out.len());
        g.bench_function("tspl_bitmap_new_receiver", |b| {
            b.iter_batched(
                || {
                    n.set(n.get() + 1);
                    new_receiver(n.get())
                },
                |d| {
                    labels::render_label(black_box(&bitmap), &d, Format::Tspl, Some(&fonts))
                        .unwrap()
                },
                BatchSize::SmallInput,
            )
        });
        // One face (bold synthesised by stroking): one font subset in the PDF instead of two.
        if let Some(one) = &one_face {
            let pdf = labels::render_label(&t, &data, Format::Pdf, Some(one)).unwrap();
            eprintln!("{name}: PDF size with one face {} bytes", pdf.len());
            g.bench_function("pdf_one_face", |b| {
                b.iter(|| {
                    labels::render_label(black_box(&t), black_box(&data), Format::Pdf, Some(one))
                        .unwrap()
                })
            });
        }
        // ZPL with a resident CJK font configured (no ^GF bitmaps).
        let mut resident = t.clone();
        resident.file.zpl.cjk_font = Some("E:SIMSUN.TTF".into());
        g.bench_function("zpl_resident_font", |b| {
            b.iter(|| {
                labels::render_label(
                    black_box(&resident),
                    black_box(&data),
                    Format::Zpl,
                    Some(&fonts),
                )
                .unwrap()
            })
        });
        // Thermal formats with resident fonts only (no bitmap text): the common TSPL path.
        g.bench_function("tspl_resident_no_font", |b| {
            b.iter(|| {
                labels::render_label(black_box(&t), black_box(&data), Format::Tspl, None).unwrap()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
