//! Colour management: an image's embedded ICC profile applied on decode, to sRGB.
//!
//! moxcms parses the profile (bounds-checked: a corrupt or truncated profile is an
//! error there, never a panic); the transform itself is kiln's, built from what moxcms
//! read, because moxcms's own executors pick AVX2/FMA, SSE or NEON paths at run time
//! and a fused multiply-add rounds differently from wasm's separate multiply and add:
//! the same profile would give other bytes on another target. Here the tables are
//! computed with plain IEEE f64/f32 operations (Rust never fuses them) and `libm`'s
//! `pow`, and the matrix is applied in fixed point, in the same order everywhere, so
//! the output is byte-identical on every target (checked: the icc-* cases, native and
//! wasm).
//!
//! What is applied, as littleCMS's relative colorimetric intent without black point
//! compensation (Pillow's `ImageCms` with `RELATIVE_COLORIMETRIC`; for matrix/TRC
//! profiles every intent is this one, which is what browsers show):
//! - RGB matrix/TRC profiles (cameras, phones: Display P3, Adobe RGB, ProPhoto): each
//!   channel through its curve to linear, a 3x3 matrix to linear sRGB (both D50, as
//!   every ICC profile's colorants are), clipped, the sRGB curve (a 64 Ki-entry table).
//! - Grey profiles: the grey curve to luminance, the sRGB curve.
//! - LUT profiles (CMYK printers, and RGB profiles with an `A2B` table, which
//!   littleCMS prefers over the matrix): `A2B1`, else `A2B0` (lut8, lut16 or lutAtoB),
//!   evaluated at the nodes of a grid (17 points a channel for CMYK, 33 for RGB, as
//!   littleCMS resamples) into encoded sRGB, then interpolated per pixel as littleCMS
//!   does: tetrahedral in 3 dimensions, and for 4 linear in the first channel between
//!   two tetrahedral ones. For CMYK this is littleCMS's result to within a level; for
//!   an RGB LUT profile, whose colours out of sRGB's gamut clip, littleCMS first
//!   re-linearises the grid along the grey axis (`OptimizeByComputingLinearization`),
//!   which kiln does not: up to 7 levels apart where a colour clips to near 0 (mean
//!   0.06; tests/pillow/icc.py), either side of the exact colour.
//!
//! A profile that does not parse, describes another colour space than the pixels, or
//! is of a kind not listed above (named colour, abstract, a CMYK profile without
//! `A2B`) is ignored, as browsers ignore broken profiles: the pixels are kept as
//! decoded. A profile that is sRGB to within half a level (a camera's "sRGB
//! IEC61966-2.1") is not applied at all, so a plain sRGB JPEG costs nothing more.

use std::sync::OnceLock;

use moxcms::{ColorProfile, DataColorSpace, LutStore, LutWarehouse, ParsingOptions, ToneReprCurve};

use super::Image;
use super::parallel::for_each_row;

/// The colour space of the decoded samples a profile must describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels {
    /// Grey (RGBA8 with R = G = B).
    Gray,
    /// RGB.
    Rgb,
    /// CMYK ink values, 0 = no ink (a JPEG's Adobe-inverted samples, inverted back).
    Cmyk,
}

/// The most a transform holds besides its profile: a CMYK grid (17^4 nodes of three
/// u16), and the sRGB curve's table. The memory model counts this and 3x the profile
/// (moxcms's parsed copy of its curves and tables) for any decode with a profile.
pub const TRANSFORM_BYTES: u64 = 17 * 17 * 17 * 17 * 6 + ENCODE_TABLE as u64 + 4096;

/// What a decode holds for a profile of `len` bytes it applies.
pub fn held(len: usize) -> u64 {
    3 * len as u64 + TRANSFORM_BYTES
}

/// Entries of the sRGB curve's table (linear 0..1 in 65 535 steps).
const ENCODE_TABLE: usize = 1 << 16;

/// The profile's largest size this module parses (PNG refuses larger ones before
/// decoding: `codec::MAX_ICC_BYTES`; a JPEG's or WebP's is bounded by the input).
const MAX_PROFILE: usize = 4 << 20;

/// A transform from a profile's colour space to sRGB.
pub struct ToSrgb(Kind);

