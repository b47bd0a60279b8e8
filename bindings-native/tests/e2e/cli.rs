//! The `kiln` CLI end to end on real files: `run`, `ops`, `batch` and `--help`, as child
//! processes of the built binary.
//!
//! Outputs are checked byte for byte against the native kernel (`kiln_kernel::run`), the
//! reference of every target. Every child process has a deadline; temporary folders live
//! under Cargo's temporary folder for integration tests and are removed on drop.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;
use common::{TempDir, data, data_path, native};

/// Deadline of every child process.
const TIMEOUT: Duration = Duration::from_secs(120);

const RESIZE_PNG: &str = "resize width=64 | encode format=png";

/// Exit codes of DESIGN.md (and sysexits.h).
const EXIT_BAD_PIPELINE: i32 = 2;
const EXIT_BAD_INPUT: i32 = 65;
const EXIT_NO_INPUT: i32 = 66;
const EXIT_UNSUPPORTED: i32 = 69;
const EXIT_TOO_LARGE: i32 = 75;

/// Every op of DESIGN.md, v1.
const OPS: [&str; 40] = [
    "decode",
    "resize",
    "crop",
    "rotate",
    "extend",
    "trim",
    "flip",
    "grayscale",
    "blur",
    "sharpen",
    "brightness",
    "contrast",
    "gamma",
    "invert",
    "modulate",
    "tint",
    "flatten",
    "threshold",
    "linear",
    "normalize",
    "median",
    "convolve",
    "sobel",
    "encode",
    "info",
    "compress",
    "decompress",
    "json",
    "parse_csv",
    "parse_json",
    "select",
    "filter",
    "stats",
    "sort",
    "limit",
    "distinct",
    "rename",
    "group_by",
    "to_json",
    "to_csv",
];

/// Every file, folder and link under `dir`, as `/`-separated relative paths (links are
/// not followed).
fn tree(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap();
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>();
            out.insert(rel.join("/"));
            if path.symlink_metadata().unwrap().is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(ToString::to_string).collect()
}

/// What a finished child process left.
struct Finished {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
}

impl Finished {
    fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {:?}", self.status))
    }

    fn stdout_text(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("UTF-8 stdout")
    }

    /// The last line on stderr, as JSON.
    fn stderr_json(&self) -> Value {
        let line = self.stderr.lines().last().unwrap_or("");
        serde_json::from_str(line).unwrap_or_else(|e| panic!("stderr's last line is not JSON ({e}): {}", self.stderr))
    }

    /// Checks a failure: the exit code and `{"error": {"code", "message", "step"}}` on
    /// stderr, with nothing on stdout.
    fn expect_error(&self, exit: i32, code: &str) -> Value {
        assert_eq!(self.code(), exit, "exit code for {code}; stderr: {}", self.stderr);
        assert!(self.stdout.is_empty(), "nothing on stdout for an error");
        let json = self.stderr_json();
        let error = &json["error"];
        assert_eq!(error["code"], code, "{json}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{json}");
        assert!(error.get("step").is_some_and(|s| s.is_null() || s.is_u64()), "{json}");
        error.clone()
    }
}

fn kiln() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kiln"));
    command.env_remove("RUST_LOG");
    command
}

/// Reads a child's stdout and stderr on threads (so neither pipe can fill up) and waits
/// for it, killing it at the deadline.
fn finish(mut child: Child, what: &str) -> Finished {
    let mut out = child.stdout.take();
    let mut err = child.stderr.take().expect("piped stderr");
    let out_reader = thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut v);
        }
        v
    });
    let err_reader = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    Finished {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned(),
    }
}

