// The Worker's numbers, in workerd through Miniflare (needs scripts/build-edge.sh and
// target/debug/kiln for making test JPEGs):
//   node bindings-edge/bench/numbers.mjs
// - bundle size raw and gzipped;
// - cold start: `new Miniflare()` (workerd process start, wasm compile) to the first answer;
// - latency of small jobs (median and p95 of 50 after 5 warm-ups);
// - JPEG ladder: the largest JPEG that resizes to an 800 px thumbnail, each size in a
//   fresh isolate, with the wasm memory high-water mark (GET /_kiln/memory).
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { startWorker, buildDir, root } from '../test/lib.mjs';

const MiB = 1 << 20;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))];
const fmt = (ms) => `${ms.toFixed(1)} ms`;

const files = ['index.js', 'index_bg.wasm'].map((f) => readFileSync(resolve(buildDir, f)));
const raw = files.reduce((n, f) => n + f.length, 0);
const gz = files.reduce((n, f) => n + gzipSync(f, { level: 9 }).length, 0);
console.log(`bundle: ${raw} bytes raw (${(raw / MiB).toFixed(2)} MiB), ${gz} bytes gzipped (${(gz / MiB).toFixed(2)} MiB)`);

// Cold start.
const colds = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  const mf = await startWorker();
  const res = await mf.dispatchFetch('http://127.0.0.1/healthz');
  await res.text();
  colds.push(performance.now() - t0);
  const t1 = performance.now();
  const job = await mf.dispatchFetch('http://127.0.0.1/v1/run?pipeline=compress', { method: 'POST', body: 'x' });
  await job.arrayBuffer();
  if (i === 0) console.log(`first job after start: ${fmt(performance.now() - t1)}`);
  await mf.dispose();
}
console.log(`cold start (runtime start to first answer): median ${fmt(median(colds))} of ${colds.map(fmt).join(', ')}`);

// Small jobs.
const mf = await startWorker({ KILN_DEBUG: '1' });
const photo = readFileSync(resolve(root, 'tests/data/photo.jpg'));
const jobs = [
  ['healthz (routing only)', 'GET', '/healthz', undefined],
  ['gzip 1 KiB', 'POST', '/v1/run?pipeline=compress', Buffer.alloc(1024, 'kiln ')],
  ['thumbnail 64 px PNG of a 19 KB JPEG', 'POST', `/v1/run?pipeline=${encodeURIComponent('resize width=64 | encode format=png')}`, photo],
];
for (const [name, method, path, body] of jobs) {
  const times = [];
  for (let i = 0; i < 55; i++) {
    const t0 = performance.now();
    const res = await mf.dispatchFetch(`http://127.0.0.1${path}`, { method, body });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${name}: ${res.status}`);
    if (i >= 5) times.push(performance.now() - t0);
  }
  console.log(`latency ${name}: median ${fmt(median(times))}, p95 ${fmt(p95(times))}`);
}
await mf.dispose();

// JPEG ladder.
const kiln = process.env.KILN_BIN ?? resolve(root, 'target/debug/kiln');
const dir = mkdtempSync(join(tmpdir(), 'kiln-edge-'));
const sizes = [[2000, 1500], [3000, 2000], [4000, 3000], [4032, 3024], [4096, 3072], [4800, 3200], [6000, 4000]];
const pipeline = 'resize width=800 | encode format=jpeg quality=80';
try {
  for (const [w, h] of sizes) {
    // A photo-like picture: smooth gradients plus fine texture, JPEG quality 90.
    const rgba = Buffer.alloc(w * h * 4);
    let seed = 12345;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        const n = (seed >>> 24) & 31;
        const i = (y * w + x) * 4;
        rgba[i] = (x * 255 / w + n) & 255;
        rgba[i + 1] = (y * 255 / h + n) & 255;
        rgba[i + 2] = ((x + y) * 128 / (w + h) + 64 + n) & 255;
        rgba[i + 3] = 255;
      }
    }
    const rawPath = join(dir, 'in.rgba');
    const jpgPath = join(dir, `${w}x${h}.jpg`);
    writeFileSync(rawPath, rgba);
    execFileSync(kiln, ['run', '--engine', 'native', `decode format=rgba width=${w} height=${h} | encode format=jpeg quality=90`, rawPath, jpgPath], { stdio: ['ignore', 'ignore', 'ignore'] });
    const jpg = readFileSync(jpgPath);
    const worker = await startWorker({ KILN_DEBUG: '1' });
    try {
      const before = await (await worker.dispatchFetch('http://127.0.0.1/_kiln/memory')).json();
      const t0 = performance.now();
      const res = await worker.dispatchFetch(`http://127.0.0.1/v1/run?pipeline=${encodeURIComponent(pipeline)}`, { method: 'POST', body: jpg });
      const out = Buffer.from(await res.arrayBuffer());
      const ms = performance.now() - t0;
      const after = await (await worker.dispatchFetch('http://127.0.0.1/_kiln/memory')).json();
      const what = res.status === 200 ? `200 ${res.headers.get('kiln-meta')}` : `${res.status} ${out.toString().slice(0, 160)}`;
      console.log(`jpeg ${w}x${h} (${(w * h / 1e6).toFixed(1)} MP, ${(jpg.length / MiB).toFixed(2)} MiB): ${fmt(ms)}, ` +
        `wasm memory ${(before.wasm_memory_bytes / MiB).toFixed(1)} -> ${(after.wasm_memory_bytes / MiB).toFixed(1)} MiB; ${what}`);
    } finally {
      await worker.dispose();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
