//! Runs every case of tests/cases on the native kernel and in wasmtime, which must
//! give native's bytes, whole and streamed: `cargo test -p kiln-cases`.

use std::path::Path;

use kiln_cases::{Mode, Native, Target, Wasmtime, load_cases, run_matrix};

#[test]
fn every_case_passes_on_native_and_wasmtime() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases");
    let cases = load_cases(&dir).expect("cases load");
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut targets: Vec<Box<dyn Target>> = vec![Box::new(Native), Box::new(Wasmtime::new().expect("wasmtime target"))];
    let matrix = run_matrix(&cases, &mut targets, Mode::Whole);
    assert!(matrix.ok(), "{}", matrix.render(false));
    let seed = std::env::var("KILN_STREAM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let streamed = run_matrix(&cases, &mut targets, Mode::Stream { seed });
    assert!(streamed.ok(), "{}", streamed.render(false));
    let (passed, _, _) = streamed.counts();
    assert!(passed >= 2 * 80, "only {passed} streamed cells passed");
}
