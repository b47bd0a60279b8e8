//! Level ops on R, G and B through 256-entry tables: `threshold`, `linear`,
//! `normalize`. Alpha is kept (except `linear` with four values). The tables are
//! built with plain `f64` arithmetic, so the output is the same on every target.

use super::Image;
use super::color::{for_each_pixel, luma, table};

/// `threshold`: 255 where the value is at least `value`, else 0. With `greyscale`, the
/// value is the luma of the `grayscale` op and the pixel becomes black or white;
/// without, each of R, G and B is thresholded on its own.
pub fn threshold(img: &mut Image, value: u8, greyscale: bool) {
    let cut = |v: u8| if v >= value { 255 } else { 0 };
    if greyscale {
        for_each_pixel(img, |px| {
            let y = cut(luma(px[0], px[1], px[2]));
            px[..3].fill(y);
        });
    } else {
        for_each_pixel(img, |px| px[..3].iter_mut().for_each(|c| *c = cut(*c)));
    }
}

/// `linear`: `a * c + b` per channel, rounded and clamped to 0..=255. `a` and `b` have
/// one value (every colour channel), three (R, G, B) or four (R, G, B, A: only then is
/// alpha changed); the checker has made their lengths agree.
pub fn linear(img: &mut Image, a: &[f64], b: &[f64]) {
    let channels = a.len().max(b.len()).max(3);
    let pick = |v: &[f64], i: usize| if v.len() == 1 { v[0] } else { v[i] };
    let luts: Vec<[u8; 256]> = (0..channels)
        .map(|i| {
            let (a, b) = (pick(a, i), pick(b, i));
            table(|v| a * v + b)
        })
        .collect();
    for_each_pixel(img, |px| {
        for (c, lut) in px.iter_mut().zip(&luts) {
            *c = lut[usize::from(*c)];
        }
    });
}

/// `normalize`: stretches R, G and B by one linear map so that the `lower` and `upper`
/// percentiles of the luma (of every pixel) become 0 and 255; values beyond are
/// clipped. The `p` percentile is the smallest luma `v` with at least `p`% of the
/// pixels (and at least one) at or below `v`. An image whose two percentiles are less
/// than 2 apart is left as it is.
pub fn normalize(img: &mut Image, lower: f64, upper: f64) {
    let mut histogram = [0u64; 256];
    for px in img.as_raw().chunks_exact(4) {
        histogram[usize::from(luma(px[0], px[1], px[2]))] += 1;
    }
    let n = (u64::from(img.width()) * u64::from(img.height())) as f64;
    let percentile = |p: f64| {
        let want = ((p / 100.0 * n).ceil() as u64).max(1);
        let mut seen = 0;
        histogram
            .iter()
            .position(|&count| {
                seen += count;
                seen >= want
            })
            .unwrap_or(255) as f64
    };
    let (lo, hi) = (percentile(lower), percentile(upper));
    if hi - lo < 2.0 {
        return;
    }
    let lut = table(|v| (v - lo) * 255.0 / (hi - lo));
    for_each_pixel(img, |px| px[..3].iter_mut().for_each(|c| *c = lut[usize::from(*c)]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    fn sampler(w: u32, h: u32) -> Image {
        Image::from_fn(w, h, |x, y| {
            let i = y * w + x;
            Rgba([i as u8, (i * 7 + 3) as u8, (i * 13 + 200) as u8, (i * 31) as u8])
        })
    }

    #[test]
    fn threshold_by_luma_or_channel() {
        let mut img = Image::from_fn(3, 1, |x, _| Rgba([[0, 127, 200][x as usize], 128, 255, 9]));
        let mut grey = img.clone();
        threshold(&mut img, 128, false);
        let got: Vec<[u8; 4]> = img.pixels().map(|p| p.0).collect();
        assert_eq!(got, [[0, 255, 255, 9], [0, 255, 255, 9], [255, 255, 255, 9]]);
        threshold(&mut grey, 128, true);
        for (p, src) in grey.pixels().zip([[0u8, 128, 255], [127, 128, 255], [200, 128, 255]]) {
            let y = if luma(src[0], src[1], src[2]) >= 128 { 255 } else { 0 };
            assert_eq!(p.0, [y, y, y, 9]);
        }
        let mut all = sampler(16, 16);
        threshold(&mut all, 0, true);
        assert!(all.pixels().all(|p| p.0[..3] == [255, 255, 255]));
    }

    #[test]
    fn linear_per_channel() {
        let src = sampler(16, 16);
        let mut img = src.clone();
        linear(&mut img, &[1.0], &[0.0]);
        assert_eq!(img, src);
        let mut img = Image::from_pixel(1, 1, Rgba([100, 100, 100, 100]));
        linear(&mut img, &[0.5, 2.0, -1.0], &[10.0]);
        assert_eq!(img.get_pixel(0, 0).0, [60, 210, 0, 100]);
        let mut img = Image::from_pixel(1, 1, Rgba([100, 100, 100, 100]));
        linear(&mut img, &[1.0, 1.0, 1.0, 0.5], &[0.0, 0.0, 0.0, 0.25]);
        // 50.25 -> 50
        assert_eq!(img.get_pixel(0, 0).0, [100, 100, 100, 50]);
    }

    #[test]
    fn normalize_stretches_to_full_range() {
        // greys 50..=150: lower=0 / upper=100 maps 50 -> 0 and 150 -> 255
        let mut img = Image::from_fn(101, 1, |x, _| Rgba([50 + x as u8, 50 + x as u8, 50 + x as u8, 255]));
        normalize(&mut img, 0.0, 100.0);
        assert_eq!(img.get_pixel(0, 0).0, [0, 0, 0, 255]);
        assert_eq!(img.get_pixel(100, 0).0, [255, 255, 255, 255]);
        assert_eq!(img.get_pixel(50, 0).0, [128, 128, 128, 255]); // 50 * 2.55 = 127.5
        // 1% of 101 pixels is 2 pixels: 51; 99% is 100 pixels: 149
        let mut img = Image::from_fn(101, 1, |x, _| Rgba([50 + x as u8, 50 + x as u8, 50 + x as u8, 255]));
        normalize(&mut img, 1.0, 99.0);
        assert_eq!(img.get_pixel(1, 0).0[0], 0);
        assert_eq!(img.get_pixel(99, 0).0[0], 255);
        // flat and 1x1 images are left alone
        for (w, h) in [(1, 1), (5, 3)] {
            let mut flat = Image::from_pixel(w, h, Rgba([9, 9, 9, 9]));
            normalize(&mut flat, 1.0, 99.0);
            assert!(flat.pixels().all(|p| p.0 == [9, 9, 9, 9]));
        }
    }
}
