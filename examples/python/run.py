"""kiln's kernel component from Python through wasmtime-py: a 64-pixel-wide PNG thumbnail.

    kiln export-kernel kiln-kernel.wasm
    pip install -r requirements.txt
    python run.py kiln-kernel.wasm photo.jpg thumb.png
"""
import sys

from wasmtime import Engine, Store
from wasmtime.component import Component, Linker, Record

MiB = 1 << 20
# The host's caps on a job (the kernel's defaults); a pipeline may only tighten them.
DEFAULTS = {"max-input-bytes": 256 * MiB, "max-output-bytes": 256 * MiB, "max-pixels": 64 * MiB,
            "max-dimension": 65535, "max-decompressed-bytes": 256 * MiB, "max-rows": 10_000_000,
            "max-columns": 16384, "max-json-depth": 128, "max-memory-bytes": 1024 * MiB}


def limits(**caps):
    record = Record()
    record.__dict__.update(DEFAULTS, **caps)
    return record


component_path, input_path, output_path = sys.argv[1:4]
engine = Engine()
store = Store(engine)
kernel = Linker(engine).instantiate(store, Component.from_file(engine, component_path))
# The calls are in the interface `api` of kernel/wit/kiln.wit.
api = kernel.get_export_index(store, "kiln:kernel/api@0.4.0")
run = kernel.get_func(store, kernel.get_export_index(store, "run", api))

with open(input_path, "rb") as f:
    result = run(store, "resize width=64 | encode format=png", f.read(), limits())
if result.tag == "err":  # the WIT `error` record
    e = result.payload
    sys.exit(f"kiln: {e.code} at step {'-' if e.step is None else e.step}: {e.message}")
with open(output_path, "wb") as f:
    f.write(result.payload.data)
meta = result.payload.meta
print(f"{output_path}: {meta.width}x{meta.height} {meta.__dict__['content-type']}, {len(result.payload.data)} bytes")
