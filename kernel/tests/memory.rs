//! The memory model against the bytes jobs really hold (DESIGN.md, "Memory"). A
//! counting allocator gives each job's peak of live heap bytes. For each job, the
//! smallest `max_memory_bytes` the model admits it under is found; the job's real peak
//! must fit that limit (the model is an upper bound), and the limit must not be far
//! above the peak (the model does not refuse jobs that would fit).

use std::sync::Mutex;
use std::sync::atomic::Ordering::Relaxed;

use kiln_kernel::Limits;

mod common;

mod counting;
use counting::{LIVE, PEAK};

/// One measurement at a time (the counters are global).
static ONE: Mutex<()> = Mutex::new(());

/// Runs `pipeline` on a copy of `input` under `max_memory`: whether it ran, and the
/// peak of bytes held by the job, its input included.
fn run(pipeline: &str, input: &[u8], max_memory: u64) -> (bool, u64) {
    let limits = Limits {
        max_memory_bytes: max_memory,
        ..Limits::default()
    };
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let input = input.to_vec();
    let ran = kiln_kernel::run_with_limits(pipeline, input, &limits);
    let peak = (PEAK.load(Relaxed) - base) as u64;
    if let Err(e) = &ran {
        assert_eq!(e.code, kiln_kernel::ErrorCode::TooLarge, "{pipeline}: {e}");
    }
    (ran.is_ok(), peak)
}

/// The smallest memory limit `pipeline` runs under (to 64 KiB), searched between half
/// and 1.5 x + 3 MiB of its peak without a limit, and its peak under that limit.
fn admitted(pipeline: &str, input: &[u8]) -> (u64, u64) {
    let (ran, free) = run(pipeline, input, 1 << 30);
    assert!(ran, "{pipeline} does not run under 1 GiB");
    let (mut refused, mut fits) = (free / 2, free + free / 2 + (3 << 20));
    if !run(pipeline, input, fits).0 {
        return (fits + 1, free); // far above: the caller says so
    }
    if run(pipeline, input, refused).0 {
        fits = refused;
        refused = 0;
    }
    while fits - refused > 1 << 16 {
        let mid = refused + (fits - refused) / 2;
        if run(pipeline, input, mid).0 {
            fits = mid;
        } else {
            refused = mid;
        }
    }
    (fits, run(pipeline, input, fits).1)
}

fn encoded(image: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut out), format).unwrap();
    out
}

