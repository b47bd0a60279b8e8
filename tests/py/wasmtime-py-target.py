"""The `wasmtime-py` target of kiln-cases: the kernel component (kiln export-kernel) in
wasmtime-py's component API, one fresh instance per job, the kernel's default limits;
driven over JSON lines exactly like tests/js/node-target.mjs:

    python wasmtime-py-target.py KERNEL.wasm
    stdin:  {"pipeline": "...", "input": "<base64>"}            one job per line
            (with "chunks": [n, ...]: through the `session` resource, the input pushed
            in pieces of those sizes, cycled)
    stdout: {"ok": true, "data": "<base64>", "meta": {...}}
          | {"ok": false, "code": "...", "message": "..."}       the WIT `error`
          | {"crash": "..."}                                      a trap, or anything else
"""
import base64
import json
import sys

from wasmtime import Engine, Store
from wasmtime.component import Component, Linker, Record

MiB = 1 << 20
DEFAULTS = {"max-input-bytes": 256 * MiB, "max-output-bytes": 256 * MiB, "max-pixels": 64 * MiB,
            "max-dimension": 65535, "max-decompressed-bytes": 256 * MiB, "max-rows": 10_000_000,
            "max-columns": 16384, "max-json-depth": 128, "max-memory-bytes": 1024 * MiB}
# `meta` as kiln_kernel::Meta::to_json writes it: its field order, absent fields left out.
META = ["kind", "content-type", "width", "height", "format", "trim-left", "trim-top", "rows", "columns", "version"]

# The interface of kernel/wit/kiln.wit the calls are in.
API = "kiln:kernel/api@0.4.0"

engine = Engine()
linker = Linker(engine)
component = Component.from_file(engine, sys.argv[1])
limits = Record()
limits.__dict__.update(DEFAULTS)


def job(pipeline, data, chunks=None):
    store = Store(engine)
    instance = linker.instantiate(store, component)
    api = instance.get_export_index(store, API)
    call = lambda name: instance.get_func(store, instance.get_export_index(store, name, api))  # noqa: E731
    if chunks is None:
        result = call("run")(store, pipeline, data, limits)
    else:
        result = streamed(store, call, pipeline, data, chunks)
    if result.tag == "err":
        e = result.payload
        if e.code == "internal":
            return {"crash": e.message}
        return {"ok": False, "code": e.code.replace("-", "_"), "message": e.message}
    out = result.payload
    meta = {k.replace("-", "_"): out.meta.__dict__[k] for k in META if out.meta.__dict__[k] is not None}
    return {"ok": True, "data": base64.b64encode(out.data).decode(), "meta": meta}


class Result:
    """A `result` as `run` gives it: `tag` "ok" or "err", and `payload`."""

    def __init__(self, tag, payload):
        self.tag, self.payload = tag, payload


def tagged(value):
    """wasmtime-py tags a `result` (a Variant) only when its ok and err cases lift to the
    same Python class (two records); otherwise it gives the value itself, an `error`
    record (it has `code`) for err."""
    if hasattr(value, "tag"):
        return value
    return Result("err" if hasattr(value, "code") else "ok", value)


class Joined:
    """`finish`'s output record with the data of every push before it."""

    def __init__(self, data, meta):
        self.data, self.meta = data, meta


def streamed(store, call, pipeline, data, chunks):
    opened = tagged(call("[static]session.open")(store, pipeline, limits))
    if opened.tag == "err":
        return opened
    session, parts, at, i = opened.payload, [], 0, 0
    while at < len(data):
        n = max(1, chunks[i % len(chunks)])
        pushed = tagged(call("[method]session.push")(store, session, data[at:at + n]))
        if pushed.tag == "err":
            return pushed
        parts.append(pushed.payload)
        at, i = at + n, i + 1
    finished = tagged(call("[method]session.finish")(store, session))
    if finished.tag == "err":
        return finished
    parts.append(finished.payload.data)
    return Result("ok", Joined(b"".join(parts), finished.payload.meta))


for line in sys.stdin:
    if not line.strip():
        continue
    request = json.loads(line)
    try:
        reply = job(request["pipeline"], base64.b64decode(request["input"]), request.get("chunks"))
    except Exception as e:  # a trap, or a bug of this driver: a crash cell, never a pass
        reply = {"crash": f"{type(e).__name__}: {e}"}
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
