//! What a streaming session holds: a chunk, its buffers and a record, never the input
//! (DESIGN.md, "Streaming"). A counting allocator gives the peak of live heap bytes
//! while tens of MiB pass through sessions in 64 KiB chunks made one at a time.

use std::sync::atomic::Ordering::Relaxed;

use kiln_kernel::Limits;

mod counting;
use counting::{LIVE, PEAK};

/// The peak of bytes a streaming session holds while `chunks` pass through it (the
/// chunks are made one at a time, so the input is never whole), and its output's length.
fn streamed_peak(pipeline: &str, chunks: impl Iterator<Item = Vec<u8>>) -> (u64, u64) {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let mut session = kiln_kernel::Session::open(pipeline, &Limits::default()).unwrap();
    let mut out = 0;
    for chunk in chunks {
        out += session.push(&chunk).unwrap().len() as u64;
    }
    out += session.finish().unwrap().data.len() as u64;
    ((PEAK.load(Relaxed) - base) as u64, out)
}

/// 32 MiB of CSV, 64 KiB at a time (its rows cut across chunks).
fn csv_chunks() -> impl Iterator<Item = Vec<u8>> {
    let mut text: Vec<u8> = b"id,name,price,note\n".to_vec();
    let mut row = 0u64;
    std::iter::from_fn(move || {
        while text.len() < 64 << 10 {
            text.extend_from_slice(
                format!(
                    "{row},name {row},{}.{},\"a note, with \"\"quotes\"\"\"\n",
                    row % 1000,
                    row % 7
                )
                .as_bytes(),
            );
            row += 1;
        }
        let rest = text.split_off(64 << 10);
        (row < 600_000).then(|| std::mem::replace(&mut text, rest))
    })
}

/// The only test of this binary: the counters are global.
#[test]
fn streaming_sessions_hold_a_chunk_and_a_record() {
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    for pipeline in [
        "parse_csv | to_json format=ndjson",
        "parse_csv | filter where='price > 10' | to_json",
        "parse_csv | stats",
        "parse_csv | to_csv | compress",
    ] {
        let (peak, out) = streamed_peak(pipeline, csv_chunks());
        assert!(out > 300, "{pipeline}: {out}");
        eprintln!("{pipeline}: {:.2} MiB held", mib(peak));
        assert!(peak < 4 << 20, "{pipeline}: {:.1} MiB held", mib(peak));
    }
    // NDJSON rows and a gzip stream of them, made by sessions too.
    let mut row = 0u64;
    let ndjson = std::iter::repeat_with(move || {
        let mut c = Vec::new();
        while c.len() < 64 << 10 {
            c.extend_from_slice(
                format!("{{\"id\":{row},\"name\":\"name {row}\",\"tags\":[1,{{\"k\":null}}]}}\n").as_bytes(),
            );
            row += 1;
        }
        c
    });
    let mut gzip = kiln_kernel::Session::open("compress level=1", &Limits::default()).unwrap();
    let mut chunks: Vec<Vec<u8>> = ndjson.take(256).map(|c| gzip.push(&c).unwrap()).collect();
    chunks.push(gzip.finish().unwrap().data);
    let (peak, out) = streamed_peak("decompress | parse_json | to_csv", chunks.into_iter());
    assert!(out > 1 << 20, "{out}");
    eprintln!("decompress | parse_json | to_csv: {:.2} MiB held", mib(peak));
    assert!(peak < 4 << 20, "decompress | parse_json: {:.1} MiB held", mib(peak));
    // A JSON text of 32 MiB, pretty-printed a chunk at a time.
    let mut first = true;
    let json = (0..512).map(|i| {
        let mut c = if std::mem::take(&mut first) {
            b"[".to_vec()
        } else {
            Vec::new()
        };
        while c.len() < 64 << 10 {
            c.extend_from_slice(b"{\"a\":[1,2,{\"b\":\"x\"}]},");
        }
        if i == 511 {
            c.extend_from_slice(b"null]");
        }
        c
    });
    let (peak, out) = streamed_peak("json mode=pretty", json);
    assert!(out > 32 << 20, "{out}");
    eprintln!("json mode=pretty: {:.2} MiB held", mib(peak));
    assert!(peak < 1 << 20, "json mode=pretty: {:.1} MiB held", mib(peak));
}
