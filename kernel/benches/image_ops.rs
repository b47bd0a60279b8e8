//! `cargo bench -p kiln-kernel --bench image_ops`: the image ops of issue 21 with real
//! cost, on a 2000 x 2000 RGBA photo-like image (16 MB) through the public `run` call
//! (raw RGBA in and out, so the op dominates). Throughput is of the input pixels' bytes.
//! `median` at sizes 3, 7 and 15 shows its cost grows with the size, not its square.
//!
//! On the 2-core VM of issue 21 (shared, loaded; RAYON_NUM_THREADS=1), medians of
//! criterion's means: median size=7 186 ms (86 MiB/s; sharp 0.34 with concurrency(1):
//! ~1000 ms), size=3 227 ms, size=15 267 ms; rotate 17 degrees 173 ms (92 MiB/s; sharp,
//! bilinear: ~150 ms); attention crop 33 ms (sharp: ~85 ms); modulate 367 ms.
//! Rotate again on the idle machine, after its opaque filter went to 128-bit vectors:
//! 133 ms (156 ms before); sharp 0.35.5, one thread, on a synthetic 2000x2000 RGBA
//! image: `rotate(17)` (bilinear) 110 ms, `affine` with its bicubic interpolator 181 ms.
//! After the row sums went to integers (`pmaddwd` / `i32x4.dot_i16x8_s`): 30% less than
//! the f32 filter in an A/B of this bench (loaded machine); CPU time of one rotate, on a
//! loaded machine, medians of 7: kiln ~70 ms (`kiln run --engine native`, minus the same
//! run without the rotate), sharp `rotate(17)` with one thread ~101-105 ms.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod inputs;
use inputs::photo;

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("image_ops");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    let square = photo(2000, 2000);
    g.throughput(Throughput::Bytes(square.len() as u64));
    for (name, op) in [
        ("median_size3_2000x2000", "median size=3"),
        ("median_size7_2000x2000", "median size=7"),
        ("median_size15_2000x2000", "median size=15"),
        ("rotate_17_2000x2000", "rotate degrees=17"),
        (
            "attention_2000x2000_to_500x1000",
            "resize width=500 height=1000 fit=cover position=attention",
        ),
        ("modulate_2000x2000", "modulate brightness=1.1 saturation=1.2 hue=30"),
    ] {
        let pipeline = format!("decode format=rgba width=2000 height=2000 | {op} | encode format=rgba");
        g.bench_function(name, |b| {
            b.iter(|| kiln_kernel::run(&pipeline, black_box(&square)).unwrap());
        });
    }
    g.finish();

    // `info` reads headers only: its time must not grow with the pixels.
    let mut g = c.benchmark_group("info");
    let big = photo(4000, 3000);
    let jpeg = kiln_kernel::run("decode format=rgba width=4000 height=3000 | encode format=jpeg", &big)
        .unwrap()
        .data;
    g.throughput(Throughput::Bytes(jpeg.len() as u64));
    g.bench_function("info_jpeg_4000x3000", |b| {
        b.iter(|| kiln_kernel::run("info", black_box(&jpeg)).unwrap());
    });
    g.finish();
}

criterion_group!(image_ops, benches);
criterion_main!(image_ops);
