//! `blur` (Gaussian) and `sharpen` (unsharp mask).
//!
//! # Method
//!
//! The Gaussian is separable, so it runs as a pass along x and a pass along y.
//!
//! * `sigma < 3` ([`RECURSIVE_MIN_SIGMA`]): an exact sampled kernel, radius `ceil(3 sigma)`
//!   (at most 9), in 14-bit fixed point (weights sum to exactly `1 << 14`), integer
//!   arithmetic only. Horizontal pass into 16-bit working values (in place: see Memory),
//!   then a vertical pass in bands of rows (parallel by band), each keeping a ring of the
//!   2r+1 rows of working values around its output row.
//! * `sigma >= 3`: a recursive (IIR) Gaussian, so the cost per pixel does not depend on
//!   sigma: Young & van Vliet's (1995) third-order causal + anti-causal filter, with the
//!   pole positions of van Vliet, Young & Verbeek (1998) and the scale solved so that the
//!   filter's variance is exactly `sigma^2` (see `Recursive::new`). Its impulse response
//!   is within 1.5% of the Gaussian's peak and its step response within 0.9 of a level.
//!   The left edge starts from the steady state of the edge value; the right edge uses
//!   the Triggs & Sdika (2006) initialisation, so both edges behave exactly as if the edge
//!   pixel were repeated forever. Arithmetic is `f32` below sigma 12 (within 0.02 of a
//!   level of `f64`; four lanes per 128-bit vector) and `f64` from there (the poles get
//!   very close to 1 at large sigma, where `f32` loses the signal). On x86-64 the loops
//!   are also compiled for AVX2 and picked at run time. The vertical pass runs first, on strips
//!   of up to 16 columns (parallel by strip; every step works on 64 independent lanes),
//!   into 16-bit working values (in place: see Memory); the horizontal pass then gathers
//!   blocks of 4 rows (parallel by block; 16 lanes per step) and writes the final bytes.
//!
//! Why 3: below it the recursive filter drifts from a Gaussian (step response off by 1.0
//! level at sigma 2, 3.9 at sigma 1), while the exact kernel has at most 19 taps and is
//! still cheaper than the recursive filter; from 3 up the exact kernel would keep growing
//! with sigma and the recursive one stays within a level of the true Gaussian.
//!
//! # Alpha
//!
//! Pixels are filtered as `(r*a, g*a, b*a, a*255)` (exact 16-bit premultiplication), so a
//! transparent pixel carries no colour into its neighbours. The result is unpremultiplied
//! with integer rounding; a pixel whose alpha rounds to 0 becomes `(0, 0, 0, 0)`. An image
//! whose alpha is 255 everywhere keeps alpha 255 and skips the division.
//!
//! # Determinism
//!
//! Integer arithmetic in the exact path; in the recursive path plain IEEE `f32` or `f64`
//! operations (chosen by sigma alone) in a fixed order per pixel, the same per lane
//! whatever the vector width (no `mul_add`, no platform math: the kernel uses
//! `libm::exp`). Every row, strip and column is computed the same way whatever the thread
//! split, so the bytes are the same natively, with or without rayon, and on wasm.
//!
//! # Memory
//!
//! The 16-bit working values between the two passes keep their high bytes over the image
//! itself (each strip or row reads its pixels before it writes them) and their low bytes
//! beside it: 3 bytes per pixel for an opaque image (its alpha is never read back), 4
//! otherwise; the recursive path pads strips by less than one column each. Besides: per
//! worker one block of rows and, in the recursive path, one strip in `f32` or `f64` (rows
//! x 64 lanes x 8 bytes at most: 32 MiB at 65535 rows); in the exact path a ring of 2r+1
//! rows and, with threads, the 2r rows around each band, saved before any band writes.
//! `sharpen` also keeps a copy of the original (4 bytes per pixel).

use super::Image;
use super::parallel::for_each_row;

/// From this sigma up the blur is recursive (constant cost per pixel); below it, exact.
pub const RECURSIVE_MIN_SIGMA: f32 = 3.0;

/// Largest sigma honoured; larger values are treated as this (the image is then close to
/// flat anyway) so that the edge set-up stays bounded.
pub const MAX_SIGMA: f32 = 1000.0;

/// Working values are `c * a` and `a * 255`, both in `0..=FULL`.
const FULL: u32 = 255 * 255;

/// Fixed-point precision of the exact kernel.
const KERNEL_BITS: u32 = 14;
const KERNEL_ONE: u32 = 1 << KERNEL_BITS;
const KERNEL_HALF: u32 = KERNEL_ONE / 2;

/// Columns per strip in the vertical recursive pass (64 lanes of 4 channels).
const STRIP: usize = 16;

/// Gaussian blur with standard deviation `sigma` pixels (0.1 ..= 1000), in place.
///
/// Edges are clamped (the edge pixel repeats); translucent images are blurred
/// premultiplied. Output rounds to nearest. A sigma that is not positive does nothing.
pub fn gaussian_blur(img: &mut Image, sigma: f32) {
    blur_in_place(img, sigma, None);
}

/// Unsharp mask: `out = in + amount * (in - gaussian(in, sigma))` on R, G and B, rounded
/// and clamped; alpha is kept. The mask is [`gaussian_blur`]'s 8-bit output; `amount`
/// (0 ..= 10) is taken in 12-bit fixed point, so the rest is integer arithmetic. The
/// blur's last pass writes the sharpened pixel over a copy of the original (the working
/// values took the image's place).
pub fn sharpen(img: &mut Image, sigma: f32, amount: f32) {
    let amount = amount.clamp(0.0, 10.0); // also maps NaN to 0 via the `as` below
    let amount = (f64::from(amount) * 4096.0).round() as i32;
    blur_in_place(img, sigma, Some(amount));
}

fn blur_in_place(img: &mut Image, sigma: f32, sharpen: Option<i32>) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 || sigma.is_nan() || sigma <= 0.0 {
        return;
    }
    let sigma = sigma.min(MAX_SIGMA);
    let fin = Finish {
        opaque: super::is_opaque(img),
        sharpen,
    };
    // Both paths keep their working values over the image: sharpen needs a copy of the
    // original for the last pass.
    let original = sharpen.map(|_| img.as_raw().clone());
    if sigma < RECURSIVE_MIN_SIGMA {
        exact_blur(img, w, h, f64::from(sigma), fin, original.as_deref());
    } else {
        recursive_blur(img, w, h, f64::from(sigma), fin, original.as_deref());
    }
}

/// How the last pass writes a pixel: blurred, or sharpened with the blurred value as
/// the mask (amount in 12-bit fixed point) over the original it replaces.
#[derive(Clone, Copy)]
struct Finish {
    opaque: bool,
    sharpen: Option<i32>,
}

