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

/// `input` cut into pieces of the given sizes (repeated), through a session: the output
/// and its meta.
fn streamed_with_meta(pipeline: &str, input: &[u8], sizes: &[usize]) -> Result<(Vec<u8>, String), ErrorCode> {
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
    let last = session.finish().map_err(|e| e.code)?;
    out.extend(last.data);
    Ok((out, last.meta.to_json()))
}

fn streamed(pipeline: &str, input: &[u8], sizes: &[usize]) -> Result<Vec<u8>, ErrorCode> {
    streamed_with_meta(pipeline, input, sizes).map(|(out, _)| out)
}

/// Whether a one-shot error comes from a bound on what `run` holds at once (the memory
/// model, the cells cap): a session holds a record, so it may pass where `run` cannot.
fn held_whole(e: &kiln_kernel::Error) -> bool {
    e.code == ErrorCode::TooLarge && (e.message.contains("max_memory_bytes") || e.message.contains("cells"))
}

#[test]
fn every_streamable_case_streams_to_the_same_bytes() {
    let mut cases = kiln_case_format::load_cases(&kiln_case_format::kiln_cases_dir()).unwrap();
    // The public suites, when generated (tests/suites/generate.py): KILN_STREAM_SUITES
    // names their folders, `:`-separated.
    for dir in std::env::var("KILN_STREAM_SUITES").unwrap_or_default().split(':') {
        if !dir.is_empty() {
            cases.extend(kiln_case_format::load_cases(std::path::Path::new(dir)).unwrap());
        }
    }
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
            let got = streamed_with_meta(&case.pipeline, &case.input, sizes);
            match (&one_shot, &got) {
                (Ok(a), Ok((b, meta))) => {
                    assert!(
                        a.data == *b,
                        "{}: chunking {name} (seed {seed}): streamed output differs ({} vs {} bytes)",
                        case.name,
                        b.len(),
                        a.data.len()
                    );
                    assert_eq!(a.meta.to_json(), *meta, "{}: chunking {name}: meta", case.name);
                }
                (Err(a), Err(b)) => assert_eq!(a.code, *b, "{}: chunking {name} (seed {seed}): {a}", case.name),
                (Err(a), Ok(_)) if held_whole(a) => {}
                (a, b) => panic!(
                    "{}: chunking {name} (seed {seed}): one-shot {:?} vs streamed {:?}",
                    case.name,
                    a.as_ref().map(|o| o.data.len()).map_err(ToString::to_string),
                    b.as_ref().map(|(out, _)| out.len())
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
    // (The decoder takes 64 KiB of input at a time: 200 KiB of zeros at level 0 is over
    // a slice.)
    let zeros = vec![0u8; 200 << 10];
    let gz = run("compress level=0", &zeros[..]).unwrap().data;
    let mut s = Session::open("limits max_decompressed_bytes=100000 | decompress", &Limits::default()).unwrap();
    let failed = gz.chunks(7).try_for_each(|c| s.push(c).map(drop));
    assert_eq!(failed.unwrap_err().code, ErrorCode::TooLarge);
    let bomb = run("compress level=9", &vec![0u8; 64 << 20][..]).unwrap().data;
    let pipeline = "limits max_decompressed_bytes=1000000 | decompress";
    assert_eq!(streamed(pipeline, &bomb, &[7]), Err(ErrorCode::TooLarge));

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
        ("parse_csv | stats | stats | to_csv", b"a,b\nx,1\ny,2.5\n,3\nw,\n"),
        (
            "parse_csv | stats | limit count=1 offset=1 | to_csv quote=always",
            b"a,b\nx,1\ny,2.5\n",
        ),
        ("parse_csv | to_csv delimiter=; quote=always", b"a,b\n1,2\n3,4\n5,6\n"),
        (
            "parse_csv | select columns=b,a | rename columns=a:z | to_json pretty=true",
            b"a,b\n1,2\n3,4\n",
        ),
        (
            "parse_json | to_json format=ndjson",
            b"{\"a\":1}\n{\"a\":{\"b\":[1,2]}} {\"a\":\"x y\"}\n\n",
        ),
        ("parse_json | to_csv", b" [{\"a\":1},{\"b\":2}]"),
        ("compress format=zlib | decompress format=zlib", b"abc"),
        // `\r\n` of a skipped line cut between chunks; a BOM alone, or cut.
        ("parse_csv skip_lines=2 | to_json", b"x\r\ny\r\na,b\r\n1,2\r\n"),
        ("parse_csv skip_lines=1 | to_json", b"\xEF\xBB\xBFjunk\ra,b\n1,2"),
        ("parse_csv | to_json", b"\xEF\xBB\xBF"),
        ("parse_csv | to_json", b"\xEF\xBB\xBFa"),
        ("parse_csv | to_json", b"\xEF\xBB"),
        // delimiter=auto: the first 10 records decide; the 11th would have said `;`.
        (
            "parse_csv delimiter=auto | to_csv",
            b"a,b\n1,2\n3,4\n5,6\n7,8\n9,0\n1,2\n3,4\n5,6\n7,8\nx;y;z;w;v\n",
        ),
        ("parse_csv delimiter=auto comment=# | to_csv", b"#c;d\n\"a;b\",c\n1,2\n"),
        // A comment line with an unclosed quote is no record.
        ("parse_csv comment=# | to_json", b"a,b\n1,2\n#\"open\n"),
        // A row of a stream past the first batch that a filter drops, then an error.
        ("parse_csv | filter where=\"a > 100\" | to_json", b"a\n1\n2\nx,y\n"),
        // A JSON text split inside a \\u escape and a number.
        ("json mode=minify", b"[\"\\u00e9\", -12.5e+3, true]"),
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

/// JSON texts, valid and not, for the `json` op: streamed in pieces, they give what
/// `run` gives (the stream checks the grammar itself; `run` uses serde_json).
#[test]
fn json_modes_agree_with_the_one_shot_on_valid_and_broken_texts() {
    let mut texts: Vec<Vec<u8>> = [
        r#" { "a" : 1.0 , "b" : [ 1e400 , "\u00e9" , -0 , 1E+2 , "x\"[{\\" ] ,
	"a" : true , "e" : { } , "f" : [ ] , "g": [[],[{}],{"h":null}] } "#,
        "[]",
        "{}",
        "  [ ]  ",
        "0",
        "-0.5e-3",
        "\"\\ud800\"",
        "\"é ✓ 😀\"",
        "true",
        "null ",
        "[1,2,3]",
        "{\"k\":{\"k\":{\"k\":[false]}}}",
        "",
        "   ",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{1:2}",
        "[01]",
        "[1.]",
        "[.5]",
        "[+1]",
        "[1e]",
        "[-]",
        "tru",
        "nul",
        "[\"\\x\"]",
        "[\"\\u12G4\"]",
        "[\"a\nb\"]",
        "[1] [2]",
        "[1] x",
        "\u{feff}[1]",
        "[",
        "]",
        "[}",
        "{\"a\":[}",
        "\"unterminated",
        "[\"\\",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    texts.push(b"[\"\xff\"]".to_vec());
    texts.push(b"[\"\xe2\x9c\"]".to_vec());
    texts.push(b"\"\xf0\x9f\x98".to_vec());
    texts.push(format!("{}1{}", "[".repeat(200), "]".repeat(200)).into_bytes());
    texts.push(format!("{}1{}", "[".repeat(200), "]".repeat(199)).into_bytes());
    texts.push(format!("[1,{}", "[".repeat(200)).into_bytes());
    texts.push(format!("x{}1{}", "[".repeat(200), "]".repeat(200)).into_bytes());
    // Cuts and flips of a valid text.
    let valid = texts[0].clone();
    let mut rng = Rng(0x1234_5678);
    for _ in 0..300 {
        let mut t = valid.clone();
        let at = (rng.next() as usize) % t.len();
        match rng.next() % 3 {
            0 => t.truncate(at),
            1 => t[at] = b"{}[],:\"\\ 0e.-x\n"[(rng.next() % 15) as usize],
            _ => {
                t.remove(at);
            }
        }
        texts.push(t);
    }
    for mode in ["validate", "minify", "pretty"] {
        let pipeline = format!("json mode={mode}");
        for text in &texts {
            let one_shot = run(&pipeline, &text[..]).map(|o| o.data).map_err(|e| e.code);
            for sizes in [vec![1], vec![2, 3, 5], vec![text.len().max(1)]] {
                assert_eq!(
                    streamed(&pipeline, text, &sizes),
                    one_shot,
                    "{pipeline} on {:?} in pieces of {sizes:?}",
                    String::from_utf8_lossy(text)
                );
            }
        }
    }
}

#[test]
fn the_output_limit_is_the_one_shots_last_check() {
    // The pretty output passes the limit before the text turns out not to be JSON:
    // `run` says bad_input (it checks the text first), and so does the stream.
    let mut text = format!("[{}", "[1],".repeat(10_000)).into_bytes();
    text.extend_from_slice(b"x]");
    let limits = "limits max_output_bytes=1000 | json mode=pretty";
    assert_eq!(run(limits, &text[..]).unwrap_err().code, ErrorCode::BadInput);
    assert_eq!(streamed(limits, &text, &[100]), Err(ErrorCode::BadInput));
    text.truncate(text.len() - 3);
    text.push(b']');
    assert_eq!(run(limits, &text[..]).unwrap_err().code, ErrorCode::TooLarge);
    assert_eq!(streamed(limits, &text, &[100]), Err(ErrorCode::TooLarge));
    // A spent session gives its error again.
    let mut s = Session::open("decompress", &Limits::default()).unwrap();
    assert_eq!(s.push(b"xy").unwrap_err().code, ErrorCode::BadInput);
    assert_eq!(s.push(b"\x1f\x8b").unwrap_err().code, ErrorCode::BadInput);
    assert_eq!(s.finish().unwrap_err().code, ErrorCode::BadInput);
}

/// Hostile chunks: random bytes, cut at random, into every streaming source never
/// panic, and give `run`'s answer.
#[test]
fn random_bytes_in_random_pieces() {
    let mut rng = Rng(0xdead_beef);
    let pipelines = [
        "parse_csv | to_json",
        "parse_csv delimiter=auto header=false skip_lines=1 comment=# | stats",
        "parse_json | to_csv",
        "decompress",
        "decompress format=zlib",
        "decompress format=deflate",
        "json mode=pretty",
    ];
    let alphabet = b"{}[]\",:;\t\n\r #ab01\\\x1f\x8b\xef\xbb\xbf\xc3\xa9";
    for round in 0..200 {
        let len = (rng.next() % 300) as usize;
        let text: Vec<u8> = (0..len)
            .map(|_| {
                if rng.next().is_multiple_of(8) {
                    rng.next() as u8
                } else {
                    alphabet[(rng.next() as usize) % alphabet.len()]
                }
            })
            .collect();
        let sizes: Vec<usize> = (0..8).map(|_| 1 + (rng.next() % 17) as usize).collect();
        for pipeline in pipelines {
            let one_shot = run(pipeline, &text[..]).map(|o| o.data).map_err(|e| e.code);
            assert_eq!(
                streamed(pipeline, &text, &sizes),
                one_shot,
                "round {round}: {pipeline} on {text:?} in pieces of {sizes:?}"
            );
        }
    }
}

/// Past `max_json_depth` the text ends in an error whatever comes, so `pretty` writes no
/// more: its indentation would otherwise grow with the depth, the output with its square.
#[test]
fn json_gives_no_output_past_the_depth_limit() {
    let text = "[".repeat(20_000);
    let mut session = Session::open("json mode=pretty", &Limits::default()).unwrap();
    let mut out = 0;
    for piece in text.as_bytes().chunks(1) {
        out += session.push(piece).unwrap().len();
    }
    let limit = Limits::default().max_json_depth as usize;
    assert!(out <= limit * (limit + 1) * 2, "{out} bytes of output");
    assert_eq!(session.finish().unwrap_err().code, ErrorCode::BadInput);
    assert_eq!(
        run("json mode=pretty", text.as_bytes()).unwrap_err().code,
        ErrorCode::BadInput
    );
}
