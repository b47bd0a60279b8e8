// The npm package (bindings-web/npm/dist, Node entry) on the kernel benchmark tasks,
// against the native kernel's numbers from the same inputs (bench_native.rs). Same
// method: one warm-up, then the median of N runs; inputs are read before timing.
//
//   node bench/web/bench.mjs OUT_DIR   (reads OUT_DIR/native.jsonl, native-rayon.jsonl)
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const dir = process.argv[2] ?? 'bench/web/out';
const dist = new URL('../../bindings-web/npm/dist/', import.meta.url);
const { run, initSync } = await import(new URL('node.js', dist));
const lines = (f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l)) : []);
const native = lines('native.jsonl');
const rayon = Object.fromEntries(lines('native-rayon.jsonl').map((t) => [t.task, t]));

const t0 = performance.now();
initSync();
const initMs = performance.now() - t0;

const results = [];
for (const task of native) {
  const input = readFileSync(join(dir, task.input));
  const out = run(task.pipeline, input); // warm-up
  if (out.data.length !== task.output_bytes) throw new Error(`${task.task}: ${out.data.length} bytes, native ${task.output_bytes}`);
  const times = [];
  for (let i = 0; i < task.runs; i++) {
    const t = performance.now();
    run(task.pipeline, input);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const ms = times[task.runs >> 1];
  results.push({ task: task.task, node_ms: ms, native_ms: task.median_ms, ratio: ms / task.median_ms, native_rayon_ms: rayon[task.task]?.median_ms });
}

const wasm = readFileSync(new URL('kiln_bg.wasm', dist));
const size = { raw: wasm.length, gzip: gzipSync(wasm, { level: 9 }).length };
const pad = (s, n) => String(s).padEnd(n);
console.log(`node ${process.version}; init (compile + instantiate) ${initMs.toFixed(1)} ms`);
console.log(`${pad('task', 38)} ${pad('node ms', 9)} ${pad('native ms', 10)} ${pad('ratio', 6)} native+rayon ms`);
for (const r of results) {
  console.log(
    `${pad(r.task, 38)} ${pad(r.node_ms.toFixed(1), 9)} ${pad(r.native_ms.toFixed(1), 10)} ${pad(r.ratio.toFixed(2), 6)} ${r.native_rayon_ms?.toFixed(1) ?? '-'}`,
  );
}
console.log(`kiln_bg.wasm: ${(size.raw / 1024).toFixed(0)} KiB raw, ${(size.gzip / 1024).toFixed(0)} KiB gzipped`);
writeFileSync(join(dir, 'node.json'), JSON.stringify({ node: process.version, init_ms: initMs, results, wasm: size }, null, 2));