impl Finish {
    /// Writes the pixel whose blurred working values are `v` into `px` (the original).
    #[inline(always)]
    fn put(self, px: &mut [u8], v: [u32; 4]) {
        let soft = finish(v, self.opaque);
        match self.sharpen {
            None => px.copy_from_slice(&soft),
            Some(amount) => {
                for (c, &s) in px[..3].iter_mut().zip(&soft[..3]) {
                    let v = i32::from(*c);
                    let out = ((v << 12) + amount * (v - i32::from(s)) + 2048) >> 12;
                    *c = out.clamp(0, 255) as u8;
                }
            }
        }
    }
}

/// The working value of one pixel: premultiplied colour and alpha, all in `0..=FULL`.
#[inline]
fn working(p: &[u8]) -> [u32; 4] {
    let a = u32::from(p[3]);
    [u32::from(p[0]) * a, u32::from(p[1]) * a, u32::from(p[2]) * a, a * 255]
}

/// Back from working values (each `0..=FULL`) to straight-alpha bytes.
#[inline]
fn finish(v: [u32; 4], opaque: bool) -> [u8; 4] {
    let div255 = |x: u32| ((x + 127) / 255).min(255) as u8;
    if opaque {
        return [div255(v[0]), div255(v[1]), div255(v[2]), 255];
    }
    let a = v[3];
    let alpha = div255(a);
    if alpha == 0 {
        return [0; 4];
    }
    // a >= 128 here, and v * 255 <= 65025 * 255 fits in u32.
    let unpremultiply = |x: u32| ((x * 255 + a / 2) / a).min(255) as u8;
    [unpremultiply(v[0]), unpremultiply(v[1]), unpremultiply(v[2]), alpha]
}

/// Defines `$name` as `$body` (an `#[inline(always)]` fn with the same arguments),
/// compiled for AVX2 when the CPU has it (x86-64): the same operations on wider
/// vectors, so the same bits.
macro_rules! best_simd {
    ($name:ident => $body:ident ($($arg:ident: $ty:ty),*)) => {
        fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) {
                    $body($($arg),*)
                }
                // SAFETY: the CPU has AVX2 (checked just above).
                return unsafe { avx2($($arg),*) };
            }
            $body($($arg),*)
        }
    };
    ($name:ident => $body:ident <$t:ident: $bound:ident> ($($arg:ident: $ty:ty),*)) => {
        fn $name<$t: $bound>($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2<$t: $bound>($($arg: $ty),*) {
                    $body::<$t>($($arg),*)
                }
                // SAFETY: the CPU has AVX2 (checked just above).
                return unsafe { avx2::<$t>($($arg),*) };
            }
            $body::<$t>($($arg),*)
        }
    };
}

// ---------------------------------------------------------------------------------------
// Exact kernel (sigma < 3)
// ---------------------------------------------------------------------------------------

/// Half of the sampled Gaussian, `[w0, w1, .., wr]`, with `w0 + 2 * (w1 + .. + wr)` equal
/// to exactly `1 << KERNEL_BITS` (the rounding remainder goes to the centre).
fn exact_kernel(sigma: f64) -> Vec<u32> {
    let radius = ((3.0 * sigma).ceil() as usize).clamp(1, 9);
    let denom = 2.0 * sigma * sigma;
    let samples: Vec<f64> = (0..=radius).map(|k| libm::exp(-((k * k) as f64) / denom)).collect();
    let total = samples[1..].iter().fold(samples[0], |sum, &s| sum + 2.0 * s);
    let mut weights: Vec<u32> = samples
        .iter()
        .map(|&s| (s / total * f64::from(KERNEL_ONE)).round() as u32)
        .collect();
    let sides: u32 = weights[1..].iter().sum();
    weights[0] = KERNEL_ONE - 2 * sides;
    weights
}

/// The exact blur: a horizontal pass into 16-bit working values kept over the image (high
/// bytes) and beside it (low bytes, 3 channels if opaque), then a vertical pass in bands
/// of rows, each reading a window of 2r+1 rows of working values and writing its rows
/// over them. A band's neighbours overwrite the rows around it, so those are saved first.
fn exact_blur(img: &mut Image, w: usize, h: usize, sigma: f64, fin: Finish, original: Option<&[u8]>) {
    let weights = exact_kernel(sigma);
    let radius = weights.len() - 1;
    let kept = if fin.opaque { 3 } else { 4 };
    let n = w * 4;
    let mut low = vec![0u8; w * kept * h];
    let lows = Disjoint(low.as_mut_ptr());
    for_each_row(img, n, |y, row| {
        // SAFETY: row y's low bytes, inside `low`, written by this row only.
        let lo = unsafe { lows.span(y * w * kept, w * kept) };
        exact_row(row, lo, &weights, kept);
    });
    let band = exact_band_rows(h);
    let at = Working { w, kept, low: &low };
    let saved: Vec<(Vec<u16>, Vec<u16>)> = (0..h)
        .step_by(band)
        .map(|b0| {
            let b1 = (b0 + band).min(h);
            (
                at.rows(img, b0.saturating_sub(radius)..b0),
                at.rows(img, b1..(b1 + radius).min(h)),
            )
        })
        .collect();
    let buf: &mut [u8] = img;
    for_each_block(buf, n, band, |y0, out| {
        let original = original.map(|o| &o[y0 * n..][..out.len()]);
        exact_band(&at, h, y0, out, &saved[y0 / band], &weights, fin, original);
    });
}

/// Rows per band of the exact blur's vertical pass: one band without threads (nothing to
/// save), else two per thread.
fn exact_band_rows(h: usize) -> usize {
    let bands = if super::parallel::threads() > 1 {
        2 * super::parallel::threads()
    } else {
        1
    };
    h.div_ceil(bands).max(1)
}

/// The working values kept by a pass: high bytes in the image, low bytes in `low`.
struct Working<'a> {
    w: usize,
    /// Channels with low bytes (3 for an opaque image, whose alpha is never read back).
    kept: usize,
    low: &'a [u8],
}

impl Working<'_> {
    /// Row `y`'s working values, its high bytes being `high`, into `out`.
    fn row(&self, y: usize, high: &[u8], out: &mut [u16]) {
        let lo = &self.low[y * self.w * self.kept..][..self.w * self.kept];
        join_working(high, lo, out, self.kept);
    }

    /// The working values of `rows` of `img`, one after another.
    fn rows(&self, img: &Image, rows: std::ops::Range<usize>) -> Vec<u16> {
        let n = self.w * 4;
        let mut out = vec![0u16; rows.len() * n];
        for (y, dst) in rows.zip(out.chunks_exact_mut(n)) {
            self.row(y, &img.as_raw()[y * n..][..n], dst);
        }
        out
    }
}

best_simd!(join_working => join_working_any(high: &[u8], lo: &[u8], out: &mut [u16], kept: usize));

