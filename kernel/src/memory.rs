//! The memory model: the bytes a step holds at once, estimated from sizes known before
//! it allocates and checked against `max_memory_bytes` (DESIGN.md, "Memory"). Each
//! estimate is an upper bound of what the step allocates, measured with a counting
//! allocator (kernel/tests/memory.rs), so a job the model admits fits its host.

use crate::image::blur;
use crate::image::codec::EncodeFormat;
use crate::op::Op;

/// Bytes per pixel of an RGBA8 image.
const RGBA: u64 = 4;

use crate::limits::SLACK;

fn pixels((w, h): (u32, u32)) -> u64 {
    u64::from(w) * u64::from(h)
}

/// Whether `op` keeps an opaque image opaque (every op of this list keeps alpha, or
/// resamples it from alpha 255 only). Any other op may add transparency.
pub fn keeps_opaque(op: &Op) -> bool {
    matches!(
        op,
        Op::Resize { background: None, .. }
            | Op::Crop { .. }
            | Op::Trim { .. }
            | Op::Flip(_)
            | Op::Grayscale
            | Op::Brightness(_)
            | Op::Contrast(_)
            | Op::Gamma(_)
            | Op::Invert
            | Op::Modulate { .. }
            | Op::Tint(_)
            | Op::Flatten(_)
            | Op::Median(_)
            | Op::Blur { .. }
            | Op::Sharpen { .. }
            | Op::Convolve(_)
            | Op::Sobel
    ) || matches!(op, Op::Rotate { degrees, .. } if degrees % 90.0 == 0.0)
}

/// What the image op `op` holds at once on a `from` image (`opaque` or maybe not) that
/// it turns into a `to` image: both images (or the one, in place) and its scratch.
pub fn image_step(op: &Op, from: (u32, u32), to: (u32, u32), opaque: bool) -> u64 {
    let (p, q) = (pixels(from), pixels(to));
    let (w, h) = (u64::from(from.0), u64::from(from.1));
    let held = match op {
        // A premultiplied copy of a translucent source, the pass between the two
        // directions (at the larger of its two possible shapes) and the result; a
        // letterbox: the resized image and its box.
        Op::Resize { background, .. } => {
            let between = (u64::from(to.0) * h).max(w * u64::from(to.1));
            let premultiplied = if opaque { 0 } else { p };
            let letterbox = if background.is_some() { q } else { 0 };
            RGBA * (p + premultiplied + between + q + letterbox)
        }
        // A new image.
        Op::Crop { .. } | Op::Trim { .. } | Op::Extend { .. } | Op::Rotate { .. } | Op::Median(_) => RGBA * (p + q),
        Op::Flip(_)
        | Op::Grayscale
        | Op::Brightness(_)
        | Op::Contrast(_)
        | Op::Gamma(_)
        | Op::Invert
        | Op::Modulate { .. }
        | Op::Tint(_)
        | Op::Flatten(_)
        | Op::Threshold { .. }
        | Op::Linear { .. }
        | Op::Normalize { .. } => RGBA * p,
        // 16-bit working values, their high bytes over the image and their low bytes
        // beside it (3 channels if opaque; the recursive path's strips pad the width by
        // less than a column each). For one thread (the model counts one, as the sandbox,
        // the Worker and npm run the kernel, so a limit answers the same on every target;
        // each extra native thread adds its own): the recursive path's strip of 64 lanes by
        // the height and block of 16 lanes by the width (f64 at most); the exact path's
        // window of 19 rows, row buffers and the 18 rows saved around each of its bands
        // (two a thread). Sharpen writes over a copy of the original.
        Op::Blur { sigma } | Op::Sharpen { sigma, .. } => {
            let kept = if opaque { 3 } else { 4 };
            let (low, lines) = if *sigma >= blur::RECURSIVE_MIN_SIGMA {
                (kept * (w + w.div_ceil(16)) * h, 512 * h + 128 * w)
            } else {
                (kept * p, 2 * 18 * 8 * w + 19 * 8 * w + 64 * w)
            };
            let original = if matches!(op, Op::Sharpen { .. }) { RGBA * p } else { 0 };
            RGBA * p + low + original + lines
        }
        // The image with its border, and a row of sums.
        Op::Convolve(_) => RGBA * p + RGBA * (w + 30) * (h + 30) + 16 * w,
        // One byte of luma per pixel.
        Op::Sobel => RGBA * p + p,
        // Any other op: a new image and one more of scratch.
        _ => RGBA * (p + q + p.max(q)),
    };
    held + SLACK
}

/// What `encode` holds at once besides the output it writes: the image and the
/// encoder's own buffers. PNG (levels 1 to 9) compresses a row at a time straight into
/// the output (`png_encode.rs`): rows and the deflate state only. PNG level 0 goes
/// through the png crate: an RGB copy of an opaque image and the whole stored image in
/// a buffer of its own (its size is checked against the output's room first).
/// WebP (image-webp's lossless encoder): an RGB copy of an opaque image, its ARGB
/// words and its transforms' copies.
pub fn encode(format: EncodeFormat, size: (u32, u32), opaque: bool, level: u8, max_output: u64) -> u64 {
    let p = pixels(size);
    let rgb = if opaque { 3 * p } else { 0 };
    let own = match format {
        EncodeFormat::Rgba => 0,
        // jpeg-encoder's rows of 16-pixel MCUs.
        EncodeFormat::Jpeg => 64 * u64::from(size.0),
        EncodeFormat::Png if level > 0 => 3 * RGBA * u64::from(size.0),
        EncodeFormat::Png => {
            let raw = if opaque { 3 * p } else { 4 * p } + u64::from(size.1);
            rgb + 3 * raw.min(max_output)
        }
        EncodeFormat::Webp => rgb + 8 * p,
    };
    RGBA * p + own + SLACK
}

/// The bytes a growing output may take (its buffer before and after a reallocation)
/// when `held` bytes are already taken: at most `max_memory` in all.
pub fn output_room(max_memory: u64, held: u64) -> u64 {
    max_memory.saturating_sub(held) / 3
}
