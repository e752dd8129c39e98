//! Time per label per format (layout + render) for the shipped express label, and the PDF
//! size. Goals: PDF ≤ 5 ms and ≤ 50 KB with CJK text; TSPL/ZPL ≤ 0.5 ms.
//! Run: `cargo bench -p packbench-labels --bench render -- --warm-up-time 1 --measurement-time 3`
//! (`PACKBENCH_CJK_FONT=PATH[#FACE]` measures another CJK font).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use labels::{FontConfig, Fonts, Format, LabelData, Template};
use std::hint::black_box;
use std::path::Path;

fn bench(c: &mut Criterion) {
    let fonts = match Fonts::load(&FontConfig::default()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    };
    let one_face = labels::fonts::Face::load(&fonts.regular.path, fonts.regular.index)
        .ok()
        .map(|regular| Fonts {
            regular,
            bold: None,
        });
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    let data = LabelData::sample();
    for name in ["express-100x150", "parcel-76x130"] {
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
