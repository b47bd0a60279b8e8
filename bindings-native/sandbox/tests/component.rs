//! The embedded kernel component: zero imports, and the sandbox's guarantees.

use std::time::Duration;

use kiln_kernel::{ErrorCode, Limits};
use kiln_sandbox::{EMBEDDED_KERNEL, SandboxConfig, WasmKernel};

fn sandbox(config: SandboxConfig) -> WasmKernel {
    WasmKernel::new(
        EMBEDDED_KERNEL,
        SandboxConfig {
            cache_dir: None,
            ..config
        },
    )
    .expect("kernel loads")
}

#[test]
fn component_imports_nothing() {
    let kernel = sandbox(SandboxConfig::default());
    assert_eq!(
        kernel.imports(),
        Vec::<String>::new(),
        "the kernel must need no WASI and no host function"
    );
}

#[test]
fn every_job_gets_a_fresh_instance_and_the_same_answer() {
    let kernel = sandbox(SandboxConfig::default());
    let first = kernel
        .run("compress level=9", b"hello hello hello", &Limits::default())
        .unwrap();
    for _ in 0..50 {
        let again = kernel
            .run("compress level=9", b"hello hello hello", &Limits::default())
            .unwrap();
        assert_eq!(again.data, first.data);
    }
    let native = kiln_kernel::run("compress level=9", b"hello hello hello").unwrap();
    assert_eq!(first, native);
}

#[test]
fn memory_budget_and_deadline_are_limits_and_the_engine_survives() {
    let kernel = sandbox(SandboxConfig {
        job_memory: 16 << 20,
        job_timeout: Duration::from_millis(150),
        ..SandboxConfig::default()
    });
    let big = vec![0u8; 8 << 20];
    // 8 MiB in, compressed output and working memory past 16 MiB: out of memory.
    let e = kernel
        .run(
            "decode format=rgba width=2048 height=1024 | resize width=4000 | encode format=rgba",
            &big,
            &Limits::default(),
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::TooLarge, "{e}");
    assert!(e.message.contains("memory"), "{e}");
    // A long job hits the CPU deadline.
    let started = std::time::Instant::now();
    // 60 recursive blurs of a 512x512 noisy image: about half a second of work, far past
    // 150 ms (and within a pipeline's 64 steps).
    let noisy: Vec<u8> = (0..512u32 * 512 * 4)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let heavy = format!(
        "decode format=rgba width=512 height=512 | {}encode format=rgba",
        "blur sigma=50 | ".repeat(60)
    );
    let e = kernel.run(&heavy, &noisy, &Limits::default()).unwrap_err();
    assert_eq!(e.code, ErrorCode::TooLarge, "{e}");
    assert!(e.message.contains("CPU time"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The engine is fine: the next job works.
    let ok = kernel.run("compress", b"still here", &Limits::default()).unwrap();
    assert_eq!(kiln_kernel::run("decompress", &ok.data).unwrap().data, b"still here");
}

/// Every hostile input of the corpus (every error case of tests/cases) in a tight sandbox — 64 MiB
/// of memory, 2 s of CPU — gets its own error code, the one the native kernel gives:
/// the caps never turn a clean refusal into a trap, and nothing is `internal`. Then
/// adversarial pipelines that only the caps can stop: each is stopped by its cap.
#[test]
fn hostile_corpus_and_adversarial_pipelines_under_tight_caps() {
    let kernel = sandbox(SandboxConfig {
        job_memory: 64 << 20,
        job_timeout: Duration::from_secs(2),
        max_jobs: 2,
        ..SandboxConfig::default()
    });
    let cases = kiln_case_format::kiln_error_cases();
    for c in &cases {
        let e = kernel
            .run(&c.pipeline, &c.input, &Limits::default())
            .expect_err(&c.name);
        assert_eq!(Some(e.code.as_str()), c.expected_error(), "{}: {e}", c.name);
        // The kernel's own refusal, not a cap (a cap's too_large names the budget).
        let native = kiln_kernel::run(&c.pipeline, &c.input).unwrap_err();
        assert_eq!(e.message, native.message, "{}", c.name);
    }
    // Past the memory cap: 64 Mi px of RGBA is 256 MiB.
    let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/photo.png")).unwrap();
    let e = kernel
        .run(
            "resize width=8192 height=8192 fit=fill | encode format=rgba",
            &png,
            &Limits::default(),
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::TooLarge, "{e}");
    assert!(e.message.contains("memory budget"), "{e}");
    // Past the CPU cap: blur after blur on a 4 Mpx image, far more than 2 s of work.
    let started = std::time::Instant::now();
    let e = kernel
        .run(
            &format!(
                "resize width=2048 height=2048 fit=fill | {}encode format=rgba",
                "blur sigma=30 | ".repeat(60)
            ),
            &png,
            &Limits::default(),
        )
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::TooLarge, "{e}");
    assert!(e.message.contains("CPU time"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(6), "{:?}", started.elapsed());
    eprintln!(
        "sandbox: {} hostile cases, each its own code under 64 MiB / 2 s",
        cases.len()
    );
}

#[test]
fn describe_reports_the_host_limits() {
    let kernel = sandbox(SandboxConfig::default());
    let capped = Limits {
        max_pixels: 1234,
        ..Limits::default()
    };
    let d: serde_json::Value = serde_json::from_str(&kernel.describe(&capped).unwrap()).unwrap();
    assert_eq!(d["limits"]["max_pixels"], 1234);
    assert_eq!(d["version"], kiln_kernel::VERSION);
}

#[test]
fn an_output_at_the_output_limit_crosses_the_boundary() {
    // 8192 x 8192 RGBA is exactly the default 256 MiB output limit (and 64 Mpx); wasmtime's
    // default hostcall fuel (128 MiB) used to refuse it as `internal`.
    let limits = Limits::default();
    let side = 8192u64;
    assert_eq!(side * side * 4, limits.max_output_bytes);
    let png = kiln_kernel::run(
        "decode format=rgba width=1 height=1 | encode format=png",
        &[9, 8, 7, 255],
    )
    .unwrap()
    .data;
    let pipeline = format!("resize width={side} height={side} fit=fill filter=nearest | encode format=rgba");
    let kernel = sandbox(SandboxConfig::default());
    let out = kernel
        .run(&pipeline, &png, &limits)
        .expect("a legal output is returned");
    assert_eq!(out.data.len() as u64, limits.max_output_bytes);
    assert!(out.data.chunks_exact(4).all(|px| px == [9, 8, 7, 255]));
    // One byte more than the limit allows is `too_large`, from the kernel, not a trap.
    let tighter = Limits {
        max_output_bytes: limits.max_output_bytes - 1,
        ..limits
    };
    let err = kernel.run(&pipeline, &png, &tighter).unwrap_err();
    assert_eq!(err.code, ErrorCode::TooLarge, "{err}");
}