enum Kind {
    /// Grey: a table of 256 levels.
    Gray(Box<[u8; 256]>),
    /// Matrix/TRC: each channel to linear, then `matrix` (rows: linear sRGB R, G, B), in
    /// integers (exact on every target, and faster than floats with their clamps).
    Matrix {
        /// Linear light of each level, 65 535 = 1.
        linear: Box<[[i64; 256]; 3]>,
        /// Fixed point, 1 << 14 = 1.
        matrix: [[i64; 3]; 3],
    },
    /// A grid of encoded sRGB (u16) over 3 or 4 input channels.
    Grid(Grid),
}

struct Grid {
    inputs: usize,
    points: usize,
    /// Node values, 3 a node, the first input varying slowest.
    nodes: Vec<u16>,
}

impl ToSrgb {
    /// The transform of `icc` for samples of `channels`, or `None` when there is
    /// nothing to apply (see the module's doc).
    pub fn new(icc: &[u8], channels: Channels) -> Option<ToSrgb> {
        if icc.len() > MAX_PROFILE {
            return None;
        }
        let options = ParsingOptions {
            max_profile_size: MAX_PROFILE,
            max_allowed_clut_size: 1 << 20,
            max_allowed_trc_size: 1 << 16,
        };
        let profile = ColorProfile::new_from_slice_with_options(icc, options).ok()?;
        let space = match profile.color_space {
            DataColorSpace::Gray => Channels::Gray,
            DataColorSpace::Rgb => Channels::Rgb,
            DataColorSpace::Cmyk => Channels::Cmyk,
            _ => return None,
        };
        if space != channels || !matches!(profile.pcs, DataColorSpace::Xyz | DataColorSpace::Lab) {
            return None;
        }
        let lut = profile
            .lut_a_to_b_colorimetric
            .as_ref()
            .or(profile.lut_a_to_b_perceptual.as_ref());
        match (channels, lut) {
            (Channels::Gray, _) => gray(&profile),
            (Channels::Rgb, Some(lut)) => grid(lut, 3, 33, profile.pcs),
            (Channels::Rgb, None) => matrix(&profile),
            (Channels::Cmyk, Some(lut)) => grid(lut, 4, 17, profile.pcs),
            (Channels::Cmyk, None) => None,
        }
        .map(ToSrgb)
    }

    /// Converts RGBA8 pixels (grey or RGB) in place; alpha is kept.
    pub fn apply(&self, image: &mut Image) {
        let stride = image.width() as usize * 4;
        match &self.0 {
            Kind::Gray(table) => for_each_row(image, stride, |_, row| {
                for px in row.chunks_exact_mut(4) {
                    let v = table[usize::from(px[0])];
                    px[..3].copy_from_slice(&[v, v, v]);
                }
            }),
            Kind::Matrix { linear, matrix } => {
                let encode = encode_table();
                for_each_row(image, stride, |_, row| {
                    for px in row.chunks_exact_mut(4) {
                        let lin = [
                            linear[0][usize::from(px[0])],
                            linear[1][usize::from(px[1])],
                            linear[2][usize::from(px[2])],
                        ];
                        for (out, m) in px.iter_mut().zip(matrix) {
                            let v = (m[0] * lin[0] + m[1] * lin[1] + m[2] * lin[2] + (1 << 13)) >> 14;
                            *out = encode[v.clamp(0, 65535) as usize];
                        }
                    }
                });
            }
            Kind::Grid(grid) => for_each_row(image, stride, |_, row| {
                for px in row.chunks_exact_mut(4) {
                    let rgb = grid.eval([px[0], px[1], px[2], 0]);
                    px[..3].copy_from_slice(&rgb);
                }
            }),
        }
    }

    /// Converts CMYK ink values (4 bytes a pixel) in place to opaque RGBA8. Only for a
    /// transform made for [`Channels::Cmyk`].
    pub fn apply_cmyk(&self, pixels: &mut [u8], width: usize) {
        let Kind::Grid(grid) = &self.0 else { return };
        for_each_row(pixels, width * 4, |_, row| {
            for px in row.chunks_exact_mut(4) {
                let rgb = grid.eval([px[0], px[1], px[2], px[3]]);
                px.copy_from_slice(&[rgb[0], rgb[1], rgb[2], 255]);
            }
        });
    }
}

