//! `resize`, on fast_image_resize (SIMD convolution: AVX2/SSE4.1/NEON/simd128).
//!
//! Its convolution is fixed-point integer, so every SIMD width gives the same bytes; the
//! one platform-dependent piece is `sin` in its built-in Lanczos filter (it calls the
//! platform libm), so Lanczos3 is given here as a custom filter on the `libm` crate,
//! which computes the same bits on every target.

use fast_image_resize::images::{TypedImage, TypedImageRef};
use fast_image_resize::pixels::U8x4;
use fast_image_resize::{Filter, FilterType, ResizeAlg, ResizeOptions, Resizer};

use super::Image;
use super::position::Position;
use crate::choice::choices;
use crate::{Error, Limits, Result};

choices! {
    /// How `resize` fits both width and height.
    pub enum Fit {
        Contain = "contain",
        Cover = "cover",
        Fill = "fill",
    }
}

choices! {
    /// The resampling filter of `resize`.
    pub enum ResizeFilter {
        Nearest = "nearest",
        Bilinear = "bilinear",
        CatmullRom = "catmull_rom",
        Lanczos3 = "lanczos3",
    }
}

/// The size a `resize` asks for: what a JPEG decoded just before it may shrink towards
/// (shrink-on-load).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Request {
    /// The resize's `width`.
    pub width: Option<u32>,
    /// The resize's `height`.
    pub height: Option<u32>,
    /// The resize's `fit`.
    pub fit: Fit,
}

impl Request {
    /// The largest `s` in 0..=3 such that an image of `sw` x `sh` decoded at 1 / 2^s is
    /// still at least the size this resize scales it to, on both axes (for `cover`, the
    /// part it keeps): libjpeg's and libvips' shrink-on-load.
    pub fn shrink_shift(&self, sw: u32, sh: u32) -> u8 {
        let target = target_size(sw, sh, self.width, self.height, self.fit, Position::Centre);
        let (ew, eh) = target
            .crop
            .map_or((f64::from(sw), f64::from(sh)), |(_, _, w, h)| (w, h));
        let reduction = (ew / f64::from(target.width)).min(eh / f64::from(target.height));
        (1..=3u8)
            .rev()
            .find(|&s| reduction >= f64::from(1u32 << s))
            .unwrap_or(0)
    }
}

/// An image decoded at 1 / 2^`shift` of `source` (its upright size): a resize of it
/// gives the size and the crop a resize of the source would, from the same area.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shrunk {
    /// The source's upright width and height.
    pub source: (u32, u32),
    /// The image is 1 / 2^shift of the source, each side rounded up.
    pub shift: u8,
}

