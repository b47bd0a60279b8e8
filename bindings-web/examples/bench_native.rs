//! The native half of `bench/web/run.sh`: writes the kernel benchmark's inputs (the same
//! generators as `kernel/benches/kernel.rs`) to a folder, so the Node half times the
//! npm package on exactly the same bytes, and times the same tasks on the native kernel
//! with the same method (warm-up, then the median of N runs; inputs in memory, nothing
//! read from disk while timing).
//!
//! `cargo run --release -p kiln-web --example bench_native [--features rayon] -- OUT_DIR [RUNS]`
//!
//! Without `rayon` the native kernel is single-threaded, like wasm: the fair
//! comparison. With it, the native kernel uses every core for image ops.
//! Prints one JSON line per task: `{"task", "pipeline", "input", "median_ms", "runs"}`.

use std::time::Instant;

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

/// The tasks: name, pipeline, input file name.
const TASKS: &[(&str, &str, &str)] = &[
    (
        "jpeg_2725x2225_to_720_lanczos3_q80",
        "resize width=720 filter=lanczos3 | encode format=jpeg quality=80",
        "photo.jpg",
    ),
    (
        "blur_sigma8_2000x2000",
        "decode format=rgba width=2000 height=2000 | blur sigma=8 | encode format=rgba",
        "square.rgba",
    ),
    (
        "grayscale_2000x2000",
        "decode format=rgba width=2000 height=2000 | grayscale | encode format=rgba",
        "square.rgba",
    ),
    ("gzip_l6_16MiB_text", "compress format=gzip level=6", "text.txt"),
    ("gunzip_16MiB_text", "decompress format=gzip", "text.txt.gz"),
    ("csv_50MB_to_json", "parse_csv | to_json", "table.csv"),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "bench/web/out".into()));
    let runs: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(7);
    std::fs::create_dir_all(&dir)?;

    let (w, h) = (2725, 2225);
    let jpeg = kiln_kernel::run(
        &format!("decode format=rgba width={w} height={h} | encode format=jpeg quality=92"),
        &photo(w, h),
    )?
    .data;
    let text = mixed_text(16 << 20);
    let gz = kiln_kernel::run("compress level=6", &text)?.data;
    let inputs = [
        ("photo.jpg", jpeg),
        ("square.rgba", photo(2000, 2000)),
        ("text.txt", text),
        ("text.txt.gz", gz),
        ("table.csv", csv(50_000_000)),
    ];
    for (name, bytes) in &inputs {
        std::fs::write(dir.join(name), bytes)?;
    }
    for (task, pipeline, input) in TASKS {
        let bytes = &inputs.iter().find(|(n, _)| n == input).ok_or("input")?.1;
        let out = kiln_kernel::run(pipeline, bytes)?; // warm-up, and the output size
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let out = kiln_kernel::run(pipeline, std::hint::black_box(bytes))?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(out);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{}",
            serde_json::json!({
                "task": task, "pipeline": pipeline, "input": input, "runs": runs,
                "median_ms": times[runs / 2], "output_bytes": out.data.len(),
                "rayon": cfg!(feature = "rayon"),
            })
        );
    }
    Ok(())
}
