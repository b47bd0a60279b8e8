//! Hostile input is normal input: every case gets its stable error code and nothing
//! panics, hangs or allocates past the limits.

mod common;

use common::{data, encoded};
use kiln_kernel::{ErrorCode, run};

fn code(pipeline: &str, input: &[u8]) -> ErrorCode {
    match std::panic::catch_unwind(|| run(pipeline, input)) {
        Ok(Ok(out)) => panic!("`{pipeline}` accepted hostile input ({} bytes out)", out.data.len()),
        Ok(Err(e)) => e.code,
        Err(_) => panic!("`{pipeline}` panicked"),
    }
}

/// Runs without panicking; returns the error code if any.
fn survives(pipeline: &str, input: &[u8]) -> Option<ErrorCode> {
    match std::panic::catch_unwind(|| run(pipeline, input)) {
        Ok(r) => r.err().map(|e| e.code),
        Err(_) => panic!("`{pipeline}` panicked on {} bytes", input.len()),
    }
}

#[test]
fn truncated_images_are_bad_input_at_every_length() {
    for (name, bytes) in [
        ("png", encoded(64, 64, image::ImageFormat::Png)),
        ("jpeg", encoded(64, 64, image::ImageFormat::Jpeg)),
        ("webp", data("small.webp")),
        ("gif", data("anim.gif")),
        ("bmp", data("small.bmp")),
        ("tiff", data("small.tiff")),
        // YCbCr with subsampled chroma: strips the kernel reads itself.
        ("tiff", data("lenient/ycbcr-42-lzw.tif")),
        ("tiff", data("lenient/ycbcr-22-deflate.tif")),
        ("tiff", data("lenient/ycbcr-21-packbits.tif")),
        ("tiff", data("lenient/ycbcr-22-none.tif")),
    ] {
        let step = (bytes.len() / 60).max(1);
        for len in (1..bytes.len()).step_by(step) {
            let outcome = survives("encode format=rgba", &bytes[..len]);
            if matches!(name, "png" | "jpeg") {
                // A cut PNG or JPEG is always bad input, never half an image.
                assert_eq!(outcome, Some(ErrorCode::BadInput), "{name} cut at {len}");
            } else if let Some(code) = outcome {
                // Other formats may hold a valid smaller image in a prefix (a GIF's
                // first frame); what matters is an answer, never a panic.
                assert!(
                    matches!(code, ErrorCode::BadInput | ErrorCode::Unsupported),
                    "{name} cut at {len}: {code}"
                );
            }
        }
    }
    let png = encoded(64, 64, image::ImageFormat::Png);
    assert_eq!(code("grayscale", &png[..png.len() / 2]), ErrorCode::BadInput);
    assert_eq!(code("grayscale", &png[..20]), ErrorCode::BadInput);
}

/// `info` on every prefix and on random byte flips of files carrying each thing it
/// reads (EXIF, ICC, frames): an answer or `bad_input` / `unsupported`, never a panic.
#[test]
fn info_of_cut_and_corrupt_headers() {
    for name in [
        "info/phone.jpg",
        "info/cmyk.jpg",
        "info/palette.png",
        "info/interlaced.png",
        "info/anim.png",
        "info/anim.webp",
        "info/interlaced.gif",
        "info/camera.tiff",
        "small.bmp",
        "alpha-lossy.webp",
    ] {
        let bytes = data(name);
        for len in 0..bytes.len() {
            if let Some(code) = survives("info", &bytes[..len]) {
                assert!(
                    matches!(code, ErrorCode::BadInput | ErrorCode::Unsupported),
                    "{name} cut at {len}: {code}"
                );
            }
        }
        let mut state = 0x2545_f491_u32;
        for _ in 0..400 {
            let mut bad = bytes.clone();
            for _ in 0..3 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let i = state as usize % bad.len();
                bad[i] ^= (state >> 24) as u8 | 1;
            }
            if let Some(code) = survives("info", &bad) {
                assert!(
                    matches!(code, ErrorCode::BadInput | ErrorCode::Unsupported),
                    "{name} flipped: {code}"
                );
            }
        }
    }
}

