//! The streaming session: a pipeline run over input pushed in chunks, its output given
//! back as it is made, byte-identical to the one-shot `run` of the whole input.
//!
//! A session is a chain of stages, each bytes in, bytes out: `compress`, `decompress`,
//! `json` (`json_stream`), and table segments (a parser, the table ops after it and the
//! writer that ends them). An error stops the stage it happens in and every stage after
//! it; the stages before it go on to the end of the input, since the one-shot `run`
//! would have met their errors first: an error of the first stage is given at once, a
//! later stage's at `finish` (see DESIGN.md, "Streaming").

mod table;

use crate::json_stream::JsonStream;
use crate::op::Op;
use crate::output::Meta;
use crate::pipeline::Pipeline;
use crate::{Error, Limits, Output, Result, compress};

use table::Segment;

/// One stage of a session.
enum Stage {
    Compress(Box<compress::Compressor>),
    Decompress(Box<compress::Decompressor>),
    Json(Box<JsonStream>),
    Echo,
    Table(Box<Segment>),
}

impl Stage {
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>, limits: &Limits) -> Result<()> {
        match self {
            Stage::Compress(c) => c.push(input, out),
            Stage::Decompress(d) => d.push(input, out),
            Stage::Json(json) => json.push(input, out),
            Stage::Echo => {
                out.extend_from_slice(input);
                Ok(())
            }
            Stage::Table(segment) => segment.push(input, false, out, limits),
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>, limits: &Limits) -> Result<()> {
        match self {
            Stage::Compress(c) => c.finish(out),
            Stage::Decompress(d) => d.finish(out),
            Stage::Json(json) => json.finish(out),
            Stage::Echo => Ok(()),
            Stage::Table(segment) => segment.push(&[], true, out, limits),
        }
    }
}

/// A streaming run of one pipeline: [`open`](Session::open), [`push`](Session::push)
/// input chunks (each gives the output ready so far), then [`finish`](Session::finish)
/// (the rest of the output and the meta). Dropping a session aborts it.
///
/// The output, concatenated, is byte for byte the output of [`crate::run`] on the
/// concatenated input, for any chunking; an error has the code `run` gives (perhaps
/// only at `finish`). Memory is bounded by a chunk and a record, not by the input, so
/// the bounds of `run`'s memory model do not apply: a stream may pass where `run` is
/// `too_large` for holding the whole table.
pub struct Session {
    stages: Vec<(Option<usize>, &'static str, Stage)>,
    limits: Limits,
    /// Input bytes pushed so far.
    input: u64,
    /// Output bytes given so far.
    output: u64,
    /// The first stage that failed, and its error.
    failed: Option<(usize, Error)>,
    /// The error a call gave: the session is spent.
    spent: Option<Error>,
    meta: Meta,
}

impl Session {
    /// Opens a session for `pipeline` (JSON or text form) under the host's `limits`
    /// (which the pipeline may tighten). A pipeline with a step that cannot stream (image
    /// ops, `sort`, `distinct`, `group_by`, `info`) is `bad_pipeline` naming the step;
    /// `describe()` marks the ops that stream.
    pub fn open(pipeline: &str, limits: &Limits) -> Result<Session> {
        let pipeline = Pipeline::parse(pipeline)?;
        let limits = pipeline.limits(limits);
        let mut stages = Vec::new();
        let mut plan = pipeline.plan.iter().peekable();
        let mut meta = Meta::bytes("application/octet-stream");
        while let Some(planned) = plan.next() {
            if !planned.spec.streams {
                return Err(refused(&pipeline, planned));
            }
            let stage = match &planned.op {
                Op::Compress { container, level } => {
                    meta = Meta::bytes(compress::content_type(*container));
                    Stage::Compress(Box::new(compress::Compressor::new(*container, *level)))
                }
                Op::Decompress { container } => {
                    meta = Meta::bytes("application/octet-stream");
                    Stage::Decompress(Box::new(compress::Decompressor::new(
                        *container,
                        limits.max_decompressed_bytes,
                    )))
                }
                Op::Json(mode) => {
                    meta = Meta::bytes("application/json");
                    Stage::Json(Box::new(JsonStream::new(*mode, &limits)))
                }
                Op::Echo => Stage::Echo,
                Op::ParseCsv(_) | Op::ParseJson => {
                    let mut ops = vec![planned];
                    while let Some(next) = plan.next_if(|p| p.spec.input == crate::op::Kind::Table) {
                        if !next.spec.streams {
                            return Err(refused(&pipeline, next));
                        }
                        ops.push(next);
                    }
                    let segment = Segment::new(&ops, &limits)?;
                    meta = segment.meta();
                    Stage::Table(Box::new(segment))
                }
                _ => {
                    return Err(Error::internal(format!(
                        "`{}` streams but has no stage",
                        planned.spec.name
                    )));
                }
            };
            stages.push((planned.step, planned.spec.name, stage));
        }
        Ok(Session {
            stages,
            limits,
            input: 0,
            output: 0,
            failed: None,
            spent: None,
            meta,
        })
    }