/// Working values from high bytes `high` and low bytes `lo` (`kept` channels) into `out`.
#[inline(always)]
fn join_working_any(high: &[u8], lo: &[u8], out: &mut [u16], kept: usize) {
    let join = |hi: u8, lo: u8| u16::from(hi) << 8 | u16::from(lo);
    if kept == 4 {
        for ((o, &hi), &l) in out.iter_mut().zip(high).zip(lo) {
            *o = join(hi, l);
        }
        return;
    }
    for ((o, hi), l) in out
        .chunks_exact_mut(4)
        .zip(high.chunks_exact(4))
        .zip(lo.chunks_exact(3))
    {
        // An opaque image's alpha lane is never read (`finish`).
        o.copy_from_slice(&[join(hi[0], l[0]), join(hi[1], l[1]), join(hi[2], l[2]), FULL as u16]);
    }
}

/// Splits working values `mid` into high bytes over `row` and low bytes into `lo`.
#[inline(always)]
fn split_working(mid: &[u32], row: &mut [u8], lo: &mut [u8], kept: usize) {
    if kept == 4 {
        for ((&m, hi), l) in mid.iter().zip(row.iter_mut()).zip(lo.iter_mut()) {
            (*hi, *l) = ((m >> 8) as u8, m as u8);
        }
        return;
    }
    for ((m, hi), l) in mid
        .chunks_exact(4)
        .zip(row.chunks_exact_mut(4))
        .zip(lo.chunks_exact_mut(3))
    {
        hi[..3].copy_from_slice(&[(m[0] >> 8) as u8, (m[1] >> 8) as u8, (m[2] >> 8) as u8]);
        l.copy_from_slice(&[m[0] as u8, m[1] as u8, m[2] as u8]);
    }
}

/// The vertical pass over the band of rows `y0..` of `out` (holding their high bytes):
/// `saved` holds the working values of the rows just above and below it.
#[allow(clippy::too_many_arguments)] // one band's whole state
fn exact_band(
    at: &Working,
    h: usize,
    y0: usize,
    out: &mut [u8],
    saved: &(Vec<u16>, Vec<u16>),
    weights: &[u32],
    fin: Finish,
    original: Option<&[u8]>,
) {
    let n = at.w * 4;
    let radius = weights.len() - 1;
    let taps = 2 * radius + 1;
    let y1 = y0 + out.len() / n;
    let (above, below) = saved;
    let above_from = y0 - above.len() / n;
    // Row y's working values: saved, or from the band's own rows not yet written.
    let fetch = |out: &[u8], y: usize, dst: &mut [u16]| {
        if y < y0 {
            dst.copy_from_slice(&above[(y - above_from) * n..][..n]);
        } else if y >= y1 {
            dst.copy_from_slice(&below[(y - y1) * n..][..n]);
        } else {
            at.row(y, &out[(y - y0) * n..][..n], dst);
        }
    };
    // A ring of the rows y - r ..= y + r (clamped to the image); `first` holds y - r.
    let mut window = vec![0u16; taps * n];
    for (j, slot) in window.chunks_exact_mut(n).enumerate() {
        fetch(out, (y0 + j).saturating_sub(radius).min(h - 1), slot);
    }
    let mut first = 0;
    for y in y0..y1 {
        let row = &mut out[(y - y0) * n..][..n];
        if let Some(original) = original {
            row.copy_from_slice(&original[(y - y0) * n..][..n]);
        }
        exact_column(&window, first, row, weights, fin);
        if y + 1 < y1 {
            let next = (y + radius + 1).min(h - 1);
            fetch(out, next, &mut window[first * n..][..n]);
            first = (first + 1) % taps;
        }
    }
}
best_simd!(exact_row => exact_row_any(row: &mut [u8], lo: &mut [u8], weights: &[u32], kept: usize));
best_simd!(exact_column => exact_column_any(window: &[u16], first: usize, out: &mut [u8], weights: &[u32], fin: Finish));

/// One row of the horizontal pass: `row` (RGBA bytes) blurred into working values, their
/// high bytes over `row` and their low bytes (`kept` channels) into `lo`.
#[inline(always)]
fn exact_row_any(row: &mut [u8], lo: &mut [u8], weights: &[u32], kept: usize) {
    let (radius, w) = (weights.len() - 1, row.len() / 4);
    let mut padded = vec![0u32; (w + 2 * radius) * 4];
    for (i, p) in padded.chunks_exact_mut(4).enumerate() {
        let x = i.saturating_sub(radius).min(w - 1);
        p.copy_from_slice(&working(&row[x * 4..x * 4 + 4]));
    }
    let centre = &padded[radius * 4..][..w * 4];
    let mut acc: Vec<u32> = centre.iter().map(|&v| v * weights[0]).collect();
    for (k, &wk) in weights.iter().enumerate().skip(1) {
        let left = &padded[(radius - k) * 4..][..w * 4];
        let right = &padded[(radius + k) * 4..][..w * 4];
        for ((a, &l), &r) in acc.iter_mut().zip(left).zip(right) {
            *a += wk * (l + r);
        }
    }
    for a in &mut acc {
        *a = (*a + KERNEL_HALF) >> KERNEL_BITS;
    }
    split_working(&acc, row, lo, kept);
}

/// One output row of the vertical pass from `window`, a ring of 2r+1 rows of working
/// values whose slot `first` holds the row r above.
#[inline(always)]
fn exact_column_any(window: &[u16], first: usize, out: &mut [u8], weights: &[u32], fin: Finish) {
    let n = out.len();
    let taps = 2 * weights.len() - 1;
    let radius = weights.len() - 1;
    let row = |j: usize| &window[(first + j) % taps * n..][..n];
    let mut acc: Vec<u32> = row(radius).iter().map(|&v| u32::from(v) * weights[0]).collect();
    for (k, &wk) in weights.iter().enumerate().skip(1) {
        let up = row(radius - k);
        let down = row(radius + k);
        for ((a, &u), &d) in acc.iter_mut().zip(up).zip(down) {
            *a += wk * (u32::from(u) + u32::from(d));
        }
    }
    for (px, a) in out.chunks_exact_mut(4).zip(acc.chunks_exact(4)) {
        let v = [0, 1, 2, 3].map(|c| (a[c] + KERNEL_HALF) >> KERNEL_BITS);
        fin.put(px, v);
    }
}

// ---------------------------------------------------------------------------------------
// Recursive filter (sigma >= 3)
// ---------------------------------------------------------------------------------------

/// Young & van Vliet's third-order recursive Gaussian, normalised:
/// `w[n] = b x[n] + a1 w[n-1] + a2 w[n-2] + a3 w[n-3]` forward, the same backward.
#[derive(Debug, Clone)]
struct Recursive {
    b: f64,
    a1: f64,
    a2: f64,
    a3: f64,
    /// Right-edge matrix: `y[N+i] - u = sum_j m[i][j] (w[N-1-j] - u)` where `u` is the
    /// last input sample, `w` the forward output and `y` the backward output beyond the
    /// end (Triggs & Sdika 2006).
    m: [[f64; 3]; 3],
}

