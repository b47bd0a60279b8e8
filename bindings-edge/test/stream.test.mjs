// Streamed requests in workerd (DESIGN.md, "HTTP API v1", "Streamed requests"): a chunked
// or long body of a pipeline that streams goes through a session in the Worker. Small
// ones are answered as the one-shot path and exactly as `kiln serve` answer them; a long
// output starts the response; the 16 MiB body limit does not apply; a client that stops
// reading stops the upload; an error after the start ends NDJSON with an error line (the
// cut itself is a todo: workerd ends the body as if whole). And issue 20's proof for the
// Worker: 1 GiB of CSV (KILN_EDGE_STREAM_MIB sets the size), made on the fly and never
// stored, through `parse_csv | to_json format=ndjson` with wasm memory under 64 MiB, every
// output byte checked against an independent rendering of the rows, throughput next to
// the one-shot path's. Needs the built Worker (scripts/build-edge.sh) and target/debug/kiln.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startWorker, startNative, snapshot, workerFetch, root, MAX_BODY } from './lib.mjs';

const data = (f) => readFileSync(resolve(root, 'tests/data', f));
const q = (p) => `?pipeline=${encodeURIComponent(p)}`;
const MiB = 1 << 20;
const WINDOW = MiB;

let mf;
let native;
before(async () => {
  [mf, native] = await Promise.all([startWorker(), startNative()]);
});
after(async () => {
  native?.stop();
  await mf?.dispose();
});

/** `buf` in pieces of 1 to 9999 bytes (a fixed sequence), as a chunked request body. */
async function* pieces(buf) {
  let x = 12345;
  for (let at = 0; at < buf.length;) {
    x = (x * 1103515245 + 12345) >>> 0;
    const n = 1 + (x >>> 8) % 9999;
    yield buf.subarray(at, at + n);
    at += n;
  }
}
const chunked = (body) => ({ method: 'POST', body: pieces(body), duplex: 'half' });
const worker = (path, init) => workerFetch(mf, `http://127.0.0.1${path}`, init);
const server = (path, init) => fetch(`${native.url}${path}`, init);

/** What the client has of a body: its bytes, and whether it ended or failed. */
async function drain(res) {
  const got = [];
  let failed = null;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      got.push(Buffer.from(value));
    }
  } catch (e) {
    failed = e;
  }
  return { body: Buffer.concat(got), failed };
}

/** A CSV of `n` rows `i,x<i>` and its NDJSON, rendered here. */
function rows(n) {
  let csv = 'a,b\n';
  let ndjson = '';
  for (let i = 0; i < n; i++) {
    csv += `${i},x${i}\n`;
    ndjson += `${JSON.stringify({ a: i, b: `x${i}` })}\n`;
  }
  return { csv: Buffer.from(csv), ndjson: Buffer.from(ndjson) };
}

function assertSame(w, n, what) {
  assert.equal(w.status, n.status, `${what}: workerd ${w.body.toString().slice(0, 200)}`);
  assert.equal(w.contentType, n.contentType, what);
  assert.equal(w.meta, n.meta, what);
  assert.equal(w.nosniff, 'nosniff', what);
  assert.ok(w.body.equals(n.body), `${what}: bodies differ:\n  workerd ${w.body.toString().slice(0, 300)}\n  native  ${n.body.toString().slice(0, 300)}`);
}

