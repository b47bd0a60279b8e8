// kiln's streaming API against its peers' streaming APIs (issue 20, item 5): gunzip and
// CSV -> NDJSON of large inputs read from disk in 64 KiB chunks, throughput and peak
// memory, every contender in the same run. Run through bench/compare.sh (a section of
// bench/RESULTS.md), or alone once the npm package is built and the peers installed:
//
//   node bench/stream.mjs [--runs N] [--mib M] [--only gunzip,csv] [--quick]
//
// --mib: the size of each input (decompressed text for gunzip, CSV), 256 by default;
// --quick: 8 MiB and one timed run, printed only (RESULTS.md is left alone).
//
// Every measurement is a fresh child process (`node bench/stream.mjs --child JOB`): the
// same Node for every contender, and its peak memory its own. A child loads its library
// (and compiles kiln's wasm) before the clock starts, then streams the file from disk to
// a sink that counts bytes. Peak memory is the process's: RSS as the kernel's high-water
// mark (getrusage ru_maxrss), and the JS side, heapUsed + external (external counts
// every ArrayBuffer, Buffer and wasm Memory), sampled every 256 KiB of input and every
// MiB of output. Nothing forces a GC: each peak is what the process reached.
//
// Round 0 is a check, not timed: gunzip outputs must hash to the original text; the
// CSV contenders' NDJSON must have one line per record and every row's values equal to
// kiln's (the kiln variants byte for byte). Rounds 1..N are timed, the
// contenders in a rotated order; figures are medians over the rounds.
import { spawn, execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isDeepStrictEqual } from 'node:util';
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = `${root}bindings-web/npm/dist/`;
const peers = createRequire(`${root}bench/peers/package.json`);
const CHUNK = 64 * 1024; // bytes per read from disk, for every contender
const MIB = 1 << 20;
const GUNZIP = 'decompress';
const CSV = 'parse_csv | to_json format=ndjson';

// ---- the contenders: how each streams one file into `sink` ----------------------------

/**
 * The file in 64 KiB chunks from disk, sampling memory at each: every contender reads
 * through this. `text`: decoded to strings (UTF-8, a character cut by a chunk kept whole).
 */
async function* source(file, probe, text = false) {
  const decoder = text && new TextDecoder();
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) {
    probe.input(chunk.length);
    yield text ? decoder.decode(chunk, { stream: true }) : chunk;
  }
  if (text) {
    const rest = decoder.decode();
    if (rest) yield rest;
  }
}
/** The output of a WHATWG ReadableStream into the sink. */
async function drain(readable, sink) {
  for await (const chunk of readable) sink(chunk);
}
/** A node:stream Writable into the sink. */
const writable = (sink) =>
  new Writable({
    write(chunk, _encoding, callback) {
      sink(chunk);
      callback();
    },
  });

const kilnLib = async () => {
  const kiln = await import(`${dist}node.js`);
  kiln.initSync(); // compiles the wasm: before the clock, as a long-lived process would
  return kiln;
};
/** kiln's three streaming entry points, on `kilnPipeline`. */
const kilnContenders = (kilnPipeline) => [
  {
    name: 'kiln stream() (TransformStream)',
    kiln: true,
    load: kilnLib,
    run: (kiln, file, probe, sink) => drain(ReadableStream.from(source(file, probe)).pipeThrough(kiln.stream(kilnPipeline)), sink),
  },
  {
    name: 'kiln KilnStream push()',
    kiln: true,
    load: kilnLib,
    run: async (kiln, file, probe, sink) => {
      const s = new kiln.KilnStream(kilnPipeline);
      for await (const chunk of source(file, probe)) {
        const out = s.push(chunk);
        if (out.length) sink(out);
      }
      const { data } = s.finish();
      if (data.length) sink(data);
    },
  },
  {
    name: 'kiln nodeStream() (stream.Transform)',
    kiln: true,
    load: async () => ({ ...(await kilnLib()), ...(await import(`${dist}node-stream.js`)) }),
    run: (kiln, file, probe, sink) => pipeline(source(file, probe), kiln.nodeStream(kilnPipeline), writable(sink)),
  },
];

