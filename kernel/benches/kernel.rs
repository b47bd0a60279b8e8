//! `cargo bench -p kiln-kernel`: the kernel's own benchmark tasks, native, through the
//! public `run` call. Inputs are generated in memory from fixed seeds before timing;
//! nothing in a timed loop touches a file.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// xorshift32: a fixed-seed generator, so inputs are the same on every run.
struct Rng(u32);
impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
}

/// A photo-like RGB pattern (smooth gradients, edges, a little noise) as RGBA8.
fn photo(w: u32, h: u32) -> Vec<u8> {
    let mut rng = Rng(0x9e37_79b9);
    let mut out = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let n = (rng.next() % 17) as i32 - 8;
            let fx = x as f32 / w as f32;
            let fy = y as f32 / h as f32;
            let ring = (((fx - 0.5).powi(2) + (fy - 0.4).powi(2)).sqrt() * 40.0) as i32 % 2;
            let r = (fx * 200.0) as i32 + ring * 40 + n;
            let g = (fy * 180.0) as i32 + n;
            let b = ((fx + fy) * 110.0) as i32 + n;
            out.extend_from_slice(&[r.clamp(0, 255) as u8, g.clamp(0, 255) as u8, b.clamp(0, 255) as u8, 255]);
        }
    }
    out
}

/// Log-like text with numbers and words: compresses about 4-5x, like real logs.
fn mixed_text(bytes: usize) -> Vec<u8> {
    let words = [
        "GET",
        "POST",
        "/api/v1/items",
        "/static/app.js",
        "user",
        "ok",
        "error",
        "timeout",
        "cache",
        "miss",
        "hit",
        "kiln",
        "resize",
        "gzip",
    ];
    let mut rng = Rng(42);
    let mut out = Vec::with_capacity(bytes + 200);
    while out.len() < bytes {
        let line = format!(
            "2026-11-{:02}T{:02}:{:02}:{:02}Z {} {} status={} bytes={} took={}ms {}\n",
            rng.next() % 28 + 1,
            rng.next() % 24,
            rng.next() % 60,
            rng.next() % 60,
            words[(rng.next() % 4) as usize],
            words[(rng.next() % words.len() as u32) as usize],
            [200, 200, 200, 304, 404, 500][(rng.next() % 6) as usize],
            rng.next() % 100_000,
            rng.next() % 2000,
            words[(rng.next() % words.len() as u32) as usize],
        );
        out.extend_from_slice(line.as_bytes());
    }
    out.truncate(bytes);
    out
}

/// A CSV of about `bytes` bytes: ints, floats, booleans, text, some quoted, some empty.
fn csv(bytes: usize) -> Vec<u8> {
    let mut rng = Rng(7);
    let mut out = b"id,name,city,price,qty,active,note\n".to_vec();
    let cities = ["Oslo", "Lima", "Pune", "Kyiv", "Quito", "Perth"];
    let mut id = 0u64;
    while out.len() < bytes {
        id += 1;
        let note = match rng.next() % 5 {
            0 => String::new(),
            1 => "\"with, comma\"".to_owned(),
            _ => format!("note {}", rng.next() % 1000),
        };
        let line = format!(
            "{id},name{},{},{}.{:02},{},{},{note}\n",
            rng.next() % 100_000,
            cities[(rng.next() % 6) as usize],
            rng.next() % 1000,
            rng.next() % 100,
            rng.next() % 50,
            rng.next().is_multiple_of(2),
        );
        out.extend_from_slice(line.as_bytes());
    }
    out
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("kernel");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));

    // sharp's published task: JPEG 2725x2225 -> 720 wide, lanczos3, quality 80.
    let (w, h) = (2725, 2225);
    let jpeg = kiln_kernel::run(
        &format!("decode format=rgba width={w} height={h} | encode format=jpeg quality=92"),
        &photo(w, h),
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
        })
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
        })
    });
    g.bench_function("grayscale_2000x2000", |b| {
        b.iter(|| {
            kiln_kernel::run(
                "decode format=rgba width=2000 height=2000 | grayscale | encode format=rgba",
                black_box(&square),
            )
            .unwrap()
        })
    });

    let text = mixed_text(16 << 20);
    let gz = kiln_kernel::run("compress level=6", &text).unwrap().data;
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("gzip_l6_16MiB_text", |b| {
        b.iter(|| kiln_kernel::run("compress format=gzip level=6", black_box(&text)).unwrap())
    });
    g.bench_function("gunzip_16MiB_text", |b| {
        b.iter(|| kiln_kernel::run("decompress format=gzip", black_box(&gz)).unwrap())
    });

    let table = csv(50_000_000);
    g.throughput(Throughput::Bytes(table.len() as u64));
    g.bench_function("csv_50MB_to_json", |b| {
        b.iter(|| kiln_kernel::run("parse_csv | to_json", black_box(&table)).unwrap())
    });
    g.finish();
}

criterion_group!(kernel, benches);
criterion_main!(kernel);