impl Grid {
    /// littleCMS's 16-bit interpolation (`Eval4Inputs`, tetrahedral `Eval3Inputs`) at
    /// 8-bit samples, in f32, rounded to 8 bits.
    fn eval(&self, px: [u8; 4]) -> [u8; 3] {
        let scale = (self.points - 1) as f32 / 255.0;
        let node = |i: usize| -> (usize, f32) {
            let x = f32::from(px[i]) * scale;
            let at = (x as usize).min(self.points - 2);
            (at, x - at as f32)
        };
        let out = if self.inputs == 3 {
            self.tetra(0, [node(0), node(1), node(2)])
        } else {
            let (k, fk) = node(0);
            let rest = [node(1), node(2), node(3)];
            let slab = self.points * self.points * self.points * 3;
            let lo = self.tetra(k * slab, rest);
            let hi = self.tetra((k + 1) * slab, rest);
            [0, 1, 2].map(|c| lo[c] + (hi[c] - lo[c]) * fk)
        };
        out.map(|v| (v / 257.0 + 0.5).clamp(0.0, 255.0) as u8)
    }

    /// Tetrahedral interpolation in the 3-D slab starting at node `base`.
    fn tetra(&self, base: usize, [(x, fx), (y, fy), (z, fz)]: [(usize, f32); 3]) -> [f32; 3] {
        let n = self.points;
        let (sx, sy, sz) = (n * n * 3, n * 3, 3);
        let at = base + x * sx + y * sy + z * sz;
        let v = |offset: usize, c: usize| f32::from(self.nodes[at + offset + c]);
        let (a, b, c, w) = tetrahedron([fx, fy, fz], [sx, sy, sz]);
        [0, 1, 2].map(|c2| {
            let c0 = v(0, c2);
            let (c1, cc2, c3) = (v(a, c2), v(b, c2), v(c, c2));
            c0 + (c1 - c0) * w[0] + (cc2 - c1) * w[1] + (c3 - cc2) * w[2]
        })
    }
}

/// The tetrahedron of a cube cell that holds fractions `f` along axes of strides `s`:
/// the offsets of its three corners past the cell's origin, taken along the path of the
/// largest fraction first, and the fractions in that order.
#[inline]
fn tetrahedron<T: PartialOrd + Copy>([fx, fy, fz]: [T; 3], [sx, sy, sz]: [usize; 3]) -> (usize, usize, usize, [T; 3]) {
    if fx >= fy && fy >= fz {
        (sx, sx + sy, sx + sy + sz, [fx, fy, fz])
    } else if fx >= fz && fz >= fy {
        (sx, sx + sz, sx + sy + sz, [fx, fz, fy])
    } else if fz >= fx && fx >= fy {
        (sz, sx + sz, sx + sy + sz, [fz, fx, fy])
    } else if fy >= fx && fx >= fz {
        (sy, sx + sy, sx + sy + sz, [fy, fx, fz])
    } else if fy >= fz && fz >= fx {
        (sy, sy + sz, sx + sy + sz, [fy, fz, fx])
    } else {
        (sz, sy + sz, sx + sy + sz, [fz, fy, fx])
    }
}

/// The sRGB curve: linear light in 65 535 steps to 8-bit sRGB (computed once).
fn encode_table() -> &'static [u8; ENCODE_TABLE] {
    static TABLE: OnceLock<Box<[u8; ENCODE_TABLE]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = Box::new([0; ENCODE_TABLE]);
        for (i, out) in table.iter_mut().enumerate() {
            *out = (srgb_encode(i as f64 / 65535.0) * 255.0 + 0.5) as u8;
        }
        table
    })
}

/// Linear light 0..1 to sRGB-encoded 0..1 (IEC 61966-2-1).
fn srgb_encode(v: f64) -> f64 {
    if v <= 0.003_130_8 {
        12.92 * v
    } else {
        1.055 * libm::pow(v, 1.0 / 2.4) - 0.055
    }
}

/// The D50 PCS white.
const D50: [f64; 3] = [0.9642, 1.0, 0.8249];

