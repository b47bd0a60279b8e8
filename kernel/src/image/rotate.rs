//! `rotate` by any angle: the canvas grows to the rotated bounding box (its size as
//! sharp gives it), the uncovered corners take the background colour, and the
//! pixels are resampled with the bicubic (Catmull-Rom, a = -0.5) filter. Multiples of
//! 90 degrees are exact pixel moves (`geometry::rotate`).
//!
//! Deterministic: the angle's sine and cosine come from the `libm` crate (the same bits
//! on every target), each output pixel's source position is plain `f64` arithmetic
//! rounded to 1/256 of a pixel, and the filter uses 12-bit weights. Inside an opaque
//! image the four rows are summed in integers (exact) and the four columns in `f32`
//! (IEEE operations in a fixed order, no fused multiply-add: the same bits
//! everywhere); elsewhere all in integers.
//! Taps outside the image are the background, premultiplied by alpha, so the edges
//! blend into it; every pixel is computed on its own, in 64 x 64
//! tiles (bands of tiles in parallel with `rayon`).

use super::Image;
use super::parallel::for_each_band;
use crate::{Limits, Result};

/// Weight scale (bits).
const BITS: u32 = 12;
const ONE: i32 = 1 << BITS;

/// The size of the image `rotate` gives: the bounding box rounded to the nearest pixel
/// (as sharp / libvips; the corners' tips may lose under half a pixel), at least 1 x 1.
pub fn output_size(width: u32, height: u32, degrees: f64) -> (u32, u32) {
    match exact_quarter(degrees) {
        Some(90 | 270) => (height, width),
        Some(_) => (width, height),
        None => {
            let (s, c) = sin_cos(degrees);
            let (w, h) = (f64::from(width), f64::from(height));
            let size = |v: f64| (v + 0.5).floor().clamp(1.0, f64::from(u32::MAX)) as u32;
            (size(w * c.abs() + h * s.abs()), size(w * s.abs() + h * c.abs()))
        }
    }
}

/// 0, 90, 180 or 270 when `degrees` is a multiple of 90 (clockwise, wrapped).
fn exact_quarter(degrees: f64) -> Option<u32> {
    let d = degrees.rem_euclid(360.0);
    [0u32, 90, 180, 270].into_iter().find(|q| d == f64::from(*q))
}

fn sin_cos(degrees: f64) -> (f64, f64) {
    let radians = degrees.rem_euclid(360.0).to_radians();
    (libm::sin(radians), libm::cos(radians))
}

/// Rotates clockwise by `degrees`, checking the new size against `limits` first.
pub fn rotate(img: &Image, degrees: f64, background: [u8; 4], limits: &Limits) -> Result<Image> {
    if let Some(q) = exact_quarter(degrees) {
        return Ok(super::geometry::rotate(img, q));
    }
    let (w, h) = img.dimensions();
    let (ow, oh) = output_size(w, h, degrees);
    limits.check_image(ow, oh)?;
    let mut out = Image::new(ow, oh);
    if w == 0 || h == 0 {
        return Ok(out);
    }
    let (s, c) = sin_cos(degrees);
    let weights = catmull_rom_table();
    let opaque_weights: Vec<OpaqueWeights> = weights.iter().map(OpaqueWeights::new).collect();
    let bg = premultiply(background);
    let opaque = super::is_opaque(img);
    let src = Source {
        pixels: img.as_raw(),
        w: i64::from(w),
        h: i64::from(h),
    };
    // Source position (in pixel-index units) of output pixel (x, y):
    // sx = (x + 0.5 - ow/2) c + (y + 0.5 - oh/2) s + w/2 - 0.5, and sy likewise.
    let (half_ow, half_oh) = (f64::from(ow) / 2.0, f64::from(oh) / 2.0);
    let (half_w, half_h) = (f64::from(w) / 2.0 - 0.5, f64::from(h) / 2.0 - 0.5);
    // Past these (shifted) positions every tap is outside the image.
    let (far_x, far_y) = (
        (f64::from(w) + 1.0) * 256.0 + 1024.0,
        (f64::from(h) + 1.0) * 256.0 + 1024.0,
    );
    // Each column's `u c` and `u s`, computed once (the same values, so the same sums).
    let (uc, us): (Vec<f64>, Vec<f64>) = (0..ow)
        .map(|x| {
            let u = f64::from(x) + 0.5 - half_ow;
            (u * c, u * s)
        })
        .unzip();
    let dst: &mut [u8] = &mut out;
    // Tiles of TILE x TILE output pixels, so the source rows a tile reads stay in cache
    // (a whole output row reads a slanted line across hundreds of source rows).
    const TILE: usize = 64;
    let stride = ow as usize * 4;
    for_each_band(dst, stride, TILE, |y0, band| {
        for x0 in (0..ow as usize).step_by(TILE) {
            for (dy, row) in band.chunks_exact_mut(stride).enumerate() {
                let v = (y0 + dy) as f64 + 0.5 - half_oh;
                let (vs, vc) = (v * s, v * c);
                let end = (x0 + TILE).min(ow as usize);
                for (x, px) in (x0..end).zip(row[x0 * 4..end * 4].chunks_exact_mut(4)) {
                    let sx = uc[x] + vs + half_w;
                    let sy = vc - us[x] + half_h;
                    // To 1/256 of a pixel: integer part and the filter phase. (Shifted by
                    // 1024 so that truncation is the floor, without a libm call.)
                    let (tx, ty) = (sx * 256.0 + 1024.5, sy * 256.0 + 1024.5);
                    if !(tx >= 513.0 && ty >= 513.0 && tx < far_x && ty < far_y) {
                        px.copy_from_slice(&background);
                        continue;
                    }
                    let (fx, fy) = (tx as i64 - 1024, ty as i64 - 1024);
                    let (ix, iy) = (fx >> 8, fy >> 8);
                    let inside = ix >= 1 && iy >= 1 && ix + 2 < src.w && iy + 2 < src.h;
                    if inside && opaque {
                        let (wx, wy) = (
                            &opaque_weights[(fx & 255) as usize],
                            &opaque_weights[(fy & 255) as usize],
                        );
                        px.copy_from_slice(&src.opaque_tap(ix, iy, &wx.columns, &wy.rows));
                    } else {
                        let (wx, wy) = (&weights[(fx & 255) as usize], &weights[(fy & 255) as usize]);
                        px.copy_from_slice(&src.general_tap(ix, iy, wx, wy, &bg));
                    }
                }
            }
        }
    });
    Ok(out)
}

