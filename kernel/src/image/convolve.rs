//! `convolve` (a user 3x3 or 5x5 kernel) and `sobel` (edge magnitude).
//!
//! Both read from a copy of the source and write rows in parallel; edges are clamped (the
//! edge pixel repeats). `convolve` accumulates in `f32`, tap by tap in row-major kernel
//! order for every pixel, so the rounding is the same on every target and thread split;
//! `sobel` is integer throughout.

use super::Image;
use super::color::luma;
use super::parallel::for_each_row;

/// A weight sum this small next to the sum of the weights' magnitudes is taken as 0: it
/// is float residue of weights meant to cancel (`0.1 0.2 -0.3 ...`), and dividing by it
/// would blow every pixel up to 0 or 255.
pub const ZERO_SUM: f32 = 1e-5;

/// Convolves R, G and B with `kernel`, 9 (3x3) or 25 (5x5) weights in row-major order
/// (any other length leaves the image unchanged); alpha is kept.
///
/// The weighted sum is divided by the sum of the weights unless that is 0 (at most
/// [`ZERO_SUM`] times the sum of their magnitudes), so a kernel of ones averages and an
/// edge kernel summing to 0 is applied as is. Rounded to nearest, clamped to `0..=255`. The kernel
/// is applied as written (correlation: weight `(i, j)` reads pixel `(x + j - r, y + i - r)`).
pub fn convolve(img: &mut Image, kernel: &[f32]) {
    let size = match kernel.len() {
        9 => 3,
        25 => 5,
        _ => return,
    };
    let r = size / 2;
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return;
    }
    let sum = kernel.iter().fold(0.0f32, |s, &k| s + k);
    let magnitude = kernel.iter().fold(0.0f32, |s, &k| s + k.abs());
    let divisor = if sum.abs() <= magnitude * ZERO_SUM {
        None
    } else {
        Some(sum)
    };

    // Copy of the source with `r` clamped pixels on both sides of every row.
    let stride = w * 4;
    let padded_stride = (w + 2 * r) * 4;
    let mut padded = Vec::with_capacity(padded_stride * h);
    for row in img.as_raw().chunks_exact(stride) {
        for _ in 0..r {
            padded.extend_from_slice(&row[..4]);
        }
        padded.extend_from_slice(row);
        for _ in 0..r {
            padded.extend_from_slice(&row[stride - 4..]);
        }
    }

    let padded = &padded;
    let buf: &mut [u8] = img;
    for_each_row(buf, stride, |y, out| {
        // One accumulator per byte (alpha's is unused), taps in kernel order.
        let mut acc = vec![0.0f32; stride];
        for (i, &k) in kernel.iter().enumerate() {
            let (dy, dx) = (i / size, i % size);
            let sy = (y + dy).saturating_sub(r).min(h - 1);
            let src = &padded[sy * padded_stride + dx * 4..][..stride];
            for (a, &s) in acc.iter_mut().zip(src) {
                *a += k * f32::from(s);
            }
        }
        for (px, a) in out.chunks_exact_mut(4).zip(acc.chunks_exact(4)) {
            for (c, &v) in px[..3].iter_mut().zip(&a[..3]) {
                *c = to_u8(match divisor {
                    Some(d) => v / d,
                    None => v,
                });
            }
        }
    });
}

/// Sobel edge magnitude of the Rec. 709 luma (as [`super::color::grayscale`]):
/// `round(sqrt(gx^2 + gy^2))` clamped to 255, written as opaque grey.
pub fn sobel(img: &mut Image) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return;
    }
    let mut plane = vec![0u8; w * h];
    {
        let src = img.as_raw();
        for_each_row(&mut plane, w, |y, out| {
            let row = &src[y * w * 4..][..w * 4];
            for (o, p) in out.iter_mut().zip(row.chunks_exact(4)) {
                *o = luma(p[0], p[1], p[2]);
            }
        });
    }
    let plane = &plane;
    let buf: &mut [u8] = img;
    for_each_row(buf, w * 4, |y, out| {
        let row = |yy: usize| &plane[yy * w..][..w];
        let (up, mid, down) = (row(y.saturating_sub(1)), row(y), row((y + 1).min(h - 1)));
        for (x, px) in out.chunks_exact_mut(4).enumerate() {
            let (l, r) = (x.saturating_sub(1), (x + 1).min(w - 1));
            let at = |line: &[u8], i: usize| i32::from(line[i]);
            let gx = (at(up, r) + 2 * at(mid, r) + at(down, r)) - (at(up, l) + 2 * at(mid, l) + at(down, l));
            let gy = (at(down, l) + 2 * at(down, x) + at(down, r)) - (at(up, l) + 2 * at(up, x) + at(up, r));
            // |g| <= 1020, so gx^2 + gy^2 <= 2_080_800.
            let m = round_sqrt((gx * gx + gy * gy) as u32).min(255) as u8;
            px.copy_from_slice(&[m, m, m, 255]);
        }
    });
}

/// `sqrt(n)` rounded to nearest, in integers: `s + 1` when `n > s^2 + s`.
fn round_sqrt(n: u32) -> u32 {
    let s = n.isqrt();
    if n - s * s > s { s + 1 } else { s }
}