#[test]
fn corrupt_images_never_panic() {
    for bytes in [
        encoded(48, 32, image::ImageFormat::Png),
        encoded(48, 32, image::ImageFormat::Jpeg),
        data("small.webp"),
        data("small.tiff"),
        data("lenient/ycbcr-42-lzw.tif"),
        data("lenient/ycbcr-22-deflate.tif"),
        data("lenient/ycbcr-21-packbits.tif"),
        data("lenient/ycbcr-22-none.tif"),
    ] {
        // deterministic byte flips across the file
        let mut state = 0x2545_f491_u32;
        for _ in 0..150 {
            let mut bad = bytes.clone();
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let i = state as usize % bad.len();
                bad[i] ^= (state >> 24) as u8 | 1;
            }
            survives("resize width=16 | encode format=png", &bad);
        }
    }
    let mut jpeg = encoded(64, 64, image::ImageFormat::Jpeg);
    let n = jpeg.len();
    jpeg[n / 3..n - 2].fill(0xff);
    survives("grayscale", &jpeg);
}

fn png_chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut c = (body.len() as u32).to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(body);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(body);
    c.extend_from_slice(&crc.sum().to_be_bytes());
    c
}

#[test]
fn png_claiming_100000_square_is_refused_before_allocating() {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(png_chunk(b"IHDR", &ihdr));
    png.extend(png_chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
    png.extend(png_chunk(b"IEND", b""));
    // 40 GB of pixels if it were decoded: the error must come at once.
    let started = std::time::Instant::now();
    assert_eq!(code("grayscale", &png), ErrorCode::TooLarge);
    assert!(started.elapsed().as_secs() < 2);
    assert_eq!(code("decode", &png), ErrorCode::TooLarge);
}

#[test]
fn gzip_bomb_stops_at_the_limit() {
    // 30 members of 10 MiB of zeros: 300 MiB out of ~300 KB, past the 256 MiB default.
    let member = run("compress level=9", vec![0u8; 10 << 20]).unwrap().data;
    let bomb: Vec<u8> = member.iter().copied().cycle().take(member.len() * 30).collect();
    assert!(bomb.len() < 1 << 20);
    assert_eq!(code("decompress", &bomb), ErrorCode::TooLarge);
    assert_eq!(
        code("limits max_decompressed_bytes=1000000 | decompress", &member),
        ErrorCode::TooLarge
    );
}

#[test]
fn hostile_text_inputs() {
    assert_eq!(code("parse_csv", b"a,b\n1,\"unclosed\n2,3\n"), ErrorCode::BadInput);
    assert_eq!(code("parse_csv", b"a,b\n\"x\"\"y"), ErrorCode::BadInput);
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    assert_eq!(code("json", deep.as_bytes()), ErrorCode::TooLarge);
    assert_eq!(code("json mode=pretty", deep.as_bytes()), ErrorCode::TooLarge);
    assert_eq!(code("parse_json", deep.as_bytes()), ErrorCode::TooLarge);
    let deep_obj = "{\"a\":".repeat(100_000) + "1" + &"}".repeat(100_000);
    assert_eq!(code("json", deep_obj.as_bytes()), ErrorCode::TooLarge);
    // Too deep and never closed (or closed by the wrong bracket): not JSON at any depth.
    assert_eq!(code("json", "{\"a\":".repeat(100_000).as_bytes()), ErrorCode::BadInput);
    assert_eq!(code("parse_json", "[".repeat(100_000).as_bytes()), ErrorCode::BadInput);
    let crossed = "[".repeat(200) + "}" + &"]".repeat(199);
    assert_eq!(code("json", crossed.as_bytes()), ErrorCode::BadInput);
    assert_eq!(code("json", b"{\"a\":1"), ErrorCode::BadInput);
    assert_eq!(code("json", b"\xff\xfe"), ErrorCode::BadInput);
    assert_eq!(code("parse_json", b"{\"a\":1}\n[1]\n"), ErrorCode::BadInput);
    assert_eq!(code("parse_csv | to_json", b"a\n\xff\n"), ErrorCode::BadInput);
}

#[test]
fn empty_input_to_every_op_that_needs_some() {
    for p in [
        "decode",
        "grayscale",
        "resize width=10",
        "decompress",
        "decompress format=zlib",
        "decompress format=deflate",
        "json",
        "json mode=minify",
        "decode format=rgba width=1 height=1",
    ] {
        assert_eq!(code(p, b""), ErrorCode::BadInput, "{p}");
    }
    // Empty is valid for these: an empty table, empty compressed data, identity.
    assert_eq!(run("parse_csv", b"").unwrap().data, b"[]");
    assert_eq!(run("parse_json", b"").unwrap().data, b"[]");
    assert!(run("compress", b"").is_ok());
    assert_eq!(run("", b"").unwrap().data, b"");
}

#[test]
fn bad_pipelines() {
    let png = encoded(8, 8, image::ImageFormat::Png);
    for p in [
        "sparkle",
        "blur sigma=banana",
        r#"{"steps":[{"op":"blur","sigma":"2"}]}"#,
        r#"{"steps":[{"op":"resize","width":1.5}]}"#,
        "blur sigma=-1",
        "blur sigma=NaN",
        "resize width=100000",
        "encode format=gif",
        "parse_csv | blur sigma=1",
        "grayscale | parse_csv",
        "to_csv",
        "compress level=10",
        "json mode=ugly",
        "filter where=x",
        "select columns=",
        "convolve kernel=1,2",
        "{not json",
        "grayscale |",
        "| grayscale",
        "blur sigma='1",
        "parse_csv | sort",
        "parse_csv | sort by=-",
        "parse_csv | sort by=a,-a",
        "parse_csv | limit",
        "parse_csv | limit count=-1",
        "parse_csv | limit count=4294967296",
        "parse_csv | distinct columns=a,a",
        "parse_csv | rename columns=a",
        "parse_csv | rename columns=a:b,c:b",
        "parse_csv | group_by",
        "parse_csv | group_by by=a aggregates=sum",
        "parse_csv | group_by by=a aggregates=count,count",
        "parse_csv | group_by by=count",
        "parse_csv delimiter=auto2",
        "parse_csv comment=;; ",
        "parse_csv delimiter=; comment=;",
        "parse_csv skip_lines=-1",
        "parse_csv | to_csv quote=sometimes",
        "parse_csv | filter where='a == 1 and'",
        "parse_csv | filter where='a is_null 1'",
    ] {
        assert_eq!(code(p, &png), ErrorCode::BadPipeline, "{p}");
    }
}

/// Every table op on hostile CSV: an error or an output, never a panic.
#[test]
fn table_ops_on_hostile_csv() {
    let samples: [&[u8]; 12] = [
        b"",
        b"\"",
        b",,,\n,,,,,,",
        b"\r\r\r",
        b"\xef\xbb\xbf\xef\xbb\xbf",
        b"a\n\"\n\"\n\"",
        b"\x00,\x01\n",
        b"#\n#\"\n",
        b"a;b|c\td,e\n1;2|3\t4,5\n\n\n;;;\n",
        b"a,a,a\n1,1.0,true\n,,\n-0,0,x\n9223372036854775807,-9223372036854775808,1e308\n",
        b"a,b\n\xff,1\n",
        b"\xef\xbb\xbfa\r\n1\r\n2",
    ];
    let pipelines = [
        "parse_csv delimiter=auto skip_lines=1 comment=# | to_csv quote=always",
        "parse_csv header=false | sort by=column1,-column2,column3 | to_csv",
        "parse_csv header=false delimiter=auto | sort by=-column1 | to_json",
        "parse_csv header=false | limit count=4294967295 offset=1 | to_csv",
        "parse_csv header=false | distinct | to_csv",
        "parse_csv header=false | distinct columns=column2 | to_csv",
        "parse_csv header=false | rename columns=column1:column2,column2:column1 | to_csv",
        "parse_csv header=false | group_by by=column1,column2 aggregates=count,sum:column1,mean:column1,min:column2,max:column3 | to_csv",
        "parse_csv header=false | filter where='column1 is_null or column2 > 0 and column3 not_null' | to_csv",
        "parse_csv | sort by=a | group_by by=a aggregates=sum:a | to_json",
    ];
    for input in samples {
        for p in pipelines {
            let _ = run(p, input);
        }
    }
}

#[test]
fn raw_rgba_size_must_match() {
    assert_eq!(
        code("decode format=rgba width=2 height=2", &[0; 15]),
        ErrorCode::BadInput
    );
    assert_eq!(
        code("decode format=rgba width=60000 height=60000", &[0; 16]),
        ErrorCode::TooLarge
    );
}

#[test]
fn output_limits() {
    assert_eq!(
        code("limits max_output_bytes=10 | compress level=0", &[7; 100]),
        ErrorCode::TooLarge
    );
    assert_eq!(
        code(
            "limits max_pixels=10 | resize width=100",
            &encoded(2, 2, image::ImageFormat::Png)
        ),
        ErrorCode::TooLarge
    );
    let many_rows = "a\n".to_string() + &"1\n".repeat(1000);
    assert_eq!(
        code("limits max_rows=999 | parse_csv", many_rows.as_bytes()),
        ErrorCode::TooLarge
    );
    let wide = (0..100).map(|i| format!("c{i}")).collect::<Vec<_>>().join(",");
    assert_eq!(
        code("limits max_columns=50 | parse_csv", wide.as_bytes()),
        ErrorCode::TooLarge
    );
    assert_eq!(
        code("limits max_json_depth=3 | json", b"[[[[1]]]]"),
        ErrorCode::TooLarge
    );
}