const TASKS = {
  gunzip: {
    title: 'gunzip',
    what: `\`stream('${GUNZIP}')\` and its peers' streaming gunzip on a gzip (node:zlib level 6) of log-like text (\`mixed_text\` of kernel/benches/inputs, seed 42)`,
    rate: 'decompressed',
    contenders: [
      ...kilnContenders(GUNZIP),
      {
        name: 'fflate Gunzip',
        load: async () => peers('fflate'),
        run: async (fflate, file, probe, sink) => {
          const g = new fflate.Gunzip((data) => sink(data));
          for await (const chunk of source(file, probe)) g.push(chunk);
          g.push(new Uint8Array(0), true);
        },
      },
      {
        name: 'pako Inflate',
        load: async () => peers('pako'),
        run: async (pako, file, probe, sink) => {
          const inflate = new pako.Inflate();
          inflate.onData = sink;
          for await (const chunk of source(file, probe)) inflate.push(chunk, false);
          inflate.push(new Uint8Array(0), true);
          if (inflate.err) throw new Error(`pako: ${inflate.msg}`);
        },
      },
      {
        name: "DecompressionStream('gzip')",
        load: async () => null,
        run: (_, file, probe, sink) => drain(ReadableStream.from(source(file, probe)).pipeThrough(new DecompressionStream('gzip')), sink),
      },
      {
        name: 'node:zlib createGunzip (reference)',
        load: async () => null,
        run: (_, file, probe, sink) => pipeline(source(file, probe), zlib.createGunzip(), writable(sink)),
      },
    ],
  },
  csv: {
    title: 'CSV -> NDJSON',
    what: `\`stream('${CSV}')\` and papaparse's streaming mode (a Node stream in, \`chunk\` callback, \`header\`, \`dynamicTyping\`, \`skipEmptyLines\`, each row \`JSON.stringify\`'d to a line, each chunk's lines encoded to UTF-8) on a CSV of ints, decimals, booleans, dates, UTF-8 text and quoted fields (commas, doubled quotes, line breaks, empty). The check compares every row's values (each line through \`JSON.parse\` then \`JSON.stringify\`, hashed): the bytes differ only where a decimal's fraction is zero, kiln writing \`620.00\` as \`620.0\` and JSON.stringify as \`620\``,
    rate: 'CSV',
    contenders: [
      ...kilnContenders(CSV),
      {
        name: 'papaparse (chunk callback)',
        load: async () => peers('papaparse'),
        run: (Papa, file, probe, sink) =>
          new Promise((resolve, reject) => {
            Papa.parse(Readable.from(source(file, probe, true)), {
              header: true,
              dynamicTyping: true,
              skipEmptyLines: true,
              chunk(results) {
                let lines = '';
                for (const row of results.data) lines += `${JSON.stringify(row)}\n`;
                if (results.errors.length) reject(new Error(`papaparse: ${JSON.stringify(results.errors[0])}`));
                sink(Buffer.from(lines));
              },
              complete: resolve,
              error: reject,
            });
          }),
      },
    ],
  },
};

// ---- a child: one contender, one file -----------------------------------------------------

/** Peak memory of this process, sampled. */
function memoryProbe() {
  const peak = { js: 0, heap: 0, external: 0, live: 0 };
  let sinceInput = 0;
  let sinceOutput = 0;
  let sinceGc = 0;
  const sample = () => {
    const { heapUsed, external } = process.memoryUsage();
    if (heapUsed + external > peak.js) Object.assign(peak, { js: heapUsed + external, heap: heapUsed, external });
  };
  // The check round runs with --expose-gc: full GCs every MiB of input, then the
  // heap + external that survives it is what the contender holds (not timed).
  const live = (n) => {
    sinceGc += n;
    if (!globalThis.gc || sinceGc < MIB) return;
    sinceGc = 0;
    globalThis.gc();
    globalThis.gc(); // the second finishes sweeping the ArrayBuffers the first found dead
    const { heapUsed, external } = process.memoryUsage();
    peak.live = Math.max(peak.live, heapUsed + external);
  };
  // Every 256 KiB read and every 1 MiB written: a few thousand samples for 256 MiB, a
  // few µs each.
  const every = (n, since, bytes) => {
    if (since + n < bytes) return since + n;
    sample();
    return 0;
  };
  return {
    peak,
    sample,
    input: (n) => {
      sinceInput = every(n, sinceInput, 256 * 1024);
      live(n);
    },
    output: (n) => (sinceOutput = every(n, sinceOutput, MIB)),
  };
}

