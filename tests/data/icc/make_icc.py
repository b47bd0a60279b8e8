"""Makes the ICC test files of tests/data/icc: small images carrying embedded ICC
profiles that this script writes byte by byte from published numbers, so no profile of
unknown licence is committed. Run once by hand with Pillow (`python3 make_icc.py`, in
tests/pillow's venv: `../../../target/pillow-venv/bin/python make_icc.py`); the outputs
are committed. Deterministic: no clocks, no randomness.

Profiles (ICC v2, PCS D50, primaries adapted from their white with Bradford, as ICC
profiles and littleCMS do):
- Display P3: DCI-P3 primaries, D65, the sRGB curve as a `para` type 3 curve.
- Adobe RGB (1998): its primaries, D65, a `curv` gamma of 563/256 (2.19921875).
- ProPhoto (ROMM RGB): its primaries, D50, its 1.8 curve with the linear toe, sampled
  in a 256-entry `curv` table.
- Grey: a `kTRC` `para` type 0 gamma of 2.2.
- CMYK: a printer profile with an `A2B0` lut16Type (mft2): 4 inputs through 32-entry
  curves (dot gain), a 5-point CLUT of a simple ink model, PCS Lab (v2 encoding).

Images (each small):
- p3.png, adobergb.png, prophoto.png: a 64x64 cube of 16 levels of R, G and B (every
  combination once), iCCP; adobergb.jpg (quality 95, no subsampling) and prophoto.webp
  (lossless), the same cube with APP2 / ICCP.
- gray.png (a 256-level ramp) and gray.jpg, with the grey profile.
- cmyk.jpg: a 36x36 CMYK JPEG (Adobe inverted, as Photoshop and Pillow write them) of 6
  levels of C, M, Y and K, with the CMYK profile; ycck.jpg the same samples as YCCK
  (Adobe transform 2, which libjpeg writes for Photoshop; Pillow cannot, so the YCC
  planes are computed here with libjpeg's RGB -> YCbCr and written as a CMYK JPEG whose
  APP14 transform byte is then set to 2).
- rgb-lut.png: the cube with an RGB profile that has only an `A2B0` lutAtoBType (mAB,
  9-point CLUT of Adobe RGB to Lab): LUT profiles other than CMYK.
- p3-bad.png: the P3 cube with a profile cut in half (a decoder must ignore it).
- srgb.icc: littleCMS's own sRGB profile (V4, `para` curves), and srgb-curv.icc one
  built as cameras' "sRGB IEC61966-2.1" is (a 1024-entry `curv`): both must be
  recognised as sRGB and cost nothing.
"""
import io
import math
import struct
import zlib

from PIL import Image, ImageCms

D50 = (0.9642, 1.0, 0.8249)
BRADFORD = ((0.8951, 0.2664, -0.1614), (-0.7502, 1.7135, 0.0367), (0.0389, -0.0685, 1.0296))


def mat_mul(a, b):
    return tuple(tuple(sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)) for i in range(3))


def mat_vec(a, v):
    return tuple(sum(a[i][k] * v[k] for k in range(3)) for i in range(3))


