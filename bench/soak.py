#!/usr/bin/env python3
"""Soak: `kiln serve` under the deployment's limits, for MINUTES (default 10), at 256
connections of mixed clients, with the numbers that say whether hostile clients hurt
the others.

    python3 bench/soak.py [--minutes 10] [--kiln target/release/kiln] [--out target/soak]

Clients (each a loop on its own connection, reconnecting when the server closes it):
  valid       6  small jobs (JPEG -> 64 px PNG, gzip, CSV -> JSON), answers checked
                 against `kiln run --engine native`; latency of each
  hostile     4  every case of tests/cases that expects an error, in turn
  silent      6  a job with a 32 MiB output (the deployment's --max-output-mib), never
                 read: 192 MiB against an output budget of 4 x 32 MiB; each gives up
                 after 35 s (past the send timeout) and sends another
  slow      100  announce 1 MB, send 3 bytes, then nothing (slow-upload attack)
  trickle    60  announce 64 KiB, send a byte a second (below --min-upload-kib-s)
  aborted    80  half a body, then close

Only the first three send whole requests, 16 at most at once: no more than
--max-jobs + --max-queue (4 + 12), so load shedding alone never answers a valid job 503,
and every 503 one gets is the doing of the slow, idle and non-reading clients. Goals
(exit 1 when missed): valid jobs never 503 and all correct, no 500 from anyone, RSS
under the deployment's memory limit (3584 MiB) all along.

Writes OUT/soak.json (every figure) and prints a summary.
"""
import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import tomllib
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The deployment's flags (deploy/kubernetes/deployment.yaml), on 127.0.0.1.
SERVE = ["--max-jobs", "4", "--job-memory-mib", "512", "--max-input-mib", "64", "--max-queue", "12",
         "--max-output-mib", "32", "--www", "/nonexistent"]
MEMORY_LIMIT_MIB = 3584

VALID = [
    ("resize width=64 | encode format=png", "tests/data/photo.jpg"),
    ("compress", "tests/data/lines.txt"),
    ("parse_csv | to_json", "tests/data/people.csv"),
]
# 2896 x 2896 x 4 bytes: just under 32 MiB.
SILENT = "resize width=2896 height=2896 fit=fill filter=nearest | encode format=rgba"


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def hostile_cases():
    cases = []
    for folder, _, files in os.walk(os.path.join(ROOT, "tests/cases")):
        for name in sorted(files):
            if not name.endswith(".toml"):
                continue
            with open(os.path.join(folder, name), "rb") as f:
                case = tomllib.load(f)
            if not case.get("expect", {}).get("error") or case.get("skip"):
                continue
            if "input" in case:
                data = read(os.path.normpath(os.path.join(os.path.relpath(folder, ROOT), case["input"])))
            elif "input_base64" in case:
                import base64
                data = base64.b64decode(case["input_base64"])
            else:
                data = case.get("input_text", "").encode()
            if len(data) <= 16 << 20:
                cases.append((case["pipeline"], data))
    return cases


def request(pipeline, body, length=None):
    query = urllib.parse.quote(pipeline, safe="")
    n = len(body) if length is None else length
    return (f"POST /v1/run?pipeline={query} HTTP/1.1\r\nhost: kiln\r\ncontent-length: {n}\r\n\r\n").encode()


