//! Ops in CIE L\*a\*b\* (D65, sRGB primaries), as libvips (sharp) does them:
//! `modulate` (brightness, saturation and hue in LCh, lightness) and `tint`.
//!
//! Deterministic everywhere: sRGB decoding is a table, `cbrt` comes from the `libm`
//! crate (same bits on every target), the rest is plain `f64` arithmetic in a fixed
//! order, and linear light goes back to a byte by comparing it with the 255 exact
//! midpoints between codes (so the result is the correctly rounded sRGB code).

use super::Image;
use super::color::for_each_pixel;

/// sRGB -> XYZ (D65), rows X, Y, Z.
const TO_XYZ: [[f64; 3]; 3] = [
    [0.412_456_4, 0.357_576_1, 0.180_437_5],
    [0.212_672_9, 0.715_152_2, 0.072_175_0],
    [0.019_333_9, 0.119_192_0, 0.950_304_1],
];
/// XYZ (D65) -> linear sRGB.
const FROM_XYZ: [[f64; 3]; 3] = [
    [3.240_454_2, -1.537_138_5, -0.498_531_4],
    [-0.969_266_0, 1.876_010_8, 0.041_556_0],
    [0.055_643_4, -0.204_025_9, 1.057_225_2],
];
/// The D65 white point.
const WHITE: [f64; 3] = [0.950_47, 1.0, 1.088_83];
const EPSILON: f64 = 6.0 / 29.0;

/// The tables one conversion needs.
struct Srgb {
    /// Byte -> linear light.
    decode: [f64; 256],
    /// Linear light of the midpoint between codes k and k + 1.
    midpoints: [f64; 255],
}

impl Srgb {
    fn new() -> Srgb {
        let exact = |v: f64| {
            if v <= 0.040_45 {
                v / 12.92
            } else {
                libm::pow((v + 0.055) / 1.055, 2.4)
            }
        };
        let mut decode = [0.0; 256];
        for (i, d) in decode.iter_mut().enumerate() {
            *d = exact(i as f64 / 255.0);
        }
        let mut midpoints = [0.0; 255];
        for (i, m) in midpoints.iter_mut().enumerate() {
            *m = exact((i as f64 + 0.5) / 255.0);
        }
        Srgb { decode, midpoints }
    }

    /// The byte nearest to linear light `v` (clamped).
    #[inline]
    fn encode(&self, v: f64) -> u8 {
        self.midpoints.partition_point(|&m| m < v) as u8
    }