/// Linear sRGB to XYZ (D50), as littleCMS builds its sRGB profile: the Rec. 709
/// primaries and the D65 white, adapted to D50 with Bradford.
fn srgb_to_xyz() -> [[f64; 3]; 3] {
    let xyz = |x: f64, y: f64| [x / y, 1.0, (1.0 - x - y) / y];
    let prims = [xyz(0.64, 0.33), xyz(0.30, 0.60), xyz(0.15, 0.06)];
    let white = xyz(0.3127, 0.3290);
    let m = [0, 1, 2].map(|i| [prims[0][i], prims[1][i], prims[2][i]]);
    let s = mul_vec(&invert(&m), white);
    let rgb_to_xyz = [0, 1, 2].map(|i| [0, 1, 2].map(|j| m[i][j] * s[j]));
    let bradford = [
        [0.8951, 0.2664, -0.1614],
        [-0.7502, 1.7135, 0.0367],
        [0.0389, -0.0685, 1.0296],
    ];
    let (src, dst) = (mul_vec(&bradford, white), mul_vec(&bradford, D50));
    let scale = [0, 1, 2].map(|i| [0, 1, 2].map(|j| if i == j { dst[i] / src[i] } else { 0.0 }));
    let adapt = mul(&invert(&bradford), &mul(&scale, &bradford));
    mul(&adapt, &rgb_to_xyz)
}

fn mul(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    [0, 1, 2].map(|i| [0, 1, 2].map(|j| a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j]))
}