/// Nearest byte, halves up, clamped (NaN is 0). Written out rather than `f32::round`,
/// which is a library call on baseline x86-64.
#[inline]
fn to_u8(v: f32) -> u8 {
    if v >= 255.0 {
        255
    } else if v > 0.0 {
        let t = v as u8;
        // v - t is exact (Sterbenz, or t = 0).
        t + u8::from(v - f32::from(t) >= 0.5)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    fn noise(w: u32, h: u32, seed: u32) -> Image {
        let mut s = seed | 1;
        Image::from_fn(w, h, |_, _| {
            let mut next = || {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s >> 24) as u8
            };
            Rgba([next(), next(), next(), next()])
        })
    }

    fn gray(w: u32, h: u32, f: impl Fn(u32, u32) -> u8) -> Image {
        Image::from_fn(w, h, |x, y| {
            let v = f(x, y);
            Rgba([v, v, v, 255])
        })
    }

    fn plane(img: &Image) -> Vec<Vec<u8>> {
        (0..img.height())
            .map(|y| (0..img.width()).map(|x| img.get_pixel(x, y)[0]).collect())
            .collect()
    }

    fn fnv(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    fn identity(size: usize) -> Vec<f32> {
        let mut k = vec![0.0; size * size];
        k[size * size / 2] = 1.0;
        k
    }

    const LAPLACE: [f32; 9] = [0.0, -1.0, 0.0, -1.0, 4.0, -1.0, 0.0, -1.0, 0.0];

    #[test]
    fn identity_kernels_change_nothing() {
        let img = noise(23, 17, 9);
        for size in [3, 5] {
            let mut out = img.clone();
            convolve(&mut out, &identity(size));
            assert_eq!(out, img);
            // Scaled identity: normalised back to identity.
            let k: Vec<f32> = identity(size).iter().map(|v| v * 7.5).collect();
            let mut out = img.clone();
            convolve(&mut out, &k);
            assert_eq!(out, img);
        }
    }

    #[test]
    fn constant_image_stays_constant() {
        let flat = Image::from_pixel(9, 6, Rgba([17, 128, 254, 99]));
        let kernels: [&[f32]; 5] = [
            &[1.0; 9],
            &[1.0; 25],
            &[1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0],
            &[-1.0; 9],
            &[0.3, -0.1, 0.25, 0.7, 1.9, 0.7, 0.01, 0.02, 0.03],
        ];
        for k in kernels {
            let mut out = flat.clone();
            convolve(&mut out, k);
            assert_eq!(out, flat, "{k:?}");
        }
        // A zero-sum kernel gives 0 on a flat image.
        let mut out = flat.clone();
        convolve(&mut out, &LAPLACE);
        assert!(out.pixels().all(|p| p.0 == [0, 0, 0, 99]));
    }

    #[test]
    fn box_and_edge_kernels_give_known_values() {
        // 3x3 block of 0..=8 * 10: the box mean at the centre is 40.
        let img = gray(3, 3, |x, y| ((y * 3 + x) * 10) as u8);
        let mut out = img.clone();
        convolve(&mut out, &[1.0; 9]);
        assert_eq!(out.get_pixel(1, 1).0, [40, 40, 40, 255]);
        // Corner (0, 0), clamped: rows (0,0,10) (0,0,10) (30,30,40) -> 120 / 9 = 13.3 -> 13
        assert_eq!(out.get_pixel(0, 0)[0], 13);

        // Laplacian of a single 50 in a 5x5 field of zeros: 200 at the spike, 0 around.
        let spike = gray(5, 5, |x, y| if (x, y) == (2, 2) { 50 } else { 0 });
        let mut out = spike.clone();
        convolve(&mut out, &LAPLACE);
        assert_eq!(out.get_pixel(2, 2)[0], 200);
        assert_eq!(out.get_pixel(2, 1)[0], 0); // -50 clamps to 0
        // Decimal weights that cancel are not normalised by their float residue.
        let k = [0.1f32, 0.2, -0.3, 0.1, 0.2, -0.3, 0.1, 0.2, -0.3];
        let mut out = spike.clone();
        convolve(&mut out, &k);
        // At (1, 2) the spike is to the right (weight -0.3); at (3, 2) to the left (0.1).
        assert_eq!(out.get_pixel(1, 2)[0], 0);
        assert_eq!(out.get_pixel(3, 2)[0], 5);
        assert_eq!(out.get_pixel(2, 2)[0], 10);
    }

    #[test]
    fn five_by_five_reads_two_pixels_out_and_clamps() {
        // Weight at (row 2, col 4) reads the pixel two to the right: a shift left by 2.
        let img = gray(6, 2, |x, _| (x * 40) as u8);
        let mut k = [0.0f32; 25];
        k[14] = 1.0;
        let mut out = img.clone();
        convolve(&mut out, &k);
        assert_eq!(plane(&out)[0], [80, 120, 160, 200, 200, 200]);
        // Negative normaliser: all -1 is still an average.
        let mut out = img.clone();
        convolve(&mut out, &[-1.0; 25]);
        // Mean of x in {0,0,0,1,2} * 40 = 24 at x = 0.
        assert_eq!(plane(&out)[1][0], 24);
    }

    #[test]
    fn alpha_is_kept() {
        let img = noise(8, 8, 3);
        let mut out = img.clone();
        convolve(&mut out, &[1.0; 25]);
        for (a, b) in out.pixels().zip(img.pixels()) {
            assert_eq!(a[3], b[3]);
        }
    }

    #[test]
    fn sobel_flat_and_edges() {
        let mut flat = Image::from_pixel(6, 4, Rgba([90, 30, 200, 17]));
        sobel(&mut flat);
        assert!(flat.pixels().all(|p| p.0 == [0, 0, 0, 255]));

        // Vertical step 10 | 40 between x = 3 and x = 4: gx = 4 * 30 = 120 on both sides.
        let mut step = gray(8, 5, |x, _| if x < 4 { 10 } else { 40 });
        sobel(&mut step);
        for row in plane(&step) {
            assert_eq!(row, [0, 0, 0, 120, 120, 0, 0, 0]);
        }
        assert!(step.pixels().all(|p| p[3] == 255 && p[1] == p[0]));
        // Horizontal step 0 | 100: 400, clamped to 255.
        let mut step = gray(3, 4, |_, y| if y < 2 { 0 } else { 100 });
        sobel(&mut step);
        assert_eq!(plane(&step), [[0; 3], [255; 3], [255; 3], [0; 3]]);

        // Single spike of 50: 2 * 50 beside it, sqrt(2) * 50 = 70.7 -> 71 diagonally.
        let mut spike = gray(5, 5, |x, y| if (x, y) == (2, 2) { 50 } else { 0 });
        sobel(&mut spike);
        let p = plane(&spike);
        assert_eq!(p[2], [0, 100, 0, 100, 0]);
        assert_eq!(p[1], [0, 71, 100, 71, 0]);
        assert_eq!(p[0], [0; 5]);

        // Luma first: green 50 next to black; luma(0, 50, 0) = 0.7152 * 50 = 35.76 -> 36,
        // so gx = 4 * 36 = 144.
        let mut g = Image::from_fn(4, 3, |x, _| Rgba(if x < 2 { [0, 0, 0, 255] } else { [0, 50, 0, 255] }));
        sobel(&mut g);
        assert_eq!(plane(&g)[1], [0, 144, 144, 0]);
    }

    #[test]
    fn round_sqrt_rounds() {
        for n in 0..=2_080_800u32 {
            let want = (f64::from(n)).sqrt().round() as u32;
            assert_eq!(round_sqrt(n), want, "{n}");
        }
    }

    #[test]
    fn tiny_images_do_not_panic() {
        for (w, h) in [(0, 0), (0, 2), (2, 0), (1, 1), (1, 7), (7, 1), (2, 2)] {
            let img = noise(w, h, 5);
            for k in [identity(3), identity(5), vec![1.0; 25], LAPLACE.to_vec(), vec![1.0; 4]] {
                let mut out = img.clone();
                convolve(&mut out, &k);
                assert_eq!(out.dimensions(), (w, h));
                if k.len() == 25 && k[0] == 1.0 && w * h == 1 {
                    assert_eq!(out, img); // a box on one pixel is that pixel
                }
            }
            let mut out = img.clone();
            sobel(&mut out);
            assert_eq!(out.dimensions(), (w, h));
            assert!(out.pixels().all(|p| p[3] == 255 && p[0] == p[1] && p[1] == p[2]));
        }
        // 1x1 and 1xN flat: sobel is black.
        let mut one = Image::from_pixel(1, 7, Rgba([200, 1, 2, 3]));
        sobel(&mut one);
        assert!(one.pixels().all(|p| p.0 == [0, 0, 0, 255]));
    }

    #[test]
    fn same_bytes_whatever_the_split() {
        // 400 x 200 x 4 bytes: above the parallel threshold. Hashes are the same with and
        // without `rayon` and on wasm32.
        let img = noise(400, 200, 21);
        let mut hashes = Vec::new();
        let kernels: [&[f32]; 3] = [
            &[1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0],
            &LAPLACE,
            &[
                0.01, -0.3, 0.7, 0.2, 0.11, 1.3, 0.5, -2.1, 0.4, 0.9, 0.33, 0.1, 3.3, 0.1, 0.7, -0.2, 0.5, 0.6, 0.05,
                0.05, 0.2, 0.1, -0.7, 0.3, 0.9,
            ],
        ];
        for k in kernels {
            let mut out = img.clone();
            convolve(&mut out, k);
            hashes.push(fnv(out.as_raw()));
        }
        let mut out = img.clone();
        sobel(&mut out);
        hashes.push(fnv(out.as_raw()));
        assert_eq!(hashes, GOLDEN, "got {hashes:#x?}");
    }

    const GOLDEN: [u64; 4] = [
        0x3d9f1f69f6115ec3,
        0xecd92ae2ffd25470,
        0x626a42e94a3eaed0,
        0xd67bf5d018a4e489,
    ];
}