    /// Pushes the next input chunk; returns the output it completes (often none). After
    /// an error the session is spent: every call gives that error again.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>> {
        if let Some(e) = &self.spent {
            return Err(e.clone());
        }
        self.input = self.input.saturating_add(chunk.len() as u64);
        let out = if self.input > self.limits.max_input_bytes {
            Err(Error::too_large(format!(
                "input of more than {} bytes exceeds the limit of {} bytes",
                self.limits.max_input_bytes, self.limits.max_input_bytes
            )))
        } else {
            self.run(chunk, false).map(|out| self.count(out))
        };
        if let Err(e) = &out {
            self.spent = Some(e.clone());
        }
        out
    }

    /// What is known of the output's meta before [`finish`](Session::finish): its
    /// `kind`, `content_type` and `version` (a table's `rows` and `columns` come at the
    /// end), so a host can describe a response it starts before the end.
    pub fn meta(&self) -> Meta {
        let mut meta = match self.stages.last() {
            Some((_, _, Stage::Table(segment))) => segment.meta(),
            _ => self.meta.clone(),
        };
        meta.rows = None;
        meta.columns = None;
        meta
    }

    /// Ends the input: returns the rest of the output (trailers, the last record,
    /// `stats`' table) and the meta, or the error of the pipeline.
    pub fn finish(mut self) -> Result<Output> {
        if let Some(e) = self.spent.take() {
            return Err(e);
        }
        let data = self.run(&[], true)?;
        let data = self.count(data);
        if self.output > self.limits.max_output_bytes {
            // Found as the output grew, given once every step has ended without an error
            // (the one-shot run checks its output last).
            return Err(Error::too_large(format!(
                "output of more than {} bytes exceeds the limit of {} bytes",
                self.limits.max_output_bytes, self.limits.max_output_bytes
            )));
        }
        if let Some((_, _, Stage::Table(segment))) = self.stages.last() {
            self.meta = segment.meta();
        }
        Ok(Output { data, meta: self.meta })
    }

    /// Counts output; past the output limit none more is given.
    fn count(&mut self, out: Vec<u8>) -> Vec<u8> {
        self.output = self.output.saturating_add(out.len() as u64);
        if self.output > self.limits.max_output_bytes {
            return Vec::new();
        }
        out
    }

    /// Runs `chunk` (and with `end`, the end) through the stages before the first that
    /// failed; an error of the first stage is returned at once, a later one kept.
    fn run(&mut self, chunk: &[u8], end: bool) -> Result<Vec<u8>> {
        if self.stages.is_empty() {
            // No steps: the input is the output.
            return Ok(chunk.to_vec());
        }
        let live = self.failed.as_ref().map_or(self.stages.len(), |(i, _)| *i);
        // What the stage before gave (the first stage reads the caller's chunk).
        let mut data = Vec::new();
        for index in 0..live {
            let (step, name, stage) = &mut self.stages[index];
            let mut out = Vec::new();
            let input = if index == 0 { chunk } else { data.as_slice() };
            let mut result = stage.push(input, &mut out, &self.limits);
            if end && result.is_ok() {
                result = stage.finish(&mut out, &self.limits);
            }
            if let Err(e) = result {
                let e = locate(*step, name, e);
                if index == 0 || end {
                    // The first stage's error, or any at the end (the stages before it
                    // ended well): no earlier error can come.
                    self.failed = None;
                    return Err(e);
                }
                self.failed = Some((index, e));
                return Ok(Vec::new());
            }
            data = out;
        }
        if live < self.stages.len() {
            if end {
                return Err(self
                    .failed
                    .take()
                    .map_or_else(|| Error::internal("lost error"), |(_, e)| e));
            }
            return Ok(Vec::new());
        }
        Ok(data)
    }
}

/// `bad_pipeline` for a step that cannot stream, naming the step as written (an implied
/// `decode` is its image op's).
fn refused(pipeline: &Pipeline, planned: &crate::pipeline::Planned) -> Error {
    let name = planned
        .step
        .and_then(|s| pipeline.step_name(s))
        .unwrap_or(planned.spec.name);
    let at = planned.step.map_or_else(String::new, |s| format!("steps[{s}] "));
    let e = Error::bad_pipeline(format!(
        "{at}(`{name}`) cannot stream: it needs the whole input, not a record at a time (run takes it)"
    ));
    match planned.step {
        Some(step) => e.at_step(step),
        None => e,
    }
}

/// An error of the step `step`, as the one-shot executor names it.
fn locate(step: Option<usize>, name: &str, e: Error) -> Error {
    match step {
        Some(step) if e.step.is_none() => {
            let message = format!("steps[{step}] ({name}): {}", e.message);
            Error { message, ..e }.at_step(step)
        }
        _ => e,
    }
}