/// Runs `kiln ARGS...` with `stdin` as its input.
fn run_kiln<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: &[u8]) -> Finished {
    let what = format!(
        "kiln {}",
        args.iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut child = kiln()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    // A child that exits before reading its input closes the pipe: not an error here.
    let writer = thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let finished = finish(child, &what);
    writer.join().unwrap();
    finished
}

#[test]
fn run_writes_the_native_kernels_bytes_and_meta() {
    let dir = TempDir::new("run");
    let cases = [
        (RESIZE_PNG, "photo.jpg", "a.png"),
        (
            r#"{"steps": [{"op": "rotate", "degrees": 270}, {"op": "encode", "format": "jpeg", "quality": 70}]}"#,
            "photo.png",
            "b.jpg",
        ),
        ("flip axis=horizontal | invert", "disc.png", "c.png"),
        ("encode format=webp", "small.bmp", "d.webp"),
        ("compress format=zlib level=9", "lines.txt", "e.zz"),
        (
            "parse_csv | filter where=age>30 | to_json format=ndjson",
            "people.csv",
            "f.ndjson",
        ),
    ];
    let mut expected_files = BTreeSet::new();
    for (pipeline, input, output) in cases {
        let out = dir.join(output);
        let done = run_kiln(
            &[
                "run".as_ref(),
                pipeline.as_ref(),
                data_path(input).as_os_str(),
                out.as_os_str(),
            ],
            b"",
        );
        assert_eq!(done.code(), 0, "{pipeline}: {}", done.stderr);
        assert!(done.stdout.is_empty(), "{pipeline}: the output goes to the file only");
        let expected = native(pipeline, &data(input));
        let written = std::fs::read(&out).unwrap();
        assert!(
            written == expected.data,
            "{pipeline}: the file differs from the native kernel's bytes"
        );
        let meta = done.stderr_json();
        assert_eq!(
            meta,
            serde_json::from_str::<Value>(&expected.meta.to_json()).unwrap(),
            "{pipeline}"
        );
        assert_eq!(meta["version"], kiln_kernel::VERSION);
        expected_files.insert(output.to_owned());
    }
    let meta = run_kiln(&["run", RESIZE_PNG, data_path("photo.jpg").to_str().unwrap(), "-"], b"").stderr_json();
    assert_eq!(
        (
            &meta["kind"],
            &meta["content_type"],
            &meta["width"],
            &meta["height"],
            &meta["format"]
        ),
        (
            &Value::from("image"),
            &Value::from("image/png"),
            &Value::from(64),
            &Value::from(48),
            &Value::from("png")
        )
    );
    // Written by rename: no temporary file is left beside the outputs.
    assert_eq!(tree(dir.path()), expected_files);
}

#[test]
fn stdin_and_stdout_pipe_between_two_processes() {
    let lines = data("lines.txt");
    // kiln run compress < lines.txt | kiln run decompress
    let compress = kiln()
        .args(["run", "compress"])
        .stdin(std::fs::File::open(data_path("lines.txt")).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kiln run compress");
    let mut compress = compress;
    let pipe = compress.stdout.take().unwrap();
    let decompress = kiln()
        .args(["run", "decompress"])
        .stdin(Stdio::from(pipe))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kiln run decompress");
    let second = finish(decompress, "kiln run decompress");
    let first = finish(compress, "kiln run compress");
    assert_eq!(first.code(), 0, "{}", first.stderr);
    assert_eq!(second.code(), 0, "{}", second.stderr);
    assert!(second.stdout == lines, "the round trip gives back the input");
    assert_eq!(first.stderr_json()["content_type"], "application/gzip");
    assert_eq!(second.stderr_json()["kind"], "bytes");

    // Each half alone: stdin to stdout with the native kernel's bytes, and a gzip file
    // written by another implementation decompresses to the original.
    let done = run_kiln(&["run", "compress"], &lines);
    assert_eq!(done.code(), 0, "{}", done.stderr);
    assert!(done.stdout == native("compress", &lines).data);
    let done = run_kiln(&["run", "decompress", "-", "-"], &data("lines.txt.gz"));
    assert_eq!(done.code(), 0, "{}", done.stderr);
    assert!(done.stdout == lines);
}

#[test]
fn native_engine_gives_the_same_bytes_as_wasm() {
    let cases = [
        (
            "resize width=100 filter=catmull_rom | blur sigma=2 | encode format=png",
            "photo.jpg",
        ),
        (
            "sharpen sigma=1 amount=0.8 | contrast value=1.2 | encode format=png",
            "photo.png",
        ),
        // WebP on a small image only: see `webp_bytes_agree_between_engines_on_a_photo`.
        ("flip axis=vertical | encode format=webp", "small.bmp"),
        ("grayscale | sobel | encode format=jpeg quality=85", "small.bmp"),
        ("resize width=32 height=32 fit=cover | encode format=rgba", "disc.png"),
        ("compress format=deflate level=1", "lines.txt"),
        ("parse_csv | stats | to_json", "people.csv"),
        ("parse_json | select columns=name | to_csv", "people.ndjson"),
    ];
    for (pipeline, input) in cases {
        let path = data_path(input);
        let path = path.to_str().unwrap();
        let wasm = run_kiln(&["run", pipeline, path, "-", "--engine", "wasm"], b"");
        let native_engine = run_kiln(&["run", pipeline, path, "-", "--engine", "native"], b"");
        assert_eq!(wasm.code(), 0, "{pipeline}: {}", wasm.stderr);
        assert_eq!(native_engine.code(), 0, "{pipeline}: {}", native_engine.stderr);
        assert!(!wasm.stdout.is_empty(), "{pipeline}: some output");
        assert!(wasm.stdout == native_engine.stdout, "{pipeline}: the engines disagree");
        assert_eq!(wasm.stderr_json(), native_engine.stderr_json(), "{pipeline}: meta");
        assert!(
            wasm.stdout == native(pipeline, &data(input)).data,
            "{pipeline}: not the kernel's bytes"
        );
    }
}

/// Regression: lossless WebP of a photo-sized image once differed between the wasm and
/// native engines (same pixels, different bytes): image-webp 0.2.4 ordered Huffman ties
/// by an unstable sort whose result depends on the pointer width. Fixed by the patched
/// copy in third_party/image-webp.
#[test]
fn webp_bytes_agree_between_engines_on_a_photo() {
    let pipeline = "encode format=webp";
    for input in ["photo.png", "photo.jpg"] {
        let path = data_path(input);
        let path = path.to_str().unwrap();
        let wasm = run_kiln(&["run", pipeline, path, "-", "--engine", "wasm"], b"");
        let native_engine = run_kiln(&["run", pipeline, path, "-", "--engine", "native"], b"");
        assert_eq!((wasm.code(), native_engine.code()), (0, 0));
        assert!(wasm.stdout == native_engine.stdout, "{input}: the engines disagree");
    }
}

#[test]
fn errors_exit_with_their_code_and_leave_no_output() {
    let dir = TempDir::new("errors");
    let jpg = data_path("photo.jpg");
    let jpg = jpg.to_str().unwrap();
    let text = data_path("lines.txt");
    let text = text.to_str().unwrap();
    let qoi = {
        let mut q = b"qoif".to_vec();
        q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 4, 0]);
        q.extend_from_slice(&[0; 64]);
        dir.put("in/x.qoi", &q)
    };
    let big = dir.put("in/big.bin", &vec![0u8; (1 << 20) + 1]);
    let out = dir.join("out/result");
    let out_s = out.to_str().unwrap();
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["run", "nope x=1", jpg, out_s], EXIT_BAD_PIPELINE, "bad_pipeline"),
        (
            vec!["run", "resize width=0", jpg, out_s],
            EXIT_BAD_PIPELINE,
            "bad_pipeline",
        ),
        (
            vec!["run", "compress | stats", text, out_s],
            EXIT_BAD_PIPELINE,
            "bad_pipeline",
        ),
        (vec!["run", RESIZE_PNG, text, out_s], EXIT_BAD_INPUT, "bad_input"),
        (
            vec!["run", RESIZE_PNG, qoi.to_str().unwrap(), out_s],
            EXIT_UNSUPPORTED,
            "unsupported",
        ),
        (
            vec!["run", "limits max_pixels=10 | resize width=64", jpg, out_s],
            EXIT_TOO_LARGE,
            "too_large",
        ),
        (
            vec!["run", "compress", big.to_str().unwrap(), out_s, "--max-input-mib", "1"],
            EXIT_TOO_LARGE,
            "too_large",
        ),
        (
            vec![
                "run",
                "resize width=4000 | encode format=rgba",
                jpg,
                out_s,
                "--job-memory-mib",
                "32",
            ],
            EXIT_TOO_LARGE,
            "too_large",
        ),
        (
            vec![
                "run",
                "resize width=4000 | encode format=rgba",
                jpg,
                out_s,
                "--engine",
                "native",
                "--max-input-mib",
                "0",
            ],
            EXIT_TOO_LARGE,
            "too_large",
        ),
    ];
    for (args, exit, code) in &cases {
        let done = run_kiln(args, b"");
        let error = done.expect_error(*exit, code);
        if *code == "bad_pipeline" {
            assert!(error["step"].is_u64(), "a pipeline error names its step: {error}");
        }
        assert!(!out.exists(), "{args:?}: no output file on error");
        assert_eq!(
            tree(out.parent().unwrap()),
            BTreeSet::new(),
            "{args:?}: nothing left behind"
        );
    }

    // An existing output is left untouched by a failed job.
    std::fs::write(&out, b"old").unwrap();
    run_kiln(&["run", RESIZE_PNG, text, out_s], b"").expect_error(EXIT_BAD_INPUT, "bad_input");
    assert_eq!(std::fs::read(&out).unwrap(), b"old");
    assert_eq!(tree(out.parent().unwrap()), set(&["result"]));
    std::fs::remove_file(&out).unwrap();

    // A missing input file: EX_NOINPUT, and no output.
    let missing = dir.join("in/missing.jpg");
    let done = run_kiln(&["run", RESIZE_PNG, missing.to_str().unwrap(), out_s], b"");
    assert_eq!(done.code(), EXIT_NO_INPUT, "{}", done.stderr);
    assert!(done.stderr.contains("missing.jpg"), "{}", done.stderr);
    assert!(!out.exists());

    // Errors on stdin/stdout: the same codes, nothing on stdout.
    run_kiln(&["run", RESIZE_PNG], b"not an image").expect_error(EXIT_BAD_INPUT, "bad_input");
    run_kiln(&["run", "nope"], b"x").expect_error(EXIT_BAD_PIPELINE, "bad_pipeline");
}