/// The source image, for the filter.
struct Source<'a> {
    pixels: &'a [u8],
    w: i64,
    h: i64,
}

impl Source<'_> {
    /// An opaque image, all 16 taps inside: plain (not premultiplied) interpolation, the
    /// four channels side by side (SIMD-friendly). Each column's four rows are summed in
    /// integers (exact); the four columns in `f32` in a fixed order, which rounds the
    /// same on every target.
    #[inline]
    fn opaque_tap(&self, ix: i64, iy: i64, columns: &[f32; 4], rows: &[i32; 2]) -> [u8; 4] {
        let start = (((iy - 1) * self.w + ix - 1) * 4) as usize;
        let stride = self.w as usize * 4;
        let at = [start, start + stride, start + 2 * stride, start + 3 * stride];
        #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
        {
            simd::opaque_tap(self.pixels, at, columns, rows)
        }
        #[cfg(not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))))]
        {
            opaque_tap_scalar(self.pixels, at, columns, rows)
        }
    }

    /// Any pixel: premultiplied taps (colour x alpha, alpha x 255), the background
    /// outside the image.
    fn general_tap(&self, ix: i64, iy: i64, wx: &[i32; 4], wy: &[i32; 4], bg: &[i32; 4]) -> [u8; 4] {
        let mut acc = [0i64; 4];
        for (j, &wj) in wy.iter().enumerate() {
            let y = iy - 1 + j as i64;
            let mut h = [0i64; 4];
            for (i, &wi) in wx.iter().enumerate() {
                let x = ix - 1 + i as i64;
                let p = if (0..self.w).contains(&x) && (0..self.h).contains(&y) {
                    let at = ((y * self.w + x) * 4) as usize;
                    let px = &self.pixels[at..at + 4];
                    premultiply([px[0], px[1], px[2], px[3]])
                } else {
                    *bg
                };
                for c in 0..4 {
                    h[c] += i64::from(wi) * i64::from(p[c]);
                }
            }
            for c in 0..4 {
                acc[c] += i64::from(wj) * h[c];
            }
        }
        let round = |v: i64| (v + (1 << (2 * BITS - 1))) >> (2 * BITS);
        let alpha = round(acc[3]).clamp(0, 255 * 255);
        if alpha == 0 {
            return [0; 4];
        }
        let colour = |v: i64| ((round(v).clamp(0, alpha) * 255 + alpha / 2) / alpha) as u8;
        [
            colour(acc[0]),
            colour(acc[1]),
            colour(acc[2]),
            ((alpha + 127) / 255) as u8,
        ]
    }
}

