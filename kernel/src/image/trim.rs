//! `trim`: removes a uniform border, as sharp's `trim` (libvips `find_trim`).

use super::Image;

/// What `trim` kept: the rectangle at (`left`, `top`) of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed {
    /// Columns removed on the left.
    pub left: u32,
    /// Rows removed at the top.
    pub top: u32,
}

/// Keeps the smallest rectangle holding every pixel that differs from `background`
/// (the top-left pixel when `None`) by more than `threshold` in any of R, G, B and A.
/// An image with no such pixel is kept whole.
pub fn trim(img: &Image, threshold: u8, background: Option<[u8; 4]>) -> (Image, Trimmed) {
    let (w, h) = img.dimensions();
    let whole = Trimmed { left: 0, top: 0 };
    if w == 0 || h == 0 {
        return (img.clone(), whole);
    }
    let bg = background.unwrap_or(img.get_pixel(0, 0).0);
    let differs = |px: &[u8]| px.iter().zip(bg).any(|(&c, b)| c.abs_diff(b) > threshold);
    let stride = w as usize * 4;
    let rows: Vec<&[u8]> = img.as_raw().chunks_exact(stride).collect();
    let Some(top) = rows.iter().position(|r| r.chunks_exact(4).any(differs)) else {
        return (img.clone(), whole);
    };
    let bottom = rows.iter().rposition(|r| r.chunks_exact(4).any(differs)).unwrap_or(top);
    let (mut left, mut right) = (w as usize, 0);
    for row in &rows[top..=bottom] {
        // Only the pixels outside the columns found so far can widen them.
        if let Some(l) = row[..left * 4].chunks_exact(4).position(differs) {
            left = l;
        }
        if let Some(r) = row[right * 4..].chunks_exact(4).rposition(differs) {
            right = right.max(right + r);
        }
    }
    let (width, height) = ((right + 1 - left) as u32, (bottom + 1 - top) as u32);
    let (left, top) = (left as u32, top as u32);
    let out = image::imageops::crop_imm(img, left, top, width, height).to_image();
    (out, Trimmed { left, top })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn finds_the_box() {
        let mut img = Image::from_pixel(10, 8, Rgba([255, 255, 255, 255]));
        img.put_pixel(3, 2, Rgba([0, 0, 0, 255]));
        img.put_pixel(6, 5, Rgba([250, 250, 250, 255])); // within 10: background
        img.put_pixel(7, 4, Rgba([255, 255, 255, 200])); // alpha differs
        let (out, at) = trim(&img, 10, None);
        assert_eq!(at, Trimmed { left: 3, top: 2 });
        assert_eq!(out.dimensions(), (5, 3));
        assert_eq!(out.get_pixel(0, 0).0, [0, 0, 0, 255]);
        let (out, at) = trim(&img, 4, None);
        assert_eq!((out.dimensions(), at), ((5, 4), Trimmed { left: 3, top: 2 }));
        // a given background that matches nothing keeps everything
        let (out, at) = trim(&img, 0, Some([1, 2, 3, 4]));
        assert_eq!((out, at), (img.clone(), Trimmed { left: 0, top: 0 }));
        // uniform and 1x1 images are kept whole
        let flat = Image::from_pixel(4, 4, Rgba([9; 4]));
        assert_eq!(trim(&flat, 0, None).0, flat);
        let one = Image::from_pixel(1, 1, Rgba([9; 4]));
        assert_eq!(trim(&one, 0, Some([0; 4])).0, one);
    }
}