/// A server without sandbox budgets is a choice, not a typo (issue 18).
#[test]
fn serve_refuses_the_native_engine_without_unsandboxed() {
    let done = run_kiln(&["serve", "--engine", "native", "--addr", "127.0.0.1:0"], b"");
    assert_ne!(done.code(), 0, "{}", done.stderr);
    assert!(done.stderr.contains("--unsandboxed"), "{}", done.stderr);
}

#[test]
fn ops_prints_every_op() {
    for engine in ["wasm", "native"] {
        let done = run_kiln(&["ops", "--engine", engine], b"");
        assert_eq!(done.code(), 0, "{}", done.stderr);
        let json: Value = serde_json::from_slice(&done.stdout).expect("kiln ops prints JSON");
        let names: Vec<&str> = json["ops"]
            .as_array()
            .expect("an ops array")
            .iter()
            .map(|op| op["name"].as_str().expect("an op name"))
            .collect();
        assert_eq!(names, OPS, "{engine}");
        for op in json["ops"].as_array().unwrap() {
            assert!(op["params"].is_array(), "{engine}: params of {op}");
        }
        let native_json: Value = serde_json::from_str(&kiln_kernel::describe()).unwrap();
        assert_eq!(json["ops"], native_json["ops"], "{engine}");
        assert_eq!(json["version"], kiln_kernel::VERSION);
        assert_eq!(
            json["limits"]["max_input_bytes"],
            256u64 << 20,
            "{engine}: the CLI's default input limit"
        );
        assert_eq!(json["kernel"]["engine"], engine);
    }
    // The sandbox names the component it runs by its sha256, as `sha256sum` computes it.
    let dir = TempDir::new("ops-sha");
    let component = dir.join("kernel.wasm");
    std::fs::write(&component, kiln_sandbox::EMBEDDED_KERNEL).unwrap();
    let sum = Command::new("sha256sum")
        .arg(&component)
        .output()
        .expect("run sha256sum");
    let expected = String::from_utf8(sum.stdout).unwrap();
    let expected = expected.split_whitespace().next().expect("a digest");
    assert_eq!(expected.len(), 64);
    // (An unsigned kernel file loads only with --allow-unsigned: tests/kernels.rs.)
    for args in [
        &["ops"][..],
        &["ops", "--allow-unsigned", "--kernel", component.to_str().unwrap()],
    ] {
        let done = run_kiln(args, b"");
        assert_eq!(done.code(), 0, "{}", done.stderr);
        let json: Value = serde_json::from_slice(&done.stdout).unwrap();
        assert_eq!(json["kernel"]["sha256"], expected, "{args:?}");
    }
    let done = run_kiln(&["ops", "--max-input-mib", "3"], b"");
    let json: Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(json["limits"]["max_input_bytes"], 3u64 << 20);
}

