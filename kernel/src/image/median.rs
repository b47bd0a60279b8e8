//! `median`: the median of each channel over a `size` x `size` window, edges clamped
//! (the border pixels repeat, as libvips's and Pillow's rank filters do).
//!
//! Huang's sliding histogram: each row keeps one 256-bin histogram per channel and,
//! moving right, takes one column out and one in (`2 x size` updates per channel);
//! the median is tracked with the count of values below it, so finding it costs a few
//! steps instead of a 256-bin walk or a sort. Integer only, rows independent (in
//! parallel with `rayon`): the same bytes everywhere.

use super::Image;
use super::parallel::for_each_row;

/// The median filter; `size` is odd, 3..=15 (the checker's range). Alpha is filtered
/// too unless the image is opaque.
pub fn median(img: &Image, size: u32) -> Image {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 || size < 2 {
        return img.clone();
    }
    let mut out = Image::new(w, h);
    let opaque = super::is_opaque(img);
    let src = img.as_raw().as_slice();
    let dst: &mut [u8] = &mut out;
    for_each_row(dst, w as usize * 4, |y, row| {
        if opaque {
            median_row::<3>(src, w as usize, h as usize, size as usize, y, row);
        } else {
            median_row::<4>(src, w as usize, h as usize, size as usize, y, row);
        }
    });
    out
}

/// One output row; channels `0..N` filtered, the rest (alpha of an opaque image) set
/// to 255.
fn median_row<const N: usize>(src: &[u8], w: usize, h: usize, size: usize, y: usize, out: &mut [u8]) {
    let r = size / 2;
    let clamp = |v: isize, n: usize| v.clamp(0, n as isize - 1) as usize;
    // The window's rows, clamped at the top and bottom.
    let rows: Vec<&[u8]> = (0..size)
        .map(|k| {
            let ry = clamp(y as isize + k as isize - r as isize, h);
            &src[ry * w * 4..(ry + 1) * w * 4]
        })
        .collect();
    let mut hist = [[0u16; 256]; N];
    let mut below = [0u32; N];
    let mut med = [0u8; N];
    let add = |hist: &mut [[u16; 256]; N], below: &mut [u32; N], med: &[u8; N], col: usize| {
        for row in &rows {
            let px = &row[col * 4..col * 4 + 4];
            for c in 0..N {
                let v = px[c];
                hist[c][usize::from(v)] += 1;
                below[c] += u32::from(v < med[c]);
            }
        }
    };
    let remove = |hist: &mut [[u16; 256]; N], below: &mut [u32; N], med: &[u8; N], col: usize| {
        for row in &rows {
            let px = &row[col * 4..col * 4 + 4];
            for c in 0..N {
                let v = px[c];
                hist[c][usize::from(v)] -= 1;
                below[c] -= u32::from(v < med[c]);
            }
        }
    };
    for dx in 0..size {
        add(&mut hist, &mut below, &med, clamp(dx as isize - r as isize, w));
    }
    // The median is the value of rank `half` (0-based) among size^2 values.
    let half = (size * size / 2) as u32;
    for x in 0..w {
        for c in 0..N {
            let (hc, mut m, mut lt) = (&hist[c], usize::from(med[c]), below[c]);
            while lt > half {
                m -= 1;
                lt -= u32::from(hc[m]);
            }
            while lt + u32::from(hc[m]) <= half {
                lt += u32::from(hc[m]);
                m += 1;
            }
            med[c] = m as u8;
            below[c] = lt;
        }
        let px = &mut out[x * 4..x * 4 + 4];
        px[..N].copy_from_slice(&med);
        px[N..].fill(255);
        if x + 1 < w {
            remove(&mut hist, &mut below, &med, clamp(x as isize - r as isize, w));
            add(&mut hist, &mut below, &med, clamp((x + r + 1) as isize, w));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    /// The median by sorting each window, edges clamped.
    fn naive(img: &Image, size: u32) -> Image {
        let (w, h) = img.dimensions();
        let r = i64::from(size / 2);
        Image::from_fn(w, h, |x, y| {
            let mut out = [0u8; 4];
            for (c, o) in out.iter_mut().enumerate() {
                let mut v: Vec<u8> = Vec::new();
                for dy in -r..=r {
                    for dx in -r..=r {
                        let sx = (i64::from(x) + dx).clamp(0, i64::from(w) - 1) as u32;
                        let sy = (i64::from(y) + dy).clamp(0, i64::from(h) - 1) as u32;
                        v.push(img.get_pixel(sx, sy).0[c]);
                    }
                }
                v.sort_unstable();
                *o = v[v.len() / 2];
            }
            Rgba(out)
        })
    }

    /// A small deterministic generator.
    fn noise(w: u32, h: u32, opaque: bool, seed: u64) -> Image {
        let mut s = seed;
        let mut next = move || {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 33) as u8
        };
        Image::from_fn(w, h, |_, _| {
            let a = if opaque { 255 } else { next() };
            Rgba([next(), next() / 4 + 100, next(), a])
        })
    }

    #[test]
    fn equals_sorting_each_window() {
        for (w, h) in [(1, 1), (1, 9), (9, 1), (2, 3), (17, 13), (40, 7)] {
            for opaque in [true, false] {
                let img = noise(w, h, opaque, u64::from(w * 31 + h));
                for size in [3, 5, 7, 15] {
                    assert_eq!(
                        median(&img, size),
                        naive(&img, size),
                        "{w}x{h} size {size} opaque {opaque}"
                    );
                }
            }
        }
    }

    #[test]
    fn same_bytes_whatever_the_split() {
        // Above the parallel threshold: the whole image equals its rows done alone.
        let img = noise(300, 250, false, 7);
        let whole = median(&img, 5);
        assert_eq!(whole, naive(&img, 5));
    }
}
