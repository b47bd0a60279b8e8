// kiln-http (HTTP API v1 as a wasi:http component) under `wasmtime serve`: every route and
// error, each answer compared with `kiln serve`'s for the same request (status,
// content-type, kiln-meta, nosniff, body; `allow` on 405), /v1/ops, the component's
// imports (the wasi:http/proxy world's only) and what it does not serve. Needs
// target/components/kiln-http.wasm (scripts/build-wasi-http.sh), target/debug/kiln and
// the wasmtime CLI (scripts/setup.sh).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { componentWit } from '../../examples/js/node_modules/@bytecodealliance/jco-transpile/dist/wasm-tools.js';
import { startWasmtime, startNative, fetchRetry, upload, root, component, MAX_BODY } from './lib.mjs';

const data = (f) => readFileSync(resolve(root, 'tests/data', f));
const q = (p) => `?pipeline=${encodeURIComponent(p)}`;

let wasi;
let native;
before(async () => {
  [wasi, native] = await Promise.all([startWasmtime(), startNative()]);
});
after(() => {
  wasi?.stop();
  native?.stop();
});

const both = async (path, init = {}) => ({
  w: await fetchRetry(`${wasi.url}${path}`, init),
  n: await fetchRetry(`${native.url}${path}`, init),
});

// [name, path, init, expected status]: the Worker's list (bindings-edge/test/api.test.mjs)
// with kiln serve's default body limit.
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
  ['GET /v1/run with src (no image proxy)', '/v1/run?src=http%3A%2F%2F127.0.0.1%2Fa.png&pipeline=grayscale', {}, 405],
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
  ['pipeline header', '/v1/run', { method: 'POST', body: '[1, 2]', headers: { 'kiln-pipeline': 'json mode=minify' } }, 200],
  ['query beats header', `/v1/run${q('json mode=pretty')}`, { method: 'POST', body: '[1]', headers: { 'kiln-pipeline': 'compress' } }, 200],
  ['plus is a space', '/v1/run?pipeline=json+mode%3Dminify', { method: 'POST', body: '[1, 2]' }, 200],
  ['empty pipeline', '/v1/run?pipeline=', { method: 'POST', body: 'abc' }, 200],
  ['JSON pipeline', `/v1/run${q('{"steps":[{"op":"compress","format":"zlib","level":9}]}')}`, { method: 'POST', body: data('lines.txt') }, 200],
  ['gunzip', `/v1/run${q('decompress')}`, { method: 'POST', body: data('lines.txt.gz') }, 200],
  ['thumbnail png', `/v1/run${q('resize width=64 | encode format=png')}`, { method: 'POST', body: data('photo.jpg') }, 200],
  ['webp', `/v1/run${q('resize width=100 fit=cover height=100 | sharpen sigma=1 | encode format=webp')}`, { method: 'POST', body: data('photo.png') }, 200],
  ['implied jpeg', `/v1/run${q('blur sigma=2')}`, { method: 'POST', body: data('photo.jpg') }, 200],
  ['a 4 MiB output', `/v1/run${q('decode format=rgba width=1024 height=1024 | encode format=rgba')}`, { method: 'POST', body: Buffer.alloc(4 << 20, 7) }, 200],
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
    assert.equal(w.status, n.status, `wasmtime serve: ${w.body.toString().slice(0, 200)}`);
    assert.equal(w.contentType, n.contentType);
    assert.equal(w.meta, n.meta);
    if (status === 405) assert.equal(w.allow, n.allow);
    assert.equal(w.nosniff, 'nosniff');
    assert.equal(n.nosniff, 'nosniff');
    assert.ok(w.body.equals(n.body), `bodies differ:\n  wasi-http ${w.body.toString().slice(0, 300)}\n  native    ${n.body.toString().slice(0, 300)}`);
  });
}

test('a body declared over the limit is 413 before it is read, as on kiln serve', async () => {
  // A pipeline that does not stream: one that does takes a body of any length.
  const path = `/v1/run${q('resize width=8')}`;
  const w = await upload(wasi.url, path, { declared: MAX_BODY + 1, chunks: 1 });
  const n = await upload(native.url, path, { declared: MAX_BODY + 1, chunks: 1 });
  assert.equal(n.status, 413);
  assert.deepEqual(w, n);
});

test('a body over the limit without content-length (chunked) is 413 once it passes it', async () => {
  // A pipeline that does not stream: a chunked body of one that does goes through a session.
  const res = await upload(wasi.url, `/v1/run${q('resize width=8')}`, { chunks: 300 });
  assert.equal(res.status, 413);
  const { error } = JSON.parse(res.body);
  assert.equal(error.code, 'too_large');
  assert.equal(error.message, `request body exceeds the limit of ${MAX_BODY} bytes`);
});

