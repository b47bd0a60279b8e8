#!/usr/bin/env python3
"""Colour management (issue 19, item 3) checked against littleCMS, through Pillow's
ImageCms, an implementation independent of kiln's (moxcms parses, kiln transforms).

    python3 tests/pillow/icc.py [KILN]      (KILN: default target/debug/kiln)

Each case tests/cases/image/icc-*.toml has an input of tests/data/icc (written with
profiles made byte by byte by tests/data/icc/make_icc.py) and is run with
`kiln run --engine native`; its sha256 must be the sha256 of kiln's output, so the
bytes the conformance matrix asks of every target are the ones checked here.

- Converted (`encode format=rgba`): littleCMS's transform of the same source samples
  from the embedded profile to its built-in sRGB, relative colorimetric (for matrix/TRC
  profiles every intent is this one; Pillow's default, perceptual, makes littleCMS add
  black point compensation towards its V4 sRGB, which browsers do not). The source
  samples: Pillow's decode for PNG and WebP (lossless, the same as kiln's); for RGB and
  grey JPEGs kiln's own `decode icc=ignore` pixels, so the two JPEG decoders' rounding
  is not counted; for CMYK and YCCK JPEGs Pillow's (libjpeg's) CMYK samples. The bar:
  mean difference under 1 level, largest under 3 (every colour channel of every pixel).
  An RGB profile made of a LUT (rgb-lut.png, not one of issue 19's five) is held to a
  mean under 1 and a largest difference of 8: littleCMS re-linearises such a grid along
  the grey axis before it resamples it and kiln does not, so where a colour clips to
  near 0 the two interpolate differently (7 levels apart at most, either side of the
  exact colour; image/icc.rs).
- `decode icc=ignore`, and a profile cut in half (ignored, as browsers do): the decoded
  values, exactly.
- `encode icc=keep`: the output carries the source's profile byte for byte, its pixels
  are the source's unconverted ones (exactly for PNG and WebP, JPEG within the
  re-encode's loss); a CMYK source's output carries no profile and is sRGB.

Pillow comes from the venv lenient.py makes (target/pillow-venv)."""
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lenient import ROOT, ensure_pillow  # noqa: E402

ensure_pillow()
from PIL import Image, ImageCms  # noqa: E402

SRGB = ImageCms.createProfile("sRGB")
CASES = os.path.join(ROOT, "tests", "cases", "image")


def kiln_run(kiln, pipeline, path, suffix=".out"):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out" + suffix)
        run = subprocess.run([kiln, "run", "--engine", "native", pipeline, path, out], capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"kiln failed on {pipeline!r}: {run.stderr.strip()}")
        with open(out, "rb") as f:
            return f.read()


def littlecms(src, icc):
    """src (RGB, L or CMYK) from profile `icc` to sRGB, as RGBA bytes."""
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    out = ImageCms.profileToProfile(src, profile, SRGB, renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                                    outputMode="RGB")
    return out.convert("RGBA").tobytes()


def differences(got, expected):
    return [abs(a - b) for i, (a, b) in enumerate(zip(got, expected)) if i % 4 != 3]


def converted(kiln, path):
    """The reference of a converted image, and what it is."""
    with Image.open(path) as im:
        icc = im.info["icc_profile"]
        if im.mode == "CMYK":
            return littlecms(im, icc), "littleCMS on libjpeg's CMYK"
        if path.endswith(".jpg"):
            raw = kiln_run(kiln, "decode icc=ignore | encode format=rgba", path)
            src = Image.frombytes("RGBA", im.size, raw).convert(im.mode)
            return littlecms(src, icc), "littleCMS on kiln's undecoded-profile pixels"
        return littlecms(im.convert(im.mode), icc), "littleCMS on Pillow's decode"


def raw_pixels(path):
    with Image.open(path) as im:
        return im.convert("RGBA").tobytes()


