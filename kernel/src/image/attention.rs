//! `resize fit=cover position=attention`: which part of the image to keep, from its
//! content, as sharp's `attention` strategy (libvips smartcrop) looks for it: luma
//! edges, saturation and skin tones.
//!
//! `cover` crops along one axis only, so the search is one-dimensional: every pixel
//! gets an integer score, the scores are summed per column (or row), and the window
//! of the crop's length with the largest sum wins (ties: the one nearest the centre,
//! then the first). Integer arithmetic only: the same choice on every target.

use super::Image;
use super::color::luma;

/// The saliency of one pixel given its right and lower neighbours: luma edges (twice
/// the absolute differences), saturation (max - min of R, G, B) and 255 for a skin tone
/// (the RGB rule of Kovač et al.), scaled by alpha.
#[inline]
fn score(px: &[u8], right: &[u8], below: &[u8]) -> u64 {
    let (r, g, b, a) = (px[0], px[1], px[2], px[3]);
    let y = luma(r, g, b);
    let edge = u32::from(y.abs_diff(luma(right[0], right[1], right[2])))
        + u32::from(y.abs_diff(luma(below[0], below[1], below[2])));
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    let skin = r > 95 && g > 40 && b > 20 && max - min > 15 && r.abs_diff(g) > 15 && r > g && r > b;
    let total = 2 * edge + u32::from(max - min) + if skin { 255 } else { 0 };
    u64::from(total) * u64::from(a)
}

/// The offset along the cropped axis (columns when `horizontal`, else rows) of the
/// `length`-pixel window that keeps the most salient part.
pub fn best_offset(img: &Image, horizontal: bool, length: u32) -> u32 {
    let (w, h) = img.dimensions();
    let n = if horizontal { w } else { h };
    if length >= n || w == 0 || h == 0 {
        return 0;
    }
    let mut profile = vec![0u64; n as usize];
    let raw = img.as_raw();
    let stride = w as usize * 4;
    for y in 0..h as usize {
        let row = &raw[y * stride..(y + 1) * stride];
        let next = &raw[(y + 1).min(h as usize - 1) * stride..][..stride];
        for x in 0..w as usize {
            let right = (x + 1).min(w as usize - 1) * 4;
            let s = score(&row[x * 4..x * 4 + 4], &row[right..right + 4], &next[x * 4..x * 4 + 4]);
            profile[if horizontal { x } else { y }] += s;
        }
    }
    let len = length as usize;
    let mut sum: u64 = profile[..len].iter().sum();
    let centre = (n as usize - len) / 2;
    let (mut best, mut best_sum) = (0usize, sum);
    for start in 1..=n as usize - len {
        sum = sum - profile[start - 1] + profile[start + len - 1];
        let nearer = start.abs_diff(centre) < best.abs_diff(centre);
        if sum > best_sum || (sum == best_sum && nearer) {
            (best, best_sum) = (start, sum);
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn finds_the_detail_and_centres_on_a_flat_image() {
        // A flat grey image with a checkered patch at x 70..80.
        let img = Image::from_fn(100, 20, |x, y| {
            let v = if (70..80).contains(&x) && (x + y) % 2 == 0 {
                250
            } else {
                128
            };
            Rgba([v, v, v, 255])
        });
        let at = best_offset(&img, true, 20);
        assert!((60..=70).contains(&at), "{at}");
        let flat = Image::from_pixel(100, 20, Rgba([9, 9, 9, 255]));
        assert_eq!(best_offset(&flat, true, 20), 40);
        assert_eq!(best_offset(&flat, false, 10), 5);
        // A skin-toned band at the bottom of a grey image.
        let img = Image::from_fn(10, 100, |_, y| {
            if y >= 80 {
                Rgba([220, 160, 130, 255])
            } else {
                Rgba([128, 128, 128, 255])
            }
        });
        assert_eq!(best_offset(&img, false, 20), 80);
        assert_eq!(best_offset(&img, false, 100), 0);
        assert_eq!(best_offset(&Image::from_pixel(1, 1, Rgba([0; 4])), true, 1), 0);
    }
}
