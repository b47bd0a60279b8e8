// Bounded memory of stream() in Node (issue 20, item 4): 1 GiB of CSV, made on the fly
// and never stored, through `parse_csv | to_json format=ndjson`, and a gzip round trip
// of the same CSV (`compress` then `decompress`, two TransformStreams), with the JS heap
// (heapUsed + arrayBuffers of process.memoryUsage()) plus the kernel's wasm memory
// under 64 MiB throughout. Prints MB/s of each next to one-shot run() on 64 MiB (last:
// run() grows wasm memory to hold its whole table, and wasm memory never shrinks).
//
// KILN_STREAM_MIB sets the size (default 1024).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const dist = new URL('../dist/', import.meta.url);
const { run, stream } = await import(new URL('node.js', dist));
const { initSync: glue } = await import(new URL('kiln.js', dist));

const MIB = 1 << 20;
const SIZE = Number(process.env.KILN_STREAM_MIB ?? 1024) * MIB;
const BUDGET = 64 * MIB;
const HEADER = 'id,name,city,score,active,comment\n';
const enc = new TextEncoder();

// 256 row bodies (all but the id), about 140 bytes each (7.5 million rows a GiB, under
// max_rows); a row is a 9-digit id and one
// of them. Fixed-width ids keep every row's NDJSON line length known in advance.
const NAMES = ['Ada', 'Grace', 'Linus', 'Barbara', 'Edsger', 'Frances', 'Ken', 'Margaret'];
const CITIES = ['Zürich', 'Lyon', 'Kraków', 'Osaka', 'Lagos', 'Quito', 'Perth', 'Tromsø'];
const BODIES = Array.from({ length: 256 }, (_, k) => {
  const comment = `"note ${k}: ${'lorem ipsum, dolor '.repeat(3 + (k % 4))}""quoted"" end"`;
  return enc.encode(`,${NAMES[k % 8]},${CITIES[(k >> 3) % 8]},${((k * 7919) % 100000) / 100},${k % 3 === 0},${comment}\n`);
});
const FIRST_ID = 100_000_000;

/** The NDJSON line length of each body's rows, from run() itself. */
const LINE = BODIES.map((body) => {
  const row = new Uint8Array([...enc.encode(`${HEADER}${FIRST_ID}`), ...body]);
  return run('parse_csv | to_json format=ndjson', row).data.length;
});

/**
 * CSV of `size` bytes (whole rows, so a little more), made 64 KiB at a time as it is
 * read: `{ stream, rows(), ndjsonBytes() }`.
 */