def mat_inv(m):
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return (
        ((e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det),
        ((f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det),
        ((d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det),
    )


def xy_to_xyz(x, y):
    return (x / y, 1.0, (1 - x - y) / y)


def colorants(primaries, white):
    """The D50-adapted XYZ of each primary (columns of RGB -> XYZ)."""
    w = xy_to_xyz(*white)
    prims = [xy_to_xyz(*p) for p in primaries]
    m = tuple(tuple(prims[j][i] for j in range(3)) for i in range(3))
    s = mat_vec(mat_inv(m), w)
    rgb_to_xyz = tuple(tuple(m[i][j] * s[j] for j in range(3)) for i in range(3))
    src = mat_vec(BRADFORD, w)
    dst = mat_vec(BRADFORD, D50)
    scale = tuple(tuple((dst[i] / src[i]) if i == j else 0.0 for j in range(3)) for i in range(3))
    adapt = mat_mul(mat_inv(BRADFORD), mat_mul(scale, BRADFORD))
    full = mat_mul(adapt, rgb_to_xyz)
    return [tuple(full[i][j] for i in range(3)) for j in range(3)]


def s15(v):
    return struct.pack(">i", int(round(v * 65536)))


def xyz_tag(xyz):
    return b"XYZ " + bytes(4) + b"".join(s15(c) for c in xyz)


def desc_tag(text):
    ascii_ = text.encode() + b"\0"
    return b"desc" + bytes(4) + struct.pack(">I", len(ascii_)) + ascii_ + bytes(4) + bytes(4) + bytes(2) + bytes(1) + bytes(67)


def text_tag(text):
    return b"text" + bytes(4) + text.encode() + b"\0"


def curv_gamma(gamma_u8f8):
    return b"curv" + bytes(4) + struct.pack(">IH", 1, gamma_u8f8)


def curv_table(values):
    return b"curv" + bytes(4) + struct.pack(">I", len(values)) + b"".join(struct.pack(">H", v) for v in values)


def para(kind, params):
    return b"para" + bytes(4) + struct.pack(">HH", kind, 0) + b"".join(s15(p) for p in params)


def profile(cls, space, pcs, tags):
    """An ICC v2.1 profile of `tags` [(signature, data)]."""
    count = len(tags)
    offset = 128 + 4 + 12 * count
    table, body = b"", b""
    for sig, data in tags:
        while (offset + len(body)) % 4:
            body += b"\0"
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    while len(body) % 4:
        body += b"\0"
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + bytes(4)
        + struct.pack(">I", 0x02100000)
        + cls
        + space
        + pcs
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + bytes(4)  # platform
        + bytes(4)  # flags
        + bytes(4)  # manufacturer
        + bytes(4)  # model
        + bytes(8)  # attributes
        + struct.pack(">I", 0)  # perceptual
        + b"".join(s15(c) for c in D50)
        + bytes(4)  # creator
        + bytes(16)  # profile ID
        + bytes(28)
    )
    assert len(header) == 128
    return header + struct.pack(">I", count) + table + body


def rgb_profile(name, primaries, white, trc):
    r, g, b = colorants(primaries, white)
    return profile(b"mntr", b"RGB ", b"XYZ ", [
        (b"desc", desc_tag(name)),
        (b"cprt", text_tag("No copyright, use freely")),
        (b"wtpt", xyz_tag(D50)),
        (b"rXYZ", xyz_tag(r)),
        (b"gXYZ", xyz_tag(g)),
        (b"bXYZ", xyz_tag(b)),
        (b"rTRC", trc),
        (b"gTRC", trc),
        (b"bTRC", trc),
    ])


D65 = (0.3127, 0.3290)
SRGB_CURVE = para(3, [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045])
P3 = rgb_profile("kiln test Display P3", [(0.680, 0.320), (0.265, 0.690), (0.150, 0.060)], D65, SRGB_CURVE)
ADOBE = rgb_profile("kiln test Adobe RGB (1998)", [(0.64, 0.33), (0.21, 0.71), (0.15, 0.06)], D65, curv_gamma(563))


def romm(v):
    return v / 16 if v < 16 / 512 else v ** 1.8


PROPHOTO = rgb_profile(
    "kiln test ProPhoto RGB",
    [(0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001)],
    (0.3457, 0.3585),
    curv_table([int(round(romm(i / 255) * 65535)) for i in range(256)]),
)
def srgb_curve(v):
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


SRGB_CURV = rgb_profile(
    "kiln test sRGB, sampled curve",
    [(0.64, 0.33), (0.30, 0.60), (0.15, 0.06)],
    D65,
    curv_table([int(round(srgb_curve(i / 1023) * 65535)) for i in range(1024)]),
)
GRAY = profile(b"mntr", b"GRAY", b"XYZ ", [
    (b"desc", desc_tag("kiln test grey gamma 2.2")),
    (b"cprt", text_tag("No copyright, use freely")),
    (b"wtpt", xyz_tag(D50)),
    (b"kTRC", para(0, [2.2])),
])


def lab_of_xyz(x, y, z):
    def f(t):
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29
    fx, fy, fz = f(x / D50[0]), f(y / D50[1]), f(z / D50[2])
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


# sRGB's D65 primaries adapted to D50 (for the ink model's colours only).
SRGB_TO_XYZ = tuple(zip(*colorants([(0.64, 0.33), (0.30, 0.60), (0.15, 0.06)], D65)))


def ink(c, m, y, k):
    """A simple subtractive ink model: Lab D50 of CMYK coverage 0..1."""
    r = (1 - 0.92 * c) * (1 - 0.08 * m) * (1 - 0.02 * y)
    g = (1 - 0.10 * c) * (1 - 0.90 * m) * (1 - 0.06 * y)
    b = (1 - 0.04 * c) * (1 - 0.25 * m) * (1 - 0.93 * y)
    kk = 1 - 0.88 * k
    # Paper (no ink) is the PCS white, as a relative colorimetric table maps it.
    lin = [max(v * kk, 0.0) * 0.988 + 0.012 for v in (r, g, b)]
    return lab_of_xyz(*mat_vec(SRGB_TO_XYZ, lin))


def cmyk_profile(grid=5, curve=32):
    clut = b""
    pts = [i / (grid - 1) for i in range(grid)]
    for c in pts:
        for m in pts:
            for y in pts:
                for k in pts:
                    l, a, b = ink(c, m, y, k)
                    # lut16Type's Lab (v2): L 0..100 -> 0..0xFF00, a/b -128.. -> 0.., 0x8000 = 0
                    enc = (l * 652.8, (a + 128) * 256, (b + 128) * 256)
                    clut += b"".join(struct.pack(">H", max(0, min(65535, int(round(v))))) for v in enc)
    gains = [1.25, 1.2, 1.15, 1.1]
    inputs = b"".join(
        struct.pack(">H", int(round((1 - (1 - i / (curve - 1)) ** g) * 65535)))
        for g in gains for i in range(curve)
    )
    outputs = b"".join(struct.pack(">HH", 0, 65535) for _ in range(3))
    identity = b"".join(s15(1.0 if i == j else 0.0) for i in range(3) for j in range(3))
    mft2 = b"mft2" + bytes(4) + bytes([4, 3, grid, 0]) + identity + struct.pack(">HH", curve, 2) + inputs + clut + outputs
    return profile(b"prtr", b"CMYK", b"Lab ", [
        (b"desc", desc_tag("kiln test CMYK (5-point ink model)")),
        (b"cprt", text_tag("No copyright, use freely")),
        (b"wtpt", xyz_tag(D50)),
        (b"A2B0", mft2),
    ])


CMYK = cmyk_profile()


def adobe_lab(r, g, b):
    """Lab D50 of Adobe RGB (1998) values 0..1."""
    lin = [v ** (563 / 256) for v in (r, g, b)]
    cols = colorants([(0.64, 0.33), (0.21, 0.71), (0.15, 0.06)], D65)
    xyz = [sum(cols[j][i] * lin[j] for j in range(3)) for i in range(3)]
    return lab_of_xyz(*xyz)


def mab_rgb_profile(grid=9):
    """An RGB profile whose only transform is an `A2B0` lutAtoBType (mAB): identity A
    and B curves (`curv` of no entries) around a 16-bit CLUT of Adobe RGB in Lab (ICC
    v4 encoding: L 100 at 0xFFFF, a and b 0 at 0x8080); no M curves nor matrix."""
    identity = b"curv" + bytes(4) + struct.pack(">I", 0)
    curves = identity * 3
    pts = [i / (grid - 1) for i in range(grid)]
    data = b""
    for r in pts:
        for g in pts:
            for b in pts:
                l, a, bb = adobe_lab(r, g, b)
                enc = (l / 100 * 65535, (a + 128) / 255 * 65535, (bb + 128) / 255 * 65535)
                data += b"".join(struct.pack(">H", max(0, min(65535, int(round(v))))) for v in enc)
    clut = bytes([grid] * 3) + bytes(13) + bytes([2, 0, 0, 0]) + data
    header = 32
    b_at = header
    clut_at = b_at + len(curves)
    a_at = clut_at + len(clut)
    while a_at % 4:
        clut += b"\0"
        a_at += 1
    mab = (b"mAB " + bytes(4) + bytes([3, 3, 0, 0])
           + struct.pack(">IIIII", b_at, 0, 0, clut_at, a_at) + curves + clut + curves)
    return profile(b"mntr", b"RGB ", b"Lab ", [
        (b"desc", desc_tag("kiln test Adobe RGB as an A2B0 lutAtoBType")),
        (b"cprt", text_tag("No copyright, use freely")),
        (b"wtpt", xyz_tag(D50)),
        (b"A2B0", mab),
    ])


RGB_LUT = mab_rgb_profile()


def cube():
    img = Image.new("RGB", (64, 64))
    levels = [round(i * 255 / 15) for i in range(16)]
    img.putdata([(r, g, b) for r in levels for g in levels for b in levels])
    return img


def cmyk_samples():
    """6 levels of each ink (0 = none), in ink values."""
    levels = [round(i * 255 / 5) for i in range(6)]
    return [(c, m, y, k) for c in levels for m in levels for y in levels for k in levels]


def cmyk_jpeg(samples, transform=None):
    img = Image.new("CMYK", (36, 36))
    img.putdata(samples)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=100, subsampling=0, icc_profile=CMYK)
    data = out.getvalue()
    if transform is not None:
        at = data.index(b"Adobe")
        assert data[at + 11] == 0, data[at + 11]
        data = data[: at + 11] + bytes([transform]) + data[at + 12:]
    return data


def ycck_samples():
    """The planes libjpeg's YCCK encoder would write: the YCbCr of 255 - the stored
    (Adobe inverted) C, M, Y, that is of the inks, taken as R, G, B, and the stored K.
    Pillow writes them inverted again, so they are handed over inverted."""
    out = []
    for c, m, y, k in cmyk_samples():
        r, g, b = c, m, y
        yy = 0.299 * r + 0.587 * g + 0.114 * b
        cb = -0.168735892 * r - 0.331264108 * g + 0.5 * b + 128
        cr = 0.5 * r - 0.418687589 * g - 0.081312411 * b + 128
        planes = [max(0, min(255, int(round(v)))) for v in (yy, cb, cr)] + [255 - k]
        out.append(tuple(255 - v for v in planes))
    return out


def main():
    c = cube()
    c.save("p3.png", icc_profile=P3)
    c.save("adobergb.png", icc_profile=ADOBE)
    c.save("prophoto.png", icc_profile=PROPHOTO)
    c.save("adobergb.jpg", quality=95, subsampling=0, icc_profile=ADOBE)
    c.save("prophoto.webp", lossless=True, icc_profile=PROPHOTO)
    c.save("p3-bad.png", icc_profile=P3[: len(P3) // 2])
    c.save("rgb-lut.png", icc_profile=RGB_LUT)
    ramp = Image.new("L", (256, 4))
    ramp.putdata([x for _ in range(4) for x in range(256)])
    ramp.save("gray.png", icc_profile=GRAY)
    ramp.save("gray.jpg", quality=95, icc_profile=GRAY)
    with open("cmyk.jpg", "wb") as f:
        f.write(cmyk_jpeg(cmyk_samples()))
    with open("ycck.jpg", "wb") as f:
        f.write(cmyk_jpeg(ycck_samples(), transform=2))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    # Its header holds the time it was made and an MD5 of that: both fixed here.
    srgb = srgb[:24] + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + srgb[36:84] + bytes(16) + srgb[100:]
    for name, data in [("srgb", srgb), ("srgb-curv", SRGB_CURV), ("p3", P3), ("adobergb", ADOBE), ("prophoto", PROPHOTO), ("gray", GRAY), ("cmyk", CMYK), ("rgb-lut", RGB_LUT)]:
        with open(f"{name}.icc", "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