impl Recursive {
    /// Coefficients for a Gaussian of standard deviation `sigma`.
    ///
    /// Third-order recursive Gaussian in the form of Young & van Vliet (1995) with the
    /// pole positions optimised by van Vliet, Young & Verbeek (1998): poles `d_k^(1/q)`
    /// for `d = 1.86543, 1.4165 +- 1.00829i`. The scale `q` is solved for (bisection on the
    /// closed-form variance in [`Recursive::variance`]) so that the filter's variance is
    /// exactly `sigma^2`; the 1995 paper's own poles and closed form for `q`
    /// (`0.98711 sigma - 0.96330`) come out about 10% wide, or misshapen once the width
    /// is corrected.
    fn new(sigma: f64) -> Self {
        let target = sigma * sigma;
        let (mut lo, mut hi) = (0.1, sigma + 10.0);
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if Self::with_q(mid).variance() < target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let q = 0.5 * (lo + hi);
        let mut filter = Self::with_q(q);
        filter.m = filter.edge_matrix(q);
        filter
    }

    /// Coefficients for scale `q` (no edge matrix yet). `libm` gives the same bits on
    /// every target; these are computed once per call.
    fn with_q(q: f64) -> Self {
        // Real pole r and complex pair rho e^(+-i phi), all outside the unit circle.
        let r = libm::pow(1.86543, 1.0 / q);
        let (re, im) = (1.4165f64, 1.00829f64);
        let rho = libm::pow(libm::sqrt(re * re + im * im), 1.0 / q);
        let phi = libm::atan2(im, re) / q;
        // prod_k (p_k - x) = r P - (r Q + P) x + (r + Q) x^2 - x^3, x = 1/z
        let p = rho * rho;
        let cq = 2.0 * rho * libm::cos(phi);
        let lead = r * p;
        let a1 = (r * cq + p) / lead;
        let a2 = -(r + cq) / lead;
        let a3 = 1.0 / lead;
        // Gain exactly 1 at DC as far as f64 allows: a flat image stays flat.
        let b = 1.0 - (a1 + a2 + a3);
        Recursive {
            b,
            a1,
            a2,
            a3,
            m: [[0.0; 3]; 3],
        }
    }

    /// Variance of the forward-backward filter's impulse response: twice that of the
    /// causal part `g = b / A(z)`, whose cumulants come from `-ln A(e^t)`:
    /// `var(g) = S2 / b + (S1 / b)^2` with `S1 = a1 + 2 a2 + 3 a3`, `S2 = a1 + 4 a2 + 9 a3`.
    fn variance(&self) -> f64 {
        let s1 = self.a1 + 2.0 * self.a2 + 3.0 * self.a3;
        let s2 = self.a1 + 4.0 * self.a2 + 9.0 * self.a3;
        let mean = s1 / self.b;
        2.0 * (s2 / self.b + mean * mean)
    }

    /// Triggs & Sdika's right-edge matrix, computed by brute force rather than their
    /// closed form: past the end (input held at `u`) the forward output deviates from `u`
    /// by `d`, which follows the homogeneous recursion from `d[N-1..N-3]`; the backward
    /// output past the end is `u + sum_j h[j] d[n+j]` with `h` the backward filter's
    /// impulse response. Both decay like `exp(-0.55 n / q)`, so `100 q` terms leave
    /// nothing an `f64` can hold.
    fn edge_matrix(&self, q: f64) -> [[f64; 3]; 3] {
        let steps = (100.0 * q) as usize + 100;
        let mut m = [[0.0; 3]; 3];
        for j in 0..3 {
            // d[0] = d[n-1], d[1] = d[n-2], d[2] = d[n-3]
            let mut d = [0.0; 3];
            d[j] = 1.0;
            // h1 = h[t-1], h2 = h[t-2], h3 = h[t-3]
            let (mut h1, mut h2, mut h3) = (0.0, 0.0, 0.0);
            let mut e = [0.0; 3];
            for t in 0..steps {
                let dn = self.a1 * d[0] + self.a2 * d[1] + self.a3 * d[2];
                d = [dn, d[0], d[1]];
                let ht = if t == 0 {
                    self.b
                } else {
                    self.a1 * h1 + self.a2 * h2 + self.a3 * h3
                };
                e[0] += ht * dn;
                e[1] += h1 * dn;
                e[2] += h2 * dn;
                h3 = h2;
                h2 = h1;
                h1 = ht;
            }
            for (row, ei) in m.iter_mut().zip(e) {
                row[j] = ei;
            }
        }
        m
    }

    /// The backward filter's state past the end `(y[N], y[N+1], y[N+2])`, from the last
    /// input `u` and the forward filter's last outputs `w[N-1], w[N-2], w[N-3]`.
    #[inline]
    fn right_edge(&self, u: f64, w1: f64, w2: f64, w3: f64) -> [f64; 3] {
        let d = [w1 - u, w2 - u, w3 - u];
        self.m.map(|row| u + (row[0] * d[0] + row[1] * d[1] + row[2] * d[2]))
    }

    /// Filters `data` in place, forward then backward, edges replicated: `data` holds
    /// `data.len() / lanes` samples of `lanes` independent values each (a row of RGBA
    /// pixels, several rows interleaved, or the columns of a strip).
    fn filter_lines<T: Sample>(&self, data: &mut [T], lanes: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { self.filter_lines_avx2(data, lanes) };
        }
        self.filter_lines_any(data, lanes);
    }

    /// [`Recursive::filter_lines`] compiled for AVX2: twice the lanes per instruction of
    /// the x86-64 baseline (SSE2). The same IEEE operations per lane in the same order
    /// (no FMA), so the same bits.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn filter_lines_avx2<T: Sample>(&self, data: &mut [T], lanes: usize) {
        self.filter_lines_any(data, lanes);
    }

    #[inline(always)]
    fn filter_lines_any<T: Sample>(&self, data: &mut [T], lanes: usize) {
        if lanes == 0 || data.len() < lanes {
            return;
        }
        let n = data.len() / lanes;
        let data = &mut data[..n * lanes];
        let last = data[(n - 1) * lanes..].to_vec();
        let mut s1 = data[..lanes].to_vec();
        let mut s2 = s1.clone();
        let mut s3 = s1.clone();
        let [b, a1, a2, a3] = [self.b, self.a1, self.a2, self.a3].map(T::of);
        let run = |sample: &mut [T], s1: &mut [T], s2: &mut [T], s3: &mut [T]| {
            for (((x, s1), s2), s3) in sample.iter_mut().zip(s1).zip(s2).zip(s3) {
                let v = b * *x + a3 * *s3 + a2 * *s2 + a1 * *s1;
                *s3 = *s2;
                *s2 = *s1;
                *s1 = v;
                *x = v;
            }
        };
        for sample in data.chunks_exact_mut(lanes) {
            run(sample, &mut s1, &mut s2, &mut s3);
        }
        for i in 0..lanes {
            let [e1, e2, e3] = self.right_edge(last[i].wide(), s1[i].wide(), s2[i].wide(), s3[i].wide());
            [s1[i], s2[i], s3[i]] = [T::of(e1), T::of(e2), T::of(e3)];
        }
        for sample in data.chunks_exact_mut(lanes).rev() {
            run(sample, &mut s1, &mut s2, &mut s3);
        }
    }
}

