//! The Rust half of `bench/compare.sh`: writes the comparison's inputs, then times kiln
//! native and kiln in wasmtime on request, so the Node driver can alternate them with
//! the npm peers in one run.
//!
//! `cargo run --release -p kiln-native --example bench_worker -- DIR`
//!
//! Writes the inputs to `DIR` (generated from fixed seeds, the same bytes on every run),
//! prints `ready`, then reads one JSON job per line:
//! `{"engine": "native" | "wasm", "threads": N, "pipeline": "...", "input": "NAME", "save": "PATH"?}`
//! and answers one line `{"ms": F, "bytes": N}` or `{"error": "..."}`. `ms` covers the
//! `run` call only (inputs are in memory; the wasm engine's time includes the fresh
//! sandboxed instance each job gets, as in `kiln serve`). `save` writes the output, for
//! the driver's checks.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::time::Instant;

use kiln_kernel::Limits;
use kiln_native::Kernel;
use kiln_native::signing::Trust;
use kiln_sandbox::SandboxConfig;

#[path = "../../kernel/benches/inputs/mod.rs"]
mod inputs;

/// The inputs: file name and bytes.
fn inputs() -> Result<Vec<(&'static str, Vec<u8>)>, kiln_kernel::Error> {
    let (w, h) = (2725, 2225);
    let jpeg = kiln_kernel::run(
        &format!("decode format=rgba width={w} height={h} | encode format=jpeg quality=92"),
        inputs::photo(w, h),
    )?
    .data;
    // A real RGBA PNG: the photo with an alpha ramp from opaque (top) to half (bottom).
    let (pw, ph) = (2048u32, 1536u32);
    let mut rgba = inputs::photo(pw, ph);
    for (i, px) in rgba.chunks_exact_mut(4).enumerate() {
        px[3] = 255 - (i as u32 / pw * 128 / ph) as u8;
    }
    let png = kiln_kernel::run(
        &format!("decode format=rgba width={pw} height={ph} | encode format=png"),
        &rgba,
    )?
    .data;
    let text = inputs::mixed_text(16 << 20);
    let gz = kiln_kernel::run("compress level=6", &text)?.data;
    let json = kiln_kernel::run("parse_csv | to_json", inputs::csv(20_000_000))?.data;
    Ok(vec![
        ("photo.jpg", jpeg),
        ("photo.png", png),
        ("square.rgba", inputs::photo(2000, 2000)),
        ("text.txt", text),
        ("text.txt.gz", gz),
        ("table.csv", inputs::csv(50_000_000)),
        ("table.json", json),
    ])
}

fn main() -> anyhow::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/bench-peers".into()));
    std::fs::create_dir_all(&dir)?;
    let files: HashMap<&str, Vec<u8>> = inputs()?.into_iter().collect();
    for (name, bytes) in &files {
        std::fs::write(dir.join(name), bytes)?;
    }
    let wasm = Kernel::wasm(None, &Trust::default(), SandboxConfig::default())?;
    let native = Kernel::Native;
    let pools: HashMap<usize, rayon::ThreadPool> = [1, 2]
        .into_iter()
        .map(|n| Ok((n, rayon::ThreadPoolBuilder::new().num_threads(n).build()?)))
        .collect::<anyhow::Result<_>>()?;
    let limits = Limits::default();
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "ready")?;
    stdout.flush()?;
    for line in std::io::stdin().lock().lines() {
        let job: serde_json::Value = serde_json::from_str(&line?)?;
        let field = |k: &str| job[k].as_str().unwrap_or_default();
        let kernel = if field("engine") == "wasm" { &wasm } else { &native };
        let pool = &pools[&(job["threads"].as_u64().unwrap_or(1) as usize)];
        let input = &files[field("input")];
        let t = Instant::now();
        let result = pool.install(|| kernel.run(field("pipeline"), std::hint::black_box(input), &limits));
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let reply = match result {
            Ok(out) => {
                if let Some(path) = job["save"].as_str() {
                    std::fs::write(path, &out.data)?;
                }
                serde_json::json!({ "ms": ms, "bytes": out.data.len() })
            }
            Err(e) => serde_json::json!({ "error": e.to_string() }),
        };
        writeln!(stdout, "{reply}")?;
        stdout.flush()?;
    }
    Ok(())
}