def check_case(kiln, name, case, results):
    path = os.path.normpath(os.path.join(CASES, case["input"]))
    pipeline = case["pipeline"]
    got = kiln_run(kiln, pipeline, path)
    problems = []
    digest = hashlib.sha256(got).hexdigest()
    if case["expect"].get("sha256") != digest:
        problems.append(f"sha256 {case['expect'].get('sha256')} is not kiln's checked {digest}")
    profile_name = os.path.basename(path)
    if "icc=keep" in pipeline:
        out = Image.open(io.BytesIO(got))
        with Image.open(path) as src:
            source_icc = src.info.get("icc_profile")
            cmyk = src.mode == "CMYK"
        kept = out.info.get("icc_profile")
        if cmyk:
            if kept is not None:
                problems.append("a CMYK source's profile was embedded in an RGB output")
            expected, _ = converted(kiln, path)
            what = "no profile; sRGB pixels"
        else:
            if kept != source_icc:
                problems.append("the output does not carry the source's profile byte for byte")
            expected = raw_pixels(path)
            what = "the source's profile; its pixels unconverted"
        d = differences(out.convert("RGBA").tobytes(), expected)
        lossy = "format=jpeg" in pipeline
        worst, mean = max(d), sum(d) / len(d)
        if (lossy and mean > 2) or (not lossy and worst > (2 if cmyk else 0)):
            problems.append(f"pixels: mean {mean:.3f}, largest {worst}")
        print(f"{'ok  ' if not problems else 'FAIL'} {name}: {what}; pixels mean {mean:.3f}, largest {worst}")
        return problems
    if "icc=ignore" in pipeline or "bad" in profile_name:
        expected = raw_pixels(path) if not profile_name.startswith(("cmyk", "ycck")) else None
        if expected is None:
            # A CMYK JPEG without its profile: converted naively, (255 - ink) x (255 - k).
            with Image.open(path) as im:
                cmyk = im.tobytes()
            expected = bytearray()
            for i in range(0, len(cmyk), 4):
                c, m, y, k = cmyk[i:i + 4]
                expected += bytes([round((255 - v) * (255 - k) / 255) for v in (c, m, y)] + [255])
            tolerance = 2  # the two JPEG decoders' rounding
        else:
            tolerance = 0
        d = differences(got, expected)
        if max(d) > tolerance:
            problems.append(f"not the decoded values: largest difference {max(d)} (at most {tolerance})")
        print(f"{'ok  ' if not problems else 'FAIL'} {name}: decoded values unconverted, largest difference"
              f" {max(d)} (at most {tolerance})")
        return problems
    expected, how = converted(kiln, path)
    d = differences(got, expected)
    mean, worst = sum(d) / len(d), max(d)
    results.append((profile_name, mean, worst))
    largest = 8 if profile_name.startswith("rgb-lut") else 2
    if not (mean < 1 and worst <= largest):
        problems.append(f"mean {mean:.3f} (under 1), largest {worst} (at most {largest}) from {how}")
    print(f"{'ok  ' if not problems else 'FAIL'} {name}: {how}: mean {mean:.3f} (under 1), largest {worst}"
          f" (at most {largest}), {len(d) // 3} pixels")
    return problems


def main():
    kiln = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "kiln")
    failures, results = [], []
    names = sorted(n for n in os.listdir(CASES) if n.startswith("icc-") and n.endswith(".toml"))
    if not names:
        failures.append("no icc-*.toml cases")
    for name in names:
        with open(os.path.join(CASES, name), "rb") as f:
            case = tomllib.load(f)
        if "error" in case["expect"]:
            continue  # hostile cases: the conformance matrix checks the code
        try:
            failures += [f"{name}: {p}" for p in check_case(kiln, name, case, results)]
        except Exception as e:  # noqa: BLE001 - reported as a failure of this case
            failures.append(f"{name}: {e}")
    if failures:
        print("\n".join(["", "FAILED:", *failures]))
        sys.exit(1)
    print(f"{len(names)} colour management cases agree with littleCMS / the decoded values")


if __name__ == "__main__":
    main()
