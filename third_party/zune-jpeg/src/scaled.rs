//! kiln patch (KILN-PATCH.md): decoding at 1/2, 1/4 or 1/8 scale in the DCT domain, as
//! libjpeg's `scale_num / scale_denom` and libvips' shrink-on-load do.
//!
//! Every 8x8 block of coefficients is inverse-transformed straight to the block's size in
//! the output (`N x N`, `N` = 4, 2 or 1 for a full-resolution component): the `N`-point
//! inverse DCT of the block's `N x N` lowest frequencies, libjpeg's reduced-size IDCT
//! (see [`A4`]; a box mean over all 64 coefficients was tried: slower, and no closer
//! to a full decode resized with Lanczos). A
//! subsampled component is transformed to its own, larger, output block (chroma of a
//! 4:2:0 image at 1/2 is a plain 8x8 IDCT), so every component comes out at the output
//! resolution and no upsampling is needed, as libjpeg does when it can. The arithmetic
//! is integer only: the same bytes on every target.
//!
//! Supported: baseline images whose components all sit in the first scan, progressive
//! images, grey, YCbCr and RGB, with every component's subsampling a power of two no
//! larger than the scale factor. For anything else `decode_scaled` says
//! [`ScaleError::Unsupported`] and the caller decodes at full size.

use alloc::vec;
use alloc::vec::Vec;

use zune_core::bytestream::ZByteReaderTrait;
use zune_core::colorspace::ColorSpace;
use zune_core::log::warn;

use crate::bitstream::BitStream;
use crate::decoder::{JpegDecoder, MAX_COMPONENTS};
use crate::errors::DecodeErrors;
use crate::mcu::McuContinuation;
use crate::misc::setup_component_params;
use crate::worker::color_convert;

/// Why a scaled decode did not happen.
#[derive(Debug)]
pub enum ScaleError {
    /// The image's layout is one the scaled path does not take: decode at full size.
    Unsupported(&'static str),
    /// The image could not be decoded.
    Decode(DecodeErrors)
}

impl From<DecodeErrors> for ScaleError {
    fn from(e: DecodeErrors) -> Self {
        ScaleError::Decode(e)
    }
}

/// `a_N(u, x) = C(u) / 2 * cos((2x + 1) u pi / 2N)` in units of 2^-14, `u` major
/// (`C(0) = 1 / sqrt 2`, else 1): the `N`-point inverse DCT's basis at the 8-point
/// transform's scale, applied to the block's `N` lowest frequencies per axis (libjpeg's
/// reduced-size IDCT). A flat block stays flat at every size.
const A1: [i32; 1] = [5793];
const A2: [i32; 4] = [5793, 5793, 5793, -5793];
#[rustfmt::skip]
const A4: [i32; 16] = [
    5793, 5793, 5793, 5793,
    7568, 3135, -3135, -7568,
    5793, -5793, -5793, 5793,
    3135, -7568, 7568, -3135,
];
#[rustfmt::skip]
const A8: [i32; 64] = [
    5793, 5793, 5793, 5793, 5793, 5793, 5793, 5793,
    8035, 6811, 4551, 1598, -1598, -4551, -6811, -8035,
    7568, 3135, -3135, -7568, -7568, -3135, 3135, 7568,
    6811, -1598, -8035, -4551, 4551, 8035, 1598, -6811,
    5793, -5793, -5793, 5793, 5793, -5793, -5793, 5793,
    4551, -8035, 1598, 6811, -6811, -1598, 8035, -4551,
    3135, -7568, 7568, -3135, -3135, 7568, -7568, 3135,
    1598, -4551, 6811, -8035, 8035, -6811, 4551, -1598,
];

fn basis(n: usize) -> &'static [i32] {
    match n {
        1 => &A1,
        2 => &A2,
        4 => &A4,
        _ => &A8
    }
}

/// Inverse-transforms the dequantized 8x8 block `coeffs` (natural order) to a `w x h`
/// block of samples (`w`, `h` in 1, 2, 4, 8; see [`A4`]), level-shifted and clamped to
/// 0..=255, at `out` with rows `stride` apart. Only the `h x w` lowest frequencies are
/// read.
pub(crate) fn idct_reduced(coeffs: &[i32; 64], out: &mut [i16], stride: usize, w: usize, h: usize) {
    macro_rules! sizes {
        ($(($w:literal, $h:literal)),*) => {
            match (w, h) {
                $(($w, $h) => idct_sized::<$w, $h>(coeffs, out, stride),)*
                _ => {}
            }
        };
    }
    sizes!(
        (1, 1), (2, 1), (4, 1), (8, 1), (1, 2), (2, 2), (4, 2), (8, 2),
        (1, 4), (2, 4), (4, 4), (8, 4), (1, 8), (2, 8), (4, 8), (8, 8)
    );
}