test('small streamed requests are answered as the one-shot path and exactly as kiln serve', async () => {
  const people = data('people.csv');
  const { csv: long } = rows(150_000); // 2 MiB, 300 bytes of output
  const cases = [
    ['parse_csv | to_json format=ndjson', people, 200],
    ['parse_csv | stats', people, 200],
    ['decompress', data('lines.txt.gz'), 200],
    ['compress format=zlib', data('lines.txt'), 200],
    ['json mode=minify', Buffer.from('{"a": [1, 2]}'), 200],
    ['json mode=pretty', Buffer.from('[1, {"b": '), 422],
    // An error before any output: run's error, status and body.
    ['parse_csv | to_json', Buffer.from('a,b\n1,2\n3,4,5\n'), 422],
    ['limits max_rows=2 | parse_csv | to_json', Buffer.from('a\n1\n2\n3\n'), 413],
    ['parse_json | filter where="id >= 2" | to_csv', data('people.ndjson'), 200],
    // Pipelines that do not stream take the one-shot path, the body unread until then.
    ['resize width=64 | encode format=png', data('photo.jpg'), 200],
    ['frobnicate', Buffer.from('x'), 400],
    ['parse_csv | sort by=id | to_json', people, 200],
  ];
  for (const [pipeline, input, status] of cases) {
    const path = `/v1/run${q(pipeline)}`;
    const streamed = await snapshot(await worker(path, chunked(input)));
    const whole = await snapshot(await worker(path, { method: 'POST', body: input }));
    const serve = await snapshot(await server(path, chunked(input)));
    assert.equal(whole.status, status, `${pipeline}: ${whole.body.toString().slice(0, 200)}`);
    assertSame(streamed, serve, `${pipeline}: workerd vs kiln serve`);
    if (status === 200) {
      assertSame(streamed, whole, `${pipeline}: chunked vs whole`);
    } else {
      // run's status and code (a syntax error's message names a byte, not a line and
      // column: DESIGN.md, "Streaming").
      const error = (r) => JSON.parse(r.body).error;
      assertSame({ ...streamed, body: Buffer.alloc(0) }, { ...whole, body: Buffer.alloc(0) }, `${pipeline}: chunked vs whole`);
      assert.deepEqual([error(streamed).code, error(streamed).step], [error(whole).code, error(whole).step], pipeline);
    }
  }
  // A body declared longer than the window goes through a session too; a short output
  // is still the whole answer (rows and columns in kiln-meta).
  const path = `/v1/run${q('parse_csv | stats')}`;
  const w = await snapshot(await worker(path, { method: 'POST', body: long }));
  const n = await snapshot(await server(path, { method: 'POST', body: long }));
  assert.equal(w.status, 200, w.body.toString());
  assert.equal(JSON.parse(w.meta).rows, 2);
  assertSame(w, n, 'long body, short output');
});

test('an output past the window starts the response: kiln serve\'s headers and bytes', async () => {
  const { csv, ndjson } = rows(200_000);
  const path = `/v1/run${q('parse_csv | to_json format=ndjson')}`;
  const w = await snapshot(await worker(path, chunked(csv)));
  const n = await snapshot(await server(path, chunked(csv)));
  assert.equal(w.status, 200);
  assert.equal(w.meta, '{"kind":"table","content_type":"application/x-ndjson","version":"0.1.0"}', 'rows come only with a whole answer');
  assert.ok(w.body.equals(ndjson), 'the rows, rendered here');
  assertSame(w, n, 'started response');
});

test('the 16 MiB body limit does not apply to a streamed body', async () => {
  // 16 letters at random (xorshift32): DEFLATE halves it, so the output passes the
  // window and streams.
  let x = 2463534242;
  const input = Buffer.alloc(MAX_BODY + MiB);
  for (let i = 0; i < input.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    input[i] = 97 + ((x >>> 0) & 15);
  }
  const res = await worker(`/v1/run${q('compress level=1')}`, chunked(input));
  const { body, failed } = await drain(res);
  assert.equal(res.status, 200);
  assert.equal(failed, null);
  assert.equal(res.headers.get('content-type'), 'application/gzip');
  assert.ok(body.length > WINDOW, `${body.length} bytes: the response started before the end`);
  assert.ok(gunzipSync(body).equals(input), 'the gzip stream round-trips');
  // (A pipeline that does not stream keeps the body limit: api.test.mjs.)
});

test('backpressure: a client that stops reading stops the reading of its body', async () => {
  const rows = Buffer.from(Array.from({ length: 8192 }, (_, i) => `${i},x${i}\n`).join(''));
  let offered = 0;
  async function* body() {
    yield Buffer.from('a,b\n');
    for (let k = 0; k < 100_000; k++) {
      offered += rows.length;
      yield rows;
    }
  }
  const res = await worker(`/v1/run${q('parse_csv | to_json format=ndjson')}`, { method: 'POST', body: body(), duplex: 'half' });
  assert.equal(res.status, 200);
  // Not reading: the upload stops once the pipes between are full.
  const stalled = async () => {
    for (let last = -1; ; await new Promise((ok) => setTimeout(ok, 500))) {
      if (offered === last) return offered;
      last = offered;
    }
  };
  const first = await stalled();
  assert.ok(first < 64 * MiB, `${first} bytes of the body taken while its answer is not read`);
  // Reading again takes more of it.
  const reader = res.body.getReader();
  for (let got = 0; got < 32 * MiB;) got += (await reader.read()).value.byteLength;
  assert.ok(offered > first, 'the upload goes on as the answer is read');
  console.log(`# stalled after ${(first / MiB).toFixed(1)} MiB of the body; reading 32 MiB of the answer took it to ${(offered / MiB).toFixed(1)} MiB`);
  await reader.cancel();
});

