//! The host-independent part of the adapter: one job = one pipeline + one input, where
//! the input is either bytes or raw RGBA8 pixels (a canvas). Plain Rust, so it is
//! tested natively as well as in Node and Chromium.
//!
//! Raw pixels are expressed in the kernel's own terms: the pipeline is prefixed with
//! `decode format=rgba width=W height=H` (a text prefix for the text form, an unshifted
//! step for the JSON form) and error steps are shifted back, so a caller's step numbers
//! always refer to the pipeline they wrote. An error in the injected step (say, pixel
//! bytes that are not `width x height x 4`) has no step.

use std::borrow::Cow;

use kiln_kernel::{Error, Limits, Output, Session};

/// What a job runs on: borrowed, or owned (the bytes copied in from JS), which the
/// kernel reuses instead of copying again.
#[derive(Debug, Clone)]
pub enum Input<'a> {
    /// Encoded or opaque bytes (an image file, CSV, gzip, ...).
    Bytes(Cow<'a, [u8]>),
    /// Raw RGBA8 pixels, row-major, `width x height x 4` bytes (canvas `ImageData`).
    Rgba {
        pixels: Cow<'a, [u8]>,
        width: u32,
        height: u32,
    },
}

/// Runs one job with the kernel's default [`Limits`] (a pipeline may tighten them).
pub fn run(pipeline: &str, input: Input<'_>) -> Result<Output, Error> {
    let limits = Limits::default();
    match input {
        Input::Bytes(bytes) => kiln_kernel::run_with_limits(pipeline, bytes, &limits),
        Input::Rgba { pixels, width, height } => {
            let prefixed = with_raw_decode(pipeline, width, height);
            kiln_kernel::run_with_limits(&prefixed, pixels, &limits).map_err(unshift_step)
        }
    }
}

/// Opens a streaming session under [`Limits::streaming`] of `run`'s limits (the caps on
/// bytes in, out and decompressed and on rows lifted, since none of them is held):
/// `bad_pipeline` naming the step for a pipeline that cannot stream.
pub fn open_stream(pipeline: &str) -> Result<Session, Error> {
    Session::open(pipeline, &Limits::default().streaming())
}

/// `pipeline` with a leading `decode format=rgba width=W height=H` step, in the same
/// form (text or JSON) as it was written. A JSON pipeline that is not an object with a
/// `steps` array is still prefixed with a well-formed object so the kernel, not this
/// adapter, reports what is wrong with it; the step shift stays exact either way.
pub fn with_raw_decode(pipeline: &str, width: u32, height: u32) -> String {
    if pipeline.trim_start().starts_with('{') {
        let decode = serde_json::json!({"op": "decode", "format": "rgba", "width": width, "height": height});
        match serde_json::from_str::<serde_json::Value>(pipeline) {
            Ok(serde_json::Value::Object(mut root)) => {
                if let Some(serde_json::Value::Array(steps)) = root.get_mut("steps") {
                    steps.insert(0, decode);
                    return serde_json::Value::Object(root).to_string();
                }
                // No steps array: let the kernel say so about the pipeline as written.
                pipeline.to_owned()
            }
            _ => pipeline.to_owned(),
        }
    } else if pipeline.trim().is_empty() {
        format!("decode format=rgba width={width} height={height}")
    } else {
        format!("decode format=rgba width={width} height={height} | {pipeline}")
    }
}