    /// L\*, a\*, b\* of an sRGB pixel.
    #[inline]
    fn to_lab(&self, px: &[u8]) -> [f64; 3] {
        let rgb = [
            self.decode[usize::from(px[0])],
            self.decode[usize::from(px[1])],
            self.decode[usize::from(px[2])],
        ];
        let f = |row: usize| {
            let m = TO_XYZ[row];
            let t = (m[0] * rgb[0] + m[1] * rgb[1] + m[2] * rgb[2]) / WHITE[row];
            if t > EPSILON * EPSILON * EPSILON {
                libm::cbrt(t)
            } else {
                t / (3.0 * EPSILON * EPSILON) + 4.0 / 29.0
            }
        };
        let (fx, fy, fz) = (f(0), f(1), f(2));
        [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
    }

    /// Writes the sRGB bytes of L\*, a\*, b\* to `px[..3]`.
    #[inline]
    fn write_lab(&self, [l, a, b]: [f64; 3], px: &mut [u8]) {
        let fy = (l + 16.0) / 116.0;
        let f = [fy + a / 500.0, fy, fy - b / 200.0];
        let mut xyz = [0.0; 3];
        for i in 0..3 {
            let t = if f[i] > EPSILON {
                f[i] * f[i] * f[i]
            } else {
                3.0 * EPSILON * EPSILON * (f[i] - 4.0 / 29.0)
            };
            xyz[i] = t * WHITE[i];
        }
        for (c, m) in px.iter_mut().zip(FROM_XYZ) {
            *c = self.encode(m[0] * xyz[0] + m[1] * xyz[1] + m[2] * xyz[2]);
        }
    }
}

/// `modulate`, as sharp's: in LCh, `L = L * brightness + lightness`, `C = C *
/// saturation`, `h = h + hue` (degrees); alpha is kept. The hue turn is a rotation of
/// (a\*, b\*), so no angle is computed per pixel.
pub fn modulate(img: &mut Image, brightness: f64, saturation: f64, hue: f64, lightness: f64) {
    if brightness == 1.0 && saturation == 1.0 && hue == 0.0 && lightness == 0.0 {
        return;
    }
    let srgb = Srgb::new();
    let radians = hue.to_radians();
    let (sin, cos) = (libm::sin(radians) * saturation, libm::cos(radians) * saturation);
    for_each_pixel(img, |px| {
        let [l, a, b] = srgb.to_lab(px);
        let lab = [l * brightness + lightness, a * cos - b * sin, a * sin + b * cos];
        srgb.write_lab(lab, px);
    });
}

/// `tint`, as sharp's: each pixel's grey (libvips's B_W: relative luminance Y from
/// linear light, sRGB-encoded back to a byte) keeps its L\*, and takes the colour's a\*
/// and b\* weighted by `1 - 4 (L/100 - 1/2)^2` (full in the mid-tones, none at black
/// and white); alpha is kept. A 256-entry table indexed by the grey.
pub fn tint(img: &mut Image, color: [u8; 4]) {
    let srgb = Srgb::new();
    let [_, ta, tb] = srgb.to_lab(&color);
    let mut lut = [[0u8; 3]; 256];
    for (g, out) in lut.iter_mut().enumerate() {
        let [l, ..] = srgb.to_lab(&[g as u8; 3]);
        let t = l / 100.0 - 0.5;
        let weight = 1.0 - 4.0 * t * t;
        srgb.write_lab([l, weight * ta, weight * tb], out);
    }
    let y = TO_XYZ[1];
    for_each_pixel(img, |px| {
        let d = |i: usize| srgb.decode[usize::from(px[i])];
        let grey = srgb.encode(y[0] * d(0) + y[1] * d(1) + y[2] * d(2));
        px[..3].copy_from_slice(&lut[usize::from(grey)]);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn lab_round_trips_every_grey_and_many_colours() {
        let s = Srgb::new();
        for v in 0..=255u8 {
            let mut out = [0u8; 3];
            s.write_lab(s.to_lab(&[v, v, v]), &mut out);
            assert_eq!(out, [v, v, v]);
        }
        for i in 0..4096u32 {
            let px = [(i * 37) as u8, (i * 101 + 7) as u8, (i * 13 + 200) as u8];
            let mut out = [0u8; 3];
            s.write_lab(s.to_lab(&px), &mut out);
            assert_eq!(out, px);
        }
        // known values: white is L 100, a = b = 0; pure red is about (53.24, 80.09, 67.20)
        let [l, a, b] = s.to_lab(&[255, 255, 255]);
        assert!((l - 100.0).abs() < 1e-3 && a.abs() < 1e-3 && b.abs() < 1e-3);
        let [l, a, b] = s.to_lab(&[255, 0, 0]);
        assert!((l - 53.24).abs() < 0.01 && (a - 80.09).abs() < 0.01 && (b - 67.20).abs() < 0.01);
    }

    #[test]
    fn modulate_and_tint() {
        let src = Image::from_fn(64, 4, |x, y| Rgba([(x * 4) as u8, (y * 60) as u8, 90, x as u8]));
        let mut img = src.clone();
        modulate(&mut img, 1.0, 1.0, 360.0, 0.0);
        assert_eq!(img, src, "a full turn of hue");
        let mut img = src.clone();
        modulate(&mut img, 1.0, 0.0, 0.0, 0.0);
        for (p, s) in img.pixels().zip(src.pixels()) {
            // no chroma: a grey (within a code of equal channels), alpha kept
            let [r, g, b, a] = p.0;
            assert!(r.abs_diff(g) <= 1 && g.abs_diff(b) <= 1, "{:?}", p.0);
            assert_eq!(a, s.0[3]);
        }
        let mut img = src.clone();
        modulate(&mut img, 0.0, 0.0, 0.0, 0.0);
        assert!(img.pixels().all(|p| p.0[..3] == [0, 0, 0]));
        let mut img = src.clone();
        modulate(&mut img, 1.0, 0.0, 0.0, 100.0);
        assert!(img.pixels().all(|p| p.0[..3] == [255, 255, 255]));

        // tint keeps black and white and the grey's lightness; mid-greys take the hue
        let mut img = Image::from_fn(3, 1, |x, _| Rgba([[0, 128, 255][x as usize]; 4]));
        tint(&mut img, [255, 0, 0, 255]);
        assert_eq!(img.get_pixel(0, 0).0, [0, 0, 0, 0]);
        assert_eq!(img.get_pixel(2, 0).0, [255, 255, 255, 255]);
        let [r, g, b, a] = img.get_pixel(1, 0).0;
        assert!(r > g + 40 && g.abs_diff(b) < 20 && a == 128, "{r} {g} {b}");
    }
}