/// The width and height of an output, read by the native kernel.
fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let meta = native("encode format=rgba", bytes).meta;
    (meta.width.unwrap(), meta.height.unwrap())
}

/// Files only: every file of `dir`, relative, with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    tree(dir)
        .into_iter()
        .filter(|rel| dir.join(rel).is_file())
        .map(|rel| {
            let bytes = std::fs::read(dir.join(&rel)).unwrap();
            (rel, bytes)
        })
        .collect()
}

#[test]
fn batch_shards_are_disjoint_and_together_the_whole_batch() {
    // 40 small images in two folders: enough that every one of 3 shards gets some.
    let inputs = TempDir::new("shard-in");
    let png = data("disc.png");
    for i in 0..40 {
        inputs.put(
            &format!("{}/img{i:02}.png", if i % 2 == 0 { "even" } else { "odd" }),
            &png,
        );
    }
    let pipeline = "flip | encode format=png";
    let batch = |out: &Path, shard: Option<&str>| {
        let mut args = vec![
            "batch",
            pipeline,
            inputs.path().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(shard.map(|s| ["--shard", s]).into_iter().flatten());
        let done = run_kiln(&args, b"");
        assert_eq!(done.code(), 0, "{shard:?}: {}", done.stderr);
        done
    };
    let whole = TempDir::new("shard-whole");
    batch(whole.path(), None);
    let whole = files(whole.path());
    assert_eq!(whole.len(), 40);

    let shared = TempDir::new("shard-shared");
    let mut seen = BTreeMap::new();
    let mut shards = Vec::new();
    for k in 0..3 {
        let own = TempDir::new("shard-own");
        let done = batch(own.path(), Some(&format!("{k}/3")));
        let mine = files(own.path());
        assert!(
            !mine.is_empty() && mine.len() < 40,
            "shard {k}/3 did {} files",
            mine.len()
        );
        assert!(
            done.stderr
                .contains(&format!("shard {k}/3: {} of 40 file(s)", mine.len())),
            "{}",
            done.stderr
        );
        shards.push(mine.keys().cloned().collect::<BTreeSet<_>>());
        for (rel, bytes) in mine {
            assert!(seen.insert(rel.clone(), bytes).is_none(), "{rel} done by two shards");
        }
        // And each shard into one shared folder, as on a shared volume.
        batch(shared.path(), Some(&format!("{k}/3")));
    }
    assert_eq!(seen, whole, "the shards together are not the whole batch");
    assert_eq!(files(shared.path()), whole);
    // A file's shard follows from its own path: a new file moves no other file.
    inputs.put("even/new.png", &png);
    let mut holders = 0;
    for (k, before) in shards.iter().enumerate() {
        let again = TempDir::new("shard-again");
        batch(again.path(), Some(&format!("{k}/3")));
        let mut after = files(again.path()).into_keys().collect::<BTreeSet<_>>();
        holders += usize::from(after.remove("even/new.png"));
        assert_eq!(&after, before, "shard {k}/3 changed when a file was added");
    }
    assert_eq!(holders, 1, "the new file is in exactly one shard");
    // Bad values are usage errors.
    for bad in ["3/3", "1/0", "a/3", "2"] {
        let done = run_kiln(
            &[
                "batch",
                pipeline,
                inputs.path().to_str().unwrap(),
                "--out",
                "/nonexistent",
                "--shard",
                bad,
            ],
            b"",
        );
        assert_eq!(done.code(), 2, "--shard {bad}: {}", done.stderr);
    }
}

/// A folder of good and broken inputs for `kiln batch`.
fn batch_inputs() -> TempDir {
    let dir = TempDir::new("batch-in");
    dir.put("a.jpg", &data("photo.jpg"));
    dir.put("b.png", &data("photo.png"));
    dir.put("e.jpg", &data("oriented6.jpg"));
    dir.put("sub/c.bmp", &data("small.bmp"));
    dir.put("sub/deep/d.jpg", &data("photo.jpg"));
    // Broken: a JPEG cut inside its headers (decoders fill in a JPEG cut later, in its
    // scan data, so such a file is not an error), and text named .png.
    dir.put("broken/trunc.jpg", &data("photo.jpg")[..300]);
    dir.put("x.png", b"this is not a png\n");
    dir
}

fn check_batch_outputs(inputs: &Path, out: &Path, pairs: &[(&str, &str)]) {
    for (input, output) in pairs {
        let bytes = std::fs::read(out.join(output)).unwrap_or_else(|e| panic!("{output}: {e}"));
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{output} is a PNG");
        assert_eq!(dimensions(&bytes).0, 64, "{output} is 64 px wide");
        let expected = native(RESIZE_PNG, &std::fs::read(inputs.join(input)).unwrap()).data;
        assert!(bytes == expected, "{output}: not the native kernel's bytes for {input}");
    }
}

#[test]
fn batch_over_a_folder_keeps_paths_and_skips_broken_files() {
    let inputs = batch_inputs();
    let out = TempDir::new("batch-out");
    let done = run_kiln(
        &[
            "batch".as_ref(),
            RESIZE_PNG.as_ref(),
            inputs.path().as_os_str(),
            "--out".as_ref(),
            out.path().as_os_str(),
        ],
        b"",
    );
    assert_eq!(done.code(), 1, "some files failed: {}", done.stderr);
    assert!(done.stdout.is_empty());
    let pairs = [
        ("a.jpg", "a.png"),
        ("b.png", "b.png"),
        ("e.jpg", "e.png"),
        ("sub/c.bmp", "sub/c.png"),
        ("sub/deep/d.jpg", "sub/deep/d.png"),
    ];
    check_batch_outputs(inputs.path(), out.path(), &pairs);
    // Nothing else: no output, folder or temporary file for the broken inputs.
    assert_eq!(
        tree(out.path()),
        set(&[
            "a.png",
            "b.png",
            "e.png",
            "sub",
            "sub/c.png",
            "sub/deep",
            "sub/deep/d.png"
        ])
    );
    assert!(done.stderr.contains("wasm engine"), "{}", done.stderr);
    assert!(done.stderr.contains("5 ok, 2 failed"), "{}", done.stderr);
    for broken in ["trunc.jpg", "x.png"] {
        let line = done
            .stderr
            .lines()
            .find(|l| l.starts_with("failed: ") && l.contains(broken))
            .unwrap_or_else(|| panic!("no failure line for {broken}: {}", done.stderr));
        assert!(line.contains(": bad_input: "), "{line}");
    }

    // A bad pipeline fails before any work.
    let out2 = TempDir::new("batch-out");
    let done = run_kiln(
        &[
            "batch".as_ref(),
            "resize width=64 | nope".as_ref(),
            inputs.path().as_os_str(),
            "--out".as_ref(),
            out2.path().as_os_str(),
        ],
        b"",
    );
    done.expect_error(EXIT_BAD_PIPELINE, "bad_pipeline");
    assert_eq!(tree(out2.path()), BTreeSet::new());
}

#[test]
fn batch_over_a_glob_with_the_native_engine() {
    let inputs = batch_inputs();
    let out = TempDir::new("batch-out");
    // The pattern is expanded by kiln, not by a shell: top-level .jpg files only.
    let pattern = format!("{}/*.jpg", inputs.path().display());
    let done = run_kiln(
        &[
            "batch".as_ref(),
            RESIZE_PNG.as_ref(),
            pattern.as_ref(),
            "--out".as_ref(),
            out.path().as_os_str(),
            "--engine".as_ref(),
            "native".as_ref(),
            "--jobs".as_ref(),
            "2".as_ref(),
        ],
        b"",
    );
    assert_eq!(done.code(), 0, "{}", done.stderr);
    check_batch_outputs(inputs.path(), out.path(), &[("a.jpg", "a.png"), ("e.jpg", "e.png")]);
    assert_eq!(tree(out.path()), set(&["a.png", "e.png"]));
    assert!(done.stderr.contains("native engine"), "{}", done.stderr);
    assert!(done.stderr.contains("2 ok, 0 failed"), "{}", done.stderr);

    // A pattern that matches nothing: EX_NOINPUT, before any work.
    let none = format!("{}/*.gif", inputs.path().display());
    let out2 = TempDir::new("batch-out");
    let done = run_kiln(
        &[
            "batch".as_ref(),
            RESIZE_PNG.as_ref(),
            none.as_ref(),
            "--out".as_ref(),
            out2.path().as_os_str(),
        ],
        b"",
    );
    assert_eq!(done.code(), EXIT_NO_INPUT, "{}", done.stderr);
    assert!(done.stderr.contains("no files match"), "{}", done.stderr);
    assert_eq!(tree(out2.path()), BTreeSet::new());
}

/// A batch never writes over its inputs (its output folder is its input folder; `a.jpg`
/// would become the input `a.png`), walks folders without following symbolic links
/// (a loop does not hang it, a link out of the tree is not read) unless
/// `--follow-symlinks`, and removes the temporary files a batch that died left.
#[test]
fn batch_keeps_its_inputs_and_links_and_cleans_up_after_a_dead_batch() {
    let inputs = TempDir::new("batch-safe");
    inputs.put("a.jpg", &data("photo.jpg"));
    inputs.put("a.png", &data("photo.png"));
    inputs.put("sub/c.bmp", &data("small.bmp"));
    let outside = TempDir::new("batch-outside");
    outside.put("secret.jpg", &data("photo.jpg"));
    std::os::unix::fs::symlink(outside.join("secret.jpg"), inputs.join("secret.jpg")).unwrap();
    std::os::unix::fs::symlink(inputs.path(), inputs.join("sub/loop")).unwrap();
    std::os::unix::fs::symlink(inputs.join("gone"), inputs.join("dangling.jpg")).unwrap();
    // A temporary file of a batch whose process is gone (pids stop below 2^22).
    inputs.put("sub/.c.png.kiln-999999999.tmp", b"half a file");
    let arg = |p: &Path| p.as_os_str().to_owned();
    let done = run_kiln(
        &[
            "batch".into(),
            RESIZE_PNG.into(),
            arg(inputs.path()),
            "--out".into(),
            arg(inputs.path()),
        ],
        b"",
    );
    assert_eq!(done.code(), 1, "{}", done.stderr);
    assert_eq!(
        std::fs::read(inputs.join("a.png")).unwrap(),
        data("photo.png"),
        "the input a.png is intact"
    );
    assert!(done.stderr.contains("is an input of this batch"), "{}", done.stderr);
    assert!(done.stderr.contains("skipped 3 symbolic link(s)"), "{}", done.stderr);
    assert!(done.stderr.contains("removed 1 temporary file(s)"), "{}", done.stderr);
    assert!(done.stderr.contains("1 ok, 2 failed"), "{}", done.stderr);
    check_batch_outputs(inputs.path(), inputs.path(), &[("sub/c.bmp", "sub/c.png")]);
    assert_eq!(
        tree(inputs.path()),
        set(&[
            "a.jpg",
            "a.png",
            "dangling.jpg",
            "secret.jpg",
            "sub",
            "sub/c.bmp",
            "sub/c.png",
            "sub/loop"
        ]),
    );
    std::fs::remove_file(inputs.join("sub/c.png")).unwrap();
    // Two patterns over the same folder both find their files; `*` does not cross `/`.
    let out = TempDir::new("batch-patterns");
    let done = run_kiln(
        &[
            "batch".into(),
            RESIZE_PNG.into(),
            format!("{}/*.jpg", inputs.path().display()).into(),
            format!("{}/*/*.bmp", inputs.path().display()).into(),
            "--out".into(),
            arg(out.path()),
        ],
        b"",
    );
    assert_eq!(done.code(), 0, "{}", done.stderr);
    check_batch_outputs(inputs.path(), out.path(), &[("a.jpg", "a.png"), ("sub/c.bmp", "c.png")]);
    assert_eq!(tree(out.path()), set(&["a.png", "c.png"]));
    // Following links: the loop is entered once, the link out of the tree is read.
    let out = TempDir::new("batch-follow");
    let done = run_kiln(
        &[
            "batch".into(),
            RESIZE_PNG.into(),
            arg(inputs.path()),
            "--out".into(),
            arg(out.path()),
            "--follow-symlinks".into(),
        ],
        b"",
    );
    // a.jpg and a.png both make a.png: one of them fails.
    assert_eq!(done.code(), 1, "{}", done.stderr);
    assert!(
        done.stderr.contains("would overwrite another input's output"),
        "{}",
        done.stderr
    );
    check_batch_outputs(
        inputs.path(),
        out.path(),
        &[("secret.jpg", "secret.png"), ("sub/c.bmp", "sub/c.png")],
    );
    assert_eq!(tree(out.path()), set(&["a.png", "secret.png", "sub", "sub/c.png"]));
}

#[test]
fn help_describes_the_commands() {
    let done = run_kiln(&["--help"], b"");
    assert_eq!(done.code(), 0, "{}", done.stderr);
    let help = done.stdout_text();
    for command in ["serve", "run", "check", "ops", "batch"] {
        assert!(help.contains(command), "{command} in\n{help}");
    }
    let done = run_kiln(&["batch", "--help"], b"");
    assert_eq!(done.code(), 0, "{}", done.stderr);
    let help = done.stdout_text();
    for flag in [
        "--out",
        "--jobs",
        "--engine",
        "--job-memory-mib",
        "--job-timeout-ms",
        "PIPELINE",
        "INPUTS",
    ] {
        assert!(help.contains(flag), "{flag} in\n{help}");
    }
    let done = run_kiln(&["--version"], b"");
    assert_eq!(done.code(), 0);
    assert!(done.stdout_text().contains(kiln_kernel::VERSION));
    // A usage error is clap's: exit 2, a message on stderr.
    let done = run_kiln(&["frobnicate"], b"");
    assert_eq!(done.code(), 2);
    assert!(done.stderr.contains("frobnicate"), "{}", done.stderr);
}

/// Ctrl-C in the middle of a batch: no new file starts, the files in flight finish and
/// are written whole, nothing partial or temporary is left, and the summary says what
/// was done and what was not started (exit 130, as a shell reports SIGINT).
#[test]
fn batch_interrupted_finishes_files_in_flight_and_leaves_no_partial_output() {
    let _heavy = common::heavy();
    const FILES: usize = 40;
    // ~0.2-0.5 s a file in the sandbox here: the batch takes several seconds in all.
    const SLOW_PNG: &str = "resize width=1600 | blur sigma=2 | encode format=png";
    let inputs = TempDir::new("batch-int-in");
    let photo = data("photo.jpg");
    for i in 0..FILES {
        inputs.put(&format!("f{i:02}.jpg"), &photo);
    }
    let out = TempDir::new("batch-int-out");
    let child = kiln()
        .arg("batch")
        .arg(SLOW_PNG)
        .arg(inputs.path())
        .arg("--out")
        .arg(out.path())
        .args(["--jobs", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kiln batch");
    // Interrupt once the first outputs are there.
    let deadline = Instant::now() + TIMEOUT;
    while tree(out.path()).iter().filter(|f| f.ends_with(".png")).count() < 2 {
        assert!(Instant::now() < deadline, "no output after {TIMEOUT:?}");
        thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let done = finish(child, "kiln batch (interrupted)");
    assert_eq!(done.code(), 130, "{}", done.stderr);

    // The summary: how many were done, how many not started, and they add up.
    let summary = done.stderr.lines().last().unwrap_or_default();
    let number_before = |word: &str| -> usize {
        let at = summary
            .find(word)
            .unwrap_or_else(|| panic!("no {word:?} in {summary:?}"));
        summary[..at]
            .split_whitespace()
            .last()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number before {word:?} in {summary:?}"))
    };
    let (ok, not_started) = (number_before(" ok"), number_before(" not started"));
    assert!(summary.contains("interrupted: "), "{summary}");
    assert!(summary.contains(" 0 failed"), "{summary}");
    assert!(
        not_started > 0,
        "the interrupt came too late to show anything: {summary}"
    );
    assert_eq!(ok + not_started, FILES, "{summary}");

    // Exactly the outputs reported, each whole: the native kernel's bytes.
    let files = tree(out.path());
    assert_eq!(files.len(), ok, "{files:?} vs {summary}");
    let expected = native(SLOW_PNG, &photo).data;
    for f in &files {
        assert!(f.starts_with('f') && f.ends_with(".png"), "unexpected file {f}");
        let bytes = std::fs::read(out.join(f)).unwrap();
        assert!(bytes == expected, "{f}: not the whole output");
    }
}

/// `kiln run` and `kiln batch` check a pipeline with the kernel that will run it: a
/// kernel whose catalogue has the extra op `echo` (the fault-injection test build) runs
/// it, while the embedded kernel refuses it before reading any input.
#[test]
fn run_and_batch_check_pipelines_with_the_kernel_they_run() {
    let dir = TempDir::new("check-kernel");
    let kernel = dir.put("test-kernel.wasm", common::kernels::fault_injection_kernel());
    let kernel = kernel.to_str().expect("a UTF-8 path");

    run_kiln(&["run", "echo"], b"hello").expect_error(2, "bad_pipeline");
    run_kiln(&["check", "echo"], b"").expect_error(2, "bad_pipeline");
    let checked = run_kiln(&["check", "--kernel", kernel, "--allow-unsigned", "echo"], b"");
    assert_eq!(checked.code(), 0, "{}", checked.stderr);
    assert_eq!(checked.stdout_text().trim(), r#"{"steps":[{"op":"echo"}]}"#);
    let canonical = run_kiln(&["check", "blur sigma=2"], b"");
    assert_eq!(
        canonical.stdout_text().trim(),
        kiln_kernel::check("blur sigma=2").unwrap()
    );
    let other = run_kiln(&["run", "--kernel", kernel, "--allow-unsigned", "echo"], b"hello");
    assert_eq!(other.code(), 0, "{}", other.stderr);
    assert_eq!(other.stdout, b"hello");

    dir.put("in/a.txt", b"abc");
    let (inputs, out) = (dir.join("in"), dir.join("out"));
    let (inputs, out) = (inputs.to_str().unwrap(), out.to_str().unwrap());
    run_kiln(&["batch", "echo", inputs, "--out", out], b"").expect_error(2, "bad_pipeline");
    assert!(!Path::new(out).exists(), "a refused batch writes nothing");
    let batch = run_kiln(
        &[
            "batch",
            "--kernel",
            kernel,
            "--allow-unsigned",
            "echo",
            inputs,
            "--out",
            out,
        ],
        b"",
    );
    assert_eq!(batch.code(), 0, "{}", batch.stderr);
    assert_eq!(std::fs::read(dir.join("out/a.bin")).unwrap(), b"abc");
}