/// Maps an error of the prefixed pipeline back to the caller's step numbers.
fn unshift_step(mut e: Error) -> Error {
    e.step = match e.step {
        Some(0) | None => None,
        Some(n) => Some(n - 1),
    };
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_kernel::ErrorCode;

    fn pixels(w: u32, h: u32) -> Vec<u8> {
        (0..w * h * 4).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn text_and_json_prefix() {
        assert_eq!(
            with_raw_decode("blur sigma=1", 3, 2),
            "decode format=rgba width=3 height=2 | blur sigma=1"
        );
        assert_eq!(with_raw_decode("  ", 3, 2), "decode format=rgba width=3 height=2");
        let j = with_raw_decode(r#"{"steps":[{"op":"invert"}],"limits":{"max_pixels":9}}"#, 3, 2);
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["steps"][0]["op"], "decode");
        assert_eq!(v["steps"][1]["op"], "invert");
        assert_eq!(v["limits"]["max_pixels"], 9);
    }

    #[test]
    fn raw_equals_explicit_decode() {
        let px = pixels(5, 4);
        for pipeline in ["invert | encode format=png", r#"{"steps":[{"op":"grayscale"}]}"#, ""] {
            let raw = run(
                pipeline,
                Input::Rgba {
                    pixels: Cow::Borrowed(&px),
                    width: 5,
                    height: 4,
                },
            )
            .unwrap();
            let explicit = kiln_kernel::run(&with_raw_decode(pipeline, 5, 4), &px).unwrap();
            assert_eq!(raw, explicit);
        }
        // The empty pipeline hands the pixels back unchanged.
        let same = run(
            "",
            Input::Rgba {
                pixels: Cow::Borrowed(&px),
                width: 5,
                height: 4,
            },
        )
        .unwrap();
        assert_eq!(same.data, px);
        assert_eq!(same.meta.width, Some(5));
    }

    #[test]
    fn steps_refer_to_the_callers_pipeline() {
        let px = pixels(2, 2);
        let input = Input::Rgba {
            pixels: Cow::Borrowed(&px),
            width: 2,
            height: 2,
        };
        let e = run("invert | blur sigma=0", input.clone()).unwrap_err();
        assert_eq!(
            (e.code, e.step, e.param.as_deref()),
            (ErrorCode::BadPipeline, Some(1), Some("sigma"))
        );
        let e = run(r#"{"steps":[{"op":"blurr"}]}"#, input.clone()).unwrap_err();
        assert_eq!((e.code, e.step), (ErrorCode::BadPipeline, Some(0)));
        // Wrong pixel count: the injected step is at fault, so there is no step.
        let bad = Input::Rgba {
            pixels: Cow::Borrowed(&px[..15]),
            width: 2,
            height: 2,
        };
        let e = run("invert", bad).unwrap_err();
        assert_eq!((e.code, e.step), (ErrorCode::BadInput, None));
        // A pipeline limit still applies.
        let e = run("limits max_pixels=3 | invert", input).unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
    }

    #[test]
    fn streams_lift_the_byte_caps() {
        // Past run's 256 MiB decompressed cap: 300 MiB of zeros through one session.
        let zeros = vec![0u8; 1 << 20];
        let gz = kiln_kernel::run("compress level=1", &zeros[..]).unwrap().data;
        let mut unzip = open_stream("decompress").unwrap();
        let mut total = 0;
        for _ in 0..300 {
            total += unzip.push(&gz).unwrap().len();
        }
        total += unzip.finish().unwrap().data.len();
        assert_eq!(total, 300 << 20);
        // A pipeline still tightens them; what is held at once keeps run's cap.
        let mut capped = open_stream("limits max_output_bytes=10 | decompress").unwrap();
        capped.push(&gz).unwrap();
        assert_eq!(capped.finish().unwrap_err().code, ErrorCode::TooLarge);
        let mut wide = open_stream("parse_csv header=false | to_json").unwrap();
        let e = match wide.push(format!("{}\n", ",".repeat(20_000)).as_bytes()) {
            Err(e) => e,
            Ok(_) => wide.finish().unwrap_err(),
        };
        assert_eq!((e.code, e.message.contains("columns")), (ErrorCode::TooLarge, true));
        let e = open_stream("decompress | parse_csv | sort by=a").err().unwrap();
        assert_eq!((e.code, e.step), (ErrorCode::BadPipeline, Some(2)));
    }

    #[test]
    fn bytes_are_passed_through() {
        let out = run("compress level=9 | decompress", Input::Bytes(Cow::Borrowed(b"hello"))).unwrap();
        assert_eq!(out.data, b"hello");
    }
}
