//! `crop`, `rotate` and `flip`: exact pixel moves, no resampling.

use image::imageops;

use super::Image;
use crate::choice::choices;
use crate::{Error, Result};

choices! {
    /// The mirror axis of `flip`.
    pub enum Axis {
        Horizontal = "horizontal",
        Vertical = "vertical",
    }
}

/// Keeps the `width` x `height` rectangle at (`x`, `y`), which must lie inside the image.
pub fn crop(image: &Image, x: u32, y: u32, width: u32, height: u32) -> Result<Image> {
    let (w, h) = image.dimensions();
    let fits = u64::from(x) + u64::from(width) <= u64::from(w) && u64::from(y) + u64::from(height) <= u64::from(h);
    if !fits {
        return Err(Error::bad_input(format!(
            "crop {width}x{height} at ({x}, {y}) does not fit inside the {w}x{h} image"
        ))
        .with_param("width"));
    }
    Ok(imageops::crop_imm(image, x, y, width, height).to_image())
}

/// Rotates clockwise by 90, 180 or 270 degrees (anything else is 0).
pub fn rotate(image: &Image, degrees: u32) -> Image {
    match degrees {
        90 => imageops::rotate90(image),
        180 => imageops::rotate180(image),
        270 => imageops::rotate270(image),
        _ => image.clone(),
    }
}

/// Mirrors in place.
pub fn flip(image: &mut Image, axis: Axis) {
    match axis {
        Axis::Horizontal => imageops::flip_horizontal_in_place(image),
        Axis::Vertical => imageops::flip_vertical_in_place(image),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    fn numbered(w: u32, h: u32) -> Image {
        Image::from_fn(w, h, |x, y| Rgba([x as u8, y as u8, 0, 255]))
    }

    #[test]
    fn rotate_moves_corners_clockwise() {
        let img = numbered(3, 2);
        let r = rotate(&img, 90);
        assert_eq!(r.dimensions(), (2, 3));
        // top-left of the result is the old bottom-left
        assert_eq!(r.get_pixel(0, 0).0, [0, 1, 0, 255]);
        assert_eq!(rotate(&rotate(&img, 90), 270), img);
        assert_eq!(rotate(&rotate(&img, 180), 180), img);
        assert_eq!(rotate(&img, 180).get_pixel(0, 0).0, [2, 1, 0, 255]);
    }

    #[test]
    fn flip_mirrors() {
        let mut img = numbered(3, 2);
        flip(&mut img, Axis::Horizontal);
        assert_eq!(img.get_pixel(0, 0).0, [2, 0, 0, 255]);
        flip(&mut img, Axis::Vertical);
        assert_eq!(img.get_pixel(0, 0).0, [2, 1, 0, 255]);
    }

    #[test]
    fn crop_in_and_out_of_bounds() {
        let img = numbered(10, 8);
        let c = crop(&img, 2, 3, 4, 5).unwrap();
        assert_eq!(c.dimensions(), (4, 5));
        assert_eq!(c.get_pixel(0, 0).0, [2, 3, 0, 255]);
        assert_eq!(crop(&img, 7, 0, 4, 1).unwrap_err().code, crate::ErrorCode::BadInput);
        assert_eq!(
            crop(&img, u32::MAX, 0, 4, 1).unwrap_err().code,
            crate::ErrorCode::BadInput
        );
    }
}
