//! The boundary: `run` and `describe`, every op on real inputs, round trips.

mod common;

use common::{data, decode, encoded, pattern};
use kiln_kernel::{ErrorCode, Limits, run, run_with_limits};

fn raw_pipeline(img: &image::RgbaImage, rest: &str) -> String {
    format!(
        "decode format=rgba width={} height={} | {rest}",
        img.width(),
        img.height()
    )
}

#[test]
fn describe_says_which_ops_stream() {
    let d: serde_json::Value = serde_json::from_str(&kiln_kernel::describe()).unwrap();
    let streaming: Vec<&str> = d["ops"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["streams"].as_bool().expect("streams is a boolean on every op"))
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        streaming,
        [
            "compress",
            "decompress",
            "json",
            "parse_csv",
            "parse_json",
            "select",
            "filter",
            "stats",
            "limit",
            "rename",
            "to_json",
            "to_csv"
        ]
    );
    // Each of them opens a session; each other op is refused, naming it.
    for op in d["ops"].as_array().unwrap() {
        let name = op["name"].as_str().unwrap();
        let pipeline = match name {
            "select" => "parse_csv | select columns=a".to_owned(),
            "filter" => "parse_csv | filter where='a > 1'".to_owned(),
            "rename" => "parse_csv | rename columns=a:b".to_owned(),
            "limit" => "parse_csv | limit count=1".to_owned(),
            "stats" | "to_json" | "to_csv" => format!("parse_csv | {name}"),
            "sort" => "parse_csv | sort by=a".to_owned(),
            "group_by" => "parse_csv | group_by by=a".to_owned(),
            "distinct" => "parse_csv | distinct".to_owned(),
            "crop" => "crop x=0 y=0 width=1 height=1".to_owned(),
            _ => match op["params"].as_array().unwrap().iter().find(|p| p["required"] == true) {
                Some(_) => continue,
                None => name.to_owned(),
            },
        };
        let opened = kiln_kernel::Session::open(&pipeline, &Limits::default());
        match opened {
            Ok(_) => assert!(streaming.contains(&name), "{pipeline} opened"),
            Err(e) => {
                assert!(!streaming.contains(&name), "{pipeline}: {e}");
                assert_eq!(e.code, ErrorCode::BadPipeline, "{pipeline}");
                assert!(e.message.contains(&format!("`{name}`")), "{pipeline}: {e}");
            }
        }
    }
}