/** Line indices kept for the CSV spot check: the first few, then every 9973rd. */
const sampled = (i) => i < 5 || i % 9973 === 0;

async function child(job) {
  const c = TASKS[job.task].contenders.find((x) => x.name === job.contender);
  const lib = await c.load();
  const probe = memoryProbe();
  const startRss = process.memoryUsage().rss;
  probe.sample();
  const startJs = probe.peak.js;
  let bytes = 0;
  let sink = (chunk) => {
    bytes += chunk.length;
    probe.output(chunk.length);
  };
  // The check round (not timed) hashes the output and, for NDJSON, counts its lines,
  // hashes their values (each line parsed and written again by JSON.stringify, so two
  // spellings of a number are one) and keeps sampled lines.
  const hash = job.check && createHash('sha256');
  const values = job.check && createHash('sha256');
  const lines = [];
  let line = 0;
  if (job.check) {
    const count = sink;
    let partial = [];
    sink = (chunk) => {
      count(chunk);
      hash.update(chunk);
      if (job.task !== 'csv') return;
      let at = 0;
      for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, at)) {
        const text = Buffer.concat([...partial, chunk.subarray(at, nl)]).toString();
        values.update(`${JSON.stringify(JSON.parse(text))}\n`);
        if (sampled(line)) lines.push([line, text]);
        partial = [];
        line += 1;
        at = nl + 1;
      }
      if (at < chunk.length) partial.push(Buffer.from(chunk.subarray(at)));
    };
  }
  const t = performance.now();
  await c.run(lib, job.file, probe, sink);
  const ms = performance.now() - t;
  probe.sample();
  const out = {
    ms,
    bytes,
    peakJs: probe.peak.js,
    peakHeap: probe.peak.heap,
    peakExternal: probe.peak.external,
    peakRss: process.resourceUsage().maxRSS * 1024,
    startJs,
    startRss,
  };
  if (job.check) Object.assign(out, { live: probe.peak.live, sha256: hash.digest('hex'), values: values.digest('hex'), lines: line, sample: lines });
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

if (process.argv[2] === '--child') {
  await child(JSON.parse(process.argv[3]));
  process.exit(0);
}

// ---- the parent: inputs, rounds, report ---------------------------------------------------

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const QUICK = process.argv.includes('--quick');
const RUNS = Number(arg('--runs', QUICK ? 1 : 5));
const SIZE_MIB = Number(arg('--mib', QUICK ? 8 : 256));
const ONLY = arg('--only', 'gunzip,csv').split(',');
if (!(RUNS >= 1) || !(SIZE_MIB > 0)) throw new Error('--runs and --mib take positive numbers');
const DIR = `${root}target/bench-stream`;
mkdirSync(DIR, { recursive: true });

