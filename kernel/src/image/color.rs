//! Per-pixel colour ops: `grayscale`, `brightness`, `contrast`, `gamma`, `invert`.
//!
//! Each works on R, G and B and leaves alpha as it is (straight alpha, so these are the
//! colours a viewer sees wherever the pixel is visible). `grayscale` is 16-bit fixed
//! point; the others go through a 256-entry table built once per call (with plain `f64`
//! arithmetic, and `libm::pow` for gamma, which gives the same bits on every target), so
//! the per-pixel work is a lookup and the output is the same everywhere.

use super::Image;
use super::parallel::for_each_row;

/// Rec. 709 luma weights in 16-bit fixed point (they sum to exactly `1 << 16`).
const LUMA_R: u32 = 13933;
const LUMA_G: u32 = 46871;
const LUMA_B: u32 = 4732;

/// Rec. 709 luma of an sRGB-encoded pixel, `0.2126 R + 0.7152 G + 0.0722 B`, rounded.
#[inline]
pub(crate) fn luma(r: u8, g: u8, b: u8) -> u8 {
    let y = LUMA_R * u32::from(r) + LUMA_G * u32::from(g) + LUMA_B * u32::from(b);
    // The weights sum to 65536, so y + 32768 < 256 << 16: the result fits in a u8.
    ((y + (1 << 15)) >> 16) as u8
}

/// Replaces R, G and B by the Rec. 709 luma; alpha is kept.
pub fn grayscale(img: &mut Image) {
    for_each_pixel(img, |px| {
        let y = luma(px[0], px[1], px[2]);
        px[0] = y;
        px[1] = y;
        px[2] = y;
    });
}

/// CSS `brightness()`: multiplies R, G and B by `value` (0 ..= 10; 1 is the identity).
pub fn brightness(img: &mut Image, value: f32) {
    let value = f64::from(value);
    apply_table(img, &table(|v| v * value));
}

/// CSS `contrast()`: `(c - 0.5) * value + 0.5` with `c` in 0..1 (0 ..= 10; 1 is the
/// identity, 0 is flat mid-grey).
pub fn contrast(img: &mut Image, value: f32) {
    let value = f64::from(value);
    apply_table(img, &table(|v| (v - 127.5) * value + 127.5));
}

/// Gamma: `255 * (c / 255)^(1 / value)` (value in (0, 10]; 1 is the identity, above 1
/// brightens the mid-tones, below 1 darkens them). Black and white stay put.
pub fn gamma(img: &mut Image, value: f32) {
    let exponent = 1.0 / f64::from(value);
    apply_table(img, &table(|v| 255.0 * libm::pow(v / 255.0, exponent)));
}

/// Inverts R, G and B (`255 - c`); alpha is kept.
pub fn invert(img: &mut Image) {
    apply_table(img, &table(|v| 255.0 - v));
}

/// Composites the image onto an opaque `background` and makes it opaque (`flatten`, and
/// JPEG's encode): each colour channel `(c a + b (255 - a)) / 255`, rounded to nearest,
/// in integers (exact); the background's alpha is ignored. Opaque pixels are kept as they
/// are.
pub fn flatten(img: &mut Image, background: [u8; 4]) {
    let bg = [background[0], background[1], background[2]].map(u32::from);
    for_each_pixel(img, |p| {
        let a = u32::from(p[3]);
        if a == 255 {
            return;
        }
        for (c, b) in p[..3].iter_mut().zip(bg) {
            *c = ((u32::from(*c) * a + b * (255 - a) + 127) / 255) as u8;
        }
        p[3] = 255;
    });
}

/// `f(v)` for every byte value, rounded to nearest and clamped to `0..=255` (NaN is 0).
pub(crate) fn table(f: impl Fn(f64) -> f64) -> [u8; 256] {
    let mut lut = [0u8; 256];
    for (v, out) in lut.iter_mut().enumerate() {
        let x = f(v as f64);
        *out = if x >= 255.0 {
            255
        } else if x > 0.0 {
            x.round() as u8
        } else {
            0
        };
    }
    lut
}

fn apply_table(img: &mut Image, lut: &[u8; 256]) {
    for_each_pixel(img, |px| {
        px[0] = lut[usize::from(px[0])];
        px[1] = lut[usize::from(px[1])];
        px[2] = lut[usize::from(px[2])];
    });
}