function csvSource(size, onChunk = () => {}) {
  let made = 0;
  let rows = 0;
  let ndjson = 0;
  const stream = new ReadableStream({
    pull(controller) {
      if (made >= size) {
        controller.close();
        return;
      }
      const chunk = new Uint8Array(64 * 1024 + 256);
      let at = 0;
      if (made === 0) at = enc.encodeInto(HEADER, chunk).written;
      while (at < 64 * 1024) {
        const k = rows % 251; // not a divisor of 256: ids and bodies do not repeat together
        at += enc.encodeInto(String(FIRST_ID + rows), chunk.subarray(at)).written;
        chunk.set(BODIES[k], at);
        at += BODIES[k].length;
        ndjson += LINE[k];
        rows += 1;
      }
      made += at;
      controller.enqueue(chunk.subarray(0, at));
      onChunk(chunk.subarray(0, at));
    },
  });
  return { stream, rows: () => rows, bytes: () => made, ndjsonBytes: () => ndjson };
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

/**
 * Peak heap + wasm memory, sampled every 16 chunks (1 MiB of input) with what waits for
 * collection counted. A full GC every 8 MiB keeps that garbage to what 8 MiB leave
 * (left alone, V8 lets up to 64 MB of dead ArrayBuffers wait before collecting);
 * `live` is the peak just after those GCs: what the stream holds.
 */
function sampler() {
  let n = 0;
  const peak = { total: 0, heap: 0, buffers: 0, wasm: 0, live: 0 };
  const measure = () => {
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    const wasm = glue().memory.buffer.byteLength;
    return { total: heapUsed + arrayBuffers + wasm, heap: heapUsed, buffers: arrayBuffers, wasm };
  };
  const sample = () => {
    const now = measure();
    if (now.total > peak.total) Object.assign(peak, now);
  };
  const collect = () => {
    gc();
    peak.live = Math.max(peak.live, measure().total);
  };
  const tick = () => {
    n += 1;
    if (n % 16 === 0) sample();
    if (n % 128 === 0) collect();
  };
  return { peak, sample, collect, tick };
}

const mb = (bytes) => (bytes / MIB).toFixed(1);
const rate = (bytes, ms) => `${((bytes / 1e6) / (ms / 1000)).toFixed(0)} MB/s`;

/** One-shot run() of `pipeline` on 64 MiB of the same CSV: its rate. */
async function oneShot(pipeline) {
  const { stream: src } = csvSource(64 * MIB);
  const parts = [];
  for await (const c of src) parts.push(c);
  const input = Buffer.concat(parts);
  const start = performance.now();
  const out = run(pipeline, input);
  const ms = performance.now() - start;
  assert.ok(out.data.length > 0);
  return rate(input.length, ms);
}

test(`${mb(SIZE)} MiB of CSV -> NDJSON through stream() in under 64 MiB of heap + wasm memory`, async (t) => {
  const memory = sampler();
  const source = csvSource(SIZE, memory.tick);
  const ts = stream('parse_csv | to_json format=ndjson');
  memory.collect();
  const start = performance.now();
  let out = 0;
  for await (const chunk of source.stream.pipeThrough(ts)) {
    out += chunk.length;
    memory.tick();
  }
  const ms = performance.now() - start;
  memory.sample();
  const meta = await ts.meta;
  assert.equal(meta.rows, source.rows());
  assert.equal(out, source.ndjsonBytes());
  const { peak } = memory;
  t.diagnostic(
    `CSV -> NDJSON: ${mb(source.bytes())} MiB in, ${mb(out)} MiB out, ${source.rows()} rows, ${(ms / 1000).toFixed(1)} s: ` +
      `stream ${rate(source.bytes(), ms)}; ` +
      `peak ${mb(peak.total)} MiB = heap ${mb(peak.heap)} + buffers ${mb(peak.buffers)} + wasm ${mb(peak.wasm)}; live ${mb(peak.live)} MiB`,
  );
  assert.ok(peak.total < BUDGET, `peak ${mb(peak.total)} MiB`);
});

test(`${mb(SIZE)} MiB gzip round trip (compress | decompress streams) in under 64 MiB of heap + wasm memory`, async (t) => {
  const memory = sampler();
  const hashIn = createHash('sha1');
  const source = csvSource(SIZE, (chunk) => {
    hashIn.update(chunk);
    memory.tick();
  });
  const gz = stream('compress format=gzip level=1');
  const gunzip = stream('decompress');
  let compressed = 0;
  const counted = new TransformStream({
    transform(chunk, controller) {
      compressed += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const hashOut = createHash('sha1');
  memory.collect();
  const start = performance.now();
  let out = 0;
  for await (const chunk of source.stream.pipeThrough(gz).pipeThrough(counted).pipeThrough(gunzip)) {
    hashOut.update(chunk);
    out += chunk.length;
    memory.tick();
  }
  const ms = performance.now() - start;
  memory.sample();
  assert.equal(out, source.bytes());
  assert.equal(hashOut.digest('hex'), hashIn.digest('hex'));
  const { peak } = memory;
  t.diagnostic(
    `gzip round trip: ${mb(source.bytes())} MiB -> ${mb(compressed)} MiB -> back, ${(ms / 1000).toFixed(1)} s: ` +
      `stream ${rate(source.bytes(), ms)}; ` +
      `peak ${mb(peak.total)} MiB = heap ${mb(peak.heap)} + buffers ${mb(peak.buffers)} + wasm ${mb(peak.wasm)}; live ${mb(peak.live)} MiB`,
  );
  assert.ok(peak.total < BUDGET, `peak ${mb(peak.total)} MiB`);
});

test('one-shot run() of the same pipelines on 64 MiB, for comparison', async (t) => {
  // What making the CSV costs the streams above (it runs on the same thread).
  const { stream: src, bytes } = csvSource(256 * MIB);
  const start = performance.now();
  for await (const c of src) void c;
  t.diagnostic(`making the CSV alone: ${rate(bytes(), performance.now() - start)}`);
  for (const pipeline of ['parse_csv | to_json format=ndjson', 'compress format=gzip level=1 | decompress']) {
    t.diagnostic(`run('${pipeline}'): ${await oneShot(pipeline)}`);
  }
});