async def read_response(reader):
    """(status, body) of one HTTP/1.1 response with content-length."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    body = await reader.readexactly(length)
    return status, body


class Stats:
    def __init__(self):
        self.latency = []
        self.status = {}
        self.wrong = 0
        self.errors = {}

    def count(self, kind, status):
        self.status.setdefault(kind, {}).setdefault(str(status), 0)
        self.status[kind][str(status)] += 1

    def error(self, kind, e):
        key = f"{kind}: {type(e).__name__}"
        self.errors[key] = self.errors.get(key, 0) + 1


async def connect(port):
    return await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)


async def valid(port, stats, expected, until):
    while time.monotonic() < until:
        try:
            reader, writer = await connect(port)
            while time.monotonic() < until:
                pipeline, data, want = random.choice(expected)
                t = time.perf_counter()
                writer.write(request(pipeline, data) + data)
                status, body = await asyncio.wait_for(read_response(reader), 90)
                stats.latency.append(time.perf_counter() - t)
                stats.count("valid", status)
                if status == 200 and body != want:
                    stats.wrong += 1
        except Exception as e:  # a closed connection: count it, reconnect
            stats.error("valid", e)
            await asyncio.sleep(0.1)


async def hostile(port, stats, cases, until):
    i = random.randrange(len(cases))
    while time.monotonic() < until:
        pipeline, data = cases[i % len(cases)]
        i += 1
        try:
            reader, writer = await connect(port)
            writer.write(request(pipeline, data) + data)
            status, _ = await asyncio.wait_for(read_response(reader), 90)
            stats.count("hostile", status)
            writer.close()
        except Exception as e:
            stats.error("hostile", e)
            await asyncio.sleep(0.1)


async def slow(port, stats, until):
    while time.monotonic() < until:
        try:
            reader, writer = await connect(port)
            writer.write(request("compress", b"", length=1_000_000) + b"abc")
            status, _ = await asyncio.wait_for(read_response(reader), 90)
            stats.count("slow", status)
            writer.close()
        except Exception as e:
            stats.error("slow", e)
            await asyncio.sleep(0.1)


async def trickle(port, stats, until):
    while time.monotonic() < until:
        try:
            reader, writer = await connect(port)
            writer.write(request("compress", b"", length=65536))
            answer = asyncio.ensure_future(read_response(reader))
            while not answer.done() and time.monotonic() < until:
                writer.write(b"x")
                await asyncio.sleep(1)
            status, _ = await asyncio.wait_for(answer, 90)
            stats.count("trickle", status)
            writer.close()
        except Exception as e:
            stats.error("trickle", e)
            await asyncio.sleep(0.1)


async def silent(port, stats, png, until):
    while time.monotonic() < until:
        try:
            reader, writer = await connect(port)
            writer.write(request(SILENT, png) + png)
            await writer.drain()
            # Never read (past what the socket and asyncio's buffer take), then give up
            # after 35 s, as a client that went away would: the server must have dropped
            # the response by then (send timeout 30 s) or earlier to make room.
            await asyncio.sleep(min(35, max(0, until - time.monotonic())))
            stats.count("silent", "given up")
            writer.close()
        except Exception as e:
            stats.error("silent", e)
            await asyncio.sleep(0.1)


async def aborted(port, stats, data, until):
    while time.monotonic() < until:
        try:
            reader, writer = await connect(port)
            writer.write(request("compress", data) + data[: len(data) // 2])
            await writer.drain()
            writer.close()
            stats.count("aborted", "closed")
            await asyncio.sleep(0.05)
        except Exception as e:
            stats.error("aborted", e)
            await asyncio.sleep(0.1)


async def get_metrics(port):
    reader, writer = await connect(port)
    writer.write(b"GET /metrics HTTP/1.1\r\nhost: kiln\r\n\r\n")
    _, body = await asyncio.wait_for(read_response(reader), 30)
    writer.close()
    return body.decode()


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def sample(pid, rss, until):
    while time.monotonic() < until:
        rss.append((time.monotonic(), rss_mib(pid)))
        await asyncio.sleep(1)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--kiln", default=os.path.join(ROOT, "target/release/kiln"))
    ap.add_argument("--out", default=os.path.join(ROOT, "target/soak"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    expected = []
    for pipeline, path in VALID:
        out = os.path.join(args.out, "expected")
        subprocess.run([args.kiln, "run", "--engine", "native", pipeline, os.path.join(ROOT, path), out], check=True,
                       stderr=subprocess.DEVNULL)
        expected.append((pipeline, read(path), open(out, "rb").read()))
    cases = hostile_cases()
    png = read("tests/data/gray.png")
    log = open(os.path.join(args.out, "server.log"), "w")
    server = subprocess.Popen([args.kiln, "serve", "--addr", "127.0.0.1:0", *SERVE], stdout=subprocess.PIPE,
                              stderr=log, env={**os.environ, "RUST_LOG": "warn"})
    line = server.stdout.readline().decode()
    port = int(line.rsplit(":", 1)[1])
    print(f"kiln serve on port {port}; {args.minutes} min, 256 connections; {len(cases)} hostile cases", flush=True)
    stats, rss = Stats(), []
    until = time.monotonic() + args.minutes * 60
    tasks = [sample(server.pid, rss, until)]
    tasks += [valid(port, stats, expected, until) for _ in range(6)]
    tasks += [hostile(port, stats, cases, until) for _ in range(4)]
    tasks += [silent(port, stats, png, until) for _ in range(6)]
    tasks += [slow(port, stats, until) for _ in range(100)]
    tasks += [trickle(port, stats, until) for _ in range(60)]
    tasks += [aborted(port, stats, expected[1][1], until) for _ in range(80)]
    started = time.monotonic()
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    metrics = await get_metrics(port)
    with open(os.path.join(args.out, "metrics.txt"), "w") as f:
        f.write(metrics)
    server.terminate()
    server.wait(timeout=120)
    lat = sorted(stats.latency)
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1e3 if lat else None
    all_500 = sum(v.get("500", 0) for v in stats.status.values())
    valid_503 = stats.status.get("valid", {}).get("503", 0)
    peak = max(m for _, m in rss) if rss else 0
    report = {
        "minutes": elapsed / 60,
        "machine": f"{os.cpu_count()} cores",
        "valid_jobs": len(lat),
        "valid_p50_ms": pct(0.5),
        "valid_p99_ms": pct(0.99),
        "valid_wrong_bytes": stats.wrong,
        "valid_503": valid_503,
        "status": stats.status,
        "client_errors": stats.errors,
        "all_500": all_500,
        "server": {line.split(" ")[0]: float(line.split(" ")[1]) for line in metrics.splitlines()
                   if line.startswith(("kiln_responses_dropped_total", "kiln_errors_total", "kiln_output_held_bytes"))},
        "rss_mib": {"start": rss[0][1] if rss else None, "peak": peak,
                    "median": statistics.median(m for _, m in rss) if rss else None,
                    "end": rss[-1][1] if rss else None,
                    "per_minute": [round(m) for t, m in rss[::60]]},
    }
    with open(os.path.join(args.out, "soak.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps(report, indent=2))
    ok = valid_503 == 0 and all_500 == 0 and stats.wrong == 0 and peak < MEMORY_LIMIT_MIB and lat
    print("goals met" if ok else "GOALS MISSED", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