#[test]
fn describe_lists_every_op_with_params_and_limits() {
    let d: serde_json::Value = serde_json::from_str(&kiln_kernel::describe()).unwrap();
    assert_eq!(d["version"], kiln_kernel::VERSION);
    let ops: Vec<&str> = d["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    for op in [
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
    ] {
        assert!(ops.contains(&op), "describe lacks {op}");
    }
    let resize = d["ops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "resize")
        .unwrap();
    let filter = resize["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "filter")
        .unwrap();
    assert_eq!(filter["default"], "lanczos3");
    assert_eq!(
        filter["values"],
        serde_json::json!(["nearest", "bilinear", "catmull_rom", "lanczos3"])
    );
    let level = d["ops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "compress")
        .unwrap()["params"][1]
        .clone();
    assert_eq!(
        (level["min"].as_i64(), level["max"].as_i64(), level["default"].as_i64()),
        (Some(0), Some(9), Some(6))
    );
    assert_eq!(d["limits"]["max_json_depth"], 128);
    assert_eq!(d["kinds"], serde_json::json!(["bytes", "image", "table"]));
    let capped = kiln_kernel::describe_with_limits(&Limits {
        max_pixels: 5,
        ..Limits::default()
    });
    assert!(capped.contains("\"max_pixels\":5"));
}

#[test]
fn decodes_every_format_upright() {
    for (file, w, h) in [
        ("photo.jpg", 320, 240),
        ("photo.png", 320, 240),
        ("small.webp", 80, 60),
        ("photo-lossy.webp", 320, 240),
        ("anim.gif", 20, 10),
        ("small.bmp", 80, 60),
        ("small.tiff", 80, 60),
        ("oriented6.jpg", 20, 40),
    ] {
        let out = run("encode format=rgba", data(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!((out.meta.width, out.meta.height), (Some(w), Some(h)), "{file}");
        assert_eq!(out.data.len(), (w * h * 4) as usize, "{file}");
    }
    // EXIF orientation 6: stored left-black/right-white, displayed top-black/bottom-white.
    let out = run("encode format=rgba", data("oriented6.jpg")).unwrap();
    let img = image::RgbaImage::from_raw(20, 40, out.data).unwrap();
    assert!(img.get_pixel(10, 3).0[0] < 30 && img.get_pixel(10, 36).0[0] > 225);
    // A YCbCr TIFF (subsampled chroma, read by the kernel itself) with Orientation 6:
    // the stored image turned 90 degrees clockwise.
    let stored = run("encode format=rgba", common::ycbcr_tiff(6, 4, None)).unwrap();
    let oriented = run("encode format=rgba", common::ycbcr_tiff(6, 4, Some(6))).unwrap();
    assert_eq!((oriented.meta.width, oriented.meta.height), (Some(4), Some(6)));
    let turned = run(
        "decode format=rgba width=6 height=4 | rotate degrees=90 | encode format=rgba",
        stored.data,
    )
    .unwrap();
    assert_eq!(oriented.data, turned.data);
    // GIF: the first frame (red), not the second (blue).
    let out = run("encode format=rgba", data("anim.gif")).unwrap();
    assert_eq!(&out.data[..4], &[255, 0, 0, 255]);
}

#[test]
fn encodes_every_format_and_reads_it_back() {
    let img = pattern(64, 48, true);
    let raw = img.as_raw();
    for (format, lossless) in [("png", true), ("webp", true), ("jpeg", false), ("rgba", true)] {
        let out = run(&raw_pipeline(&img, &format!("encode format={format}")), raw).unwrap();
        assert_eq!(out.meta.format.as_deref(), Some(format));
        if format == "rgba" {
            assert_eq!(&out.data, raw);
            continue;
        }
        let back = decode(&out.data);
        assert_eq!(back.dimensions(), (64, 48));
        if lossless {
            assert_eq!(back.as_raw(), raw, "{format} is lossless");
        }
    }
    // PNG levels trade size for time; all decode to the same pixels.
    let photo = data("photo.png");
    let l0 = run("encode format=png level=0", &photo).unwrap().data;
    let l9 = run("encode format=png level=9", &photo).unwrap().data;
    assert!(l9.len() < l0.len() / 2, "{} vs {}", l9.len(), l0.len());
    assert_eq!(decode(&l0), decode(&l9));
    // JPEG quality changes size.
    let q20 = run("encode format=jpeg quality=20", &photo).unwrap().data;
    let q95 = run("encode format=jpeg quality=95", &photo).unwrap().data;
    assert!(q20.len() < q95.len());
}

#[test]
fn image_ops_do_what_they_say() {
    let img = pattern(40, 30, false);
    let raw = img.as_raw();
    let apply = |p: &str| -> image::RgbaImage {
        let out = run(&raw_pipeline(&img, &format!("{p} | encode format=rgba")), raw).unwrap();
        image::RgbaImage::from_raw(out.meta.width.unwrap(), out.meta.height.unwrap(), out.data).unwrap()
    };
    assert_eq!(apply("resize width=20").dimensions(), (20, 15));
    assert_eq!(apply("resize width=20 height=20 fit=cover").dimensions(), (20, 20));
    assert_eq!(apply("resize width=20 height=20 fit=contain").dimensions(), (20, 15));
    assert_eq!(
        apply("resize width=20 height=20 fit=fill filter=nearest").dimensions(),
        (20, 20)
    );
    assert_eq!(
        apply("crop x=5 y=6 width=7 height=8").get_pixel(0, 0),
        img.get_pixel(5, 6)
    );
    assert_eq!(apply("rotate degrees=90").dimensions(), (30, 40));
    assert_eq!(apply("rotate degrees=-270"), apply("rotate degrees=90"));
    assert_eq!(apply("rotate degrees=30").dimensions(), (50, 46)); // 40 cos + 30 sin = 49.6
    assert_eq!(apply("extend top=1 right=2 bottom=3 left=4").dimensions(), (46, 34));
    assert_eq!(apply("extend width=50 height=31").get_pixel(5, 0), img.get_pixel(0, 0));
    assert_eq!(
        apply("resize width=30 height=30 background=#ffffff").dimensions(),
        (30, 30)
    );
    assert_eq!(
        apply("median size=3 | threshold | linear a=1 | normalize | modulate | tint color=#808080").dimensions(),
        (40, 30)
    );
    assert_eq!(apply("flip axis=horizontal").get_pixel(0, 0), img.get_pixel(39, 0));
    let g = apply("grayscale");
    assert!(g.pixels().all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2]));
    assert_eq!(apply("invert | invert"), img);
    assert_eq!(apply("brightness value=1 | contrast value=1 | gamma value=1"), img);
    assert!(apply("brightness value=0").pixels().all(|p| p.0[..3] == [0, 0, 0]));
    assert_eq!(apply("convolve kernel=0,0,0,0,1,0,0,0,0"), img);
    let blurred = apply("blur sigma=3");
    assert_ne!(blurred, img);
    let sharp = apply("sharpen sigma=1 amount=2");
    assert_ne!(sharp, img);
    let flat = image::RgbaImage::from_pixel(16, 16, image::Rgba([90, 90, 90, 255]));
    let out = run(&raw_pipeline(&flat, "sobel | encode format=rgba"), flat.as_raw()).unwrap();
    assert!(
        out.data.chunks(4).all(|p| p == [0, 0, 0, 255]),
        "no edges in a flat image"
    );
}

#[test]
fn trim_undoes_extend_and_reports_its_offsets_in_meta() {
    let img = image::RgbaImage::from_fn(23, 17, |x, y| image::Rgba([(x * 7) as u8, (y * 9) as u8, 40, 255]));
    let out = run(
        &raw_pipeline(
            &img,
            "extend top=3 right=1 bottom=4 left=5 background=#ffffff | trim threshold=0 | encode format=rgba",
        ),
        img.as_raw(),
    )
    .unwrap();
    assert_eq!(out.data, img.as_raw().as_slice());
    assert_eq!(
        (out.meta.width, out.meta.height, out.meta.trim_left, out.meta.trim_top),
        (Some(23), Some(17), Some(5), Some(3))
    );
    // In the meta JSON after format, before the version; absent without a trim.
    let json = out.meta.to_json();
    assert!(
        json.contains(r#""format":"rgba","trim_left":5,"trim_top":3,"version""#),
        "{json}"
    );
    let plain = run(&raw_pipeline(&img, "encode format=rgba"), img.as_raw()).unwrap();
    assert!(!plain.meta.to_json().contains("trim"));
}

#[test]
fn compression_round_trips() {
    let text: Vec<u8> = (0..50_000)
        .flat_map(|i| format!("{i},row {i}\n").into_bytes())
        .collect();
    for format in ["gzip", "zlib", "deflate"] {
        for level in [0, 6, 9] {
            let c = run(&format!("compress format={format} level={level}"), &text).unwrap();
            let d = run(&format!("decompress format={format}"), &c.data).unwrap();
            assert_eq!(d.data, text, "{format} {level}");
        }
    }
    // gzip output is what the gzip format says (any gzip reader can read it)
    let c = run("compress", &text).unwrap();
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&c.data[..]), &mut back).unwrap();
    assert_eq!(back, text);
}

#[test]
fn csv_json_csv_round_trip() {
    let mut csv = String::from("id,name,price,ok,note\n");
    for i in 0..500 {
        let note = match i % 4 {
            0 => String::new(),
            1 => format!("\"has, comma {i}\""),
            2 => format!("\"has \"\"quotes\"\" {i}\""),
            _ => format!("\"multi\nline {i}\""),
        };
        csv.push_str(&format!("{i},name{i},{}.25,{},{note}\n", i * 3, i % 2 == 0));
    }
    let json = run("parse_csv | to_json", csv.as_bytes()).unwrap();
    assert_eq!((json.meta.rows, json.meta.columns), (Some(500), Some(5)));
    let back = run("parse_json | to_csv", &json.data).unwrap();
    assert_eq!(String::from_utf8(back.data).unwrap(), csv);
    let ndjson = run("parse_csv | to_json format=ndjson", csv.as_bytes()).unwrap();
    assert_eq!(ndjson.data.iter().filter(|&&b| b == b'\n').count(), 500);
    let back = run("parse_json | to_csv", &ndjson.data).unwrap();
    assert_eq!(String::from_utf8(back.data).unwrap(), csv);
}

#[test]
fn table_ops() {
    let csv = b"city,pop,area\nOslo,709000,454\nBergen,291000,465\nTromso,77000,2521\nNowhere,,\n";
    let out = run(
        "parse_csv | filter where=\"pop > 100000\" | select columns=city | to_csv",
        csv,
    )
    .unwrap();
    assert_eq!(out.data, b"city\nOslo\nBergen\n");
    let stats = run("parse_csv | stats", csv).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&stats.data).unwrap();
    assert_eq!(v[1]["column"], "pop");
    assert_eq!(v[1]["count"], 3);
    assert_eq!(v[1]["nulls"], 1);
    assert_eq!(v[1]["min"], 77000);
    assert_eq!(v[1]["max"], 709000);
    assert_eq!(v[1]["mean"], 359000.0);
}

#[test]
fn json_modes() {
    let src = br#" { "b" : [1, 2.0, {"x": null}], "a": "\u00e9" } "#;
    assert_eq!(run("json", src).unwrap().data, src.to_vec());
    assert_eq!(
        run("json mode=minify", src).unwrap().data,
        br#"{"b":[1,2.0,{"x":null}],"a":"\u00e9"}"#.to_vec()
    );
    let pretty = run("json mode=pretty", src).unwrap().data;
    let reparsed: serde_json::Value = serde_json::from_slice(&pretty).unwrap();
    assert_eq!(reparsed, serde_json::from_slice::<serde_json::Value>(src).unwrap());
    assert!(String::from_utf8(pretty).unwrap().contains("\n  \"b\": [\n    1,"));
}

#[test]
fn errors_carry_step_and_param() {
    let e = run("grayscale | resize width=abc", b"").unwrap_err();
    assert_eq!(
        (e.code, e.step, e.param.as_deref()),
        (ErrorCode::BadPipeline, Some(1), Some("width"))
    );
    let e = run("grayscale | blur sigma=2", b"not an image").unwrap_err();
    assert_eq!(
        (e.code, e.step),
        (ErrorCode::BadInput, Some(0)),
        "the implied decode blames the step that needed it"
    );
    assert!(e.message.starts_with("steps[0] (decode)"), "{}", e.message);
    let e = run("parse_csv | select columns=zzz", b"a\n1\n").unwrap_err();
    assert_eq!((e.code, e.step), (ErrorCode::BadInput, Some(1)));
    let j = e.to_json();
    assert_eq!(j["code"], "bad_input");
    assert_eq!(j["step"], 1);
}

#[test]
fn host_limits_cap_and_pipelines_only_tighten() {
    let host = Limits {
        max_input_bytes: 10,
        ..Limits::default()
    };
    assert_eq!(
        run_with_limits("compress", b"0123456789abc", &host).unwrap_err().code,
        ErrorCode::TooLarge
    );
    // a pipeline cannot loosen the host's cap
    let loosen = r#"{"steps":[{"op":"compress"}], "limits": {"max_input_bytes": 1000000}}"#;
    assert_eq!(
        run_with_limits(loosen, b"0123456789abc", &host).unwrap_err().code,
        ErrorCode::TooLarge
    );
    assert!(run_with_limits(loosen, b"0123456789", &host).is_ok());
}

#[test]
fn threads_do_not_change_bytes() {
    let photo = encoded(700, 500, image::ImageFormat::Png);
    let pipelines = [
        "resize width=333 | encode format=png",
        "blur sigma=2 | encode format=rgba",
        "blur sigma=9 | encode format=rgba",
        "sharpen sigma=1.5 amount=1 | grayscale | convolve kernel=1,2,1,2,4,2,1,2,1 | sobel | encode format=rgba",
    ];
    for p in pipelines {
        let many = run(p, &photo).unwrap().data;
        #[cfg(feature = "rayon")]
        {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
            let one = pool.install(|| run(p, &photo).unwrap().data);
            assert!(one == many, "{p}: 1 thread differs from many");
        }
        assert!(!many.is_empty());
    }
}

/// The ICC profile an output PNG or WebP carries (image-rs reads it).
fn output_icc(bytes: &[u8]) -> Option<Vec<u8>> {
    use image::ImageDecoder;
    let mut decoder = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    decoder.icc_profile().unwrap()
}

#[test]
fn icc_profiles_convert_on_decode_and_are_kept_only_when_asked() {
    let p3 = data("icc/p3.png");
    let source_icc = data("icc/p3.icc");
    let raw = run("decode icc=ignore | encode format=rgba", &p3[..]).unwrap().data;
    let converted = run("encode format=rgba", &p3[..]).unwrap().data;
    assert_eq!(raw, decode(&p3).into_raw(), "icc=ignore: the stored values");
    assert_ne!(converted, raw, "a Display P3 image is converted");
    // Outputs are sRGB and carry no profile by default.
    let png = run("encode format=png", &p3[..]).unwrap().data;
    assert_eq!(output_icc(&png), None);
    assert_eq!(decode(&png).into_raw(), converted);
    // keep: the stored values and the source's profile, whatever decode says, after
    // other steps too; in PNG (levels 0 and 9) and WebP.
    for pipeline in [
        "encode format=png icc=keep",
        "decode | flip axis=horizontal | flip axis=horizontal | encode format=png level=0 icc=keep",
        "decode icc=ignore | encode format=webp icc=keep",
    ] {
        let out = run(pipeline, &p3[..]).unwrap().data;
        assert_eq!(output_icc(&out).as_deref(), Some(&source_icc[..]), "{pipeline}");
        assert_eq!(decode(&out).into_raw(), raw, "{pipeline}");
    }
    // JPEG: the profile in APP2.
    let jpeg = run("encode format=jpeg icc=keep", &data("icc/adobergb.jpg")[..])
        .unwrap()
        .data;
    let mut decoder = zune_jpeg::JpegDecoder::new(zune_core::bytestream::ZCursor::new(&jpeg[..]));
    decoder.decode_headers().unwrap();
    assert_eq!(decoder.icc_profile(), Some(data("icc/adobergb.icc")));
    // A CMYK source cannot keep its profile (kiln's pixels are RGB): sRGB, no profile.
    let cmyk = data("icc/cmyk.jpg");
    let kept = run("encode format=png icc=keep", &cmyk[..]).unwrap().data;
    assert_eq!(output_icc(&kept), None);
    assert_eq!(
        decode(&kept).into_raw(),
        run("encode format=rgba", &cmyk[..]).unwrap().data
    );
    // A second decode in the pipeline follows its own encode.
    let twice = run("encode format=png icc=keep | decode | encode format=png", &p3[..])
        .unwrap()
        .data;
    assert_eq!(output_icc(&twice), None);
    assert_eq!(decode(&twice).into_raw(), converted);
}

#[test]
fn cmyk_jpegs_decode_to_rgb_with_and_without_their_profile() {
    for name in ["icc/cmyk.jpg", "icc/ycck.jpg"] {
        let jpeg = data(name);
        for pipeline in ["encode format=rgba", "decode icc=ignore | encode format=rgba"] {
            let out = run(pipeline, &jpeg[..]).unwrap().data;
            assert_eq!(out.len(), 36 * 36 * 4);
            // The first sample is no ink at all: paper white; the last full ink: dark.
            assert!(out[..4].iter().all(|&v| v >= 254), "{name} {pipeline}: {:?}", &out[..4]);
            assert!(
                out[out.len() - 4..out.len() - 1].iter().all(|&v| v < 50),
                "{name} {pipeline}"
            );
            assert!(out.chunks_exact(4).all(|px| px[3] == 255), "{name} {pipeline}: opaque");
        }
    }
}

#[test]
fn hostile_icc_profiles_are_ignored_or_too_large() {
    // A profile cut in half: ignored, the stored values.
    let bad = data("icc/p3-bad.png");
    assert_eq!(
        run("encode format=rgba", &bad[..]).unwrap().data,
        decode(&bad).into_raw()
    );
    // A WebP carrying a 5 MiB profile: too_large, unless the profile is not read.
    let mut webp = Vec::new();
    let mut encoder = image::codecs::webp::WebPEncoder::new_lossless(&mut webp);
    image::ImageEncoder::set_icc_profile(&mut encoder, vec![0; 5 << 20]).unwrap();
    encoder
        .encode(&[1, 2, 3, 255], 1, 1, image::ExtendedColorType::Rgba8)
        .unwrap();
    let e = run("encode format=rgba", &webp[..]).unwrap_err();
    assert_eq!(e.code, ErrorCode::TooLarge, "{e}");
    assert!(run("decode icc=ignore | encode format=rgba", &webp[..]).is_ok());
}

/// `encode exif=keep` carries a phone photo's EXIF (camera, date, GPS) into JPEG, PNG
/// and WebP with its orientation set to 1 (the pixels are already upright); the default
/// writes none.
#[test]
fn exif_is_kept_only_when_asked_and_upright() {
    let phone = data("info/phone.jpg"); // 48x32, orientation 6
    let info =
        |bytes: &[u8]| -> serde_json::Value { serde_json::from_slice(&run("info", bytes).unwrap().data).unwrap() };
    for format in ["jpeg", "png", "webp"] {
        let kept = run(&format!("encode format={format} exif=keep"), &phone).unwrap().data;
        let i = info(&kept);
        assert_eq!(
            (i["width"].as_u64(), i["height"].as_u64()),
            (Some(32), Some(48)),
            "{format}"
        );
        assert_eq!(i["orientation"], 1, "{format}");
        assert_eq!(i["oriented_width"], 32, "{format}");
        assert_eq!(i["exif"]["make"], "KilnCam", "{format}");
        assert_eq!(i["exif"]["date_taken"], "2026:11:28 06:30:00", "{format}");
        assert_eq!(i["exif"]["gps"], true, "{format}");
        // Decoded again, the pixels are not turned a second time.
        let again = run("encode format=rgba", &kept).unwrap();
        assert_eq!((again.meta.width, again.meta.height), (Some(32), Some(48)), "{format}");
        let stripped = run(&format!("encode format={format}"), &phone).unwrap().data;
        assert_eq!(info(&stripped)["exif"], serde_json::Value::Null, "{format}");
    }
    // A source without EXIF, or a raw one: nothing to keep, no error.
    let plain = run("encode format=png exif=keep", data("photo.png")).unwrap().data;
    assert_eq!(info(&plain)["exif"], serde_json::Value::Null);
}