/// The recursive filter's arithmetic: `f32` where it is exact enough (four lanes per
/// 128-bit vector), `f64` where the poles get too close to 1 for `f32`.
trait Sample: Copy + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> + Default {
    /// From `f64` (coefficients, edge states), rounded to nearest.
    fn of(v: f64) -> Self;
    /// A 16-bit working value, exactly.
    fn from_u32(v: u32) -> Self;
    /// As `f64`, exactly.
    fn wide(self) -> f64;
    /// Nearest integer in `0..=FULL`, halves up (NaN gives 0). Branch-free and without
    /// `round` (a library call on baseline x86-64), so it vectorises.
    fn quantize(self) -> u32;
}

impl Sample for f64 {
    fn of(v: f64) -> Self {
        v
    }
    fn from_u32(v: u32) -> Self {
        f64::from(v)
    }
    fn wide(self) -> f64 {
        self
    }
    #[inline]
    fn quantize(self) -> u32 {
        let v = self.clamp(0.0, f64::from(FULL));
        let t = v as i32;
        // v - t is exact (Sterbenz, or t = 0).
        (t + i32::from(v - f64::from(t) >= 0.5)) as u32
    }
}

impl Sample for f32 {
    fn of(v: f64) -> Self {
        v as f32
    }
    fn from_u32(v: u32) -> Self {
        // Working values are at most FULL < 2^24: exact.
        v as f32
    }
    fn wide(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    fn quantize(self) -> u32 {
        let v = self.clamp(0.0, FULL as f32);
        let t = v as i32;
        // v - t is exact (Sterbenz, or t = 0).
        (t + i32::from(v - t as f32 >= 0.5)) as u32
    }
}

/// Below this sigma the recursive filter runs in `f32`: within 0.02 of a level of the
/// `f64` filter at sigma 12 (0.003 at 8, 0.08 at 20 and 1.4 at 50, where `f64` takes
/// over).
const F32_MAX_SIGMA: f64 = 12.0;

/// Rows per block in the horizontal recursive pass: 4 rows interleaved give 16
/// independent lanes per step, enough to hide the recursion's latency.
const ROW_BLOCK: usize = 4;

/// [`for_each_row`] over blocks of `rows` rows of `stride` bytes (the last block may be
/// shorter); `f` gets the first row's index.
fn for_each_block<F>(buf: &mut [u8], stride: usize, rows: usize, f: F)
where
    F: Fn(usize, &mut [u8]) + Sync + Send,
{
    let block = stride * rows;
    let full = buf.len() / block * block;
    let (head, tail) = buf.split_at_mut(full);
    if !head.is_empty() {
        for_each_row(head, block, |b, chunk| f(b * rows, chunk));
    }
    if !tail.is_empty() {
        f(full / stride, tail);
    }
}

/// The recursive blur of `img`; `original` is the image before it (for sharpen).
fn recursive_blur(img: &mut Image, w: usize, h: usize, sigma: f64, fin: Finish, original: Option<&[u8]>) {
    let filter = Recursive::new(sigma);
    if sigma < F32_MAX_SIGMA {
        recursive_blur_in::<f32>(img, w, h, &filter, fin, original);
    } else {
        recursive_blur_in::<f64>(img, w, h, &filter, fin, original);
    }
}

fn recursive_blur_in<T: Sample + Send + Sync>(
    img: &mut Image,
    w: usize,
    h: usize,
    filter: &Recursive,
    fin: Finish,
    original: Option<&[u8]>,
) {
    // Strips of `sw` columns, as equal as possible: less than one column of padding each.
    let strips = w.div_ceil(STRIP);
    let sw = w.div_ceil(strips);
    // An opaque image's alpha is never read back (`finish` gives 255): 3 channels kept.
    let kept = if fin.opaque { 3 } else { 4 };
    let strip_len = h * sw * kept;
    // The image after the vertical pass, as 16-bit working values: the high bytes over the
    // image itself (a strip reads all its pixels before it writes them), the low bytes
    // here, strip-major. 3 or 4 bytes a pixel held besides the image, not 8.
    let mut low = vec![0u8; strips * strip_len];
    let at = Strips {
        w,
        h,
        sw,
        kept,
        strip_len,
    };
    let columns = Disjoint(img.as_mut_ptr());
    for_each_row(&mut low, strip_len, |s, strip| {
        vertical_strip::<T>(&columns, &at, s, strip, filter);
    });
    let low = &low;
    let buf: &mut [u8] = img;
    for_each_block(buf, w * 4, ROW_BLOCK, |y0, out| {
        let original = original.map(|o| &o[y0 * w * 4..][..out.len()]);
        horizontal_block::<T>(low, &at, y0, out, filter, fin, original);
    });
}

/// The strip layout of the recursive path's intermediate image.
struct Strips {
    w: usize,
    h: usize,
    /// Columns per strip (the last strip may have fewer).
    sw: usize,
    /// Channels whose working values are kept (3 for an opaque image, else 4).
    kept: usize,
    /// Low bytes per strip: `h` rows of `sw` pixels of `kept` channels.
    strip_len: usize,
}

/// A buffer shared by tasks that each read and write only their own bytes (the recursive
/// pass's strips their columns of the image, the exact pass's rows their low bytes).
struct Disjoint(*mut u8);

// SAFETY: the tasks that share it touch disjoint bytes (see `Disjoint::span`).
unsafe impl Sync for Disjoint {}

impl Disjoint {
    /// `len` bytes from `start`.
    ///
    /// # Safety
    /// In bounds of the buffer, and no other live reference to these bytes: each task
    /// asks only for its own.
    #[allow(clippy::mut_from_ref)] // disjoint spans, one per task (above)
    unsafe fn span(&self, start: usize, len: usize) -> &mut [u8] {
        // SAFETY: the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}

best_simd!(vertical_strip => vertical_strip_any<T: Sample>(columns: &Disjoint, at: &Strips, s: usize, low: &mut [u8], filter: &Recursive));
best_simd!(horizontal_block => horizontal_block_any<T: Sample>(low: &[u8], at: &Strips, y0: usize, out: &mut [u8], filter: &Recursive, fin: Finish, original: Option<&[u8]>));

/// Vertical pass over strip `s`: all its columns side by side as lanes (scratch of one
/// strip: at most 65535 rows x 64 lanes), written back as 16-bit working values: high
/// bytes over the strip's pixels, low bytes into `low`.
#[inline(always)]
fn vertical_strip_any<T: Sample>(columns: &Disjoint, at: &Strips, s: usize, low: &mut [u8], filter: &Recursive) {
    let x0 = s * at.sw;
    let lanes = at.sw.min(at.w - x0) * 4;
    let stride = at.w * 4;
    let mut data = vec![T::default(); at.h * lanes];
    for (y, line) in data.chunks_exact_mut(lanes).enumerate() {
        // SAFETY: row y's columns of strip s, in the image, touched by this strip only.
        let px = unsafe { columns.span(y * stride + x0 * 4, lanes) };
        for (d, p) in line.chunks_exact_mut(4).zip(px.chunks_exact(4)) {
            let v = working(p);
            for c in 0..4 {
                d[c] = T::from_u32(v[c]);
            }
        }
    }
    filter.filter_lines(&mut data, lanes);
    let kept = at.kept;
    for (y, line) in data.chunks_exact(lanes).enumerate() {
        // SAFETY: row y's columns of strip s, in the image, touched by this strip only.
        let px = unsafe { columns.span(y * stride + x0 * 4, lanes) };
        let lo = &mut low[y * at.sw * kept..][..lanes / 4 * kept];
        for ((p, v), l) in px
            .chunks_exact_mut(4)
            .zip(line.chunks_exact(4))
            .zip(lo.chunks_exact_mut(kept))
        {
            for c in 0..kept {
                let q = v[c].quantize();
                p[c] = (q >> 8) as u8;
                l[c] = q as u8;
            }
        }
    }
}

/// Horizontal pass over the rows `y0..` of `out`: gathers their working values (high
/// bytes in `out`, low bytes in the strips), rows interleaved (4 rows: 16 lanes per
/// step), filters, writes the final bytes over them (sharpen: over the `original`
/// rows, put back first).
#[inline(always)]
fn horizontal_block_any<T: Sample>(
    low: &[u8],
    at: &Strips,
    y0: usize,
    out: &mut [u8],
    filter: &Recursive,
    fin: Finish,
    original: Option<&[u8]>,
) {
    let stride = at.w * 4;
    let rows = out.len() / stride;
    let lanes = rows * 4;
    let kept = at.kept;
    let mut data = vec![T::default(); at.w * lanes];
    for (s, strip) in low.chunks_exact(at.strip_len).enumerate() {
        let x0 = s * at.sw;
        let cw = at.sw.min(at.w - x0);
        let dst = &mut data[x0 * lanes..][..cw * lanes];
        for r in 0..rows {
            let high = &out[r * stride + x0 * 4..][..cw * 4];
            let lo = &strip[(y0 + r) * at.sw * kept..][..cw * kept];
            for ((d, hi), l) in dst
                .chunks_exact_mut(lanes)
                .zip(high.chunks_exact(4))
                .zip(lo.chunks_exact(kept))
            {
                // An opaque image's alpha lane is filtered but never read (`finish`).
                d[r * 4 + 3] = T::from_u32(FULL);
                for c in 0..kept {
                    d[r * 4 + c] = T::from_u32(u32::from(hi[c]) << 8 | u32::from(l[c]));
                }
            }
        }
    }
    filter.filter_lines(&mut data, lanes);
    if let Some(original) = original {
        out.copy_from_slice(original);
    }
    for (r, out_row) in out.chunks_exact_mut(stride).enumerate() {
        for (px, v) in out_row.chunks_exact_mut(4).zip(data.chunks_exact(lanes)) {
            let v = &v[r * 4..][..4];
            fin.put(px, [v[0].quantize(), v[1].quantize(), v[2].quantize(), v[3].quantize()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    /// Deterministic pseudo-random bytes (xorshift).
    fn noise(w: u32, h: u32, seed: u32, opaque: bool) -> Image {
        let mut s = seed | 1;
        Image::from_fn(w, h, |_, _| {
            let mut next = || {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s >> 24) as u8
            };
            let p = [next(), next(), next(), next()];
            Rgba([p[0], p[1], p[2], if opaque { 255 } else { p[3] }])
        })
    }

    /// Smooth test picture: gradients, a bright disc and a dark bar (opaque).
    fn picture(w: u32, h: u32) -> Image {
        Image::from_fn(w, h, |x, y| {
            let (fx, fy) = (x as i32 - w as i32 / 3, y as i32 - h as i32 / 2);
            let disc = fx * fx + fy * fy < (w as i32 / 5).pow(2);
            let bar = (w / 2..w / 2 + 4).contains(&x);
            let r = if disc { 250 } else { (x * 255 / w.max(1)) as u8 };
            let g = if bar { 5 } else { (y * 255 / h.max(1)) as u8 };
            let b = ((x * 7 + y * 13) % 256) as u8;
            Rgba([r, g, b, 255])
        })
    }

    /// Direct Gaussian convolution in f64, radius 6 sigma, edges clamped (opaque only).
    fn reference_blur(img: &Image, sigma: f64) -> Image {
        let (w, h) = (i64::from(img.width()), i64::from(img.height()));
        let r = (6.0 * sigma).ceil() as i64;
        let k: Vec<f64> = (-r..=r)
            .map(|j| libm::exp(-((j * j) as f64) / (2.0 * sigma * sigma)))
            .collect();
        let ks: f64 = k.iter().sum();
        let at = |x: i64, y: i64, c: usize| -> f64 {
            f64::from(img.get_pixel(x.clamp(0, w - 1) as u32, y.clamp(0, h - 1) as u32)[c])
        };
        let mut horiz = vec![0.0; (w * h * 3) as usize];
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    let s: f64 = (-r..=r).map(|j| k[(j + r) as usize] * at(x + j, y, c)).sum();
                    horiz[((y * w + x) * 3) as usize + c] = s / ks;
                }
            }
        }
        let hv = |x: i64, y: i64, c: usize| horiz[((y.clamp(0, h - 1) * w + x) * 3) as usize + c];
        Image::from_fn(w as u32, h as u32, |x, y| {
            let (x, y) = (i64::from(x), i64::from(y));
            let mut p = [0u8, 0, 0, 255];
            for (c, v) in p.iter_mut().enumerate().take(3) {
                let s: f64 = (-r..=r).map(|j| k[(j + r) as usize] * hv(x, y + j, c)).sum();
                *v = (s / ks).round().clamp(0.0, 255.0) as u8;
            }
            Rgba(p)
        })
    }

    fn max_diff(a: &Image, b: &Image) -> u8 {
        a.as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    }

    /// FNV-1a, to pin outputs across builds (rayon on/off, native/wasm).
    fn fnv(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    const SIGMAS: [f32; 10] = [0.1, 0.5, 1.0, 2.0, 2.99, 3.0, 8.0, 40.0, 100.0, 1000.0];

    #[test]
    fn constant_image_stays_constant() {
        for px in [
            [10, 200, 37, 255],
            [10, 200, 37, 128],
            [255, 255, 255, 1],
            [0, 0, 0, 255],
        ] {
            for (w, h) in [(13, 9), (1, 1), (40, 3)] {
                let flat = Image::from_pixel(w, h, Rgba(px));
                for sigma in SIGMAS {
                    let mut img = flat.clone();
                    gaussian_blur(&mut img, sigma);
                    assert_eq!(img, flat, "blur sigma {sigma} {px:?} {w}x{h}");
                    for amount in [0.0, 1.0, 10.0] {
                        let mut img = flat.clone();
                        sharpen(&mut img, sigma, amount);
                        assert_eq!(img, flat, "sharpen sigma {sigma} amount {amount}");
                    }
                }
            }
        }
    }

    #[test]
    fn kernel_sums_to_one_and_decreases() {
        for sigma in [0.1, 0.3, 0.5, 1.0, 1.7, 2.5, 2.999] {
            let k = exact_kernel(sigma);
            assert_eq!(k[0] + 2 * k[1..].iter().sum::<u32>(), KERNEL_ONE);
            assert!(k.windows(2).all(|p| p[0] >= p[1]), "{sigma}: {k:?}");
        }
        assert_eq!(exact_kernel(0.1), vec![KERNEL_ONE, 0]);
        // sigma 1: e^-0.5 / (1 + 2(e^-0.5 + e^-2 + e^-4.5)) * 16384 = 3965.52 (and 884.83, 72.63)
        let k = exact_kernel(1.0);
        assert_eq!(k.len(), 4);
        assert_eq!(k[1..], [3966, 885, 73]);
    }

    #[test]
    fn impulse_is_symmetric_and_keeps_its_energy() {
        // A 5x5 white square on black: energy 25 * 255 per channel.
        for (sigma, size) in [(1.0, 21u32), (2.5, 31), (4.0, 61), (8.0, 101)] {
            let c = size / 2;
            let mut img = Image::from_fn(size, size, |x, y| {
                let v = if x.abs_diff(c) <= 2 && y.abs_diff(c) <= 2 {
                    255
                } else {
                    0
                };
                Rgba([v, v, v, 255])
            });
            gaussian_blur(&mut img, sigma);
            let exact = sigma < RECURSIVE_MIN_SIGMA;
            let tol = if exact { 0 } else { 1 };
            for y in 0..size {
                for x in 0..size {
                    let v = img.get_pixel(x, y)[0];
                    let mirrors = [img.get_pixel(size - 1 - x, y)[0], img.get_pixel(x, size - 1 - y)[0]];
                    for m in mirrors {
                        assert!(v.abs_diff(m) <= tol, "sigma {sigma} at {x},{y}: {v} vs {m}");
                    }
                    // Transposition swaps the order of the two passes: 1 level at most.
                    assert!(v.abs_diff(img.get_pixel(y, x)[0]) <= 1);
                    assert_eq!(img.get_pixel(x, y)[3], 255);
                }
            }
            let sum: i64 = img.pixels().map(|p| i64::from(p[0])).sum();
            let energy = 25 * 255;
            assert!((sum - energy).abs() * 100 <= energy * 2, "sigma {sigma}: {sum}");
            // Peak of a box-filtered Gaussian: below the original 255, above zero.
            let peak = img.get_pixel(c, c)[0];
            assert!(peak < 255 && peak > 0);
        }
    }

    #[test]
    fn close_to_a_direct_gaussian() {
        let img = picture(48, 40);
        for (sigma, tol) in [(0.7, 1), (1.5, 1), (2.99, 1), (3.0, 2), (8.0, 2), (20.0, 2)] {
            let mut got = img.clone();
            gaussian_blur(&mut got, sigma);
            let want = reference_blur(&img, f64::from(sigma));
            let d = max_diff(&got, &want);
            assert!(d <= tol, "sigma {sigma}: max diff {d}");
        }
        // Noise has the most high frequencies, where the approximation is weakest.
        let img = noise(30, 50, 7, true);
        for sigma in [3.0, 8.0, 100.0] {
            let mut got = img.clone();
            gaussian_blur(&mut got, sigma);
            let d = max_diff(&got, &reference_blur(&img, f64::from(sigma)));
            assert!(d <= 2, "noise sigma {sigma}: max diff {d}");
        }
    }

    #[test]
    fn single_row_and_column_match_the_reference() {
        // 1-D signals exercise both edge initialisations on a short line.
        for (w, h) in [(1, 37), (37, 1), (2, 5)] {
            let img = picture(w, h);
            for sigma in [1.0, 4.0, 30.0] {
                let mut got = img.clone();
                gaussian_blur(&mut got, sigma);
                let d = max_diff(&got, &reference_blur(&img, f64::from(sigma)));
                assert!(d <= 2, "{w}x{h} sigma {sigma}: {d}");
            }
        }
    }

    #[test]
    fn transparent_pixels_do_not_bleed_colour() {
        // Transparent green background (its colour must not show), opaque red square.
        let img = Image::from_fn(32, 24, |x, y| {
            if (12..20).contains(&x) && (8..16).contains(&y) {
                Rgba([255, 0, 0, 255])
            } else {
                Rgba([0, 255, 0, 0])
            }
        });
        for sigma in [0.5, 2.0, 3.0, 6.0, 50.0] {
            let mut out = img.clone();
            gaussian_blur(&mut out, sigma);
            let mut partial = 0;
            for p in out.pixels() {
                if p[3] == 0 {
                    assert_eq!(p.0, [0, 0, 0, 0], "sigma {sigma}");
                } else {
                    assert_eq!(&p.0[..3], &[255, 0, 0], "sigma {sigma}: {p:?}");
                    partial += usize::from(p[3] < 255);
                }
            }
            assert!(partial > 0, "sigma {sigma}: alpha was not blurred");
        }
    }

    #[test]
    fn sharpen_boosts_an_edge_and_keeps_alpha() {
        let img = Image::from_fn(20, 3, |x, _| {
            let v = if x < 10 { 100 } else { 150 };
            Rgba([v, v, v, 200])
        });
        let mut out = img.clone();
        sharpen(&mut out, 1.0, 1.0);
        let row: Vec<u8> = (0..20).map(|x| out.get_pixel(x, 1)[0]).collect();
        assert!(row[9] < 100 && row[10] > 150, "{row:?}");
        assert_eq!(&row[..6], &[100; 6]);
        assert!(out.pixels().all(|p| p[3] == 200));
        // amount 0 changes nothing
        let mut same = img.clone();
        sharpen(&mut same, 5.0, 0.0);
        assert_eq!(same, img);
    }

    #[test]
    fn tiny_images_do_not_panic() {
        for (w, h) in [(0, 0), (0, 5), (5, 0), (1, 1), (1, 7), (7, 1), (2, 2), (17, 2)] {
            for opaque in [true, false] {
                let img = noise(w, h, 3, opaque);
                for sigma in SIGMAS {
                    let mut a = img.clone();
                    gaussian_blur(&mut a, sigma);
                    let mut b = img.clone();
                    sharpen(&mut b, sigma, 10.0);
                    assert_eq!(a.dimensions(), (w, h));
                }
            }
        }
        let one = Image::from_pixel(1, 1, Rgba([1, 2, 3, 255]));
        let mut out = one.clone();
        gaussian_blur(&mut out, 1000.0);
        assert_eq!(out, one);
    }

    #[test]
    fn recursive_filter_is_a_gaussian() {
        for sigma in [3.0f64, 8.0, 100.0] {
            let f = Recursive::new(sigma);
            let (n, c) = (20001usize, 10000usize);
            let gauss =
                |x: f64| libm::exp(-(x * x) / (2.0 * sigma * sigma)) / (sigma * libm::sqrt(2.0 * std::f64::consts::PI));
            // Impulse response: unit sum, exactly sigma wide, within 1.5% of the peak.
            let mut row = vec![0.0; n * 4];
            row[c * 4] = 1.0;
            f.filter_lines(&mut row, 4);
            let (mut sum, mut var, mut err) = (0.0, 0.0, 0.0f64);
            for (i, v) in row.iter().step_by(4).enumerate() {
                let x = i as f64 - c as f64;
                sum += v;
                var += v * x * x;
                err = err.max((v - gauss(x)).abs());
            }
            assert!((sum - 1.0).abs() < 1e-9, "sigma {sigma}: sum {sum}");
            assert!((libm::sqrt(var) / sigma - 1.0).abs() < 1e-6, "sigma {sigma}: {var}");
            assert!(err / gauss(0.0) < 0.015, "sigma {sigma}: {err}");
            // Step 0 -> 255: within 0.9 of the integrated Gaussian everywhere.
            let mut row: Vec<f64> = (0..n * 4).map(|i| if i / 4 >= c { 255.0 } else { 0.0 }).collect();
            f.filter_lines(&mut row, 4);
            for (i, v) in row.iter().step_by(4).enumerate() {
                let x = (i as f64 - c as f64 + 0.5) / (sigma * std::f64::consts::SQRT_2);
                let want = 127.5 * (1.0 + libm::erf(x));
                assert!((v - want).abs() < 0.9, "sigma {sigma} at {i}: {v} vs {want}");
            }
        }
    }

    #[test]
    fn recursive_edge_matrix_has_converged() {
        for sigma in [3.0, 8.0, 1000.0] {
            let f = Recursive::new(sigma);
            let q = 0.98711 * sigma - 0.96330;
            let longer = f.edge_matrix(2.0 * q + 10.0);
            for (a, b) in f.m.iter().flatten().zip(longer.iter().flatten()) {
                assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()), "{sigma}: {a} vs {b}");
            }
            // A flat line stays flat through the edge: rows of m do not matter when d = 0.
            assert_eq!(f.right_edge(7.0, 7.0, 7.0, 7.0), [7.0; 3]);
        }
    }

    #[test]
    fn strips_cover_every_width_without_an_empty_strip() {
        for w in 1..=70_000usize {
            let strips = w.div_ceil(STRIP);
            let sw = w.div_ceil(strips);
            assert!(sw <= STRIP && strips * sw >= w && (strips - 1) * sw < w, "{w}");
            assert!(strips * sw - w < strips, "{w}: padding");
        }
    }

    #[test]
    fn rows_and_strips_are_independent() {
        // Identical rows: every output row is the blur of that one row, whatever block of
        // rows it was filtered in; identical columns: the same for strips of columns.
        let line = noise(37, 1, 13, false);
        let column = noise(1, 37, 17, false);
        for sigma in [1.5, 5.0, 60.0] {
            let mut one_row = line.clone();
            gaussian_blur(&mut one_row, sigma);
            let mut rows = Image::from_fn(37, 11, |x, _| *line.get_pixel(x, 0));
            gaussian_blur(&mut rows, sigma);
            for y in 0..11 {
                for x in 0..37 {
                    assert_eq!(rows.get_pixel(x, y), one_row.get_pixel(x, 0), "{sigma}");
                }
            }
            let mut one_col = column.clone();
            gaussian_blur(&mut one_col, sigma);
            let mut cols = Image::from_fn(41, 37, |_, y| *column.get_pixel(0, y));
            gaussian_blur(&mut cols, sigma);
            for y in 0..37 {
                for x in 0..41 {
                    assert_eq!(cols.get_pixel(x, y), one_col.get_pixel(0, y), "{sigma}");
                }
            }
        }
    }

    #[test]
    fn same_bytes_whatever_the_split() {
        // 300 x 300 x 4 bytes is above the parallel threshold: with rayon the rows and
        // strips run on several threads. These hashes are the same with and without the
        // `rayon` feature and on wasm32.
        let img = noise(300, 300, 11, false);
        let opaque = noise(300, 300, 5, true);
        let mut got = Vec::new();
        for (src, sigma) in [(&img, 1.5f32), (&img, 6.0), (&opaque, 1.5), (&opaque, 6.0)] {
            let mut a = src.clone();
            gaussian_blur(&mut a, sigma);
            got.push(fnv(a.as_raw()));
        }
        let mut s = opaque.clone();
        sharpen(&mut s, 2.0, 1.5);
        got.push(fnv(s.as_raw()));
        // A crop of a blurred single row is the blur of the cropped rows when the image is
        // one row high (rows are computed independently of each other).
        let row = Image::from_fn(300, 1, |x, _| *opaque.get_pixel(x, 0));
        let mut a = row.clone();
        gaussian_blur(&mut a, 6.0);
        got.push(fnv(a.as_raw()));
        assert_eq!(got, GOLDEN, "got {got:#x?}");
    }

    #[test]
    fn wide_simd_and_the_baseline_give_the_same_bits() {
        let img = noise(61, 7, 21, false);
        for sigma in [3.0, 11.9, 12.0, 250.0] {
            let f = Recursive::new(sigma);
            let lanes = 7 * 4;
            let wide: Vec<f64> = img.as_raw().iter().map(|&v| f64::from(v) * 255.0).collect();
            let narrow: Vec<f32> = wide.iter().map(|&v| v as f32).collect();
            let (mut a, mut b) = (wide.clone(), wide);
            f.filter_lines(&mut a, lanes);
            f.filter_lines_any(&mut b, lanes);
            assert_eq!(a, b, "f64 sigma {sigma}");
            let (mut a, mut b) = (narrow.clone(), narrow);
            f.filter_lines(&mut a, lanes);
            f.filter_lines_any(&mut b, lanes);
            assert_eq!(a, b, "f32 sigma {sigma}");
        }
    }

    const GOLDEN: [u64; 6] = [
        0xa6e7a1f93e244198,
        0xa1529926eb5ae627,
        0x147e80f53f3e178c,
        0xa524dd357af2e1cd,
        0xde2d42e417da8434,
        0x22460190b500cbce,
    ];
}