/// [`idct_reduced`] for one size, so the loops unroll. Arithmetic is `i64` (no input
/// can overflow it), rounded to whole units after each pass.
#[inline(always)]
fn idct_sized<const W: usize, const H: usize>(coeffs: &[i32; 64], out: &mut [i16], stride: usize) {
    let (aw, ah) = (basis(W), basis(H));
    let mut rows = [[0_i64; W]; H];
    // Horizontal pass over the first `H` rows of frequencies (all-zero rows skipped).
    for (v, row) in rows.iter_mut().enumerate() {
        let freq = &coeffs[v * 8..v * 8 + W];
        if freq.iter().all(|&c| c == 0) {
            continue;
        }
        for (x, r) in row.iter_mut().enumerate() {
            let mut sum = 0_i64;
            for (u, &c) in freq.iter().enumerate() {
                sum += i64::from(c) * i64::from(aw[u * W + x]);
            }
            *r = (sum + (1 << 13)) >> 14;
        }
    }
    // Vertical pass.
    for y in 0..H {
        let line = &mut out[y * stride..y * stride + W];
        for (x, sample) in line.iter_mut().enumerate() {
            let mut sum = 0_i64;
            for (v, row) in rows.iter().enumerate() {
                sum += row[x] * i64::from(ah[v * H + y]);
            }
            *sample = (((sum + (1 << 13)) >> 14) + 128).clamp(0, 255) as i16;
        }
    }
}

impl<T: ZByteReaderTrait> JpegDecoder<T> {
    /// The size of the image decoded at 1 / 2^`shift`: each side divided and rounded up,
    /// as libjpeg does. Headers must have been decoded.
    #[must_use]
    pub fn scaled_dimensions(&self, shift: u8) -> Option<(usize, usize)> {
        let (w, h) = self.dimensions()?;
        let d = 1_usize << shift.min(3);
        Some((w.div_ceil(d), h.div_ceil(d)))
    }

    /// Decodes the image at 1 / 2^`shift` of its size (`shift` 1, 2 or 3) in the output
    /// colour space of the options, which must have at least as many components as the
    /// image (RGB or RGBA for a colour JPEG). See the module documentation for what is
    /// supported; [`ScaleError::Unsupported`] means "decode at full size instead", and
    /// the decoder must then be made anew.
    pub fn decode_scaled(&mut self, shift: u8) -> Result<Vec<u8>, ScaleError> {
        if !(1..=3).contains(&shift) {
            return Err(ScaleError::Unsupported("scale shift outside 1..=3"));
        }
        self.decode_headers()?;
        let out = self.options.jpeg_get_out_colorspace();
        let input = self.input_colorspace;
        let components = self.components.len();
        match input {
            ColorSpace::YCbCr | ColorSpace::RGB if components == 3 => {}
            ColorSpace::Luma if components == 1 => {}
            _ => return Err(ScaleError::Unsupported("colour space")),
        }
        if out.num_components() < components || out == ColorSpace::Luma && input != ColorSpace::Luma {
            return Err(ScaleError::Unsupported("output colour space"));
        }
        if !self.is_progressive && usize::from(self.num_scans) != components {
            return Err(ScaleError::Unsupported("baseline components in separate scans"));
        }
        // Each component's output block: its 8 samples span 8 * max / own pixels.
        // (`h_max` and `v_max` are set only when decoding starts.)
        let factor = 1 << shift;
        let h_max = self.components.iter().map(|c| c.horizontal_sample).max().unwrap_or(1);
        let v_max = self.components.iter().map(|c| c.vertical_sample).max().unwrap_or(1);
        for c in &mut self.components {
            let (h, v) = if components == 1 {
                (1, 1)
            } else {
                (h_max / c.horizontal_sample, v_max / c.vertical_sample)
            };
            let fits = |ratio: usize, own: usize, max: usize| {
                max % own == 0 && ratio.is_power_of_two() && ratio <= factor
            };
            if components > 1
                && !(fits(h, c.horizontal_sample, h_max) && fits(v, c.vertical_sample, v_max))
            {
                return Err(ScaleError::Unsupported("subsampling larger than the scale"));
            }
            c.block_w = 8 * h / factor;
            c.block_h = 8 * v / factor;
        }
        let (width, height) = self.scaled_dimensions(shift).ok_or(DecodeErrors::FormatStatic("no dimensions"))?;
        let size = width
            .checked_mul(height)
            .and_then(|p| p.checked_mul(out.num_components()))
            .ok_or(DecodeErrors::FormatStatic("image too large"))?;
        let mut pixels = vec![0; size];
        self.scale_shift = shift;
        if self.is_progressive {
            // The coefficients of every scan are gathered at full size, then each block is
            // transformed at the output scale (`finish_progressive_scaled`).
            self.decode_mcu_ycbcr_progressive(&mut pixels)?;
        } else {
            self.decode_baseline_scaled(&mut pixels, width, height)?;
        }
        Ok(pixels)
    }

