//! Runs one pipeline on one file: `cargo run --release -p kiln-kernel --example run --
//! PIPELINE INPUT OUTPUT`. The meta goes to stderr; errors exit with the CLI codes of
//! DESIGN.md (2 bad_pipeline, 65 bad_input, 69 unsupported, 75 too_large, 70 internal).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [pipeline, input, output] = args.as_slice() else {
        eprintln!("usage: run PIPELINE INPUT OUTPUT");
        return ExitCode::from(2);
    };
    let data = match std::fs::read(input) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{input}: {e}");
            return ExitCode::from(66);
        }
    };
    let started = std::time::Instant::now();
    match kiln_kernel::run(pipeline, &data) {
        Ok(out) => {
            let took = started.elapsed();
            // Write then rename: a failed write never leaves a partial output.
            let tmp = format!("{output}.partial");
            if let Err(e) = std::fs::write(&tmp, &out.data).and_then(|_| std::fs::rename(&tmp, output)) {
                let _ = std::fs::remove_file(&tmp);
                eprintln!("{output}: {e}");
                return ExitCode::from(73);
            }
            eprintln!(
                "{input} ({} bytes) -> {output} ({} bytes) in {:.1} ms\nmeta: {}",
                data.len(),
                out.data.len(),
                took.as_secs_f64() * 1e3,
                out.meta.to_json()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", serde_json::json!({"error": e.to_json()}));
            ExitCode::from(e.code.exit_code() as u8)
        }
    }
}
