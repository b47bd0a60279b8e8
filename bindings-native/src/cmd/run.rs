//! `kiln run`: one pipeline on one input (a file or stdin) to one output. A pipeline
//! that streams (DESIGN.md, "Streaming") is run through a session, 64 KiB of input at a
//! time, so the input is never held whole; any other is run on the whole input.

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::Args;
use kiln_native::fs::{self, AtomicFile};
use kiln_native::kernel::Session;

use super::{EngineArgs, report};

#[derive(Args)]
pub struct RunArgs {
    /// Pipeline, text form (`resize width=800 | encode format=webp`) or JSON.
    pub pipeline: String,
    /// Input file, or - for stdin.
    #[arg(default_value = "-")]
    pub input: String,
    /// Output file, or - for stdout. A file is written whole or not at all; stdout takes
    /// a streamed output as it comes (after an error, what came stays: see the exit code).
    #[arg(default_value = "-")]
    pub output: String,
    #[command(flatten)]
    pub engine: EngineArgs,
}

pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let (pipeline, input, output) = (args.pipeline.as_str(), args.input.as_str(), args.output.as_str());
    let engine = &args.engine;
    // Check the pipeline, with the kernel that will run it, before reading a byte.
    let kernel = engine.kernel()?;
    if let Err(e) = kernel.check(pipeline) {
        return Ok(report(&e));
    }
    if let Ok(session) = kernel.open_session(pipeline, &engine.stream_limits()) {
        return stream(session, input, output);
    }
    let data = if input == "-" {
        let mut d = Vec::new();
        std::io::stdin().read_to_end(&mut d)?;
        d
    } else {
        match std::fs::read(input) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("kiln: {input}: {e}");
                return Ok(ExitCode::from(66));
            }
        }
    };
    match kernel.run(pipeline, &data, &engine.limits()) {
        Ok(out) => {
            if output == "-" {
                std::io::stdout().write_all(&out.data)?;
                std::io::stdout().flush()?;
            } else if let Err(e) = fs::write_atomically(std::path::Path::new(output), &out.data) {
                eprintln!("kiln: {output}: {e}");
                return Ok(ExitCode::from(73));
            }
            eprintln!("{}", out.meta.to_json());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report(&e)),
    }
}

/// The input read in pieces of this size and pushed one at a time: the size fflate and
/// the WHATWG streams use (DESIGN.md, "Chunks and backpressure").
const CHUNK: usize = 64 << 10;

/// Runs a streaming session from `input` to `output`, a chunk at a time.
fn stream(mut session: Session, input: &str, output: &str) -> anyhow::Result<ExitCode> {
    let mut reader: Box<dyn Read> = if input == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(input) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("kiln: {input}: {e}");
                return Ok(ExitCode::from(66));
            }
        }
    };
    let mut writer = if output == "-" {
        Sink::Stdout(std::io::stdout().lock())
    } else {
        match AtomicFile::create(std::path::Path::new(output)) {
            Ok(f) => Sink::File(f),
            Err(e) => {
                eprintln!("kiln: {output}: {e}");
                return Ok(ExitCode::from(73));
            }
        }
    };
    let mut chunk = vec![0; CHUNK];
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                eprintln!("kiln: {input}: {e}");
                return Ok(ExitCode::from(66));
            }
        };
        match session.push(&chunk[..n]) {
            Ok(out) => {
                if let Err(e) = writer.write_all(&out) {
                    eprintln!("kiln: {output}: {e}");
                    return Ok(ExitCode::from(73));
                }
            }
            // Dropping the file removes what was written.
            Err(e) => return Ok(report(&e)),
        }
    }
    let out = match session.finish() {
        Ok(out) => out,
        Err(e) => return Ok(report(&e)),
    };
    if let Err(e) = writer.write_all(&out.data).and_then(|()| writer.commit()) {
        eprintln!("kiln: {output}: {e}");
        return Ok(ExitCode::from(73));
    }
    eprintln!("{}", out.meta.to_json());
    Ok(ExitCode::SUCCESS)
}

/// Where a stream's output goes: stdout as it comes, or a file put in place at the end.
enum Sink {
    Stdout(std::io::StdoutLock<'static>),
    File(AtomicFile),
}

impl Sink {
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Stdout(out) => out.write_all(data),
            Sink::File(file) => file.write_all(data),
        }
    }

    /// Flushes stdout, or puts the file in place, whole.
    fn commit(self) -> std::io::Result<()> {
        match self {
            Sink::Stdout(mut out) => out.flush(),
            Sink::File(file) => file.commit(),
        }
    }
}
