// The streaming API of the built package in Node: KilnStream, stream() (a WHATWG
// TransformStream) and @kiln/kernel/node-stream give run()'s bytes for any chunking,
// refuse what cannot stream, error with the kernel's code, and free their session.
//
// Chunkings are drawn from a seed printed on failure; KILN_STREAM_SEED sets it (as for
// the kernel's kernel/tests/stream.rs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const dist = new URL('../dist/', import.meta.url);
const { run, stream, KilnStream, KilnError, describe } = await import(new URL('node.js', dist));
const { nodeStream } = await import(new URL('node-stream.js', dist));
// The glue's init returns the instance it made: the package's own kernel.
const { initSync: glue } = await import(new URL('kiln.js', dist));
const wasmBytes = () => glue().memory.buffer.byteLength;

const SEED = Number(process.env.KILN_STREAM_SEED ?? Math.floor(Math.random() * 2 ** 32));
const text = (s) => new TextEncoder().encode(s);

/** mulberry32: a small seeded PRNG, [0, 1). */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

// Inputs of a few 64 KiB slices, so cuts fall inside and across the kernel's own slices.
const rnd = random(1);
const words = ['alpha', 'beta', 'gamma', 'delta', 'épsilon', 'ζeta', '日本', 'a "quoted" word', 'x,y', 'line\nbreak'];
const pick = () => words[Math.floor(rnd() * words.length)];
const csvText =
  'id,name,score,note\n' +
  Array.from({ length: 3000 }, (_, i) => {
    const note = pick();
    const quoted = /[",\n]/.test(note) ? `"${note.replace(/"/g, '""')}"` : note;
    return `${i},${pick().replace(/[",\n]/g, '')},${(rnd() * 1000).toFixed(2)},${quoted}`;
  }).join('\r\n') +
  '\n';
const jsonText = JSON.stringify(
  Array.from({ length: 800 }, (_, i) => ({ i, w: pick(), n: [rnd(), { d: null, t: true }], s: '\u00e9\ud83d\ude00' })),
  null,
  1,
);
const csv = text(csvText);
const json = text(jsonText);
const gz = run('compress format=gzip level=6', csv).data;

const CASES = [
  ['compress format=gzip level=6', csv],
  ['compress format=zlib level=9', json],
  ['decompress', gz],
  ['decompress | parse_csv | to_json format=ndjson', gz],
  ['json mode=minify', json],
  ['json mode=pretty', json],
  ['parse_csv | to_json format=ndjson', csv],
  ['parse_csv | filter where="score > 500" | select columns=id,note | to_csv', csv],
  ['parse_csv | stats', csv],
  ['parse_json | to_json format=array', json],
];

const PRIMES = [2, 3, 5, 7, 13, 31, 127, 509, 1021, 4093, 8191, 65521, 131071];

/** The cuttings of `n` bytes: 1 byte, primes, 64 KiB, whole, random; each as chunk sizes. */
function cuttings(n, seed) {
  const r = random(seed);
  const sizes = (next) => {
    const out = [];
    for (let left = n; left > 0; ) {
      const size = Math.min(left, next());
      out.push(size);
      left -= size;
    }
    return out;
  };
  return {
    '1 byte': sizes(() => 1),
    primes: sizes(() => PRIMES[Math.floor(r() * PRIMES.length)]),
    '64 KiB': sizes(() => 65536),
    whole: [n],
    random: sizes(() => 1 + Math.floor(r() ** 3 * 200_000)),
  };
}

/** `bytes` cut at `sizes`, as views (no copies). */
function cut(bytes, sizes) {
  const chunks = [];
  let at = 0;
  for (const size of sizes) {
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

const concat = (chunks) => Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));

/** A ReadableStream giving `chunks`. */
function source(chunks) {
  let next = 0;
  return new ReadableStream({
    pull(controller) {
      if (next < chunks.length) controller.enqueue(chunks[next++]);
      else controller.close();
    },
  });
}

// Each gives the output, the meta at the end, and what was known of it at the start.

async function viaTransformStream(pipelineText, chunks, options) {
  const ts = stream(pipelineText, options);
  const out = [];
  for await (const c of source(chunks).pipeThrough(ts)) out.push(c);
  return { data: concat(out), meta: await ts.meta, contentType: ts.contentType };
}

function viaClass(pipelineText, chunks) {
  const s = new KilnStream(pipelineText);
  const early = s.meta();
  const out = chunks.map((c) => s.push(c));
  const end = s.finish();
  out.push(end.data);
  return { data: concat(out), meta: end.meta, contentType: early.content_type, early };
}

async function viaNodeStream(pipelineText, chunks) {
  const t = nodeStream(pipelineText);
  const out = [];
  await pipeline(Readable.from(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))), t, async (src) => {
    for await (const c of src) out.push(c);
  });
  return { data: concat(out), meta: await t.meta, contentType: t.contentType };
}

/** `got` is run()'s output `expected`, and said its content type from the start. */
function same(got, expected, where) {
  assert.ok(Buffer.from(expected.data).equals(got.data), where);
  assert.deepEqual(got.meta, expected.meta, `meta: ${where}`);
  assert.equal(got.contentType, expected.meta.content_type, `content type at the start: ${where}`);
}

test(`streams give run()'s bytes and meta for every chunking (KILN_STREAM_SEED=${SEED})`, async (t) => {
  for (const [index, [pipelineText, input]] of CASES.entries()) {
    const expected = run(pipelineText, input);
    for (const [name, sizes] of Object.entries(cuttings(input.length, SEED + index))) {
      const chunks = cut(input, sizes);
      const where = `${pipelineText}, ${name} chunks (${chunks.length}), KILN_STREAM_SEED=${SEED}`;
      const cls = viaClass(pipelineText, chunks);
      same(cls, expected, `KilnStream: ${where}`);
      // What meta() knows before the end: all but a table's rows and columns.
      const { rows: _rows, columns: _columns, ...known } = expected.meta;
      assert.deepEqual(cls.early, known, `meta(): ${where}`);
      // The JS streams do not look into chunks: byte by byte (20 us a chunk) only for
      // the small inputs.
      if (name === '1 byte' && input.length > 32768) continue;
      same(await viaTransformStream(pipelineText, chunks), expected, `stream(): ${where}`);
      same(await viaNodeStream(pipelineText, chunks), expected, `nodeStream(): ${where}`);
    }
    t.diagnostic(`${pipelineText}: ${input.length} -> ${expected.data.length} bytes, equal under every chunking`);
  }
});

test('a large chunk is pushed chunkSize bytes at a time, each push enqueued on its own', async () => {
  const expected = run('parse_csv | to_json format=ndjson', csv).data;
  for (const chunkSize of [1000, 65536]) {
    const ts = stream('parse_csv | to_json format=ndjson', { chunkSize });
    const out = [];
    for await (const c of source([csv]).pipeThrough(ts)) out.push(c);
    assert.ok(Buffer.from(expected).equals(concat(out)));
    // One caller chunk, yet as many outputs as pushes, each about what its piece
    // completes (NDJSON is 2.1 times this CSV).
    assert.ok(out.length >= Math.floor(csv.length / chunkSize), `${out.length} outputs for chunkSize ${chunkSize}`);
    assert.ok(Math.max(...out.map((c) => c.length)) < 3 * chunkSize + 1024);
  }
  assert.throws(() => stream('json', { chunkSize: 0 }), RangeError);
  // Chunks may be any BufferSource.
  const s = new KilnStream('json mode=minify');
  const parts = [text('[1, ').buffer, new DataView(text('2, ').buffer), new Uint16Array(text(' 3] ').buffer)];
  const out = concat([...parts.map((p) => s.push(p)), s.finish().data]);
  assert.equal(out.toString(), '[1,2,3]');
});

test('pipelines that cannot stream are refused with bad_pipeline when the stream is made', () => {
  const refused = (e, step) => e instanceof KilnError && e.code === 'bad_pipeline' && e.step === step && /cannot stream/.test(e.message);
  for (const [pipelineText, step] of [
    ['resize width=100 | encode format=png', 0],
    ['blur sigma=2', 0],
    ['decompress | info', 1],
    ['parse_csv | sort by=id | to_json', 1],
    ['parse_csv | group_by by=name', 1],
  ]) {
    assert.throws(() => stream(pipelineText), (e) => refused(e, step), pipelineText);
    assert.throws(() => new KilnStream(pipelineText), (e) => refused(e, step), pipelineText);
    assert.throws(() => nodeStream(pipelineText), (e) => refused(e, step), pipelineText);
  }
  // A pipeline that does not check is the same error as run()'s.
  assert.throws(() => stream('blur sigma=0'), (e) => e.code === 'bad_pipeline' && e.param === 'sigma');
  assert.throws(() => stream(42), { code: 'bad_pipeline' });
  // describe() says which ops stream.
  const streams = describe().ops.filter((op) => op.streams).map((op) => op.name);
  assert.deepEqual(streams.sort(), ['compress', 'decompress', 'filter', 'json', 'limit', 'parse_csv', 'parse_json', 'rename', 'select', 'stats', 'to_csv', 'to_json']);
});

/** Reads `readable` to its end or error: the bytes that came, and the error. */
async function drain(readable) {
  const out = [];
  try {
    for await (const c of readable) out.push(c);
    return { data: concat(out), error: null };
  } catch (error) {
    return { data: concat(out), error };
  }
}

const runError = (pipelineText, input) => {
  try {
    run(pipelineText, input);
  } catch (e) {
    return e;
  }
  assert.fail(`run('${pipelineText}') did not fail`);
};

test("an error mid-stream errors the stream with run()'s KilnError, after the output before it", async () => {
  // gzip of noise cut short and then corrupted: output first (a 64 KiB slice of input
  // at a time), then bad_input.
  const noise = random(SEED);
  const big = run('compress level=1', new Uint8Array(1 << 20).map(() => noise() * 64)).data;
  const corrupt = big.slice(0, big.length >> 1);
  corrupt.fill(0xff, corrupt.length - 4096);
  const cases = [
    ['decompress', corrupt, 'bad_input'],
    // Valid CSV, then a record wider than the header, half-way through.
    ['parse_csv | to_json format=ndjson', text(csvText + '1,2,3,4,5\n' + csvText.slice(csvText.indexOf('\n') + 1)), 'bad_input'],
    ['limits max_rows=2000 | parse_csv | to_json format=ndjson', csv, 'too_large'],
    // The output limit is run()'s last check: given at the end.
    ['limits max_output_bytes=100000 | decompress', big, 'too_large'],
    // A syntax error of `json` is found at the end, as run() does.
    ['json mode=minify', text(jsonText + ']'), 'bad_input'],
  ];
  for (const [pipelineText, input, code] of cases) {
    const expected = runError(pipelineText, input);
    assert.equal(expected.code, code, pipelineText);
    const ts = stream(pipelineText);
    // 4093-byte chunks: many pushes before the error.
    const sizes = Array.from({ length: Math.ceil(input.length / 4093) }, (_, i) => Math.min(4093, input.length - i * 4093));
    const { data, error } = await drain(source(cut(input, sizes)).pipeThrough(ts));
    assert.ok(error instanceof KilnError, `${pipelineText}: ${error}`);
    // run()'s code, step and param (a message may say less: the stream stops early).
    assert.deepEqual([error.code, error.step, error.param], [expected.code, expected.step, expected.param], pipelineText);
    await assert.rejects(ts.meta, (e) => e === error);
    if (code !== 'too_large' || pipelineText.includes('max_rows')) assert.ok(data.length > 0, `${pipelineText}: output before the error`);
    // The Node adapter: pipeline() rejects with the same error.
    const node = nodeStream(pipelineText);
    await assert.rejects(
      pipeline(Readable.from([Buffer.from(input)]), node, new Writable({ write: (_c, _e, cb) => cb() })),
      (e) => e instanceof KilnError && e.code === code && e.step === expected.step,
    );
    await assert.rejects(node.meta);
  }
  // A chunk that is not bytes is bad_input, and spends the stream.
  const ts = stream('json');
  const read = ts.readable.getReader().read();
  await assert.rejects(ts.writable.getWriter().write('[1]'), (e) => e instanceof KilnError && e.code === 'bad_input');
  await assert.rejects(read, { code: 'bad_input' });
  const s = new KilnStream('json');
  assert.throws(() => s.push('[1]'), { code: 'bad_input' });
  assert.throws(() => s.finish(), { code: 'bad_input' });
});

test('a finished or aborted KilnStream refuses more; a failed one gives its error again', () => {
  const s = new KilnStream('json');
  s.push(text('[]'));
  assert.equal(new TextDecoder().decode(s.finish().data), '');
  assert.throws(() => s.push(text('1')), TypeError);
  const a = new KilnStream('json');
  a.abort();
  a.abort();
  assert.throws(() => a.finish(), TypeError);
  const f = new KilnStream('decompress');
  assert.throws(() => f.push(text('not gzip')), (e) => e.code === 'bad_input');
  assert.throws(() => f.push(text('more')), (e) => e.code === 'bad_input');
  f.abort();
});

test('abort, cancel and destroy free the session (wasm memory does not grow)', async () => {
  // A `compress level=9` session holds about 400 KiB (zlib-rs's state, its staging):
  // 150 of them kept would grow wasm memory by 55 MiB.
  const chunk = new Uint8Array(65536).map((_, i) => (i * 7919) & 255);
  const N = 150;
  const check = async (what, open) => {
    await open(); // warm: the first session's memory stays in the allocator
    const before = wasmBytes();
    for (let i = 0; i < N; i++) await open();
    const grown = wasmBytes() - before;
    assert.ok(grown < 4 << 20, `${what}: wasm memory grew ${grown} bytes over ${N} sessions`);
  };
  await check('KilnStream.abort()', () => {
    const s = new KilnStream('compress level=9');
    s.push(chunk);
    s.abort();
  });
  // A TransformStream runs transform() only while its readable side is read (its
  // readable highWaterMark is 0): each write here has a read waiting for it.
  const pushed = async (ts, value = chunk) => {
    const reader = ts.readable.getReader();
    const writer = ts.writable.getWriter();
    const read = reader.read();
    read.catch(() => {});
    await writer.write(value);
    return { reader, writer };
  };
  await check('readable.cancel()', async () => {
    const ts = stream('compress level=9');
    const { reader } = await pushed(ts);
    await reader.cancel(new Error('enough'));
    await assert.rejects(ts.meta, /enough/);
  });
  await check('writable.abort()', async () => {
    const ts = stream('compress level=9');
    const { writer } = await pushed(ts);
    await writer.abort(new Error('stop'));
    await assert.rejects(ts.meta, /stop/);
  });
  await check('an error', async () => {
    const ts = stream('compress level=9');
    const { reader, writer } = await pushed(ts);
    reader.read().catch(() => {});
    await assert.rejects(writer.write('not bytes'), { code: 'bad_input' });
    await assert.rejects(ts.meta, { code: 'bad_input' });
  });
  await check('nodeStream destroy()', async () => {
    const t = nodeStream('compress level=9');
    t.write(chunk);
    t.destroy();
    await assert.rejects(t.meta);
  });
});