/// The weights of one phase for [`Source::opaque_tap`].
struct OpaqueWeights {
    /// As fractions, scaled by 1 / 4096 once more (exact: the weights are 13-bit
    /// integers), for the column sums of row sums in units of 1 / 4096.
    columns: [f32; 4],
    /// Taps 0 and 1, and taps 2 and 3, as pairs of `i16` in an `i32` (low half first):
    /// the layout of a multiply-add of neighbouring 16-bit lanes.
    rows: [i32; 2],
}

impl OpaqueWeights {
    fn new(w: &[i32; 4]) -> Self {
        let pair = |a: i32, b: i32| (a & 0xffff) | (b << 16);
        OpaqueWeights {
            columns: w.map(|v| v as f32 / (ONE * ONE) as f32),
            rows: [pair(w[0], w[1]), pair(w[2], w[3])],
        }
    }
}

/// The row weights of [`OpaqueWeights::rows`], unpacked.
#[cfg_attr(
    any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")),
    allow(dead_code)
)]
fn row_weights(rows: &[i32; 2]) -> [i32; 4] {
    let lo = |v: i32| i32::from(v as i16);
    [lo(rows[0]), rows[0] >> 16, lo(rows[1]), rows[1] >> 16]
}

/// [`Source::opaque_tap`] in plain Rust: the rows of the 4 x 4 taps start at `at`.
/// The SIMD versions do the same operations in the same order, lane by lane.
#[cfg_attr(
    any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")),
    allow(dead_code)
)]
fn opaque_tap_scalar(pixels: &[u8], at: [usize; 4], columns: &[f32; 4], rows: &[i32; 2]) -> [u8; 4] {
    let wy = row_weights(rows);
    let tap = |j: usize, i: usize| i32::from(pixels[at[j] + i]);
    let mut acc = [0f32; 4];
    for (col, &wx) in columns.iter().enumerate() {
        for (c, sum) in acc.iter_mut().enumerate() {
            let i = col * 4 + c;
            let v = (tap(0, i) * wy[0] + tap(1, i) * wy[1]) + (tap(2, i) * wy[2] + tap(3, i) * wy[3]);
            *sum += wx * v as f32;
        }
    }
    // Rounded half up and clamped: `as` truncates toward 0 and saturates.
    let round = |v: f32| (v + 0.5) as u8;
    [round(acc[0]), round(acc[1]), round(acc[2]), 255]
}