test('a streamed request: answered as run when small, started past 1 MiB, cut short after an error, as on kiln serve', async () => {
  const rows = ['a,b'];
  for (let i = 0; i < 200_000; i++) rows.push(`${i},x${i}`);
  const good = Buffer.from(`${rows.join('\n')}\n`);
  const bad = Buffer.concat([good, Buffer.from('1,2,3\n')]);
  const chunked = (bytes) => new ReadableStream({
    start(c) {
      for (let at = 0; at < bytes.length; at += 65_536) c.enqueue(bytes.subarray(at, at + 65_536));
      c.close();
    },
  });
  const post = (server, pipeline, bytes) =>
    fetch(`${server.url}/v1/run${q(pipeline)}`, { method: 'POST', body: chunked(bytes), duplex: 'half' });
  // Small: exactly the whole answer (rows and columns in kiln-meta).
  const small = good.subarray(0, 1000);
  const w = await post(wasi, 'parse_csv | stats', small);
  const n = await fetch(`${native.url}/v1/run${q('parse_csv | stats')}`, { method: 'POST', body: small });
  assert.equal(w.status, 200);
  assert.equal(w.headers.get('kiln-meta'), n.headers.get('kiln-meta'));
  assert.ok(Buffer.from(await w.arrayBuffer()).equals(Buffer.from(await n.arrayBuffer())));
  // Long and good: the same bytes as kiln serve, kiln-meta without rows.
  const pipeline = 'parse_csv | to_json format=ndjson';
  const [lw, ln] = await Promise.all([post(wasi, pipeline, good), post(native, pipeline, good)]);
  assert.equal(lw.status, 200);
  assert.equal(JSON.parse(lw.headers.get('kiln-meta')).rows, undefined);
  assert.equal(lw.headers.get('kiln-meta'), ln.headers.get('kiln-meta'));
  assert.ok(Buffer.from(await lw.arrayBuffer()).equals(Buffer.from(await ln.arrayBuffer())), 'the same bytes as kiln serve');
  // Long and bad past the start: NDJSON's error line, then the body is cut short.
  for (const server of [wasi, native]) {
    const res = await post(server, pipeline, bad);
    assert.equal(res.status, 200);
    const reader = res.body.getReader();
    const parts = [];
    const cut = await (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return false;
        parts.push(value);
      }
    })().catch(() => true);
    assert.ok(cut, 'the body is cut short, not ended');
    const last = Buffer.concat(parts).toString().trimEnd().split('\n').pop();
    assert.equal(JSON.parse(last).error?.code, 'bad_input', `${server === wasi ? 'wasi-http' : 'kiln serve'}: ${last}`);
  }
});

test('GET /v1/ops: kiln serve\'s, limits included, without its `kernel` field', async () => {
  const { w, n } = await both('/v1/ops');
  assert.equal(w.status, 200);
  assert.equal(w.contentType, n.contentType);
  const wj = JSON.parse(w.body);
  const nj = JSON.parse(n.body);
  assert.equal(wj.limits.max_input_bytes, MAX_BODY);
  assert.match(nj.kernel.sha256, /^[0-9a-f]{64}$/);
  assert.equal(wj.kernel, undefined);
  delete nj.kernel;
  assert.deepEqual(wj, nj);
});

test('no /metrics, /readyz or admin API', async () => {
  for (const p of ['/metrics', '/readyz', '/v1/admin/kernels']) {
    const res = await fetch(`${wasi.url}${p}`);
    assert.equal(res.status, 404, p);
    await res.arrayBuffer();
  }
});

test('the component imports only the wasi:http/proxy world and exports its handler', async () => {
  const wit = await componentWit(readFileSync(component));
  const imports = [...wit.matchAll(/^\s*import (\S+?);/gm)].map((m) => m[1]);
  const exports = [...wit.matchAll(/^\s*export (\S+?);/gm)].map((m) => m[1]);
  assert.deepEqual(exports, ['wasi:http/incoming-handler@0.2.12']);
  // wasi:http@0.2.x's proxy world: these and nothing else (no filesystem, sockets, env).
  const proxy = /^wasi:(http\/(types|outgoing-handler)|io\/(error|poll|streams)|clocks\/(monotonic-clock|wall-clock)|random\/random|cli\/(stdout|stderr|stdin))@0\.2\.12$/;
  assert.ok(imports.length > 0);
  for (const i of imports) assert.match(i, proxy);
});
