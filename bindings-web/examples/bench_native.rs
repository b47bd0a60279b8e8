//! The native half of `bench/web/run.sh`: writes the kernel benchmark's inputs (the
//! generators of `kernel/benches/inputs/`, shared with the kernel's bench) to a folder, so the Node half times the
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

#[path = "../../kernel/benches/inputs/mod.rs"]
mod inputs;
use inputs::{csv, mixed_text, photo};

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
