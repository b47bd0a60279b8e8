//! `extend`: a border of one colour around the image (also `resize fit=contain
//! background=`'s letterbox). Exact pixel copies; the size is checked against the
//! limits before the new image is allocated.

use super::Image;
use super::position::Align;
use crate::{Error, Limits, Result};

/// How much `extend` adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// These many pixels on each side.
    Edges {
        /// Rows above.
        top: u32,
        /// Columns to the right.
        right: u32,
        /// Rows below.
        bottom: u32,
        /// Columns to the left.
        left: u32,
    },
    /// Up to this size (an axis not given keeps its size), the image centred (an odd
    /// pixel goes right or below).
    Size {
        /// The new width.
        width: Option<u32>,
        /// The new height.
        height: Option<u32>,
    },
}

/// The size `extend` gives an image of `width` x `height` (saturating; a `Size` smaller
/// than the image, an error when run, counts as the image's size).
pub fn output_size(width: u32, height: u32, border: Border) -> (u32, u32) {
    match border {
        Border::Edges {
            top,
            right,
            bottom,
            left,
        } => (
            width.saturating_add(left).saturating_add(right),
            height.saturating_add(top).saturating_add(bottom),
        ),
        Border::Size { width: w, height: h } => (w.unwrap_or(width).max(width), h.unwrap_or(height).max(height)),
    }
}

/// Adds the border in `background` (RGBA, straight alpha).
pub fn extend(image: &Image, border: Border, background: [u8; 4], limits: &Limits) -> Result<Image> {
    let (w, h) = image.dimensions();
    match border {
        Border::Edges {
            top,
            right,
            bottom,
            left,
        } => {
            let width = u64::from(w) + u64::from(left) + u64::from(right);
            let height = u64::from(h) + u64::from(top) + u64::from(bottom);
            let (width, height) = fits(width, height, limits)?;
            Ok(paste(image, width, height, left, top, background))
        }
        Border::Size { width, height } => {
            for (name, asked, has) in [("width", width, w), ("height", height, h)] {
                if let Some(asked) = asked
                    && asked < has
                {
                    return Err(Error::bad_input(format!(
                        "extend {name}={asked} is smaller than the image's {name} of {has}"
                    ))
                    .with_param(name));
                }
            }
            let (width, height) = (width.unwrap_or(w), height.unwrap_or(h));
            place(image, width, height, (Align::Middle, Align::Middle), background, limits)
        }
    }
}

/// The image on a `width` x `height` canvas of `background` (at least its size),
/// aligned as `align` says.
pub fn place(
    image: &Image,
    width: u32,
    height: u32,
    (ax, ay): (Align, Align),
    background: [u8; 4],
    limits: &Limits,
) -> Result<Image> {
    let (w, h) = image.dimensions();
    let (width, height) = fits(u64::from(width), u64::from(height), limits)?;
    if width < w || height < h {
        return Err(Error::internal("the canvas is smaller than the image"));
    }
    let left = ax.offset(u64::from(width - w)) as u32;
    let top = ay.offset(u64::from(height - h)) as u32;
    Ok(paste(image, width, height, left, top, background))
}

/// The size as u32 once it is within the limits.
fn fits(width: u64, height: u64, limits: &Limits) -> Result<(u32, u32)> {
    let (Ok(w), Ok(h)) = (u32::try_from(width), u32::try_from(height)) else {
        return Err(Error::too_large(format!(
            "image {width}x{height} exceeds the dimension limit of {}",
            limits.max_dimension
        )));
    };
    limits.check_image(w, h)?;
    Ok((w, h))
}

/// A `width` x `height` image of `background` with `image` at (`left`, `top`); the
/// caller has checked that it fits.
fn paste(image: &Image, width: u32, height: u32, left: u32, top: u32, background: [u8; 4]) -> Image {
    let (w, h) = image.dimensions();
    let (width_px, w_px) = (width as usize, w as usize);
    let mut out = Vec::with_capacity(width_px * height as usize * 4);
    let fill = |out: &mut Vec<u8>, pixels: usize| {
        for _ in 0..pixels {
            out.extend_from_slice(&background);
        }
    };
    fill(&mut out, width_px * top as usize);
    let right = width_px - w_px - left as usize;
    for row in image.as_raw().chunks_exact(w_px * 4).take(h as usize) {
        fill(&mut out, left as usize);
        out.extend_from_slice(row);
        fill(&mut out, right);
    }
    let rest = width_px * height as usize - out.len() / 4;
    fill(&mut out, rest);
    Image::from_raw(width, height, out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    fn numbered(w: u32, h: u32) -> Image {
        Image::from_fn(w, h, |x, y| Rgba([x as u8, y as u8, 7, 200]))
    }

    /// Pixel by pixel, the obvious way.
    fn naive(img: &Image, width: u32, height: u32, left: u32, top: u32, bg: [u8; 4]) -> Image {
        Image::from_fn(width, height, |x, y| {
            if x >= left && y >= top && x - left < img.width() && y - top < img.height() {
                *img.get_pixel(x - left, y - top)
            } else {
                Rgba(bg)
            }
        })
    }

    #[test]
    fn edges_and_sizes_match_the_naive_copy() {
        let bg = [1, 2, 3, 4];
        let l = Limits::default();
        for (w, h) in [(1, 1), (3, 2), (5, 7)] {
            let img = numbered(w, h);
            for (t, r, b, lf) in [(0, 0, 0, 0), (1, 2, 3, 4), (0, 5, 0, 0), (3, 0, 0, 1)] {
                let border = Border::Edges {
                    top: t,
                    right: r,
                    bottom: b,
                    left: lf,
                };
                let out = extend(&img, border, bg, &l).unwrap();
                assert_eq!(out, naive(&img, w + lf + r, h + t + b, lf, t, bg));
                assert_eq!(out.dimensions(), output_size(w, h, border));
            }
            // centred: the odd pixel right / below
            let border = Border::Size {
                width: Some(w + 3),
                height: None,
            };
            let out = extend(&img, border, bg, &l).unwrap();
            assert_eq!(out, naive(&img, w + 3, h, 1, 0, bg));
            assert_eq!(out.dimensions(), output_size(w, h, border));
        }
    }

    #[test]
    fn too_large_or_too_small_before_allocating() {
        let img = numbered(4, 4);
        let l = Limits {
            max_pixels: 100,
            ..Limits::default()
        };
        let huge = Border::Edges {
            top: u32::MAX,
            right: u32::MAX,
            bottom: 1,
            left: 1,
        };
        assert_eq!(
            extend(&img, huge, [0; 4], &Limits::UNLIMITED).unwrap_err().code,
            crate::ErrorCode::TooLarge
        );
        let big = Border::Edges {
            top: 30,
            right: 0,
            bottom: 0,
            left: 0,
        };
        assert_eq!(
            extend(&img, big, [0; 4], &l).unwrap_err().code,
            crate::ErrorCode::TooLarge
        );
        let small = Border::Size {
            width: Some(3),
            height: None,
        };
        let e = extend(&img, small, [0; 4], &l).unwrap_err();
        assert_eq!(
            (e.code, e.param.as_deref()),
            (crate::ErrorCode::BadInput, Some("width"))
        );
    }
}
