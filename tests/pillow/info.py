#!/usr/bin/env python3
"""`info` checked against Pillow's own reading of each file (an independent parser).

    python3 tests/pillow/info.py [KILN]      (KILN: default target/debug/kiln)

For every case of tests/cases/info whose expectation is a JSON file, kiln's answer
must equal that file (so the bytes every target must give are the ones checked here),
and each field must agree with Pillow:

- format, width, height; oriented size: `ImageOps.exif_transpose(im).size`;
  orientation: EXIF tag 0x0112 (`null` when absent).
- colour type from Pillow's mode (L and I;16 grey, LA, RGB, RGBA, P palette, CMYK);
  has_alpha: an alpha band, or a `transparency` entry; bit depth 16 for I;16, 8 for
  the others but palettes (Pillow does not say a palette's index size: not checked).
- icc: Pillow's `icc_profile`; its description by littleCMS
  (`ImageCms.getProfileDescription`).
- frames: `n_frames`; progressive: JPEG's `progressive`, PNG's `interlace` (Pillow
  does not report GIF interlacing: that one is checked on the descriptor's flag).
- exif: Make, Model, DateTimeOriginal (EXIF IFD), GPS present (a GPS IFD with tags).

And metadata on output, read back by Pillow: `encode` writes no EXIF and no ICC profile
by default; `exif=keep` writes the source's EXIF with orientation 1, so Pillow's
`exif_transpose` leaves the (already upright) pixels as they are.
Pillow comes from the venv lenient.py makes (target/pillow-venv)."""
import io
import json
import os
import subprocess
import sys
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lenient import ROOT, ensure_pillow  # noqa: E402

ensure_pillow()
from PIL import Image, ImageCms, ImageOps  # noqa: E402

MODES = {"L": ("gray", 8), "I;16": ("gray", 16), "LA": ("gray_alpha", 8), "RGB": ("rgb", 8),
         "RGBA": ("rgba", 8), "P": ("palette", None), "CMYK": ("cmyk", 8)}


def text(v):
    if v is None:
        return None
    v = v.decode("latin-1") if isinstance(v, bytes) else str(v)
    v = v.strip("\0 ")
    return v or None


def pillow_view(path):
    with Image.open(path) as im:
        exif = im.getexif()
        orientation = exif.get(0x0112)
        colour, depth = MODES[im.mode]
        alpha = "A" in im.getbands() or "transparency" in im.info
        if im.mode == "P" and "transparency" in im.info:
            colour = "palette"
        icc = im.info.get("icc_profile")
        description = None
        if icc:
            description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
        if im.format == "JPEG":
            progressive = bool(im.info.get("progressive"))
        elif im.format == "PNG":
            progressive = bool(im.info.get("interlace"))
        elif im.format == "GIF":
            with open(path, "rb") as f:
                data = f.read()
            progressive = bool(data[data.index(b"\x2c\x00\x00\x00\x00") + 9] & 0x40)
        else:
            progressive = False
        gps = exif.get_ifd(0x8825)
        view = {
            "format": im.format.lower(),
            "width": im.size[0],
            "height": im.size[1],
            "orientation": orientation,
            "has_alpha": alpha,
            "color_type": colour,
            "icc": bool(icc),
            "icc_description": description,
            "frames": getattr(im, "n_frames", 1),
            "progressive": progressive,
            "exif": None if len(exif) == 0 else {
                "make": text(exif.get(0x010F)),
                "model": text(exif.get(0x0110)),
                "date_taken": text(exif.get_ifd(0x8769).get(0x9003)),
                "gps": len(gps) > 0,
            },
        }
        if depth is not None:
            view["bit_depth"] = depth
        upright = ImageOps.exif_transpose(im)
        view["oriented_width"], view["oriented_height"] = upright.size
    return view


def main():
    kiln = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "kiln")
    cases_dir = os.path.join(ROOT, "tests", "cases", "info")
    failures, checked = [], 0
    for name in sorted(os.listdir(cases_dir)):
        if not name.endswith(".toml"):
            continue
        with open(os.path.join(cases_dir, name), "rb") as f:
            case = tomllib.load(f)
        if "json" not in case["expect"] or "input" not in case:
            continue
        path = os.path.normpath(os.path.join(cases_dir, case["input"]))
        run = subprocess.run([kiln, "run", "--engine", "native", case["pipeline"], path],
                             capture_output=True)
        if run.returncode != 0:
            failures.append(f"{name}: kiln failed: {run.stderr.decode().strip()}")
            continue
        got = json.loads(run.stdout)
        with open(os.path.join(cases_dir, case["expect"]["json"])) as f:
            if json.load(f) != got:
                failures.append(f"{name}: kiln's answer is not the case's JSON file")
        if case["pipeline"] != "info":
            continue  # the input is not what info read
        view = pillow_view(path)
        wrong = [f"{k}: kiln {got.get(k)!r}, Pillow {v!r}" for k, v in view.items() if got.get(k) != v]
        checked += 1
        print(f"{'ok  ' if not wrong else 'FAIL'} {name}: {len(view)} fields against Pillow")
        failures += [f"{name}: {w}" for w in wrong]
    failures += check_output_metadata(kiln)
    if checked < 10:
        failures.append(f"only {checked} files checked; the cases are missing")
    for f in failures:
        print(f, file=sys.stderr)
    return 1 if failures else 0


def check_output_metadata(kiln):
    failures = []
    src = os.path.join(ROOT, "tests", "data", "info", "phone.jpg")  # EXIF + GPS, orientation 6, ICC
    with Image.open(src) as im:
        upright = ImageOps.exif_transpose(im).size
    for fmt in ("jpeg", "png", "webp"):
        for keep in (False, True):
            pipeline = f"encode format={fmt}" + (" exif=keep" if keep else "")
            run = subprocess.run([kiln, "run", "--engine", "native", pipeline, src], capture_output=True)
            if run.returncode != 0:
                failures.append(f"{pipeline}: kiln failed: {run.stderr.decode().strip()}")
                continue
            with Image.open(io.BytesIO(run.stdout)) as im:
                exif = im.getexif()
                got = {
                    "size": im.size,
                    "upright": ImageOps.exif_transpose(im).size,
                    "make": text(exif.get(0x010F)),
                    "orientation": exif.get(0x0112),
                    "gps": len(exif.get_ifd(0x8825)) > 0,
                    "icc": bool(im.info.get("icc_profile")),
                }
            want = {"size": upright, "upright": upright, "make": "KilnCam" if keep else None,
                    "orientation": 1 if keep else None, "gps": keep, "icc": False}
            ok = got == want
            print(f"{'ok  ' if ok else 'FAIL'} {pipeline}: read back by Pillow {got}")
            if not ok:
                failures.append(f"{pipeline}: Pillow reads {got}, expected {want}")
    return failures


if __name__ == "__main__":
    sys.exit(main())
