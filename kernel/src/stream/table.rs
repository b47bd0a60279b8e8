//! A table segment of a session: `parse_csv` (streamed a record at a time) or
//! `parse_json` (NDJSON a row at a time, an array held whole), the table ops after it applied to each batch of
//! rows, and the writer that ends it.

use crate::op::Op;
use crate::output::Meta;
use crate::pipeline::Planned;
use crate::table::read_csv::CsvStream;
use crate::table::read_json::JsonStream;
use crate::table::stats::Summary;
use crate::table::{self, Table, query, write_csv, write_json};
use crate::{Error, Limits, Result};

enum Source {
    Csv(Box<CsvStream>),
    Json(Box<JsonStream>),
}

enum Step {
    Select(Vec<String>),
    Filter(table::predicate::Predicate),
    Rename(Vec<(String, String)>),
    /// Rows still to skip and to keep.
    Limit {
        skip: u64,
        keep: u64,
    },
    Stats(Option<Summary>),
}

enum Writer {
    Json {
        ndjson: bool,
        pretty: bool,
    },
    Csv {
        delimiter: u8,
        quote: write_csv::QuoteStyle,
    },
}

/// A parser, table ops and a writer: bytes in, bytes out.
pub(super) struct Segment {
    source: Source,
    steps: Vec<(Option<usize>, &'static str, Step)>,
    writer: Writer,
    /// Rows and columns written, for the meta.
    rows: u64,
    columns: Option<usize>,
    /// Whether the writer has written its start (`[`, the CSV header).
    started: bool,
    /// Bytes written so far.
    written: u64,
    /// The length of `to_csv`'s header.
    csv_header: Option<usize>,
    content_type: &'static str,
    /// The first op that failed (its index in `steps`), kept until the parser ends.
    failed: Option<Error>,
}

impl Segment {
    pub(super) fn new(plan: &[&Planned], limits: &Limits) -> Result<Segment> {
        let source = match &plan[0].op {
            Op::ParseCsv(options) => Source::Csv(Box::new(CsvStream::new(options, limits)?)),
            _ => Source::Json(Box::new(JsonStream::new(limits))),
        };
        let mut steps = Vec::new();
        let mut writer = None;
        for planned in &plan[1..] {
            let step = match &planned.op {
                Op::Select(columns) => Step::Select(columns.clone()),
                Op::Filter(predicate) => Step::Filter(predicate.clone()),
                Op::Rename(pairs) => Step::Rename(pairs.clone()),
                Op::Limit { count, offset } => Step::Limit {
                    skip: *offset,
                    keep: *count,
                },
                Op::Stats => Step::Stats(None),
                Op::ToJson { ndjson, pretty } => {
                    writer = Some(Writer::Json {
                        ndjson: *ndjson,
                        pretty: *pretty,
                    });
                    continue;
                }
                Op::ToCsv { delimiter, quote } => {
                    writer = Some(Writer::Csv {
                        delimiter: *delimiter,
                        quote: *quote,
                    });
                    continue;
                }
                _ => {
                    return Err(Error::internal(format!(
                        "`{}` has no streaming step",
                        planned.spec.name
                    )));
                }
            };
            steps.push((planned.step, planned.spec.name, step));
        }
        let writer = writer.ok_or_else(|| Error::internal("a table segment without a writer"))?;
        let content_type = match writer {
            Writer::Json { ndjson: true, .. } => "application/x-ndjson",
            Writer::Json { .. } => "application/json",
            Writer::Csv { .. } => "text/csv",
        };
        Ok(Segment {
            source,
            steps,
            writer,
            rows: 0,
            columns: None,
            started: false,
            written: 0,
            csv_header: None,
            content_type,
            failed: None,
        })
    }

    pub(super) fn meta(&self) -> Meta {
        let mut meta = Meta::table(&Table::default(), self.content_type);
        meta.rows = Some(self.rows);
        meta.columns = Some(self.columns.unwrap_or(0) as u64);
        meta
    }