/// The opaque filter with 128-bit vectors (SSE2, part of every x86_64 CPU; wasm's
/// simd128). The row sums are multiply-adds of neighbouring 16-bit lanes (`pmaddwd`,
/// `i32x4.dot_i16x8_s`: exact) on two rows' bytes interleaved; the column sums are the
/// scalar code's IEEE operations in the same order (no fused multiply-add), so the same
/// bits.
#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    #[inline]
    pub(super) fn opaque_tap(pixels: &[u8], at: [usize; 4], columns: &[f32; 4], rows: &[i32; 2]) -> [u8; 4] {
        let load = |start: usize| {
            let row = &pixels[start..start + 16];
            // SAFETY: SSE2 is part of x86_64; the load reads the 16 bytes of a checked slice.
            unsafe { _mm_loadu_si128(row.as_ptr().cast()) }
        };
        let (r0, r1, r2, r3) = (load(at[0]), load(at[1]), load(at[2]), load(at[3]));
        // SAFETY: SSE2 is part of x86_64.
        unsafe {
            let zero = _mm_setzero_si128();
            let (w01, w23) = (_mm_set1_epi32(rows[0]), _mm_set1_epi32(rows[1]));
            // Bytes of rows 0 and 1 (2 and 3) interleaved: columns 0-1 and 2-3.
            let (a_lo, a_hi) = (_mm_unpacklo_epi8(r0, r1), _mm_unpackhi_epi8(r0, r1));
            let (b_lo, b_hi) = (_mm_unpacklo_epi8(r2, r3), _mm_unpackhi_epi8(r2, r3));
            let column =
                |a: __m128i, b: __m128i| _mm_cvtepi32_ps(_mm_add_epi32(_mm_madd_epi16(a, w01), _mm_madd_epi16(b, w23)));
            let v = [
                column(_mm_unpacklo_epi8(a_lo, zero), _mm_unpacklo_epi8(b_lo, zero)),
                column(_mm_unpackhi_epi8(a_lo, zero), _mm_unpackhi_epi8(b_lo, zero)),
                column(_mm_unpacklo_epi8(a_hi, zero), _mm_unpacklo_epi8(b_hi, zero)),
                column(_mm_unpackhi_epi8(a_hi, zero), _mm_unpackhi_epi8(b_hi, zero)),
            ];
            let mut acc = _mm_setzero_ps();
            for (&wx, &vi) in columns.iter().zip(&v) {
                acc = _mm_add_ps(acc, _mm_mul_ps(_mm_set1_ps(wx), vi));
            }
            // Truncated toward 0, then saturated to 0..=255, as `as u8` does.
            let r = _mm_cvttps_epi32(_mm_add_ps(acc, _mm_set1_ps(0.5)));
            let r = _mm_packus_epi16(_mm_packs_epi32(r, r), zero);
            let [r, g, b, _] = (_mm_cvtsi128_si32(r) as u32).to_le_bytes();
            [r, g, b, 255]
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    #[inline]
    pub(super) fn opaque_tap(pixels: &[u8], at: [usize; 4], columns: &[f32; 4], rows: &[i32; 2]) -> [u8; 4] {
        let load = |start: usize| {
            let row: &[u8; 16] = pixels[start..start + 16].try_into().unwrap_or(&[0; 16]);
            u8x16(
                row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], row[10], row[11],
                row[12], row[13], row[14], row[15],
            )
        };
        let (r0, r1, r2, r3) = (load(at[0]), load(at[1]), load(at[2]), load(at[3]));
        let (w01, w23) = (i32x4_splat(rows[0]), i32x4_splat(rows[1]));
        // Bytes of rows 0 and 1 (2 and 3) interleaved: columns 0-1 and 2-3.
        let lo = |a, b| i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(a, b);
        let hi = |a, b| i8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(a, b);
        let (a_lo, a_hi) = (lo(r0, r1), hi(r0, r1));
        let (b_lo, b_hi) = (lo(r2, r3), hi(r2, r3));
        let column =
            |a: v128, b: v128| f32x4_convert_i32x4(i32x4_add(i32x4_dot_i16x8(a, w01), i32x4_dot_i16x8(b, w23)));
        let v = [
            column(u16x8_extend_low_u8x16(a_lo), u16x8_extend_low_u8x16(b_lo)),
            column(u16x8_extend_high_u8x16(a_lo), u16x8_extend_high_u8x16(b_lo)),
            column(u16x8_extend_low_u8x16(a_hi), u16x8_extend_low_u8x16(b_hi)),
            column(u16x8_extend_high_u8x16(a_hi), u16x8_extend_high_u8x16(b_hi)),
        ];
        let mut acc = f32x4_splat(0.0);
        for (&wx, &vi) in columns.iter().zip(&v) {
            acc = f32x4_add(acc, f32x4_mul(f32x4_splat(wx), vi));
        }
        // Truncated toward 0 and saturated, then narrowed with saturation to 0..=255.
        let r = i32x4_trunc_sat_f32x4(f32x4_add(acc, f32x4_splat(0.5)));
        let r = u8x16_narrow_i16x8(i16x8_narrow_i32x4(r, r), i16x8_splat(0));
        [
            u8x16_extract_lane::<0>(r),
            u8x16_extract_lane::<1>(r),
            u8x16_extract_lane::<2>(r),
            255,
        ]
    }
}

/// Colour x alpha and alpha x 255: one scale (0 ..= 65025) for all four.
fn premultiply([r, g, b, a]: [u8; 4]) -> [i32; 4] {
    let a32 = i32::from(a);
    [i32::from(r) * a32, i32::from(g) * a32, i32::from(b) * a32, a32 * 255]
}

