// HTTP API v1 in workerd: every route and error status, each answer compared with
// `kiln serve`'s for the same request (status, content-type, kiln-meta, nosniff, body; `allow`
// on 405). Needs the built Worker (scripts/build-edge.sh) and target/debug/kiln.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startWorker, startNative, snapshot, workerFetch, root, MAX_BODY } from './lib.mjs';

const data = (f) => readFileSync(resolve(root, 'tests/data', f));
const q = (p) => `?pipeline=${encodeURIComponent(p)}`;

let mf;
let native;
before(async () => {
  [mf, native] = await Promise.all([startWorker(), startNative()]);
});
after(async () => {
  native?.stop();
  await mf?.dispose();
});

const both = async (path, init = {}) => {
  // Both answer 413 before reading a too-large body and may close the connection while
  // the client still sends it: retry a failed fetch.
  const retried = async (send) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await snapshot(await send());
      } catch (e) {
        if (attempt === 2) throw e;
      }
    }
  };
  const w = await retried(() => workerFetch(mf, `http://127.0.0.1${path}`, init));
  const n = await retried(() => fetch(`${native.url}${path}`, init));
  return { w, n };
};

// [name, path, init, expected status]
const requests = [
  ['healthz', '/healthz', {}, 200],
  ['healthz HEAD', '/healthz', { method: 'HEAD' }, 200],
  ['openapi', '/v1/openapi.json', {}, 200],
  ['home', '/', {}, 200],
  ['home POST', '/', { method: 'POST' }, 200],
  ['unknown path', '/nope', {}, 404],
  ['trailing slash', '/v1/ops/', {}, 404],
  ['POST /v1/ops', '/v1/ops', { method: 'POST' }, 405],
  ['DELETE /healthz', '/healthz', { method: 'DELETE' }, 405],
  ['GET /v1/run without src', '/v1/run', {}, 405],
  ['PUT /v1/run', '/v1/run', { method: 'PUT', body: 'x' }, 405],
  ['no pipeline', '/v1/run', { method: 'POST', body: 'x' }, 400],
  ['unknown op', `/v1/run${q('frobnicate')}`, { method: 'POST', body: 'x' }, 400],
  ['bad parameter', `/v1/run${q('resize width=0')}`, { method: 'POST', body: data('photo.png') }, 400],
  ['kinds do not chain', `/v1/run${q('parse_csv | blur sigma=1')}`, { method: 'POST', body: 'a\n1\n' }, 400],
  ['invalid percent', '/v1/run?pipeline=%ZZ', { method: 'POST', body: 'x' }, 400],
  ['duplicate pipeline', '/v1/run?pipeline=json&pipeline=json', { method: 'POST', body: '[]' }, 400],
  ['header not ASCII', '/v1/run', { method: 'POST', body: '[]', headers: { 'kiln-pipeline': 'json caf\u00e9' } }, 400],
  ['bad JSON input', `/v1/run${q('json')}`, { method: 'POST', body: '{' }, 422],
  ['empty input', `/v1/run${q('json')}`, { method: 'POST' }, 422],
  ['corrupt image', `/v1/run${q('grayscale')}`, { method: 'POST', body: 'not an image at all' }, 422],
  ['QOI not built in', `/v1/run${q('grayscale')}`, { method: 'POST', body: Buffer.from('cW9pZgAAAAIAAAACBAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==', 'base64') }, 415],
  ['pixel limit', `/v1/run${q('limits max_pixels=1000 | grayscale')}`, { method: 'POST', body: data('photo.png') }, 413],
  ['json depth', `/v1/run${q('json')}`, { method: 'POST', body: '['.repeat(200) + ']'.repeat(200) }, 413],
  // The body limit holds for pipelines that do not stream (a streamed body has none:
  // stream.test.mjs).
  ['body over the limit', `/v1/run${q('grayscale')}`, { method: 'POST', body: Buffer.alloc(MAX_BODY + 1) }, 413],
  ['body at the limit', `/v1/run${q('compress level=1')}`, { method: 'POST', body: Buffer.alloc(MAX_BODY) }, 200],
  ['pipeline header', '/v1/run', { method: 'POST', body: '[1, 2]', headers: { 'kiln-pipeline': 'json mode=minify' } }, 200],
  ['query beats header', `/v1/run${q('json mode=pretty')}`, { method: 'POST', body: '[1]', headers: { 'kiln-pipeline': 'compress' } }, 200],
  ['plus is a space', '/v1/run?pipeline=json+mode%3Dminify', { method: 'POST', body: '[1, 2]' }, 200],
  ['empty pipeline', '/v1/run?pipeline=', { method: 'POST', body: 'abc' }, 200],
  ['JSON pipeline', `/v1/run${q('{"steps":[{"op":"compress","format":"zlib","level":9}]}')}`, { method: 'POST', body: data('lines.txt') }, 200],
  ['gunzip', `/v1/run${q('decompress')}`, { method: 'POST', body: data('lines.txt.gz') }, 200],
  ['thumbnail png', `/v1/run${q('resize width=64 | encode format=png')}`, { method: 'POST', body: data('photo.jpg') }, 200],
  ['webp', `/v1/run${q('resize width=100 fit=cover height=100 | sharpen sigma=1 | encode format=webp')}`, { method: 'POST', body: data('photo.png') }, 200],
  ['implied jpeg', `/v1/run${q('blur sigma=2')}`, { method: 'POST', body: data('photo.jpg') }, 200],
  ['csv stats', `/v1/run${q('parse_csv | stats')}`, { method: 'POST', body: data('people.csv') }, 200],
  ['ndjson', `/v1/run${q('parse_json | filter where="id >= 2" | to_csv')}`, { method: 'POST', body: data('people.ndjson') }, 200],
  ['check', `/v1/check${q('resize width=64 | encode format=png')}`, { method: 'POST' }, 200],
  ['check by header', '/v1/check', { method: 'POST', body: 'x', headers: { 'kiln-pipeline': 'parse_csv delimiter=";" | stats' } }, 200],
  ['check with limits', `/v1/check${q('{"steps":[{"op":"json"}],"limits":{"max_json_depth":4}}')}`, { method: 'POST' }, 200],
  ['check a bad pipeline', `/v1/check${q('blur sigma=0')}`, { method: 'POST' }, 400],
  ['check without pipeline', '/v1/check', { method: 'POST' }, 400],
  ['GET /v1/check', '/v1/check', {}, 405],
];