    /// Rows of MCUs and MCUs per row, as the full-size decoders count them.
    fn mcu_grid(&self) -> (usize, usize) {
        if self.is_interleaved {
            (self.mcu_x, self.mcu_y)
        } else {
            (usize::from(self.info.width).div_ceil(8), usize::from(self.info.height).div_ceil(8))
        }
    }

    /// Output rows per row of MCUs, and the output row stride of every component plane.
    fn scaled_rows(&self, mcu_width: usize) -> (usize, usize) {
        let (h, v) = if self.is_interleaved { (self.h_max, self.v_max) } else { (1, 1) };
        let shift = self.scale_shift;
        ((8 * v) >> shift, (mcu_width * 8 * h) >> shift)
    }

    fn decode_baseline_scaled(
        &mut self, pixels: &mut [u8], width: usize, height: usize
    ) -> Result<(), DecodeErrors> {
        setup_component_params(self)?;
        self.check_tables()?;
        if self.input_colorspace == ColorSpace::Luma && self.is_interleaved {
            self.reset_params();
        }
        let (mcu_width, mcu_height) = self.mcu_grid();
        let (rows, stride) = self.scaled_rows(mcu_width);
        for c in &mut self.components {
            c.needed = true;
            c.out_stride = stride;
            c.raw_coeff = vec![0; stride * rows];
        }
        let mut stream = BitStream::new();
        let mut tmp = [0_i32; 64];
        let mut progressive: [Vec<i16>; 4] = core::array::from_fn(|_| vec![]);
        let mut written = 0;
        for i in 0..mcu_height {
            if stream.overread_by > 0 {
                if self.options.strict_mode() {
                    return Err(DecodeErrors::FormatStatic("Premature end of buffer"));
                }
                pixels[written..].fill(128);
                return Ok(());
            }
            let next = self.decode_mcu_width::<false>(mcu_width, i, &mut tmp, &mut stream, &mut progressive)?;
            written = self.emit_scaled_rows(pixels, written, i * rows, rows, width, height)?;
            match next {
                McuContinuation::Ok => {}
                McuContinuation::Terminate => {
                    pixels[written..].fill(128);
                    return Ok(());
                }
                McuContinuation::AnotherSos | McuContinuation::InterScanMarker(_) => {
                    warn!("More than one SOS despite already having all components");
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Colour-converts the component planes' `rows` rows (image rows from `first`) into
    /// `pixels` at byte `written`; returns the new `written`.
    fn emit_scaled_rows(
        &self, pixels: &mut [u8], mut written: usize, first: usize, rows: usize, width: usize,
        height: usize
    ) -> Result<usize, DecodeErrors> {
        let out = self.options.jpeg_get_out_colorspace();
        let line = width * out.num_components();
        for r in 0..rows.min(height.saturating_sub(first)) {
            let mut samples: [&[i16]; MAX_COMPONENTS] = [&[]; MAX_COMPONENTS];
            for (s, c) in samples.iter_mut().zip(&self.components) {
                *s = &c.raw_coeff[r * c.out_stride..(r + 1) * c.out_stride];
            }
            let stride = self.components[0].out_stride;
            color_convert(
                &samples,
                self.color_convert_16,
                self.input_colorspace,
                out,
                &mut pixels[written..written + line],
                width,
                stride
            )?;
            written += line;
        }
        Ok(written)
    }

    /// The progressive counterpart of `finish_progressive_decoding`: every block of the
    /// gathered coefficients transformed at the output scale, row of MCUs by row.
    pub(crate) fn finish_progressive_scaled(
        &mut self, block: &[Vec<i16>; MAX_COMPONENTS], pixels: &mut [u8]
    ) -> Result<(), DecodeErrors> {
        let (mcu_width, mcu_height) = self.mcu_grid();
        let (rows, stride) = self.scaled_rows(mcu_width);
        let (width, height) = self
            .scaled_dimensions(self.scale_shift)
            .ok_or(DecodeErrors::FormatStatic("no dimensions"))?;
        for c in &mut self.components {
            c.out_stride = stride;
            c.raw_coeff = vec![0; stride * rows];
        }
        let mut tmp = [0_i32; 64];
        let mut written = 0;
        for i in 0..mcu_height {
            for (position, c) in self.components.iter_mut().enumerate() {
                let blocks = c.width_stride / 8;
                let step = block[position].len() / mcu_height;
                let slice = &block[position][i * step..(i + 1) * step];
                let (bw, bh) = (c.block_w, c.block_h);
                for k in 0..c.vertical_sample {
                    for j in 0..blocks {
                        let start = (k * blocks + j) * 64;
                        let Some(coeffs) = slice.get(start..start + 64) else {
                            return Err(DecodeErrors::FormatStatic(
                                "Invalid slice , would panic, invalid image"
                            ));
                        };
                        for ((t, &x), &q) in tmp.iter_mut().zip(coeffs).zip(&c.quantization_table) {
                            *t = i32::from(x).wrapping_mul(q);
                        }
                        let at = k * bh * c.out_stride + j * bw;
                        let Some(out) = c.raw_coeff.get_mut(at..) else {
                            return Err(DecodeErrors::FormatStatic("Invalid component dimensions"));
                        };
                        transform(&tmp, out, c.out_stride, bw, bh, self.idct_func);
                    }
                }
            }
            written = self.emit_scaled_rows(pixels, written, i * rows, rows, width, height)?;
        }
        Ok(())
    }
}

/// One block at its output size: the decoder's own 8x8 IDCT when the block is not
/// reduced (it writes the same samples a full-size decode would), else [`idct_reduced`].
pub(crate) fn transform(
    coeffs: &[i32; 64], out: &mut [i16], stride: usize, w: usize, h: usize,
    idct8: crate::decoder::IDCTPtr
) {
    if w == 8 && h == 8 {
        let mut block = *coeffs;
        idct8(&mut block, out, stride);
    } else {
        idct_reduced(coeffs, out, stride, w, h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reduced transform against its definition in floating point.
    #[test]
    fn reduced_idct_matches_the_definition() {
        let mut seed = 7_u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            ((seed >> 16) % 400) as i32 - 200
        };
        let a = |n: usize, u: usize, x: usize| {
            let c = if u == 0 { core::f64::consts::FRAC_1_SQRT_2 } else { 1.0 };
            c / 2.0 * ((2 * x + 1) as f64 * u as f64 * core::f64::consts::PI / (2 * n) as f64).cos()
        };
        for &(w, h) in &[(1, 1), (2, 2), (4, 4), (8, 4), (4, 8), (2, 4), (8, 2), (1, 8)] {
            let mut coeffs = [0_i32; 64];
            for c in coeffs.iter_mut() {
                *c = next();
            }
            let mut out = vec![0_i16; 64];
            idct_reduced(&coeffs, &mut out, 8, w, h);
            for y in 0..h {
                for x in 0..w {
                    let mut s = 0.0;
                    for v in 0..h {
                        for u in 0..w {
                            s += f64::from(coeffs[v * 8 + u]) * a(w, u, x) * a(h, v, y);
                        }
                    }
                    let want = (s + 128.0).clamp(0.0, 255.0);
                    let got = f64::from(out[y * 8 + x]);
                    assert!((got - want).abs() <= 1.0, "{w}x{h} at {x},{y}: {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn a_flat_block_stays_flat_at_every_size() {
        for p in [-128, -1, 0, 1, 77, 127] {
            let mut coeffs = [0_i32; 64];
            coeffs[0] = 8 * p;
            for n in [1, 2, 4] {
                let mut out = vec![0_i16; 64];
                idct_reduced(&coeffs, &mut out, 8, n, n);
                assert!(out[..n].iter().all(|&s| i32::from(s) == p + 128), "{p} at {n}");
            }
        }
    }
}