    /// Reads `input` (`end`: the last of it), writing the rows it completes to `out`.
    pub(super) fn push(&mut self, input: &[u8], end: bool, out: &mut Vec<u8>, limits: &Limits) -> Result<()> {
        let mut batch = None;
        match &mut self.source {
            Source::Csv(csv) => {
                csv.push(input, end, &mut batch)?;
                if batch.is_none() && end {
                    batch = Some(Table::new(csv.columns().unwrap_or_default().to_vec()));
                }
            }
            Source::Json(json) => json.push(input, end, &mut batch)?,
        }
        if self.failed.is_some() {
            return match self.failed.take() {
                Some(e) if end => Err(e),
                kept => {
                    self.failed = kept;
                    Ok(())
                }
            };
        }
        let start = out.len();
        let mut result = match batch {
            Some(batch) => self.close(Some(batch), out),
            None => Ok(()),
        };
        if end && result.is_ok() {
            result = self.close(None, out);
        }
        self.written = self.written.saturating_add((out.len() - start) as u64);
        if result.is_ok() && self.written > limits.max_output_bytes {
            result = Err(Error::too_large(format!(
                "the table's text is over the output limit of {} bytes",
                limits.max_output_bytes
            )));
        }
        match result {
            Err(e) if !end => {
                out.truncate(start);
                self.failed = Some(e);
                Ok(())
            }
            result => result,
        }
    }

    /// Runs a batch through the ops and the writer; `None`: the end, for the ops' and
    /// the writer's ends.
    fn close(&mut self, batch: Option<Table>, out: &mut Vec<u8>) -> Result<()> {
        let end_only = batch.is_none();
        let mut value = batch;
        for (step, name, op) in &mut self.steps {
            let located = |e: Error| super::locate(*step, name, e);
            value = match (op, value) {
                (Step::Select(columns), Some(t)) => Some(query::select(t, columns).map_err(located)?),
                (Step::Filter(p), Some(t)) => Some(query::filter(t, p).map_err(located)?),
                (Step::Rename(pairs), Some(t)) => Some(query::rename(t, pairs).map_err(located)?),
                (Step::Limit { skip, keep }, Some(t)) => {
                    let n = t.n_rows() as u64;
                    let t = query::limit(t, *keep, *skip);
                    *keep -= t.n_rows() as u64;
                    *skip = skip.saturating_sub(n);
                    Some(t)
                }
                (Step::Stats(summary), value) => {
                    if let Some(t) = value {
                        summary.get_or_insert_with(|| Summary::new(t.columns())).add(&t);
                    }
                    // Its one table, at the end.
                    if end_only {
                        summary.take().map(Summary::finish)
                    } else {
                        None
                    }
                }
                (_, None) => None,
            };
        }
        if let Some(t) = value {
            self.write(&t, out)?;
        }
        if end_only {
            self.end(out)?;
        }
        Ok(())
    }

    fn write(&mut self, t: &Table, out: &mut Vec<u8>) -> Result<()> {
        let first = !self.started;
        self.started = true;
        self.columns = Some(t.n_cols());
        let before = self.rows;
        self.rows += t.n_rows() as u64;
        match self.writer {
            Writer::Json { ndjson, pretty } => {
                let text = write_json::to_json_with_limit(t, ndjson, pretty, u64::MAX)?;
                if ndjson {
                    out.extend_from_slice(&text);
                    return Ok(());
                }
                if first {
                    out.push(b'[');
                }
                // The rows between the array's brackets (pretty: `\n]` at the end).
                let close = if pretty && t.n_rows() > 0 { 2 } else { 1 };
                let rows = text.get(1..text.len().saturating_sub(close)).unwrap_or_default();
                if !rows.is_empty() && before > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(rows);
            }
            Writer::Csv { delimiter, quote } => {
                let text = write_csv::write_csv(t, delimiter, quote, u64::MAX)?;
                // The header, written once: its length is what later batches skip.
                let header = match self.csv_header {
                    Some(len) => len,
                    None => write_csv::write_csv(&Table::new(t.columns().to_vec()), delimiter, quote, u64::MAX)?.len(),
                };
                self.csv_header = Some(header);
                out.extend_from_slice(if first {
                    &text
                } else {
                    text.get(header..).unwrap_or_default()
                });
            }
        }
        Ok(())
    }

    fn end(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if let Writer::Json { ndjson: false, pretty } = self.writer {
            if !self.started {
                out.push(b'[');
            }
            out.extend_from_slice(if pretty && self.rows > 0 { b"\n]" } else { b"]" });
        }
        Ok(())
    }
}