fn progressive_jpeg(rgb: &image::RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
    encoder.set_progressive(true);
    let (w, h) = (rgb.width() as u16, rgb.height() as u16);
    encoder
        .encode(rgb.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

#[test]
fn the_model_bounds_what_jobs_hold_and_stays_close() {
    let _one = ONE.lock().unwrap();
    // The model counts one thread's line buffers (memory.rs): run as the sandbox does.
    // SAFETY: the only test of this binary, before any thread is started.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    let (w, h) = (640u32, 480u32);
    let rgb = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([((x * 7) ^ (y * 3)) as u8, (x + y) as u8, (x * y) as u8])
    });
    let rgba = image::RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([((x * 7) ^ (y * 3)) as u8, (x + y) as u8, (x * y) as u8, (x ^ y) as u8])
    });
    let deep = image::ImageBuffer::<image::Rgba<u16>, _>::from_fn(w, h, |x, y| {
        image::Rgba([(x * 60) as u16, (y * 70) as u16, 9, 65535])
    });
    let png = encoded(rgb.clone().into(), image::ImageFormat::Png);
    let png_alpha = encoded(rgba.clone().into(), image::ImageFormat::Png);
    let png16 = encoded(image::DynamicImage::ImageRgba16(deep), image::ImageFormat::Png);
    let jpeg = kiln_kernel::run("encode format=jpeg quality=90", png.as_slice())
        .unwrap()
        .data;
    let progressive = progressive_jpeg(&rgb);
    let ycbcr = common::ycbcr_tiff(w, h, None);
    // Lossy WebPs from Pillow (tests/data/make_data.py): a lossless-compressed alpha
    // plane, an animation; and the 320x240 photo without alpha.
    let webp_alpha = include_bytes!("../../tests/data/alpha-lossy.webp");
    let webp_anim = include_bytes!("../../tests/data/anim-lossy.webp");
    let webp_lossy = include_bytes!("../../tests/data/photo-lossy.webp");
    // ICC profiles to apply (tests/data/icc): a Display P3 PNG, a CMYK JPEG with its
    // CMYK lut16 profile (a 17^4 grid).
    let p3_png = {
        let mut info = png::Info::with_size(w, h);
        info.icc_profile = Some(include_bytes!("../../tests/data/icc/p3.icc").as_slice().into());
        info.color_type = png::ColorType::Rgb;
        info.bit_depth = png::BitDepth::Eight;
        let mut out = Vec::new();
        let mut writer = png::Encoder::with_info(&mut out, info).unwrap().write_header().unwrap();
        writer.write_image_data(rgb.as_raw()).unwrap();
        writer.finish().unwrap();
        out
    };
    let cmyk_jpeg = {
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
        encoder
            .add_icc_profile(include_bytes!("../../tests/data/icc/cmyk.icc"))
            .unwrap();
        encoder
            .encode(rgba.as_raw(), w as u16, h as u16, jpeg_encoder::ColorType::Cmyk)
            .unwrap();
        out
    };
    let raw = rgba.as_raw().as_slice();
    let opaque_raw = image::DynamicImage::ImageRgb8(rgb.clone()).into_rgba8().into_raw();
    let mut seed = 1u32;
    let noise: Vec<u8> = (0..w * h * 4)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as u8
        })
        .collect();
    let noise_opaque: Vec<u8> = noise.chunks(4).flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    let wide_csv = {
        let mut s = (0..1024).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",");
        s.push('\n');
        s.push_str(&"1\n".repeat(512));
        s.into_bytes()
    };
    let csv: Vec<u8> = (0..40_000)
        .map(|i| format!("{i},name {i},{}.5,{}\n", i * 3, i % 2 == 0))
        .collect::<String>()
        .into_bytes();
    let mut escaped = b"a\n\"".to_vec();
    escaped.extend(std::iter::repeat_n(1u8, 1 << 20));
    escaped.extend(b"\"\n");

    // JSON rows with nested values, re-serialised into the table's text as they are
    // read: a repeated nested key, a nested array of 400k zeros, floats that outgrow
    // their input (1e15 is 1000000000000000.0).
    let nested_rows: Vec<u8> = (0..20_000)
        .map(|i| format!("{{\"id\":{i},\"tags\":[1e15,\"t{i}\",[]],\"o\":{{\"a\":1,\"b\":null,\"a\":{i}}}}}\n"))
        .collect::<String>()
        .into_bytes();
    let zeros = format!("[{{\"a\":[{}0]}}]", "0,".repeat(400_000)).into_bytes();
    let floats = format!("{{\"a\":[{}1e15]}}", "1e15,".repeat(100_000)).into_bytes();
    // One 2 MiB record, then many short ones: the record buffer stays that large.
    let mut long_then_many = format!("{},1,2,3\n", "x".repeat(2 << 20)).into_bytes();
    long_then_many.extend_from_slice(&csv);
    let r = |ops: &str| format!("decode format=rgba width={w} height={h} | {ops}");
    let jobs: Vec<(String, &[u8])> = vec![
        ("decode | encode format=rgba".into(), &png),
        ("decode | encode format=rgba".into(), &png_alpha),
        ("decode | encode format=rgba".into(), &png16),
        ("decode | encode format=rgba".into(), &jpeg),
        ("decode | encode format=rgba".into(), &progressive),
        ("decode | encode format=rgba".into(), &ycbcr),
        ("decode | encode format=rgba".into(), webp_alpha),
        ("decode | encode format=rgba".into(), webp_anim),
        ("decode | encode format=rgba".into(), webp_lossy),
        ("decode | encode format=rgba".into(), &p3_png),
        ("decode | encode format=rgba".into(), &cmyk_jpeg),
        ("decode icc=ignore | encode format=rgba".into(), &cmyk_jpeg),
        ("encode format=png icc=keep".into(), &p3_png),
        ("decode | resize width=300 | encode format=jpeg".into(), &jpeg),
        (r("blur sigma=1 | encode format=rgba"), raw),
        (r("blur sigma=4 | encode format=rgba"), raw),
        (r("blur sigma=20 | encode format=rgba"), raw),
        (r("blur sigma=4 | encode format=rgba"), &opaque_raw),
        (r("sharpen | encode format=rgba"), raw),
        (r("sharpen sigma=4 | encode format=rgba"), raw),
        (r("sharpen sigma=4 | encode format=rgba"), &opaque_raw),
        (r("resize width=500 | encode format=rgba"), raw),
        (r("resize width=2000 | encode format=rgba"), raw),
        (r("rotate degrees=90 | encode format=rgba"), raw),
        (r("crop x=0 y=0 width=500 height=400 | encode format=rgba"), raw),
        (r("convolve kernel=0,-1,0,-1,5,-1,0,-1,0 | encode format=rgba"), raw),
        (r("sobel | encode format=rgba"), raw),
        (r("grayscale | encode format=rgba"), raw),
        (
            r("extend width=1200 height=900 background=#00ff00 | encode format=rgba"),
            raw,
        ),
        (r("trim threshold=255 background=#000000 | encode format=rgba"), raw),
        (r("rotate degrees=17 | encode format=rgba"), raw),
        (
            r("rotate degrees=-45.5 background=#ff000080 | encode format=rgba"),
            &opaque_raw,
        ),
        (r("median size=7 | encode format=rgba"), raw),
        (
            r("modulate brightness=1.2 saturation=0.5 hue=90 | tint color=#704214 | encode format=rgba"),
            raw,
        ),
        (
            r("normalize | linear a=1.5 b=-20 | threshold | encode format=rgba"),
            raw,
        ),
        (
            r("resize width=400 height=200 fit=cover position=attention | encode format=rgba"),
            &opaque_raw,
        ),
        (
            r("resize width=500 height=500 fit=contain background=#000000 | encode format=rgba"),
            raw,
        ),
        (r("encode format=png"), &noise_opaque),
        (r("encode format=png"), &noise),
        (r("encode format=png level=9"), &opaque_raw),
        // Level 0's bound takes the stored image at its raw size: close for noise.
        (r("encode format=png level=0"), &noise_opaque),
        (r("encode format=png level=0"), &noise),
        (r("encode format=jpeg"), &opaque_raw),
        (r("encode format=webp"), &opaque_raw),
        (r("encode format=webp"), raw),
        ("parse_csv | stats | to_json".into(), &wide_csv),
        ("parse_csv header=false | to_json".into(), &csv),
        ("parse_csv header=false | sort by=column3 | to_csv".into(), &csv),
        ("parse_csv | to_json".into(), &escaped),
        ("parse_csv header=false | to_json".into(), &long_then_many),
        ("parse_json | to_json".into(), &nested_rows),
        ("parse_json | to_csv".into(), &zeros),
        ("parse_json | to_json".into(), &floats),
    ];
    for (pipeline, input) in &jobs {
        let (limit, peak) = admitted(pipeline, input);
        let mib = |b: u64| b as f64 / f64::from(1 << 20);
        println!(
            "{pipeline}: peak {:.1} MiB, admitted from {:.1} MiB",
            mib(peak),
            mib(limit)
        );
        assert!(
            peak <= limit,
            "{pipeline}: held {peak} bytes, more than the {limit} the model admitted it under"
        );
        assert!(
            limit <= peak + peak / 2 + (3 << 20),
            "{pipeline}: the model asks for {limit} bytes, far above the {peak} it holds"
        );
    }
}