/// Resizes to `width` and/or `height` (see the `resize` op for `fit`; `position`: the
/// part `cover` keeps), checking the output size against `limits` before allocating it.
/// A `shrunk` image is resized as its source would be.
#[allow(clippy::too_many_arguments)]
pub fn resize(
    image: &Image,
    width: Option<u32>,
    height: Option<u32>,
    fit: Fit,
    position: Position,
    filter: ResizeFilter,
    limits: &Limits,
    shrunk: Option<Shrunk>,
) -> Result<Image> {
    let (sw, sh) = image.dimensions();
    let ((ow, oh), scale) = match shrunk {
        Some(s) => (s.source, f64::from(1u32 << s.shift)),
        None => ((sw, sh), 1.0),
    };
    let mut target = target_size(ow, oh, width, height, fit, position);
    limits.check_image(target.width, target.height)?;
    // The source's extent and crop in this image's pixels: a shrunk image's last row and
    // column may stand for less than 2^shift of the source's.
    let (fw, fh) = (f64::from(ow) / scale, f64::from(oh) / scale);
    target.crop = target
        .crop
        .map(|(l, t, w, h)| (l / scale, t / scale, w / scale, h / scale));
    if let (Position::Attention, Some((_, _, cw, ch))) = (position, target.crop) {
        // One axis is cropped: keep its most salient window.
        let horizontal = cw < fw;
        let (length, room) = if horizontal { (cw, fw - cw) } else { (ch, fh - ch) };
        let at = f64::from(super::attention::best_offset(
            image,
            horizontal,
            length.round().max(1.0) as u32,
        ))
        .min(room);
        target.crop = Some(if horizontal {
            (at, 0.0, cw, ch)
        } else {
            (0.0, at, cw, ch)
        });
    }
    if shrunk.is_some() && target.crop.is_none() {
        target.crop = Some((0.0, 0.0, fw, fh));
    }
    if (target.width, target.height) == (sw, sh) && target.crop.is_none() {
        return Ok(image.clone());
    }
    // The typed U8x4 API links only RGBA8 code: the dynamic `resize` would pull every
    // pixel type into the wasm module (a 512 KiB table for 16-bit alpha among them).
    let src = TypedImageRef::<U8x4>::from_buffer(sw, sh, image.as_raw())
        .map_err(|e| Error::internal(format!("resize source: {e}")))?;
    let mut out = vec![0u8; target.width as usize * target.height as usize * 4];
    let mut dst = TypedImage::<U8x4>::from_buffer(target.width, target.height, &mut out)
        .map_err(|e| Error::internal(format!("resize destination: {e}")))?;
    let algorithm = match filter {
        ResizeFilter::Nearest => ResizeAlg::Nearest,
        ResizeFilter::Bilinear => ResizeAlg::Convolution(FilterType::Bilinear),
        ResizeFilter::CatmullRom => ResizeAlg::Convolution(FilterType::CatmullRom),
        ResizeFilter::Lanczos3 => ResizeAlg::Convolution(lanczos3()),
    };
    let opaque = super::is_opaque(image);
    let mut options = ResizeOptions::new().resize_alg(algorithm).use_alpha(!opaque);
    if let Some((left, top, w, h)) = target.crop {
        options = options.crop(left, top, w, h);
    }
    Resizer::new()
        .resize_typed(&src, &mut dst, &options)
        .map_err(|e| Error::internal(format!("resize: {e}")))?;
    Image::from_raw(target.width, target.height, out)
        .ok_or_else(|| Error::internal("resize produced a buffer of the wrong size"))
}

/// The size `resize` gives an image of `sw` x `sh`.
pub fn output_size(sw: u32, sh: u32, width: Option<u32>, height: Option<u32>, fit: Fit) -> (u32, u32) {
    let target = target_size(sw, sh, width, height, fit, Position::Centre);
    (target.width, target.height)
}

/// Output size and, for `cover`, the source rectangle (left, top, width, height).
#[derive(Debug, PartialEq)]
struct Target {
    width: u32,
    height: u32,
    crop: Option<(f64, f64, f64, f64)>,
}

fn target_size(sw: u32, sh: u32, width: Option<u32>, height: Option<u32>, fit: Fit, position: Position) -> Target {
    let (ax, ay) = position.align();
    let (sw64, sh64) = (u64::from(sw), u64::from(sh));
    // round(a * b / c), at least 1; `a * b` fits in u64 since all are < 2^32.
    let scale = |a: u64, b: u64, c: u64| ((a * b + c / 2) / c).clamp(1, u64::from(u32::MAX)) as u32;
    let plain = |width, height| Target {
        width,
        height,
        crop: None,
    };
    match (width, height) {
        (Some(w), None) => plain(w, scale(sh64, u64::from(w), sw64)),
        (None, Some(h)) => plain(scale(sw64, u64::from(h), sh64), h),
        (None, None) => plain(sw, sh),
        (Some(w), Some(h)) => {
            let (w64, h64) = (u64::from(w), u64::from(h));
            match fit {
                Fit::Fill => plain(w, h),
                Fit::Contain if w64 * sh64 <= h64 * sw64 => plain(w, scale(sh64, w64, sw64).min(h)),
                Fit::Contain => plain(scale(sw64, h64, sh64).min(w), h),
                Fit::Cover => {
                    let crop = if sw64 * h64 > sh64 * w64 {
                        let cw = f64::from(sh) * f64::from(w) / f64::from(h);
                        (ax.offset_f64(f64::from(sw) - cw), 0.0, cw, f64::from(sh))
                    } else if sw64 * h64 < sh64 * w64 {
                        let ch = f64::from(sw) * f64::from(h) / f64::from(w);
                        (0.0, ay.offset_f64(f64::from(sh) - ch), f64::from(sw), ch)
                    } else {
                        return plain(w, h);
                    };
                    Target {
                        width: w,
                        height: h,
                        crop: Some(crop),
                    }
                }
            }
        }
    }
}