test('an error after the response started: NDJSON ends with the error line (kiln serve\'s)', async () => {
  const { csv, ndjson } = rows(200_000);
  const bad = Buffer.concat([csv, Buffer.from('1,2,3\n')]);
  for (const [pipeline, rendered] of [['parse_csv | to_json format=ndjson', ndjson], ['parse_csv | to_csv', csv]]) {
    const path = `/v1/run${q(pipeline)}`;
    const res = await worker(path, chunked(bad));
    assert.equal(res.status, 200, `${pipeline}: the response started`);
    assert.equal(JSON.parse(res.headers.get('kiln-meta')).rows, undefined);
    const w = await drain(res);
    const nres = await server(path, chunked(bad));
    const n = await drain(nres);
    assert.equal(nres.status, 200);
    assert.ok(n.failed, `${pipeline}: kiln serve cuts its body short`);
    assert.equal(res.headers.get('content-type'), nres.headers.get('content-type'));
    assert.equal(res.headers.get('kiln-meta'), nres.headers.get('kiln-meta'));
    const text = w.body.toString();
    const cut = text.lastIndexOf('\n', text.length - 2) + 1;
    const [output, last] = [w.body.subarray(0, cut), text.slice(cut)];
    if (pipeline.includes('ndjson')) {
      assert.ok(output.length > WINDOW, `${pipeline}: output came first (${output.length} bytes)`);
      assert.ok(rendered.subarray(0, output.length).equals(output), 'the rows before the error, whole lines');
      assert.equal(JSON.parse(last).error.code, 'bad_input', last);
      const nText = n.body.toString();
      assert.equal(last, nText.slice(nText.lastIndexOf('\n', nText.length - 2) + 1), 'kiln serve\'s error line');
    } else {
      assert.ok(w.body.length > WINDOW && w.body.length < rendered.length, `${pipeline}: ${w.body.length} bytes, cut short`);
      assert.ok(rendered.subarray(0, w.body.length).equals(w.body), 'a prefix of the output, no error text');
    }
  }
});

test('an error after the response started aborts the body', {
  todo: 'workerd ends an errored response body with its last chunk (cloudflare/workerd#6818): the client sees an ended body',
}, async () => {
  const { csv } = rows(200_000);
  const res = await worker(`/v1/run${q('parse_csv | to_csv')}`, chunked(Buffer.concat([csv, Buffer.from('1,2,3\n')])));
  const { failed } = await drain(res);
  assert.ok(failed, 'the body is cut short, not ended');
});

/** The proof's CSV, made a block at a time: a header, then blocks of a stamp row (the
 * block's number) and 8192 fixed rows of every kind of cell (integers, floats, quoted
 * text with commas and quotes, booleans, empty cells). `ndjson` renders each row with
 * JSON.stringify: an independent rendering of what `parse_csv | to_json format=ndjson`
 * must give. */
const proof = (() => {
  const header = Buffer.from('id,name,score,note,flag\n');
  const csv = [];
  const ndjson = [];
  for (let j = 0; j < 8192; j++) {
    const score = (j % 400) / 8;
    const note = `x, "y" ${j % 7}`;
    const flag = [true, false, null][j % 3];
    csv.push(`${j},w${j % 89},${score},"${note.replaceAll('"', '""')}",${flag ?? ''}\n`);
    ndjson.push(`${JSON.stringify({ id: j, name: `w${j % 89}`, score, note, flag })}\n`);
  }
  const stamp = (k) => Buffer.from(`${k},block,-1,,true\n`);
  const stampJson = (k) => Buffer.from(`${JSON.stringify({ id: k, name: 'block', score: -1, note: null, flag: true })}\n`);
  return { header, body: Buffer.from(csv.join('')), expected: Buffer.from(ndjson.join('')), stamp, stampJson };
})();

/** The proof's CSV of `blocks` blocks, as pieces made when asked for. */
async function* proofCsv(blocks) {
  yield proof.header;
  for (let k = 0; k < blocks; k++) {
    yield proof.stamp(k);
    yield proof.body;
  }
}

/** Checks a body against the rendering of `blocks` blocks as it comes, never holding
 * it: { bytes, ms } once it has ended. */
