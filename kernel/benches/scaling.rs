//! `cargo bench -p kiln-kernel --bench scaling`: the kernel's per-parameter jobs
//! (`inputs::scaling_tasks`), native. The same jobs in wasmtime:
//! `cargo bench -p kiln-sandbox --bench scaling`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

mod inputs;

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("native");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for t in inputs::scaling_tasks() {
        g.bench_function(&t.name, |b| {
            b.iter(|| kiln_kernel::run(&t.pipeline, black_box(t.input.as_slice())).unwrap());
        });
    }
    g.finish();
}

criterion_group!(scaling, benches);
criterion_main!(scaling);
