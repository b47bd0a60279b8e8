//! `cargo bench -p kiln-sandbox --bench scaling`: the kernel's per-parameter jobs
//! (`kernel/benches/inputs`) in wasmtime, a fresh instance per job as in `kiln serve`;
//! compare with `cargo bench -p kiln-kernel --bench scaling` (native).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kiln_kernel::Limits;
use kiln_sandbox::{EMBEDDED_KERNEL, SandboxConfig, WasmKernel};

#[path = "../../../kernel/benches/inputs/mod.rs"]
mod inputs;

fn benches(c: &mut Criterion) {
    let kernel = WasmKernel::new(EMBEDDED_KERNEL, SandboxConfig::default()).expect("kernel loads");
    let limits = Limits::default();
    let mut g = c.benchmark_group("wasmtime");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for t in inputs::scaling_tasks() {
        g.bench_function(&t.name, |b| {
            b.iter(|| kernel.run(&t.pipeline, black_box(&t.input), &limits).unwrap());
        });
    }
    g.finish();
}

criterion_group!(scaling, benches);
criterion_main!(scaling);