for (const [name, path, init, status] of requests) {
  test(`identical to kiln serve: ${name} (${status})`, async () => {
    const { w, n } = await both(path, init);
    assert.equal(n.status, status, `kiln serve: ${n.body.toString().slice(0, 200)}`);
    assert.equal(w.status, n.status, `workerd: ${w.body.toString().slice(0, 200)}`);
    assert.equal(w.contentType, n.contentType);
    assert.equal(w.meta, n.meta);
    if (status === 405) assert.equal(w.allow, n.allow);
    assert.equal(w.nosniff, 'nosniff');
    assert.equal(n.nosniff, 'nosniff');
    assert.ok(w.body.equals(n.body), `bodies differ:\n  workerd ${w.body.toString().slice(0, 300)}\n  native  ${n.body.toString().slice(0, 300)}`);
  });
}

test('body over the limit without content-length (chunked) is 413 too', async () => {
  const chunks = async function* () { for (let i = 0; i < 17; i++) yield Buffer.alloc(1 << 20); };
  const res = await mf.dispatchFetch(`http://127.0.0.1/v1/run${q('grayscale')}`, {
    method: 'POST', body: chunks(), duplex: 'half',
  });
  assert.equal(res.status, 413);
  const { error } = await res.json();
  assert.equal(error.code, 'too_large');
  assert.equal(error.message, `request body exceeds the limit of ${MAX_BODY} bytes`);
});

test('GET /v1/ops: kiln serve\'s describe(), with the Worker\'s limits', async () => {
  const { w, n } = await both('/v1/ops');
  assert.equal(w.status, 200);
  assert.equal(w.contentType, n.contentType);
  const wj = JSON.parse(w.body);
  const nj = JSON.parse(n.body);
  assert.deepEqual(wj.limits, {
    max_input_bytes: MAX_BODY, max_output_bytes: 32 << 20, max_pixels: 12 << 20, max_dimension: 16384,
    max_decompressed_bytes: 32 << 20, max_rows: 1_000_000, max_columns: 4096, max_json_depth: 128,
    max_memory_bytes: 88 << 20,
  });
  assert.equal(nj.limits.max_input_bytes, MAX_BODY);
  assert.equal(nj.limits.max_memory_bytes, 1024 / 8 * 7 << 20, 'kiln serve: 7/8 of --job-memory-mib');
  delete wj.limits;
  delete nj.limits;
  // kiln serve also names its engine and the component's sha256; the Worker runs the
  // wasm-bindgen build, not the component.
  assert.equal(nj.kernel.engine, 'wasm');
  assert.match(nj.kernel.sha256, /^[0-9a-f]{64}$/);
  delete nj.kernel;
  assert.deepEqual(wj, nj);
});

test('the Worker\'s limits hold: a 5000x5000 image is too_large (the server would take it)', async () => {
  // A PNG whose header claims 5000x5000 (25 Mpx > 12 Mi px): refused before allocating.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgABhqAAAYagCAYAAACoUgvIAAAADElEQVR4nGNgoAwAAABAAAG3NHzvAAAAAElFTkSuQmCC', 'base64');
  png.writeUInt32BE(5000, 16);
  png.writeUInt32BE(5000, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  const res = await workerFetch(mf, `http://127.0.0.1/v1/run${q('grayscale')}`, { method: 'POST', body: png });
  const body = await res.text();
  assert.equal(res.status, 413, body);
  assert.equal(JSON.parse(body).error.code, 'too_large');
  const n = await fetch(`${native.url}/v1/run${q('grayscale')}`, { method: 'POST', body: png });
  assert.notEqual(n.status, 413, 'kiln serve has the higher server limit');
  await n.arrayBuffer();
});

function crc32(buf) {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

test('/metrics and /_kiln/memory are not served (debug off)', async () => {
  for (const p of ['/metrics', '/_kiln/memory']) {
    const res = await mf.dispatchFetch(`http://127.0.0.1${p}`);
    assert.equal(res.status, 404);
    await res.arrayBuffer();
  }
});
