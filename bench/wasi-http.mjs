// Per-request latency of kiln-http under `wasmtime serve` next to `kiln serve`, on the same
// small jobs: sequential requests on one keep-alive connection each, the two servers
// alternating request by request, after a warm-up; median and p90 of N (default 500).
//
//   scripts/build-wasi-http.sh && cargo build --release -p kiln-native
//   KILN_BIN=target/release/kiln node bench/wasi-http.mjs [N]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startWasmtime, startNative, root } from '../bindings-wasi/test/lib.mjs';

const n = Number(process.argv[2] ?? 500);
const jobs = [
  ['gzip 1 KiB of text', 'compress format=gzip', readFileSync(resolve(root, 'tests/data/lines.txt')).subarray(0, 1024)],
  ['64 px PNG thumbnail of a JPEG', 'resize width=64 | encode format=png', readFileSync(resolve(root, 'tests/data/photo.jpg'))],
];
const servers = await Promise.all([startNative(), startWasmtime()]);
const names = ['kiln serve', 'wasmtime serve'];
const once = async (url, pipeline, body) => {
  const t = process.hrtime.bigint();
  const res = await fetch(`${url}/v1/run?pipeline=${encodeURIComponent(pipeline)}`, { method: 'POST', body });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
};
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))];
try {
  for (const [what, pipeline, body] of jobs) {
    const times = servers.map(() => []);
    for (let i = 0; i < n + 50; i++) {
      for (const [k, s] of servers.entries()) {
        const ms = await once(s.url, pipeline, body);
        if (i >= 50) times[k].push(ms);
      }
    }
    console.log(`${what} (${body.length} bytes in), ${n} requests each:`);
    for (const [k, t] of times.entries()) {
      console.log(`  ${names[k].padEnd(15)} median ${quantile(t, 0.5).toFixed(2)} ms, p90 ${quantile(t, 0.9).toFixed(2)} ms`);
    }
  }
} finally {
  for (const s of servers) s.stop();
}