/** xorshift32, as kernel/benches/inputs/mod.rs. */
function rng(seed) {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
const pad2 = (n) => String(n).padStart(2, '0');

/** Log-like text: kernel/benches/inputs/mod.rs `mixed_text`, the same bytes, in pieces. */
function* mixedText(bytes) {
  const words = ['GET', 'POST', '/api/v1/items', '/static/app.js', 'user', 'ok', 'error', 'timeout', 'cache', 'miss', 'hit', 'kiln', 'resize', 'gzip'];
  const next = rng(42);
  let made = 0;
  while (made < bytes) {
    let piece = '';
    while (piece.length < MIB && made + piece.length < bytes) {
      const day = (next() % 28) + 1;
      const [h, m, s] = [next() % 24, next() % 60, next() % 60];
      const verb = words[next() % 4];
      const path = words[next() % words.length];
      const status = [200, 200, 200, 304, 404, 500][next() % 6];
      const size = next() % 100_000;
      const took = next() % 2000;
      const tail = words[next() % words.length];
      piece += `2026-11-${pad2(day)}T${pad2(h)}:${pad2(m)}:${pad2(s)}Z ${verb} ${path} status=${status} bytes=${size} took=${took}ms ${tail}\n`;
    }
    piece = piece.slice(0, bytes - made); // ASCII: characters are bytes
    made += piece.length;
    yield Buffer.from(piece);
  }
}

/** A CSV of about `bytes` bytes (whole records), in pieces; counts its records in `info.rows`. */
function* table(bytes, info) {
  const cities = ['Oslo', 'Lima', 'Zürich', 'Kraków', 'São Paulo', 'Tromsø', 'Perth', 'Quito'];
  const next = rng(7);
  let made = 0;
  let id = 0;
  let piece = 'id,name,city,price,qty,active,day,note\n';
  while (made < bytes) {
    while (piece.length < MIB) {
      id += 1;
      const r = next();
      const note = [
        '',
        '"with, comma"',
        `"she said ""${r % 977}"""`,
        `"two\nlines ${r % 89}"`,
        `note ${r % 1000}`,
        `note ${r % 1000}`,
        `plain text ${r % 31} of the row`,
        `"${r % 7},${r % 13}"`,
      ][next() % 8];
      piece += `${id},name${next() % 100_000},${cities[next() % 8]},${next() % 1000}.${pad2(next() % 100)},${next() % 50},${next() % 2 === 0},2026-${pad2((next() % 12) + 1)}-${pad2((next() % 28) + 1)},${note}\n`;
    }
    const buf = Buffer.from(piece);
    made += buf.length;
    info.rows = id;
    yield buf;
    piece = '';
  }
}

/** Writes `pieces` through `through` (or as is) to `path` atomically. */
async function writeFile(path, pieces, through) {
  const tmp = `${path}.tmp`;
  await pipeline(Readable.from(pieces), ...(through ? [through] : []), createWriteStream(tmp));
  renameSync(tmp, path);
}

/** The inputs at this size, written once (kept under target/bench-stream/). */
async function inputs() {
  const made = {};
  if (ONLY.includes('gunzip')) {
    const gz = `${DIR}/text-${SIZE_MIB}MiB.txt.gz`;
    if (!existsSync(`${gz}.json`)) {
      console.error(`writing ${gz} (gzip level 6 of ${SIZE_MIB} MiB of text)`);
      const hash = createHash('sha256');
      const text = function* () {
        for (const b of mixedText(SIZE_MIB * MIB)) {
          hash.update(b);
          yield b;
        }
      };
      await writeFile(gz, text(), zlib.createGzip({ level: 6 }));
      writeFileSync(`${gz}.json`, JSON.stringify({ bytes: SIZE_MIB * MIB, sha256: hash.digest('hex') }));
    }
    made.gunzip = { file: gz, ...JSON.parse(readFileSync(`${gz}.json`, 'utf8')) };
  }
  if (ONLY.includes('csv')) {
    const csv = `${DIR}/table-${SIZE_MIB}MiB.csv`;
    if (!existsSync(`${csv}.json`)) {
      console.error(`writing ${csv} (${SIZE_MIB} MiB)`);
      const info = { rows: 0 };
      let bytes = 0;
      const counted = function* () {
        for (const b of table(SIZE_MIB * MIB, info)) {
          bytes += b.length;
          yield b;
        }
      };
      await writeFile(csv, counted());
      writeFileSync(`${csv}.json`, JSON.stringify({ bytes, rows: info.rows }));
    }
    made.csv = { file: csv, ...JSON.parse(readFileSync(`${csv}.json`, 'utf8')) };
  }
  return made;
}

/** One child: runs `job`, returns its JSON line. */
function spawnChild(job) {
  return new Promise((resolve, reject) => {
    const flags = job.check ? ['--expose-gc'] : [];
    const p = spawn(process.execPath, [...flags, fileURLToPath(import.meta.url), '--child', JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`${job.contender} (${job.task}) exited ${code}: ${err.trim()}`));
      else resolve(JSON.parse(out));
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Round 0's verdict on one contender's output, against the input and the first kiln contender. */
function check(task, input, got, ref) {
  if (task === 'gunzip') {
    if (got.bytes !== input.bytes || got.sha256 !== input.sha256) return `FAILED: ${got.bytes} bytes, not the original text`;
    return 'equals the original';
  }
  if (got.lines !== input.rows) return `FAILED: ${got.lines} NDJSON lines for ${input.rows} records`;
  if (got === ref) return `${got.lines} rows (the reference)`;
  if (got.sha256 === ref.sha256) return `${got.lines} rows, the same bytes as ${TASKS.csv.contenders[0].name.split(' (')[0]}`;
  if (got.values === ref.values) return `${got.lines} rows, every row's values equal to kiln's`;
  let differ = 0;
  let first = '';
  for (const [k, [i, line]] of got.sample.entries()) {
    const [j, want] = ref.sample[k] ?? [];
    const [a, b] = [JSON.parse(line), j === i ? JSON.parse(want) : undefined];
    if (!isDeepStrictEqual(a, b)) {
      differ += 1;
      first ||= `; first at row ${i}: ${line} vs ${want}`;
    }
  }
  const n = got.sample.length;
  return `FAILED: ${got.lines} rows whose values differ from kiln's: ${differ} of ${n} sampled rows${first}`;
}

const sh = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
};
const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

const made = await inputs();
const loadBefore = load();
const started = Date.now();
const results = {}; // task -> contender -> { check, runs: [] }
for (const task of ONLY) {
  const { contenders } = TASKS[task];
  const input = made[task];
  results[task] = Object.fromEntries(contenders.map((c) => [c.name, { runs: [] }]));
  for (let round = 0; round <= RUNS; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]);
    for (const c of order) {
      const r = await spawnChild({ task, contender: c.name, file: input.file, check: round === 0 });
      if (round === 0) results[task][c.name].check = r;
      else results[task][c.name].runs.push(r);
    }
    if (round === 0) {
      const ref = results[task][contenders[0].name].check;
      for (const c of contenders) {
        const entry = results[task][c.name];
        entry.verdict = check(task, input, entry.check, ref);
        entry.bytes = entry.check.bytes;
      }
      for (const c of contenders) delete results[task][c.name].check.sample;
    }
    console.error(`${task}: round ${round}/${RUNS} done (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
}
const loadAfter = load();

// ---- report ------------------------------------------------------------------------------
const version = (p) => JSON.parse(readFileSync(`${root}bench/peers/node_modules/${p}/package.json`, 'utf8')).version;
const env = {
  date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
  commit: sh('git', ['-C', root, 'rev-parse', '--short', 'HEAD']),
  cpu: `${os.cpus()[0].model}, ${os.cpus().length} logical cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
  os: `${os.type()} ${os.release()}`,
  node: process.version,
  peers: ['fflate', 'pako', 'papaparse'].map((p) => `${p} ${version(p)}`).join(', '),
  load: `${loadBefore} before, ${loadAfter} after (1, 5, 15 min)`,
};
const mb = (x) => (x / MIB).toFixed(0);
const summary = {}; // task -> contender -> medians
for (const task of ONLY) {
  summary[task] = {};
  for (const [name, e] of Object.entries(results[task])) {
    const rateBytes = task === 'gunzip' ? made.gunzip.bytes : made.csv.bytes;
    const ms = median(e.runs.map((r) => r.ms));
    summary[task][name] = {
      ms,
      mbps: rateBytes / 1e6 / (ms / 1000),
      peakJs: median(e.runs.map((r) => r.peakJs)),
      peakRss: median(e.runs.map((r) => r.peakRss)),
      maxPeakJs: Math.max(...e.runs.map((r) => r.peakJs)),
      maxPeakRss: Math.max(...e.runs.map((r) => r.peakRss)),
      startJs: median(e.runs.map((r) => r.startJs)),
      startRss: median(e.runs.map((r) => r.startRss)),
      live: e.check.live,
      bytes: e.bytes,
      verdict: e.verdict,
    };
  }
}
const KILN = 'kiln stream() (TransformStream)';
const GOALS = [];
const goal = (task, peer, want) => {
  const k = summary[task]?.[KILN];
  const p = summary[task]?.[peer];
  if (!k || !p) return;
  const speed = k.mbps / p.mbps;
  GOALS.push({ what: `${TASKS[task].title}: kiln stream() vs ${peer}, throughput`, got: `${speed.toFixed(2)}x`, want: `>= ${want}x`, ok: speed >= want });
  GOALS.push({ what: `${TASKS[task].title}: kiln stream() vs ${peer}, peak RSS`, got: `${mb(k.peakRss)} vs ${mb(p.peakRss)} MiB`, want: 'no more', ok: k.peakRss <= p.peakRss });
  GOALS.push({ what: `${TASKS[task].title}: kiln stream() vs ${peer}, peak heap + external`, got: `${mb(k.peakJs)} vs ${mb(p.peakJs)} MiB`, want: 'no more', ok: k.peakJs <= p.peakJs });
};
goal('gunzip', 'fflate Gunzip', 1.5);
goal('csv', 'papaparse (chunk callback)', 2);

const sizes = [
  made.gunzip && `gunzip: ${(made.gunzip.bytes / MIB).toFixed(0)} MiB of text, ${(readFileSync(`${made.gunzip.file}`).length / MIB).toFixed(1)} MiB gzipped`,
  made.csv && `CSV: ${(made.csv.bytes / MIB).toFixed(0)} MiB, ${made.csv.rows} records`,
].filter(Boolean);
let md = `<!-- streaming: written by bench/stream.mjs -->
## Streaming

Written by \`bench/stream.mjs\` (\`./bench/compare.sh\`, or \`./bench/compare.sh --stream-only\`) — do not edit by hand.

- **When / what**: ${env.date}, kiln ${env.commit}; ${RUNS} timed runs per contender after one checked run, medians.
- **Machine**: ${env.cpu}; ${env.os}; Node ${env.node}; ${env.peers}. Load average ${env.load}.
- **Inputs**: ${sizes.join('; ')}; read from disk in 64 KiB chunks (\`fs.createReadStream\`) by every contender.
- **Method**: each run of each contender is a fresh Node process, the contenders in a rotated order; its library is loaded (kiln's wasm compiled) before the clock starts, and its output goes to a sink that counts bytes. MB/s is of the decompressed text (gunzip) or of the CSV, 10^6 bytes. Peak RSS is the process's high-water mark (getrusage), Node's own ~40 MiB included; peak JS is heapUsed + external (every ArrayBuffer, Buffer and wasm Memory), sampled every 256 KiB read and every MiB written, no GC forced. Held is what survives a full GC, the peak over a full GC every MiB of input in the check run (\`--expose-gc\`, not timed): what the contender keeps, garbage aside. Dead buffers count in the peak until V8 frees them, mostly at a scavenge, which JS heap allocation brings on: a contender that makes few JS objects per chunk (kiln, fflate) lets tens of MiB of dead output buffers wait, one that makes many (papaparse's rows and strings) frees them sooner. node:zlib and DecompressionStream inflate on libuv's thread pool; the rest on the main thread. Ratios compare medians of this run.

| goal | measured | wanted | |
|---|---|---|---|
${GOALS.map((g) => `| ${g.what} | ${g.got} | ${g.want} | ${g.ok ? 'met' : '**missed**'} |`).join('\n')}
`;
for (const task of ONLY) {
  const k = summary[task][KILN];
  md += `\n### ${TASKS[task].title}\n\n${TASKS[task].what}.\n\n| contender | median ms | MB/s (${TASKS[task].rate}) | kiln stream() is | peak RSS, MiB (at start) | peak heap + external, MiB (at start) | held, MiB | output bytes | check |\n|---|---|---|---|---|---|---|---|---|\n`;
  const rows = Object.entries(summary[task]).sort((a, b) => a[1].ms - b[1].ms);
  for (const [name, s] of rows) {
    const kiln = TASKS[task].contenders.find((c) => c.name === name).kiln;
    md += `| ${kiln ? `**${name}**` : name} | ${s.ms.toFixed(0)} | ${s.mbps.toFixed(0)} | ${(s.ms / k.ms).toFixed(2)}x | ${mb(s.peakRss)} (${mb(s.startRss)}) | ${mb(s.peakJs)} (${mb(s.startJs)}) | ${mb(s.live)} | ${s.bytes} | ${s.verdict} |\n`;
  }
}
md += '<!-- /streaming -->\n';
console.log(md);
writeFileSync(`${DIR}/results${QUICK ? '-quick' : ''}.json`, JSON.stringify({ env, runs: RUNS, sizeMiB: SIZE_MIB, inputs: made, summary, goals: GOALS, results }, null, 1));
if (!QUICK) {
  // RESULTS.md: this section replaces the one before it, or comes last.
  const path = `${root}bench/RESULTS.md`;
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const at = old.indexOf('<!-- streaming:');
  const end = old.indexOf('<!-- /streaming -->');
  const next = at >= 0 ? old.slice(0, at) + md + old.slice(end + '<!-- /streaming -->\n'.length) : `${old.trimEnd()}\n\n${md}`;
  writeFileSync(path, next);
}
const failed = Object.values(summary).flatMap((t) => Object.values(t)).filter((s) => s.verdict.startsWith('FAILED'));
if (failed.length) {
  console.error(`${failed.length} output checks failed`);
  process.exit(1);
}
