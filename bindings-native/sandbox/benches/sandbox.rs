//! `cargo bench -p kiln-sandbox --bench sandbox`: what a fresh sandbox costs per job.
//!
//! Times N whole jobs (new Store + instantiate from the pooling allocator + a tiny gzip
//! job + drop) after a warm-up, and prints p50/p99/max, next to the same job on the
//! native kernel for scale. Goal: p50 <= 50 µs.

use std::time::{Duration, Instant};

use kiln_kernel::Limits;
use kiln_sandbox::{EMBEDDED_KERNEL, SandboxConfig, WasmKernel};

fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration, Duration) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99), times[times.len() - 1])
}

fn main() {
    let kernel = WasmKernel::new(EMBEDDED_KERNEL, SandboxConfig::default()).expect("kernel loads");
    let limits = Limits::default();
    let input = b"a tiny job: a few bytes to gzip";
    let n = 20_000;
    for (name, pipeline) in [
        ("tiny gzip", "compress level=6"),
        ("describe-sized json", "json mode=minify"),
    ] {
        let data: &[u8] = if pipeline.starts_with("json") {
            br#"{"a": [1, 2, 3]}"#
        } else {
            input
        };
        for _ in 0..500 {
            kernel.run(pipeline, data, &limits).expect("job runs");
        }
        let mut wasm = Vec::with_capacity(n);
        let mut native = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            kernel.run(pipeline, data, &limits).expect("job runs");
            wasm.push(t.elapsed());
            let t = Instant::now();
            kiln_kernel::run_with_limits(pipeline, data, &limits).expect("job runs");
            native.push(t.elapsed());
        }
        let (p50, p99, max) = percentiles(wasm);
        let (n50, n99, _) = percentiles(native);
        println!(
            "{name:<20} fresh instance per job: p50 {:>6.1} µs  p99 {:>6.1} µs  max {:>7.1} µs | native kernel: p50 {:>5.1} µs  p99 {:>5.1} µs  ({n} jobs)",
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6,
            max.as_secs_f64() * 1e6,
            n50.as_secs_f64() * 1e6,
            n99.as_secs_f64() * 1e6,
        );
    }
}