/// Calls `f` on every RGBA pixel, rows in parallel.
pub(crate) fn for_each_pixel(img: &mut Image, f: impl Fn(&mut [u8]) + Sync + Send) {
    let stride = img.width() as usize * 4;
    if stride == 0 || img.height() == 0 {
        return;
    }
    let buf: &mut [u8] = img;
    for_each_row(buf, stride, |_, row| row.chunks_exact_mut(4).for_each(&f));
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    /// Every (r, g, b) byte value appears, with varying alpha.
    fn sampler(w: u32, h: u32) -> Image {
        Image::from_fn(w, h, |x, y| {
            let i = y * w + x;
            Rgba([i as u8, (i * 7 + 3) as u8, (i * 13 + 200) as u8, (i * 31) as u8])
        })
    }

    fn fnv(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    type Op = Box<dyn Fn(&mut Image)>;

    fn ops() -> Vec<(&'static str, Op)> {
        vec![
            ("grayscale", Box::new(grayscale)),
            ("brightness", Box::new(|i: &mut Image| brightness(i, 1.7))),
            ("contrast", Box::new(|i: &mut Image| contrast(i, 0.6))),
            ("gamma", Box::new(|i: &mut Image| gamma(i, 2.2))),
            ("invert", Box::new(invert)),
        ]
    }

    #[test]
    fn grayscale_of_primaries() {
        // round(255 * 0.2126) = 54, round(255 * 0.7152) = 182, round(255 * 0.0722) = 18
        let mut img = Image::from_fn(5, 1, |x, _| {
            Rgba(
                [
                    [255, 0, 0, 255],
                    [0, 255, 0, 10],
                    [0, 0, 255, 0],
                    [255, 255, 255, 255],
                    [0, 0, 0, 255],
                ][x as usize],
            )
        });
        grayscale(&mut img);
        let got: Vec<[u8; 4]> = img.pixels().map(|p| p.0).collect();
        assert_eq!(
            got,
            [
                [54, 54, 54, 255],
                [182, 182, 182, 10],
                [18, 18, 18, 0],
                [255, 255, 255, 255],
                [0, 0, 0, 255]
            ]
        );
        // A grey stays the same grey.
        for v in 0..=255 {
            assert_eq!(luma(v, v, v), v);
        }
        // Every byte value in every channel, alpha untouched.
        let source = sampler(256, 256);
        let mut img = source.clone();
        grayscale(&mut img);
        for (before, after) in source.pixels().zip(img.pixels()) {
            let [r, g, b, a] = before.0;
            let y = luma(r, g, b);
            assert_eq!(after.0, [y, y, y, a]);
        }
    }

    #[test]
    fn identities() {
        let img = sampler(64, 64);
        let cases: [(&str, Op); 4] = [
            ("brightness 1", Box::new(|i| brightness(i, 1.0))),
            ("contrast 1", Box::new(|i| contrast(i, 1.0))),
            ("gamma 1", Box::new(|i| gamma(i, 1.0))),
            (
                "invert twice",
                Box::new(|i| {
                    invert(i);
                    invert(i);
                }),
            ),
        ];
        for (name, op) in cases {
            let mut out = img.clone();
            op(&mut out);
            assert_eq!(out, img, "{name}");
        }
    }

    #[test]
    fn known_values() {
        let px = |r, g, b| Image::from_pixel(1, 1, Rgba([r, g, b, 77]));
        let run = |mut i: Image, f: &dyn Fn(&mut Image)| {
            f(&mut i);
            i.get_pixel(0, 0).0
        };
        assert_eq!(run(px(10, 100, 200), &invert), [245, 155, 55, 77]);
        // brightness: 100 * 0.5 = 50, 101 * 0.5 = 50.5 -> 51, 200 * 2 = 400 -> 255
        assert_eq!(run(px(100, 101, 200), &|i| brightness(i, 0.5)), [50, 51, 100, 77]);
        assert_eq!(run(px(100, 101, 200), &|i| brightness(i, 2.0)), [200, 202, 255, 77]);
        assert_eq!(run(px(100, 101, 200), &|i| brightness(i, 0.0)), [0, 0, 0, 77]);
        // contrast 0: everything is 127.5 -> 128; contrast 2: (100 - 127.5) * 2 + 127.5 = 72.5
        assert_eq!(run(px(0, 100, 255), &|i| contrast(i, 0.0)), [128, 128, 128, 77]);
        assert_eq!(run(px(0, 100, 255), &|i| contrast(i, 2.0)), [0, 73, 255, 77]);
        assert_eq!(run(px(0, 100, 255), &|i| contrast(i, 0.5)), [64, 114, 191, 77]);
        // gamma 2: 255 * sqrt(64 / 255) = 127.75 -> 128; gamma 0.5: 255 * (64/255)^2 = 16.06
        assert_eq!(run(px(0, 64, 255), &|i| gamma(i, 2.0)), [0, 128, 255, 77]);
        assert_eq!(run(px(0, 64, 255), &|i| gamma(i, 0.5)), [0, 16, 255, 77]);
        // gamma 10 lifts everything but black; a tiny gamma crushes everything but white.
        assert_eq!(run(px(0, 1, 255), &|i| gamma(i, 10.0)), [0, 147, 255, 77]);
        assert_eq!(run(px(0, 254, 255), &|i| gamma(i, 1e-6)), [0, 0, 255, 77]);
    }

    #[test]
    fn gamma_is_monotonic_and_brightens_above_one() {
        for value in [0.1f32, 0.5, 1.5, 2.2, 10.0] {
            let lut = table(|v| 255.0 * libm::pow(v / 255.0, 1.0 / f64::from(value)));
            assert!(lut.windows(2).all(|p| p[0] <= p[1]));
            assert_eq!((lut[0], lut[255]), (0, 255));
            let brighter = lut[128] > 128;
            assert_eq!(brighter, value > 1.0, "gamma {value}");
        }
    }

    #[test]
    fn tiny_images_do_not_panic() {
        for (w, h) in [(0, 0), (0, 3), (3, 0), (1, 1), (1, 7), (7, 1)] {
            for (name, op) in ops() {
                let mut img = sampler(w, h);
                op(&mut img);
                assert_eq!(img.dimensions(), (w, h), "{name}");
            }
        }
    }

    #[test]
    fn same_bytes_whatever_the_split() {
        // 400 x 200 x 4 bytes is above the parallel threshold. Rows are independent, so
        // the whole image must equal the image processed one row at a time, and the
        // hashes are the same with and without `rayon` and on wasm32.
        let img = sampler(400, 200);
        let mut hashes = Vec::new();
        for (name, op) in ops() {
            let mut whole = img.clone();
            op(&mut whole);
            for y in 0..img.height() {
                let mut row = Image::from_fn(400, 1, |x, _| *img.get_pixel(x, y));
                op(&mut row);
                let want = &whole.as_raw()[y as usize * 1600..][..1600];
                assert_eq!(row.as_raw().as_slice(), want, "{name} row {y}");
            }
            hashes.push(fnv(whole.as_raw()));
        }
        assert_eq!(hashes, GOLDEN, "got {hashes:#x?}");
    }

    const GOLDEN: [u64; 5] = [
        0xf2917b98fa5925d7,
        0x1006697551cb251e,
        0x0a0a71a6220ce28d,
        0x2e606e66484e6543,
        0xda1f7a1db190b3a5,
    ];

    #[test]
    fn flatten_composites_in_exact_integers() {
        let mut img = Image::from_raw(
            4,
            1,
            vec![200, 100, 0, 255, 200, 100, 0, 0, 200, 100, 0, 128, 10, 20, 30, 1],
        )
        .unwrap();
        flatten(&mut img, [0, 128, 255, 7]);
        // Opaque: kept; alpha 0: the background; alpha 128: 200*128/255 = 100.4 -> 100,
        // (100*128 + 128*127)/255 = 113.9 -> 114, 255*127/255 = 127; alpha 1: 10/255 -> 0,
        // (20 + 128*254)/255 = 127.6 -> 128, (30 + 255*254)/255 = 254.1 -> 254.
        assert_eq!(
            img.as_raw(),
            &[200, 100, 0, 255, 0, 128, 255, 255, 100, 114, 127, 255, 0, 128, 254, 255]
        );
    }
}