fn lanczos3() -> FilterType {
    fn sinc(x: f64) -> f64 {
        if x == 0.0 {
            1.0
        } else {
            let x = x * std::f64::consts::PI;
            libm::sin(x) / x
        }
    }
    fn lanczos3(x: f64) -> f64 {
        if (-3.0..3.0).contains(&x) {
            sinc(x) * sinc(x / 3.0)
        } else {
            0.0
        }
    }
    // `Filter::new` only fails for a non-finite or non-positive support.
    match Filter::new("lanczos3", lanczos3, 3.0) {
        Ok(f) => FilterType::Custom(f),
        Err(_) => FilterType::Lanczos3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_on_load_keeps_at_least_the_target() {
        let r = |width, height, fit| Request { width, height, fit };
        // 2725 / 720 = 3.8: 1/2; 800 / 100 = 8: 1/8; 1000 / 501 < 2: none.
        assert_eq!(r(Some(720), None, Fit::Contain).shrink_shift(2725, 2225), 1);
        assert_eq!(r(Some(100), None, Fit::Contain).shrink_shift(800, 600), 3);
        assert_eq!(r(Some(50), None, Fit::Contain).shrink_shift(6400, 4800), 3);
        assert_eq!(r(Some(501), None, Fit::Contain).shrink_shift(1000, 800), 0);
        assert_eq!(r(None, None, Fit::Contain).shrink_shift(1000, 800), 0);
        // The less reduced axis decides: fill 400x100 of 1600x200 is 4x and 2x.
        assert_eq!(r(Some(400), Some(100), Fit::Fill).shrink_shift(1600, 200), 1);
        // Cover keeps a 200x200 window of 1600x200, shown at 50x50: 4x.
        assert_eq!(r(Some(50), Some(50), Fit::Cover).shrink_shift(1600, 200), 2);
        // Enlarging never shrinks.
        assert_eq!(r(Some(4000), None, Fit::Contain).shrink_shift(1000, 800), 0);
    }

    #[test]
    fn a_shrunk_image_resizes_as_its_source() {
        // The source 1001x601 at 1/4 is 251x151 (rounded up): its last column and row
        // stand for a quarter of a source pixel's.
        let source = gradient(1001, 601, false);
        let shrunk = Shrunk {
            source: (1001, 601),
            shift: 2,
        };
        // As a scaled decode gives it: 4x4 means, the edge repeated past the source.
        let small = Image::from_fn(251, 151, |x, y| {
            let mut sum = [0u32; 4];
            for dy in 0..4 {
                for dx in 0..4 {
                    let p = source.get_pixel((4 * x + dx).min(1000), (4 * y + dy).min(600));
                    for (s, v) in sum.iter_mut().zip(p.0) {
                        *s += u32::from(v);
                    }
                }
            }
            image::Rgba(sum.map(|s| ((s + 8) / 16) as u8))
        });
        for (fit, position) in [
            (Fit::Contain, Position::Centre),
            (Fit::Cover, Position::Centre),
            (Fit::Cover, Position::Attention),
        ] {
            let full = resize(
                &source,
                Some(120),
                Some(100),
                fit,
                position,
                ResizeFilter::Lanczos3,
                &Limits::default(),
                None,
            )
            .unwrap();
            let from_small = resize(
                &small,
                Some(120),
                Some(100),
                fit,
                position,
                ResizeFilter::Lanczos3,
                &Limits::default(),
                Some(shrunk),
            )
            .unwrap();
            assert_eq!(full.dimensions(), from_small.dimensions(), "{fit:?}");
            let diff: u64 = full
                .as_raw()
                .iter()
                .zip(from_small.as_raw())
                .map(|(a, b)| u64::from(a.abs_diff(*b)))
                .sum();
            let mean = diff as f64 / full.as_raw().len() as f64;
            assert!(mean < 2.0, "{fit:?} {position:?}: mean difference {mean}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(
            target_size(2725, 2225, Some(720), None, Fit::Contain, Position::Centre),
            Target {
                width: 720,
                height: 588,
                crop: None
            }
        );
        assert_eq!(
            target_size(100, 50, None, Some(10), Fit::Contain, Position::Centre),
            Target {
                width: 20,
                height: 10,
                crop: None
            }
        );
        assert_eq!(
            target_size(100, 50, Some(40), Some(40), Fit::Contain, Position::Centre),
            Target {
                width: 40,
                height: 20,
                crop: None
            }
        );
        assert_eq!(
            target_size(50, 100, Some(40), Some(40), Fit::Contain, Position::Centre),
            Target {
                width: 20,
                height: 40,
                crop: None
            }
        );
        assert_eq!(
            target_size(100, 50, Some(40), Some(40), Fit::Fill, Position::Centre),
            Target {
                width: 40,
                height: 40,
                crop: None
            }
        );
        assert_eq!(
            target_size(100, 50, Some(40), Some(40), Fit::Cover, Position::Centre),
            Target {
                width: 40,
                height: 40,
                crop: Some((25.0, 0.0, 50.0, 50.0))
            }
        );
        // position picks the part cover keeps
        let crop = |w, h, p| target_size(w, h, Some(40), Some(40), Fit::Cover, p).crop;
        assert_eq!(crop(100, 50, Position::Left), Some((0.0, 0.0, 50.0, 50.0)));
        assert_eq!(crop(100, 50, Position::BottomRight), Some((50.0, 0.0, 50.0, 50.0)));
        assert_eq!(crop(100, 50, Position::Top), Some((25.0, 0.0, 50.0, 50.0)));
        assert_eq!(crop(50, 100, Position::Top), Some((0.0, 0.0, 50.0, 50.0)));
        assert_eq!(crop(50, 100, Position::BottomLeft), Some((0.0, 50.0, 50.0, 50.0)));
        assert_eq!(crop(50, 100, Position::Right), Some((0.0, 25.0, 50.0, 50.0)));
        // never 0 pixels
        assert_eq!(
            target_size(10000, 1, Some(10), None, Fit::Contain, Position::Centre),
            Target {
                width: 10,
                height: 1,
                crop: None
            }
        );
    }

    fn gradient(w: u32, h: u32, alpha: bool) -> Image {
        Image::from_fn(w, h, |x, y| {
            image::Rgba([
                (x * 7 % 256) as u8,
                (y * 5 % 256) as u8,
                ((x + y) % 256) as u8,
                if alpha { (x % 256) as u8 } else { 255 },
            ])
        })
    }

    #[test]
    fn every_filter_and_fit_gives_the_size_asked() {
        let img = gradient(97, 61, true);
        for filter in [
            ResizeFilter::Nearest,
            ResizeFilter::Bilinear,
            ResizeFilter::CatmullRom,
            ResizeFilter::Lanczos3,
        ] {
            for fit in [Fit::Contain, Fit::Cover, Fit::Fill] {
                let out = resize(
                    &img,
                    Some(40),
                    Some(30),
                    fit,
                    Position::Centre,
                    filter,
                    &Limits::default(),
                    None,
                )
                .unwrap();
                let expect = if fit == Fit::Contain { (40, 25) } else { (40, 30) };
                assert_eq!(out.dimensions(), expect, "{filter:?} {fit:?}");
            }
            let up = resize(
                &img,
                Some(300),
                None,
                Fit::Contain,
                Position::Centre,
                filter,
                &Limits::default(),
                None,
            )
            .unwrap();
            assert_eq!(up.dimensions(), (300, 189)); // 61 * 300 / 97 = 188.66
        }
    }

    #[test]
    fn constant_image_stays_constant() {
        let img = Image::from_pixel(123, 77, image::Rgba([10, 200, 30, 255]));
        let out = resize(
            &img,
            Some(31),
            None,
            Fit::Contain,
            Position::Centre,
            ResizeFilter::Lanczos3,
            &Limits::default(),
            None,
        )
        .unwrap();
        assert!(out.pixels().all(|p| p.0 == [10, 200, 30, 255]));
    }

    #[test]
    fn limits_checked_before_allocating() {
        let img = gradient(4, 4, false);
        let limits = Limits {
            max_pixels: 1000,
            ..Limits::default()
        };
        let e = resize(
            &img,
            Some(1000),
            None,
            Fit::Contain,
            Position::Centre,
            ResizeFilter::Nearest,
            &limits,
            None,
        )
        .unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::TooLarge);
    }

    #[test]
    fn attention_on_extreme_shapes() {
        // The crop is under a pixel wide: a window of 1, no panic.
        let img = gradient(1000, 1, false);
        for (w, h) in [(1, 1000), (3, 1), (1000, 1000)] {
            let out = resize(
                &img,
                Some(w),
                Some(h),
                Fit::Cover,
                Position::Attention,
                ResizeFilter::Nearest,
                &Limits::default(),
                None,
            )
            .unwrap();
            assert_eq!(out.dimensions(), (w, h));
        }
    }

    /// Every SIMD path of this CPU gives the bytes of the scalar path (wasm has simd128
    /// or none; native picks AVX2/SSE4.1 at run time).
    #[test]
    fn all_cpu_extensions_agree() {
        use fast_image_resize::CpuExtensions;
        let img = gradient(301, 203, true);
        let src = TypedImageRef::<U8x4>::from_buffer(301, 203, img.as_raw()).unwrap();
        for alg in [
            ResizeAlg::Convolution(lanczos3()),
            ResizeAlg::Convolution(FilterType::CatmullRom),
            ResizeAlg::Convolution(FilterType::Bilinear),
            ResizeAlg::Nearest,
        ] {
            for alpha in [false, true] {
                let mut reference: Option<Vec<u8>> = None;
                #[cfg(target_arch = "x86_64")]
                let exts = [CpuExtensions::None, CpuExtensions::Sse4_1, CpuExtensions::Avx2];
                #[cfg(not(target_arch = "x86_64"))]
                let exts = [CpuExtensions::None];
                for ext in exts {
                    if !ext.is_supported() {
                        continue;
                    }
                    let mut resizer = Resizer::new();
                    // SAFETY: only extensions this CPU supports are set.
                    unsafe { resizer.set_cpu_extensions(ext) };
                    let mut out = vec![0u8; 120 * 77 * 4];
                    let mut dst = TypedImage::<U8x4>::from_buffer(120, 77, &mut out).unwrap();
                    resizer
                        .resize_typed(&src, &mut dst, &ResizeOptions::new().resize_alg(alg).use_alpha(alpha))
                        .unwrap();
                    match &reference {
                        None => reference = Some(out),
                        Some(r) => assert!(*r == out, "{ext:?} differs from scalar for {alg:?} alpha={alpha}"),
                    }
                }
            }
        }
    }
}
