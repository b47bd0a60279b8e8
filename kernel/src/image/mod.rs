//! The `image` kind (RGBA8, straight alpha) and the ops on it.

pub mod blur;
pub mod codec;
pub mod color;
pub mod convolve;
pub mod geometry;
pub mod parallel;
pub mod resize;

/// An RGBA8 image with straight (not premultiplied) alpha, rows top to bottom.
pub type Image = image::RgbaImage;