fn mul_vec(a: &[[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
    [0, 1, 2].map(|i| a[i][0] * v[0] + a[i][1] * v[1] + a[i][2] * v[2])
}

fn invert(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let [[a, b, c], [d, e, f], [g, h, i]] = *m;
    let det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
    [
        [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
        [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
        [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
    ]
}

/// XYZ (D50) to linear sRGB.
fn xyz_to_srgb() -> [[f64; 3]; 3] {
    invert(&srgb_to_xyz())
}

/// A tone curve at `x` in 0..1, clamped to 0..1 (ICC `curv` and `para`).
fn curve(trc: &ToneReprCurve, x: f64) -> f64 {
    let y = match trc {
        ToneReprCurve::Lut(table) => match table.len() {
            0 => x,
            1 => libm::pow(x, f64::from(table[0]) / 256.0),
            n => {
                let at = x.clamp(0.0, 1.0) * (n - 1) as f64;
                let i = (at as usize).min(n - 2);
                let f = at - i as f64;
                let (a, b) = (f64::from(table[i]), f64::from(table[i + 1]));
                (a + (b - a) * f) / 65535.0
            }
        },
        ToneReprCurve::Parametric(p) => {
            let p: Vec<f64> = p.iter().map(|&v| f64::from(v)).collect();
            let pow = |base: f64, g: f64| if base > 0.0 { libm::pow(base, g) } else { 0.0 };
            match p.as_slice() {
                [g] => pow(x, *g),
                [g, a, b] => {
                    if x >= -b / a {
                        pow(a * x + b, *g)
                    } else {
                        0.0
                    }
                }
                [g, a, b, c] => {
                    if x >= -b / a {
                        pow(a * x + b, *g) + c
                    } else {
                        *c
                    }
                }
                [g, a, b, c, d] => {
                    if x >= *d {
                        pow(a * x + b, *g)
                    } else {
                        c * x
                    }
                }
                [g, a, b, c, d, e, f] => {
                    if x >= *d {
                        pow(a * x + b, *g) + e
                    } else {
                        c * x + f
                    }
                }
                _ => x,
            }
        }
    };
    if y.is_nan() { 0.0 } else { y.clamp(0.0, 1.0) }
}

fn gray(profile: &ColorProfile) -> Option<Kind> {
    let trc = profile.gray_trc.as_ref()?;
    let mut table = Box::new([0u8; 256]);
    for (i, out) in table.iter_mut().enumerate() {
        *out = (srgb_encode(curve(trc, i as f64 / 255.0)) * 255.0 + 0.5) as u8;
    }
    if table.iter().enumerate().all(|(i, &v)| usize::from(v) == i) {
        return None; // sRGB's grey already
    }
    Some(Kind::Gray(table))
}

fn matrix(profile: &ColorProfile) -> Option<Kind> {
    let trcs = [&profile.red_trc, &profile.green_trc, &profile.blue_trc];
    let mut linear = [[0f64; 256]; 3];
    for (table, trc) in linear.iter_mut().zip(trcs) {
        let trc = trc.as_ref()?;
        for (i, out) in table.iter_mut().enumerate() {
            *out = curve(trc, i as f64 / 255.0);
        }
    }
    let col = |c: &moxcms::Xyzd| [c.x, c.y, c.z];
    let (r, g, b) = (
        col(&profile.red_colorant),
        col(&profile.green_colorant),
        col(&profile.blue_colorant),
    );
    let to_xyz = [0, 1, 2].map(|i| [r[i], g[i], b[i]]);
    let m = mul(&xyz_to_srgb(), &to_xyz);
    // No real profile comes near 64 (ProPhoto's largest is 2): past it, the fixed
    // point below could overflow.
    if m.iter().flatten().any(|v| !v.is_finite() || v.abs() > 64.0) {
        return None;
    }
    let identity = m.iter().enumerate().all(|(i, row)| {
        row.iter()
            .enumerate()
            .all(|(j, v)| (v - f64::from(u8::from(i == j))).abs() < 1.0 / 2048.0)
    });
    // Without the encode table, which costs more to build than this whole check.
    let srgb_curves = identity
        && linear.iter().all(|t| {
            t.iter()
                .enumerate()
                .all(|(i, &v)| (srgb_encode(v) * 255.0 - i as f64).abs() < 0.5)
        });
    if identity && srgb_curves {
        return None; // sRGB already, to within half a level
    }
    let matrix = m.map(|row| row.map(|v| libm::round(v * 16384.0) as i64));
    let linear = Box::new(linear.map(|t| t.map(|v| libm::round(v * 65535.0) as i64)));
    Some(Kind::Matrix { linear, matrix })
}

/// An `A2B` table of `inputs` channels evaluated at `points` nodes a channel.
fn grid(lut: &LutWarehouse, inputs: usize, points: usize, pcs: DataColorSpace) -> Option<Kind> {
    let stages = Stages::new(lut, inputs, pcs)?;
    let to_srgb = xyz_to_srgb();
    let count = points.pow(inputs as u32);
    let mut nodes = Vec::with_capacity(count * 3);
    let mut device = [0f64; 4];
    for n in 0..count {
        let mut rest = n;
        for i in (0..inputs).rev() {
            device[i] = (rest % points) as f64 / (points - 1) as f64;
            rest /= points;
        }
        let xyz = stages.eval(&device[..inputs]);
        let lin = mul_vec(&to_srgb, xyz);
        for v in lin {
            let v = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
            nodes.push((srgb_encode(v) * 65535.0 + 0.5) as u16);
        }
    }
    Some(Kind::Grid(Grid { inputs, points, nodes }))
}

/// An `A2B` table's stages, device values to PCS XYZ.
struct Stages<'a> {
    lut: &'a LutWarehouse,
    inputs: usize,
    /// How the table's output encodes the PCS.
    pcs: Pcs,
}

#[derive(Clone, Copy)]
enum Pcs {
    Xyz,
    /// Lab of lut16Type (ICC v2: L 100 at 0xFF00, a and b 0 at 0x8000).
    LabV2,
    /// Lab of lut8Type and lutAtoBType (ICC v4: L 100 at 0xFFFF, 0 at 0x8080).
    LabV4,
}

impl<'a> Stages<'a> {
    fn new(lut: &'a LutWarehouse, inputs: usize, pcs: DataColorSpace) -> Option<Self> {
        let lab = pcs == DataColorSpace::Lab;
        let pcs = match lut {
            LutWarehouse::Lut(t) => {
                let entries = |s: &LutStore| match s {
                    LutStore::Store8(v) => v.len(),
                    LutStore::Store16(v) => v.len(),
                };
                let (ins, outs, grid) = (
                    usize::from(t.num_input_channels),
                    usize::from(t.num_output_channels),
                    usize::from(t.num_clut_grid_points),
                );
                let in_entries = usize::from(t.num_input_table_entries);
                let out_entries = usize::from(t.num_output_table_entries);
                if ins != inputs
                    || outs != 3
                    || grid < 2
                    || in_entries < 2
                    || out_entries < 2
                    || entries(&t.input_table) < ins * in_entries
                    || entries(&t.output_table) < 3 * out_entries
                    || entries(&t.clut_table) < grid.checked_pow(ins as u32)? * 3
                {
                    return None;
                }
                match (lab, &t.input_table) {
                    (false, _) => Pcs::Xyz,
                    (true, LutStore::Store16(_)) => Pcs::LabV2,
                    (true, LutStore::Store8(_)) => Pcs::LabV4,
                }
            }
            LutWarehouse::Multidimensional(t) => {
                let (ins, outs) = (usize::from(t.num_input_channels), usize::from(t.num_output_channels));
                if ins != inputs || outs != 3 || t.b_curves.len() != 3 {
                    return None;
                }
                if let Some(clut) = &t.clut {
                    let len = match clut {
                        LutStore::Store8(v) => v.len(),
                        LutStore::Store16(v) => v.len(),
                    };
                    let mut nodes = 3usize;
                    for &g in &t.grid_points[..ins] {
                        if g < 2 {
                            return None;
                        }
                        nodes = nodes.checked_mul(usize::from(g))?;
                    }
                    if t.a_curves.len() != ins || len < nodes {
                        return None;
                    }
                } else if ins != 3 {
                    return None;
                }
                if !t.m_curves.is_empty() && t.m_curves.len() != 3 {
                    return None;
                }
                if lab { Pcs::LabV4 } else { Pcs::Xyz }
            }
        };
        Some(Stages { lut, inputs, pcs })
    }

    /// PCS XYZ (D50) of device values 0..1.
    fn eval(&self, device: &[f64]) -> [f64; 3] {
        let pcs = match self.lut {
            LutWarehouse::Lut(t) => {
                let grid = usize::from(t.num_clut_grid_points);
                let ins = usize::from(t.num_input_table_entries);
                let outs = usize::from(t.num_output_table_entries);
                let mut x = [0f64; 4];
                for (i, v) in device.iter().enumerate() {
                    x[i] = table_curve(&t.input_table, i * ins, ins, *v);
                }
                let grid_dims = [grid; 4];
                let v = clut(&t.clut_table, &grid_dims[..self.inputs], &x[..self.inputs]);
                [0, 1, 2].map(|c| table_curve(&t.output_table, c * outs, outs, v[c]))
            }
            LutWarehouse::Multidimensional(t) => {
                let mut x = [0f64; 4];
                x[..device.len()].copy_from_slice(device);
                let mut v = [x[0], x[1], x[2]];
                if let Some(table) = &t.clut {
                    for (i, c) in t.a_curves.iter().enumerate() {
                        x[i] = curve(c, x[i]);
                    }
                    let dims: Vec<usize> = t.grid_points[..self.inputs].iter().map(|&g| usize::from(g)).collect();
                    v = clut(table, &dims, &x[..self.inputs]);
                }
                if t.m_curves.len() == 3 {
                    for (c, m) in v.iter_mut().zip(&t.m_curves) {
                        *c = curve(m, *c);
                    }
                    let m = t.matrix.v;
                    let bias = t.bias.v;
                    let w = v;
                    v = [0, 1, 2].map(|i| (m[i][0] * w[0] + m[i][1] * w[1] + m[i][2] * w[2] + bias[i]).clamp(0.0, 1.0));
                }
                for (c, b) in v.iter_mut().zip(&t.b_curves) {
                    *c = curve(b, *c);
                }
                v
            }
        };
        match self.pcs {
            Pcs::Xyz => pcs.map(|v| v * 65535.0 / 32768.0),
            Pcs::LabV2 => lab_to_xyz(
                pcs[0] * 65535.0 / 652.8,
                pcs[1] * 65535.0 / 256.0 - 128.0,
                pcs[2] * 65535.0 / 256.0 - 128.0,
            ),
            Pcs::LabV4 => lab_to_xyz(pcs[0] * 100.0, pcs[1] * 255.0 - 128.0, pcs[2] * 255.0 - 128.0),
        }
    }
}

/// A lut8/lut16 curve (`entries` values from `start`) at `x` in 0..1.
fn table_curve(store: &LutStore, start: usize, entries: usize, x: f64) -> f64 {
    let (value, max) = sampler(store);
    let at = x.clamp(0.0, 1.0) * (entries - 1) as f64;
    let i = (at as usize).min(entries - 2);
    let f = at - i as f64;
    let (a, b) = (value(start + i), value(start + i + 1));
    (a + (b - a) * f) / max
}

/// The values of a lut8/lut16 store and their full scale.
fn sampler(store: &LutStore) -> (impl Fn(usize) -> f64 + '_, f64) {
    let max = match store {
        LutStore::Store8(_) => 255.0,
        LutStore::Store16(_) => 65535.0,
    };
    let value = move |i: usize| match store {
        LutStore::Store8(v) => f64::from(v[i]),
        LutStore::Store16(v) => f64::from(v[i]),
    };
    (value, max)
}

/// A CLUT of `dims` nodes a channel (the first slowest), 3 outputs, at `x` in 0..1:
/// tetrahedral for 3 inputs, and for 4 linear in the first between two tetrahedral.
fn clut(store: &LutStore, dims: &[usize], x: &[f64]) -> [f64; 3] {
    let (value, max) = sampler(store);
    let node = |i: usize| -> (usize, f64) {
        let at = x[i].clamp(0.0, 1.0) * (dims[i] - 1) as f64;
        let n = (at as usize).min(dims[i] - 2);
        (n, at - n as f64)
    };
    let n = dims.len();
    // Strides: 3 values a node; the last input fastest.
    let mut strides = [0usize; 4];
    let mut s = 3;
    for i in (0..n).rev() {
        strides[i] = s;
        s *= dims[i];
    }
    let tetra = |base: usize, axes: [usize; 3]| -> [f64; 3] {
        let [(x0, fx), (y0, fy), (z0, fz)] = axes.map(node);
        let [sx, sy, sz] = axes.map(|a| strides[a]);
        let at = base + x0 * sx + y0 * sy + z0 * sz;
        let (a, b, c, w) = tetrahedron([fx, fy, fz], [sx, sy, sz]);
        [0, 1, 2].map(|k| {
            let c0 = value(at + k);
            let (c1, c2, c3) = (value(at + a + k), value(at + b + k), value(at + c + k));
            (c0 + (c1 - c0) * w[0] + (c2 - c1) * w[1] + (c3 - c2) * w[2]) / max
        })
    };
    if n == 3 {
        tetra(0, [0, 1, 2])
    } else {
        let (k, fk) = node(0);
        let lo = tetra(k * strides[0], [1, 2, 3]);
        let hi = tetra((k + 1) * strides[0], [1, 2, 3]);
        [0, 1, 2].map(|c| lo[c] + (hi[c] - lo[c]) * fk)
    }
}

/// CIE Lab (D50) to XYZ (D50).
fn lab_to_xyz(l: f64, a: f64, b: f64) -> [f64; 3] {
    let e = 6.0 / 29.0;
    let f = |t: f64| {
        if t > e {
            t * t * t
        } else {
            3.0 * e * e * (t - 4.0 / 29.0)
        }
    };
    let fy = (l + 16.0) / 116.0;
    [f(fy + a / 500.0) * D50[0], f(fy) * D50[1], f(fy - b / 200.0) * D50[2]]
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::LazyLock;

    /// A profile of tests/data/icc (tests/data/icc/make_icc.py), read when the test runs:
    /// the container's build context has no test data to include at compile time.
    fn read(name: &str) -> Vec<u8> {
        let path = format!("{}/../tests/data/icc/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    macro_rules! profiles {
        ($($name:ident = $file:literal;)*) => {$(
            fn $name() -> &'static [u8] {
                static BYTES: LazyLock<Vec<u8>> = LazyLock::new(|| read($file));
                &BYTES
            }
        )*};
    }

    profiles! {
        p3 = "p3.icc";
        prophoto = "prophoto.icc";
        gray = "gray.icc";
        cmyk = "cmyk.icc";
    }

    fn pixels(rgb: &[[u8; 3]]) -> Image {
        Image::from_fn(rgb.len() as u32, 1, |x, _| {
            let [r, g, b] = rgb[x as usize];
            image::Rgba([r, g, b, 200])
        })
    }

    #[test]
    fn srgb_matrix_is_littlecms_s() {
        // littleCMS's sRGB colorants (cmsCreate_sRGBProfile, as ICC profiles store them).
        let m = srgb_to_xyz();
        let expected = [
            [0.4361, 0.3851, 0.1431],
            [0.2225, 0.7169, 0.0606],
            [0.0139, 0.0971, 0.7141],
        ];
        for (row, want) in m.iter().zip(expected) {
            for (v, w) in row.iter().zip(want) {
                assert!((v - w).abs() < 3e-4, "{m:?}");
            }
        }
    }

    #[test]
    fn srgb_profiles_are_not_applied() {
        let srgb = ColorProfile::new_srgb().encode().unwrap();
        assert!(ToSrgb::new(&srgb, Channels::Rgb).is_none());
        // littleCMS's own (V4, `para` curves; tests/data/icc/make_icc.py).
        let lcms = &read("srgb.icc");
        assert!(ToSrgb::new(lcms, Channels::Rgb).is_none());
        // As cameras' "sRGB IEC61966-2.1": a 1024-entry curve.
        let sampled = &read("srgb-curv.icc");
        assert!(ToSrgb::new(sampled, Channels::Rgb).is_none());
        // A grey profile with the sRGB curve is sRGB's grey.
        let mut gray = ColorProfile::new_srgb();
        gray.color_space = DataColorSpace::Gray;
        gray.gray_trc = gray.red_trc.clone();
        assert!(ToSrgb::new(&gray.encode().unwrap(), Channels::Gray).is_none());
    }

    /// Values littleCMS gives (Pillow's ImageCms, relative colorimetric, to its sRGB).
    #[test]
    fn matches_littlecms_on_sample_colours() {
        let cases: [(&[u8], [u8; 3], [u8; 3]); 4] = [
            (p3(), [0, 255, 0], [0, 255, 0]),
            (p3(), [200, 100, 50], [215, 93, 31]),
            (prophoto(), [200, 100, 50], [255, 80, 47]),
            (prophoto(), [128, 128, 128], [146, 146, 146]),
        ];
        for (profile, from, want) in cases {
            let mut image = pixels(&[from]);
            ToSrgb::new(profile, Channels::Rgb).unwrap().apply(&mut image);
            let got = image.get_pixel(0, 0).0;
            assert!(
                got[..3].iter().zip(want).all(|(&g, w)| g.abs_diff(w) <= 1),
                "{from:?}: {got:?} {want:?}"
            );
            assert_eq!(got[3], 200, "alpha kept");
        }
    }

    #[test]
    fn profiles_of_other_pixels_are_ignored() {
        assert!(ToSrgb::new(p3(), Channels::Gray).is_none());
        assert!(ToSrgb::new(p3(), Channels::Cmyk).is_none());
        assert!(ToSrgb::new(gray(), Channels::Rgb).is_none());
        assert!(ToSrgb::new(cmyk(), Channels::Rgb).is_none());
        assert!(ToSrgb::new(gray(), Channels::Gray).is_some());
        assert!(ToSrgb::new(cmyk(), Channels::Cmyk).is_some());
    }

    #[test]
    fn cmyk_paper_is_white_and_full_ink_dark() {
        let t = ToSrgb::new(cmyk(), Channels::Cmyk).unwrap();
        let mut px = [0, 0, 0, 0, 255, 255, 255, 255, 255, 0, 0, 0];
        t.apply_cmyk(&mut px, 3);
        assert_eq!(px[..4], [255, 255, 255, 255]);
        assert!(px[4..7].iter().all(|&v| v < 48), "{px:?}");
        assert!(px[8] < 128 && px[9] > 192 && px[10] > 192, "cyan: {px:?}");
    }

    /// Every cut and many corruptions of each profile: no panic (a fuzz target,
    /// `fuzz/fuzz_targets/icc.rs`, goes further).
    #[test]
    fn hostile_profiles_never_panic() {
        let image = Image::from_fn(256, 1, |x, _| image::Rgba([x as u8, (x * 7) as u8, 255 - x as u8, 255]));
        for profile in [p3(), prophoto(), gray(), cmyk()] {
            for channels in [Channels::Gray, Channels::Rgb, Channels::Cmyk] {
                // A cmyk() grid takes a while to build in a debug build: about 40 of each.
                let step = profile.len() / 40;
                for len in (0..profile.len()).step_by(step) {
                    if let Some(t) = ToSrgb::new(&profile[..len], channels) {
                        t.apply(&mut image.clone());
                    }
                }
                for at in (0..profile.len()).step_by(step - 1) {
                    let mut bad = profile.to_vec();
                    bad[at] ^= 0xA5;
                    if let Some(t) = ToSrgb::new(&bad, channels) {
                        t.apply(&mut image.clone());
                        t.apply_cmyk(&mut image.clone().into_raw(), 256);
                    }
                }
            }
        }
    }
}