async function checkNdjson(res, blocks, started) {
  const reader = res.body.getReader();
  let [k, part, at, bytes] = [0, proof.stampJson(0), 0, 0];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    let chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    bytes += chunk.length;
    while (chunk.length > 0) {
      assert.ok(part, `output past the end, at byte ${bytes - chunk.length}`);
      const n = Math.min(chunk.length, part.length - at);
      if (!chunk.subarray(0, n).equals(part.subarray(at, at + n))) {
        assert.fail(`block ${k} differs at byte ${bytes - chunk.length}: ${chunk.subarray(0, 120)}`);
      }
      chunk = chunk.subarray(n);
      at += n;
      if (at === part.length) {
        at = 0;
        if (part !== proof.expected) part = proof.expected;
        else part = ++k < blocks ? proof.stampJson(k) : null;
      }
    }
  }
  assert.equal(part, null, `the output ended early, in block ${k}`);
  return { bytes, ms: performance.now() - started };
}

test('1 GiB of CSV -> NDJSON through the Worker in under 64 MiB of wasm memory (issue 20)', { timeout: 600_000 }, async () => {
  const mib = Number(process.env.KILN_EDGE_STREAM_MIB ?? 1024);
  const blocks = Math.ceil((mib * MiB) / (proof.body.length + 16));
  const pipeline = `/v1/run${q('parse_csv | to_json format=ndjson')}`;
  const fresh = await startWorker({ KILN_DEBUG: '1' });
  try {
    const memory = async () => (await (await fresh.dispatchFetch('http://127.0.0.1/_kiln/memory')).json()).wasm_memory_bytes;
    const atStart = await memory();
    // The stream first (the isolate's high-water mark is its): made as it is sent,
    // checked as it comes.
    const started = performance.now();
    const res = await workerFetch(fresh, `http://127.0.0.1${pipeline}`, { method: 'POST', body: proofCsv(blocks), duplex: 'half' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('kiln-meta'), '{"kind":"table","content_type":"application/x-ndjson","version":"0.1.0"}');
    const { bytes, ms } = await checkNdjson(res, blocks, started);
    const peak = await memory();
    const sent = proof.header.length + Array.from({ length: blocks }, (_, k) => proof.stamp(k).length + proof.body.length).reduce((a, b) => a + b, 0);
    // The one-shot path: bodies of as many blocks as the window takes (content-length),
    // 16 MiB in all.
    const per = Math.floor((WINDOW - proof.header.length) / (proof.body.length + 16));
    const one = Buffer.concat([proof.header, ...Array.from({ length: per }, (_, k) => [proof.stamp(k), proof.body]).flat()]);
    assert.ok(one.length <= WINDOW && per >= 3, `${per} blocks, ${one.length} bytes`);
    const oneShot = { input: 0, ms: 0 };
    const t0 = performance.now();
    while (oneShot.input < 16 * MiB) {
      const res = await workerFetch(fresh, `http://127.0.0.1${pipeline}`, { method: 'POST', body: one });
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.headers.get('kiln-meta')).rows, per * 8193, 'a whole answer');
      await checkNdjson(res, per, 0);
      oneShot.input += one.length;
    }
    oneShot.ms = performance.now() - t0;
    const afterOneShot = await memory();
    const mb = (n) => (n / 1e6).toFixed(0);
    const rate = (n, t) => (n / 1e3 / t).toFixed(1);
    console.table([
      { run: `streamed, ${mib} MiB chunked`, 'input MB': mb(sent), 's': (ms / 1e3).toFixed(1), 'MB/s in': rate(sent, ms), 'wasm high-water MiB': (peak / MiB).toFixed(1) },
      { run: `one-shot, ${mb(one.length)} MB bodies (run)`, 'input MB': mb(oneShot.input), 's': (oneShot.ms / 1e3).toFixed(1), 'MB/s in': rate(oneShot.input, oneShot.ms), 'wasm high-water MiB': (afterOneShot / MiB).toFixed(1) },
    ]);
    console.log(`# streamed ${blocks} blocks (${blocks * 8193} rows): ${mb(sent)} MB in, ${mb(bytes)} MB of NDJSON out, every byte checked; wasm memory ${(atStart / MiB).toFixed(1)} MiB at start, ${(peak / MiB).toFixed(1)} MiB high-water`);
    assert.ok(peak < 64 * MiB, `wasm memory reached ${(peak / MiB).toFixed(1)} MiB`);
  } finally {
    await fresh.dispose();
  }
});
