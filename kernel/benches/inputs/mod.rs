//! The benchmark inputs, generated from fixed seeds: shared by the kernel's criterion
//! bench and the comparison with peers (bindings-native/examples/bench_worker.rs), so
//! both time exactly the same bytes.

// Each bench uses a part of this module.
#![allow(dead_code)]

/// xorshift32: a fixed-seed generator, so inputs are the same on every run.
struct Rng(u32);
impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
}

/// A photo-like RGB pattern (smooth gradients, edges, a little noise) as RGBA8.
pub fn photo(w: u32, h: u32) -> Vec<u8> {
    let mut rng = Rng(0x9e37_79b9);
    let mut out = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            let n = (rng.next() % 17) as i32 - 8;
            let fx = x as f32 / w as f32;
            let fy = y as f32 / h as f32;
            let ring = (((fx - 0.5).powi(2) + (fy - 0.4).powi(2)).sqrt() * 40.0) as i32 % 2;
            let r = (fx * 200.0) as i32 + ring * 40 + n;
            let g = (fy * 180.0) as i32 + n;
            let b = ((fx + fy) * 110.0) as i32 + n;
            out.extend_from_slice(&[r.clamp(0, 255) as u8, g.clamp(0, 255) as u8, b.clamp(0, 255) as u8, 255]);
        }
    }
    out
}

/// Log-like text with numbers and words: compresses about 4-5x, like real logs.
pub fn mixed_text(bytes: usize) -> Vec<u8> {
    let words = [
        "GET",
        "POST",
        "/api/v1/items",
        "/static/app.js",
        "user",
        "ok",
        "error",
        "timeout",
        "cache",
        "miss",
        "hit",
        "kiln",
        "resize",
        "gzip",
    ];
    let mut rng = Rng(42);
    let mut out = Vec::with_capacity(bytes + 200);
    while out.len() < bytes {
        let line = format!(
            "2026-11-{:02}T{:02}:{:02}:{:02}Z {} {} status={} bytes={} took={}ms {}\n",
            rng.next() % 28 + 1,
            rng.next() % 24,
            rng.next() % 60,
            rng.next() % 60,
            words[(rng.next() % 4) as usize],
            words[(rng.next() % words.len() as u32) as usize],
            [200, 200, 200, 304, 404, 500][(rng.next() % 6) as usize],
            rng.next() % 100_000,
            rng.next() % 2000,
            words[(rng.next() % words.len() as u32) as usize],
        );
        out.extend_from_slice(line.as_bytes());
    }
    out.truncate(bytes);
    out
}

/// A CSV of about `bytes` bytes: ints, floats, booleans, text, some quoted, some empty.
pub fn csv(bytes: usize) -> Vec<u8> {
    let mut rng = Rng(7);
    let mut out = b"id,name,city,price,qty,active,note\n".to_vec();
    let cities = ["Oslo", "Lima", "Pune", "Kyiv", "Quito", "Perth"];
    let mut id = 0u64;
    while out.len() < bytes {
        id += 1;
        let note = match rng.next() % 5 {
            0 => String::new(),
            1 => "\"with, comma\"".to_owned(),
            _ => format!("note {}", rng.next() % 1000),
        };
        let line = format!(
            "{id},name{},{},{}.{:02},{},{},{note}\n",
            rng.next() % 100_000,
            cities[(rng.next() % 6) as usize],
            rng.next() % 1000,
            rng.next() % 100,
            rng.next() % 50,
            rng.next().is_multiple_of(2),
        );
        out.extend_from_slice(line.as_bytes());
    }
    out
}

/// One timed job: a name, a pipeline and its input.
pub struct Task {
    pub name: String,
    pub pipeline: String,
    pub input: Vec<u8>,
}

/// The jobs whose cost must not grow with a parameter, or that show where a target
/// loses time: blur per sigma, resize per filter, JPEG decode (full and shrunk on load),
/// inflate, CSV scan. Shared
/// by the native bench (`cargo bench -p kiln-kernel --bench scaling`) and the same jobs
/// in wasmtime (`cargo bench -p kiln-sandbox --bench scaling`), so the two compare.
pub fn scaling_tasks() -> Vec<Task> {
    let (w, h) = (1000, 1000);
    let raw = format!("decode format=rgba width={w} height={h}");
    let square = photo(w, h);
    let mut tasks = Vec::new();
    let mut task = |name: String, pipeline: String, input: &[u8]| {
        tasks.push(Task {
            name,
            pipeline,
            input: input.to_vec(),
        });
    };
    for sigma in [1, 4, 20, 100] {
        task(
            format!("blur_sigma{sigma}_1000x1000"),
            format!("{raw} | blur sigma={sigma} | encode format=rgba"),
            &square,
        );
    }
    for filter in ["nearest", "bilinear", "catmull_rom", "lanczos3"] {
        task(
            format!("resize_{filter}_1000x1000_to_250"),
            format!("{raw} | resize width=250 filter={filter} | encode format=rgba"),
            &square,
        );
    }
    task(
        "png_encode_1000x1000".into(),
        format!("{raw} | encode format=png"),
        &square,
    );
    let run = |pipeline: &str, input: &[u8]| kiln_kernel::run(pipeline, input).expect("bench input").data;
    let jpeg = run(&format!("{raw} | encode format=jpeg quality=90"), &square);
    task("jpeg_decode_1000x1000".into(), "encode format=rgba".into(), &jpeg);
    // Decoded at 1/2, 1/4 and 1/8 for the resize that follows (shrink-on-load), which
    // then lands on the decoded size.
    for shrink in [2, 4, 8] {
        task(
            format!("jpeg_shrink_1000x1000_1of{shrink}"),
            format!("resize width={} | encode format=rgba", 1000 / shrink),
            &jpeg,
        );
    }
    let gz = run("compress level=6", &mixed_text(4 << 20));
    task("inflate_4MiB_text".into(), "decompress".into(), &gz);
    task("csv_scan_8MB_stats".into(), "parse_csv | stats".into(), &csv(8_000_000));
    tasks
}
