//! `cargo bench -p kiln-kernel`: the kernel's own benchmark tasks, native, through the
//! public `run` call. Inputs are generated in memory from fixed seeds before timing;
//! nothing in a timed loop touches a file.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod inputs;
use inputs::{csv, mixed_text, photo};

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("kernel");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));

    // sharp's published task: JPEG 2725x2225 -> 720 wide, lanczos3, quality 80.
    let (w, h) = (2725, 2225);
    let jpeg = kiln_kernel::run(
        &format!("decode format=rgba width={w} height={h} | encode format=jpeg quality=92"),
        photo(w, h),
    )
    .unwrap()
    .data;
    g.throughput(Throughput::Bytes(jpeg.len() as u64));
    g.bench_function("jpeg_2725x2225_to_720_lanczos3_q80", |b| {
        b.iter(|| {
            kiln_kernel::run(
                "resize width=720 filter=lanczos3 | encode format=jpeg quality=80",
                black_box(&jpeg),
            )
            .unwrap()
        });
    });

    let square = photo(2000, 2000);
    g.throughput(Throughput::Bytes(square.len() as u64));
    g.bench_function("blur_sigma8_2000x2000", |b| {
        b.iter(|| {
            kiln_kernel::run(
                "decode format=rgba width=2000 height=2000 | blur sigma=8 | encode format=rgba",
                black_box(&square),
            )
            .unwrap()
        });
    });
    g.bench_function("grayscale_2000x2000", |b| {
        b.iter(|| {
            kiln_kernel::run(
                "decode format=rgba width=2000 height=2000 | grayscale | encode format=rgba",
                black_box(&square),
            )
            .unwrap()
        });
    });

    let text = mixed_text(16 << 20);
    let gz = kiln_kernel::run("compress level=6", &text).unwrap().data;
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("gzip_l6_16MiB_text", |b| {
        b.iter(|| kiln_kernel::run("compress format=gzip level=6", black_box(&text)).unwrap());
    });
    g.bench_function("gunzip_16MiB_text", |b| {
        b.iter(|| kiln_kernel::run("decompress format=gzip", black_box(&gz)).unwrap());
    });
    g.bench_function("stream_gzip_l6_16MiB_text_64KiB_chunks", |b| {
        b.iter(|| streamed("compress format=gzip level=6", black_box(&text)));
    });
    g.bench_function("stream_gunzip_16MiB_text_64KiB_chunks", |b| {
        b.iter(|| streamed("decompress format=gzip", black_box(&gz)));
    });

    let table = csv(50_000_000);
    g.throughput(Throughput::Bytes(table.len() as u64));
    g.bench_function("csv_50MB_to_json", |b| {
        b.iter(|| kiln_kernel::run("parse_csv | to_json", black_box(&table)).unwrap());
    });
    g.bench_function("stream_csv_50MB_to_json_64KiB_chunks", |b| {
        b.iter(|| streamed("parse_csv | to_json", black_box(&table)));
    });
    g.finish();
}

/// `input` through a streaming session in 64 KiB chunks (fflate's and the WHATWG
/// streams' usual size): the output's length.
fn streamed(pipeline: &str, input: &[u8]) -> usize {
    let mut session = kiln_kernel::Session::open(pipeline, &kiln_kernel::Limits::default()).unwrap();
    let mut len = 0;
    for chunk in input.chunks(64 << 10) {
        len += session.push(chunk).unwrap().len();
    }
    len + session.finish().unwrap().data.len()
}

criterion_group!(kernel, benches);
criterion_main!(kernel);
