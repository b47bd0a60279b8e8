//! `kiln-cases --cases DIR [--cases DIR ...] [--targets native,...] [--verbose]`
//!
//! Runs conformance cases on each target and prints a case x target matrix. Exits 1 if
//! any cell is not a pass or a listed skip, 2 on bad arguments or unreadable cases.
//! `--list` prints the loaded cases as JSON lines instead (the Worker's hostile test
//! reads the corpus that way, through the one loader).

use std::path::PathBuf;
use std::process::ExitCode;

use kiln_cases::{Mode, load_cases, run_matrix, target};

const USAGE: &str =
    "usage: kiln-cases --cases DIR [--cases DIR ...] [--targets native,wasmtime,...] [--stream] [--verbose] [--print-sha256] [--list]
  --cases DIR    a folder of *.toml cases (repeatable; default tests/cases)
  --targets LIST comma-separated targets: native, wasmtime, node, chromium, workerd,
                 wasmtime-py, wasi-http (default: all; node and chromium need the built npm
                 package: scripts/build-web.sh; workerd the built Worker:
                 scripts/build-edge.sh; wasmtime-py the venv of scripts/setup.sh; wasi-http
                 kiln-http: scripts/build-wasi-http.sh, and the wasmtime CLI)
  --stream       run every case whose pipeline streams through each target's streaming
                 session, its input cut by a plan drawn from a seed (KILN_STREAM_SEED, else
                 the time; printed with the summary), and judge it as the whole run
  --verbose      list passing cases too
  --print-sha256 print the native sha256 of each sha256 case (to write new cases)
  --list         print every loaded case as one JSON line (name, pipeline, input_base64,
                 expect, skip) and run nothing";

fn main() -> ExitCode {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut targets: Vec<String> = kiln_cases::TARGETS.iter().map(ToString::to_string).collect();
    let mut verbose = false;
    let mut print_sha = false;
    let mut list = false;
    let mut mode = Mode::Whole;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--cases" => match args.next() {
                Some(d) => dirs.push(d.into()),
                None => return usage("--cases needs a folder"),
            },
            "--targets" => match args.next() {
                Some(t) => {
                    targets = t
                        .split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect();
                }
                None => return usage("--targets needs a list"),
            },
            "--verbose" | "-v" => verbose = true,
            "--stream" => {
                let seed = std::env::var("KILN_STREAM_SEED").ok().and_then(|s| s.parse().ok());
                let now = || {
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs())
                };
                mode = Mode::Stream {
                    seed: seed.unwrap_or_else(now),
                };
            }
            "--print-sha256" => print_sha = true,
            "--list" => list = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument `{other}`")),
        }
    }
    if dirs.is_empty() {
        dirs.push("tests/cases".into());
    }
    let mut cases = Vec::new();
    for dir in &dirs {
        match load_cases(dir) {
            Ok(c) => cases.extend(c),
            Err(e) => {
                eprintln!("kiln-cases: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if list {
        for case in &cases {
            println!("{}", case.to_json());
        }
        return ExitCode::SUCCESS;
    }
    if print_sha {
        for case in &cases {
            let out = kiln_kernel::run(&case.pipeline, &case.input);
            match out {
                Ok(o) => println!("{} {}", kiln_cases::sha256_hex(&o.data), case.name),
                Err(e) => println!("error {} {}", e.code, case.name),
            }
        }
        return ExitCode::SUCCESS;
    }
    let mut built = Vec::new();
    for name in &targets {
        match target(name) {
            Ok(t) => built.push(t),
            Err(e) => return usage(&e),
        }
    }
    let matrix = run_matrix(&cases, &mut built, mode);
    print!("{}", matrix.render(verbose));
    if matrix.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("kiln-cases: {problem}\n{USAGE}");
    ExitCode::from(2)
}
