"""The Python example against the `kiln` binary: run.py's thumbnail is byte for byte what
`kiln run` writes, and a kiln error ends it with the error's code. The kernel component
comes from `kiln export-kernel`; the conformance matrix's `wasmtime-py` column runs every
case through the same API (tests/py/wasmtime-py-target.py).

    target/wasmtime-py-venv/bin/python -m unittest discover -s examples/python
"""
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
KILN = os.environ.get("KILN_BIN", str(ROOT / "target/debug/kiln"))
PHOTO = str(ROOT / "tests/data/photo.jpg")


class RunExample(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.kernel = os.path.join(cls.dir.name, "kiln-kernel.wasm")
        subprocess.run([KILN, "export-kernel", cls.kernel], check=True, capture_output=True)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def example(self, *args):
        return subprocess.run([sys.executable, str(HERE / "run.py"), self.kernel, *args],
                              capture_output=True, text=True)

    def test_thumbnail_is_kiln_runs(self):
        ours, theirs = (os.path.join(self.dir.name, n) for n in ("py.png", "kiln.png"))
        done = self.example(PHOTO, ours)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertRegex(done.stdout, r"py\.png: 64x\d+ image/png, \d+ bytes")
        subprocess.run([KILN, "run", "resize width=64 | encode format=png", PHOTO, theirs], check=True)
        with open(ours, "rb") as a, open(theirs, "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_a_kiln_error_is_reported(self):
        text = os.path.join(self.dir.name, "not-an-image.txt")
        with open(text, "w") as f:
            f.write("not an image at all")
        done = self.example(text, os.path.join(self.dir.name, "never.png"))
        self.assertEqual(done.returncode, 1)
        self.assertIn("kiln: bad-input at step", done.stderr)


if __name__ == "__main__":
    unittest.main()
