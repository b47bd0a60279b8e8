//! The streaming session against the one-shot `run`: for every case of tests/cases
//! whose pipeline streams, the same bytes (or error code) for every chunking.

use kiln_kernel::{ErrorCode, Limits, Session, run};

/// A small deterministic generator (xorshift), seeded per case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `input` cut into pieces of the given sizes (repeated), through a session.
fn streamed(pipeline: &str, input: &[u8], sizes: &[usize]) -> Result<Vec<u8>, ErrorCode> {
    let mut session = Session::open(pipeline, &Limits::default()).map_err(|e| e.code)?;
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < input.len() {
        let n = sizes[i % sizes.len()].max(1).min(input.len() - at);
        out.extend(session.push(&input[at..at + n]).map_err(|e| e.code)?);
        at += n;
        i += 1;
    }
    out.extend(session.finish().map_err(|e| e.code)?.data);
    Ok(out)
}

/// Whether a one-shot error comes from a bound on what `run` holds at once (the memory
/// model, the cells cap): a session holds a record, so it may pass where `run` cannot.
fn held_whole(e: &kiln_kernel::Error) -> bool {
    e.code == ErrorCode::TooLarge && (e.message.contains("max_memory_bytes") || e.message.contains("cells"))
}

#[test]
fn every_streamable_case_streams_to_the_same_bytes() {
    let cases = kiln_case_format::load_cases(&kiln_case_format::kiln_cases_dir()).unwrap();
    let seed: u64 = std::env::var("KILN_STREAM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cafe);
    let mut streamed_cases = 0;
    for case in &cases {
        if case.skip.is_some() {
            continue;
        }
        let Ok(mut probe) = Session::open(&case.pipeline, &Limits::default()) else {
            continue;
        };
        drop(probe.push(&[]));
        streamed_cases += 1;
        let one_shot = run(&case.pipeline, &case.input[..]);
        let mut rng = Rng(seed ^ case.name.len() as u64 ^ 0x9e37_79b9);
        let random: Vec<usize> = (0..64).map(|_| 1 + (rng.next() % 997) as usize).collect();
        let chunkings: [(&str, Vec<usize>); 5] = [
            ("1 byte", vec![1]),
            ("primes", vec![2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37]),
            ("64 KiB", vec![64 << 10]),
            ("whole", vec![case.input.len().max(1)]),
            ("random", random),
        ];
        for (name, sizes) in &chunkings {
            let got = streamed(&case.pipeline, &case.input, sizes);
            match (&one_shot, &got) {
                (Ok(a), Ok(b)) => assert!(
                    a.data == *b,
                    "{}: chunking {name} (seed {seed}): streamed output differs ({} vs {} bytes)",
                    case.name,
                    b.len(),
                    a.data.len()
                ),
                (Err(a), Err(b)) => assert_eq!(a.code, *b, "{}: chunking {name} (seed {seed}): {a}", case.name),
                (Err(a), Ok(_)) if held_whole(a) => {}
                (a, b) => panic!(
                    "{}: chunking {name} (seed {seed}): one-shot {:?} vs streamed {:?}",
                    case.name,
                    a.as_ref().map(|o| o.data.len()).map_err(ToString::to_string),
                    b.as_ref().map(Vec::len)
                ),
            }
        }
    }
    assert!(streamed_cases > 40, "only {streamed_cases} cases stream");
}

#[test]
fn pipelines_that_cannot_stream_are_refused_naming_the_step() {
    for (pipeline, step) in [
        ("resize width=10", 0),
        ("parse_csv | sort by=a", 1),
        ("decompress | parse_csv | group_by by=a", 2),
        ("parse_json | distinct", 1),
        ("info", 0),
    ] {
        let e = Session::open(pipeline, &Limits::default()).err().unwrap();
        assert_eq!(e.code, ErrorCode::BadPipeline, "{pipeline}");
        assert_eq!(e.step, Some(step), "{pipeline}: {e}");
    }
    assert!(
        Session::open(
            "parse_csv | limit count=2 | rename columns=a:b | to_csv",
            &Limits::default()
        )
        .is_ok()
    );
}

#[test]
fn limits_hold_across_the_stream() {
    let limits = Limits {
        max_input_bytes: 10,
        ..Limits::default()
    };
    let mut s = Session::open("compress", &limits).unwrap();
    s.push(b"12345").unwrap();
    assert_eq!(s.push(b"678901").unwrap_err().code, ErrorCode::TooLarge);

    // Decompressed bytes are counted over the stream.
    let zeros = vec![0u8; 1 << 20];
    let gz = run("compress", &zeros[..]).unwrap().data;
    let mut s = Session::open("limits max_decompressed_bytes=100000 | decompress", &Limits::default()).unwrap();
    let failed = gz.chunks(7).try_for_each(|c| s.push(c).map(drop));
    assert_eq!(failed.unwrap_err().code, ErrorCode::TooLarge);

    // A CSV row past the rows limit.
    let csv: String = std::iter::once("a\n".to_owned())
        .chain((0..100).map(|i| format!("{i}\n")))
        .collect();
    let mut s = Session::open(
        "limits max_rows=50 | parse_csv | to_json format=ndjson",
        &Limits::default(),
    )
    .unwrap();
    let result = csv.as_bytes().chunks(3).try_for_each(|c| s.push(c).map(drop));
    assert_eq!(result.unwrap_err().code, ErrorCode::TooLarge);
}

#[test]
fn hard_cases_split_anywhere() {
    let cases: &[(&str, &[u8])] = &[
        // A BOM, a quoted record with a line break, a UTF-8 sequence, a header repeated.
        ("parse_csv | to_json", b"\xEF\xBB\xBFa,a,b\n\"x\ny\",\xC3\xA9,1\n2,3,4"),
        (
            "parse_csv delimiter=auto skip_lines=1 comment=# | to_csv",
            b"junk\r\n#c\na;b\n1;2\n3;4\r\n",
        ),
        ("parse_csv | to_json pretty=true", b"a,b\n1,2\n3,4\n"),
        ("parse_csv | stats", b"a,b\nx,1\ny,2.5\n,3\nw,\n"),
        (
            "parse_csv | filter where=\"b > 1\" | limit count=1 offset=1 | to_json format=ndjson",
            b"a,b\n1,2\n3,4\n5,6\n",
        ),
        ("parse_csv", b"a,b\n1,\"unclosed\n"),
        ("compress format=zlib level=0 | decompress format=zlib", &[7u8; 200_000]),
        ("compress level=1", b"hello hello hello hello"),
    ];
    for &(pipeline, input) in cases {
        let one_shot = run(pipeline, input).map(|o| o.data).map_err(|e| e.code);
        for size in [1, 2, 3, 5, 64 << 10] {
            assert_eq!(
                streamed(pipeline, input, &[size]),
                one_shot,
                "{pipeline} in pieces of {size}"
            );
        }
    }
}

#[test]
fn multi_member_gzip_streams() {
    let mut both = run("compress", &b"hello "[..]).unwrap().data;
    both.extend(run("compress level=1", &b"world"[..]).unwrap().data);
    assert_eq!(streamed("decompress", &both, &[1]).unwrap(), b"hello world");
    assert_eq!(
        streamed("decompress", &both[..both.len() - 3], &[4]),
        Err(ErrorCode::BadInput)
    );
}
