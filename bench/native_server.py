"""Start-up to first answer, HTTP throughput (wrk, 64 connections) and RSS of `kiln serve`.
Usage: python3 bench/native_server.py OUT_DIR (with $KILN the release binary)."""
import os, statistics, subprocess, sys, threading, time, urllib.request

kiln, out = os.environ["KILN"], sys.argv[1]

def start(*extra):
    t0 = time.perf_counter()
    p = subprocess.Popen([kiln, "serve", "--addr", "127.0.0.1:0", *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = p.stdout.readline().split()[-1]
    with urllib.request.urlopen(url + "/healthz") as r:
        r.read()
    return p, url, time.perf_counter() - t0

def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

# Warm the compiled-code cache once, then time 15 cold starts.
p, url, _ = start(); p.terminate(); p.wait()
times = []
for _ in range(15):
    p, url, t = start(); times.append(t); p.terminate(); p.wait()
print(f"start-up to first answered request (cached code): median {statistics.median(times)*1e3:.1f} ms, min {min(times)*1e3:.1f} ms")

p, url, _ = start()
time.sleep(0.5)
idle = rss_kib(p.pid)
lua = os.path.join(out, "gzip.lua")
with open(lua, "w") as f:
    f.write('wrk.method = "POST"\nwrk.body = string.rep("kiln gzip benchmark line of text\\n", 32)\nwrk.headers["kiln-pipeline"] = "compress level=6"\n')
peak = [idle]
stop = threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], rss_kib(p.pid)); time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()
runs = []
for _ in range(3):
    r = subprocess.run(["wrk", "-t2", "-c64", "-d8s", "--latency", "-s", lua, url + "/v1/run"], capture_output=True, text=True).stdout
    rps = float([l for l in r.splitlines() if l.startswith("Requests/sec")][0].split()[1])
    lat = {l.split()[0]: l.split()[1] for l in r.splitlines() if l.strip().startswith(("50%", "99%"))}
    runs.append((rps, lat))
stop.set()
med = sorted(runs)[1]
print(f"HTTP POST /v1/run gzip of 1 KiB, 64 connections, wrk 2 threads: median {med[0]:.0f} req/s (runs: {', '.join(f'{r[0]:.0f}' for r in runs)}), latency p50 {med[1].get('50%')}, p99 {med[1].get('99%')}")
print(f"RSS: idle {idle/1024:.1f} MiB, peak under load {peak[0]/1024:.1f} MiB")
p.terminate(); p.wait()