/// The four Catmull-Rom weights (taps at -1, 0, 1, 2) for each phase k/256, in units
/// of 1/4096, summing to exactly 4096.
fn catmull_rom_table() -> Vec<[i32; 4]> {
    const A: f64 = -0.5;
    let kernel = |x: f64| {
        let x = x.abs();
        if x <= 1.0 {
            ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
        } else if x < 2.0 {
            ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A
        } else {
            0.0
        }
    };
    (0..256)
        .map(|k| {
            let t = f64::from(k) / 256.0;
            let mut w = [-1.0 - t, -t, 1.0 - t, 2.0 - t].map(|d| (kernel(d) * f64::from(ONE)).round() as i32);
            // Rounding may leave the sum off by one or two: the largest tap takes it.
            let err = ONE - w.iter().sum::<i32>();
            let big = if t < 0.5 { 1 } else { 2 };
            w[big] += err;
            w
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn sizes_are_the_bounding_box() {
        assert_eq!(output_size(200, 100, 90.0), (100, 200));
        assert_eq!(output_size(200, 100, -90.0), (100, 200));
        assert_eq!(output_size(200, 100, 360.0), (200, 100));
        // The sizes sharp 0.34 gives.
        assert_eq!(output_size(200, 100, 45.0), (212, 212)); // 300 / sqrt 2 = 212.13
        assert_eq!(output_size(1, 1, 45.0), (1, 1));
        assert_eq!(output_size(2000, 2000, 17.0), (2497, 2497)); // 2000 (cos + sin) = 2497.35
        assert_eq!(output_size(100, 100, 30.0), (137, 137)); // 136.6
        assert_eq!(output_size(100, 50, 10.0), (107, 67)); // 107.16 x 66.61
        assert_eq!(output_size(64, 48, 100.0), (58, 71));
        assert_eq!(output_size(100, 50, -30.0), output_size(100, 50, 30.0));
    }

    #[test]
    fn weights_sum_to_one_and_phase_zero_is_the_pixel() {
        let t = catmull_rom_table();
        assert!(t.iter().all(|w| w.iter().sum::<i32>() == ONE));
        assert_eq!(t[0], [0, ONE, 0, 0]);
        assert_eq!(t[128][1], t[128][2]);
        // The packed row weights unpack to the table's.
        assert!(t.iter().all(|w| row_weights(&OpaqueWeights::new(w).rows) == *w));
    }

    #[test]
    fn quarter_turns_are_exact_and_flat_images_stay_flat() {
        let img = Image::from_fn(5, 3, |x, y| Rgba([x as u8 * 40, y as u8 * 80, 7, 255]));
        let l = Limits::default();
        assert_eq!(
            rotate(&img, 90.0, [0; 4], &l).unwrap(),
            super::super::geometry::rotate(&img, 90)
        );
        assert_eq!(rotate(&img, -270.0, [0; 4], &l).unwrap().dimensions(), (3, 5));
        assert_eq!(rotate(&img, 720.0, [0; 4], &l).unwrap(), img);
        // A flat opaque image on the same background stays that colour everywhere.
        let flat = Image::from_pixel(40, 30, Rgba([10, 200, 30, 255]));
        for deg in [17.0, -33.5, 100.0, 45.0] {
            let r = rotate(&flat, deg, [10, 200, 30, 255], &l).unwrap();
            assert!(r.pixels().all(|p| p.0 == [10, 200, 30, 255]), "{deg}");
            // on a transparent background the corners are clear, the middle intact
            let r = rotate(&flat, deg, [0, 0, 0, 0], &l).unwrap();
            let (w, h) = r.dimensions();
            assert_eq!(r.get_pixel(0, 0).0[3], 0);
            assert_eq!(r.get_pixel(w / 2, h / 2).0, [10, 200, 30, 255]);
        }
        let one = Image::from_pixel(1, 1, Rgba([255, 0, 0, 255]));
        assert_eq!(rotate(&one, 45.0, [0, 0, 255, 255], &l).unwrap().dimensions(), (1, 1));
    }

    /// The SIMD filter gives the scalar filter's bits, for every phase and any pixels.
    #[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
    #[test]
    fn simd_filter_is_the_scalar_filter() {
        let table: Vec<OpaqueWeights> = catmull_rom_table().iter().map(OpaqueWeights::new).collect();
        let mut state = 0x9e37_79b9_u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let pixels: Vec<u8> = (0..4 * 64)
            .map(|i| if i % 7 == 0 { 255 } else { next() as u8 })
            .collect();
        for fy in 0..256 {
            for fx in (0..256).step_by(3) {
                let at = (next() % 48) as usize;
                let at = [at, at + 64, at + 128, at + 192];
                let (wx, wy) = (&table[fx].columns, &table[fy].rows);
                assert_eq!(
                    simd::opaque_tap(&pixels, at, wx, wy),
                    opaque_tap_scalar(&pixels, at, wx, wy),
                    "phase {fx}, {fy}"
                );
            }
        }
    }

    #[test]
    fn too_large_before_allocating() {
        let img = Image::new(100, 100);
        let l = Limits {
            max_pixels: 10_000,
            ..Limits::default()
        };
        assert_eq!(
            rotate(&img, 10.0, [0; 4], &l).unwrap_err().code,
            crate::ErrorCode::TooLarge
        );
        assert!(rotate(&img, 90.0, [0; 4], &l).is_ok());
    }
}
