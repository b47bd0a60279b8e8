#!/usr/bin/env python3
"""Decoders as lenient as browsers (issue 18, item 10), checked against Pillow.

    python3 tests/pillow/lenient.py [KILN]      (KILN: default target/debug/kiln)

For each case tests/cases/image/lenient-*.toml (`encode format=rgba` of a file of
tests/data/lenient/), the expected pixels come from outside kiln: Pillow's decode where
Pillow is lenient too (a BMP `planes` field other than 1, RLE stored top-down, TIFF
associated alpha), and the pixels the file was written with (tests/data/make_lenient.py)
where Pillow refuses the file or differs from browsers (an RLE stream cut short, a BMP
alpha mask that is zero everywhere: browsers show it opaque, Pillow transparent). The
case's sha256 must be the sha256 of those pixels, and `kiln run --engine native` must
give them. YCbCr TIFFs with subsampled chroma must give Pillow's pixels exactly (Pillow
reads them with libtiff; the uncompressed one, which Pillow cannot read, must give the
pixels of the same samples deflated). Other YCbCr TIFFs are compared with Pillow within a stated tolerance (the YCbCr ->
RGB rounding, and for JPEG-compressed ones the JPEG decoder, differ): there the case's
sha256 is of kiln's pixels, once they are within it. The conformance matrix then runs
the cases on every target.

Pillow comes from a venv under target/ (created on first use; pinned below)."""
import hashlib
import os
import subprocess
import sys
import tempfile
import tomllib
import venv

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PILLOW = "Pillow==13.0.0"
VENV = os.path.join(ROOT, "target", "pillow-venv")


def ensure_pillow():
    """Runs this script again in the venv, unless it runs there already."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    python = os.path.join(VENV, "bin", "python")
    if not os.path.exists(python):
        venv.create(VENV, with_pip=True)
    pinned = f"import PIL; assert PIL.__version__ == {PILLOW.split('==')[1]!r}"
    if subprocess.run([python, "-c", pinned], capture_output=True).returncode != 0:
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PILLOW], check=True)
    os.execv(python, [python, *sys.argv])


ensure_pillow()
from PIL import Image  # noqa: E402

BLACK, RED, GREEN, BLUE = (0, 0, 0, 255), (255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255)


def pillow(path):
    with Image.open(path) as im:
        return im.convert("RGBA").tobytes()


def written(name):
    """The pixels a file was written with, top row first, RGBA."""
    if name == "rle8-truncated.bmp":
        # 8 x 4 bottom-up: the bottom row 8 x blue, the one above 3 x green, then the
        # stream ends: the rest is black (as RLE's own skipped pixels).
        rows = [[BLACK] * 8, [BLACK] * 8, [GREEN] * 3 + [BLACK] * 5, [BLUE] * 8]
    elif name == "bitfields-zero-alpha.bmp":
        # 3 x 2: pixel (x, y) = (80x + 3, 60y + 2, 10x + 1), opaque (browsers ignore an
        # alpha mask that is zero in every pixel).
        rows = [[(80 * x + 3, 60 * y + 2, 10 * x + 1, 255) for x in range(3)] for y in range(2)]
    else:
        raise KeyError(name)
    return b"".join(bytes(p) for row in rows for p in row)


REFERENCE = {
    "ycbcr-lzw.tif": "pillow within 1",
    "ycbcr-jpeg.tif": "pillow within 2",
    "ycbcr-22-deflate.tif": "pillow",
    "ycbcr-21-packbits.tif": "pillow",
    "ycbcr-42-lzw.tif": "pillow",
    # Pillow cannot read subsampled chroma uncompressed: the same samples, deflated.
    "ycbcr-22-none.tif": "pillow of ycbcr-22-deflate.tif",
    "planes2.bmp": "pillow",
    "rle8-topdown.bmp": "pillow",
    "associated-alpha.tif": "pillow",
    "rle8-truncated.bmp": "written",
    "bitfields-zero-alpha.bmp": "written",
}


def main():
    kiln = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "kiln")
    cases_dir = os.path.join(ROOT, "tests", "cases", "image")
    seen, failures = set(), []
    for case_name in sorted(os.listdir(cases_dir)):
        if not case_name.startswith("lenient-"):
            continue
        with open(os.path.join(cases_dir, case_name), "rb") as f:
            case = tomllib.load(f)
        path = os.path.normpath(os.path.join(cases_dir, case["input"]))
        name = os.path.basename(path)
        seen.add(name)
        how = REFERENCE[name]
        if how.startswith("pillow of "):
            expected = pillow(os.path.join(os.path.dirname(path), how.split()[-1]))
        elif how.startswith("pillow"):
            expected = pillow(path)
        else:
            expected = written(name)
        tolerance = int(how.rsplit(" ", 1)[1]) if " within " in how else 0
        if name == "associated-alpha.tif":
            # Pillow un-premultiplied the samples (they are not what the file stores).
            with open(path, "rb") as f:
                assert f.read()[-len(expected):] != expected, "Pillow read associated alpha as straight"
        if case["pipeline"] != "encode format=rgba":
            failures.append(f"{case_name}: the pipeline must be `encode format=rgba`")
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out.rgba")
            run = subprocess.run([kiln, "run", "--engine", "native", "encode format=rgba", path, out],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                failures.append(f"{case_name}: kiln failed: {run.stderr.strip()}")
                continue
            with open(out, "rb") as f:
                got = f.read()
        if tolerance:
            close = len(got) == len(expected) and max(abs(a - b) for a, b in zip(got, expected)) <= tolerance
            expected = got if close else expected
        digest = hashlib.sha256(expected).hexdigest()
        if case["expect"].get("sha256") != digest:
            failures.append(f"{case_name}: sha256 {case['expect'].get('sha256')} is not {how}'s {digest}")
        if got != expected:
            failures.append(f"{case_name}: kiln's pixels differ from {how}'s")
        print(f"{'ok  ' if got == expected else 'FAIL'} {name} ({how})")
    missing = set(REFERENCE) - seen
    if missing:
        failures.append(f"no case for {sorted(missing)}")
    for f in failures:
        print(f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
