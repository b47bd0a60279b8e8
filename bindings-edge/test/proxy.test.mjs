// Image-proxy mode in workerd: GET /v1/run?src= against origins served on 127.0.0.1,
// allowed and refused, redirects, the Cache API (a hit on the second request, the
// origin not asked again), ETag / If-None-Match.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startWorker, root, MAX_BODY } from './lib.mjs';

const photo = readFileSync(resolve(root, 'tests/data/photo.jpg'));

function origin(routes) {
  const hits = {};
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    hits[path] = (hits[path] ?? 0) + 1;
    const route = routes(path);
    if (!route) { res.writeHead(404).end('no'); return; }
    res.writeHead(route.status ?? 200, route.headers ?? {});
    res.end(route.body);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => {
    ok({ server, hits, url: `http://127.0.0.1:${server.address().port}` });
  }));
}

let allowed; // the allowed origin
let other; // a second origin, not in the allow-list
let mf;
let mfOff; // a Worker with proxy mode off
before(async () => {
  other = await origin((p) => (p === '/photo.jpg' ? { body: photo, headers: { 'content-type': 'image/jpeg' } } : null));
  allowed = await origin((p) => ({
    '/photo.jpg': { body: photo, headers: { 'content-type': 'image/jpeg' } },
    '/photo2.jpg': { body: photo, headers: { 'content-type': 'image/jpeg', 'cache-control': 'public, max-age=60' } },
    '/nostore.jpg': { body: photo, headers: { 'cache-control': 'no-store' } },
    '/to-photo': { status: 302, headers: { location: '/photo.jpg' } },
    '/away': { status: 301, headers: { location: `${other.url}/photo.jpg` } },
    '/loop': { status: 307, headers: { location: '/loop' } },
    '/big': { body: Buffer.alloc(MAX_BODY + 1) },
  })[p]);
  [mf, mfOff] = await Promise.all([
    startWorker({ KILN_ALLOWED_ORIGINS: `https://images.example.com, ${allowed.url}` }),
    startWorker(),
  ]);
});
after(async () => {
  await Promise.all([mf?.dispose(), mfOff?.dispose()]);
  allowed?.server.close();
  other?.server.close();
});

const proxied = (src, pipeline, headers = {}, worker = mf) =>
  worker.dispatchFetch(`http://127.0.0.1/v1/run?src=${encodeURIComponent(src)}` +
    (pipeline === undefined ? '' : `&pipeline=${encodeURIComponent(pipeline)}`), { headers });

async function errorOf(res, status, code) {
  const body = await res.text();
  assert.equal(res.status, status, body);
  assert.equal(res.headers.get('content-type'), 'application/json');
  const { error } = JSON.parse(body);
  assert.equal(error.code, code);
  return error;
}

test('allowed origin: runs the pipeline, then answers the second request from the cache', async () => {
  const pipeline = 'resize width=64 | encode format=png';
  const first = await proxied(`${allowed.url}/photo.jpg`, pipeline);
  const a = Buffer.from(await first.arrayBuffer());
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('kiln-cache'), 'miss');
  assert.equal(first.headers.get('content-type'), 'image/png');
  assert.equal(first.headers.get('cache-control'), 'public, max-age=86400');
  const etag = first.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]{32}"$/);

  // The same bytes and meta as POST /v1/run with the source as body.
  const posted = await mf.dispatchFetch(`http://127.0.0.1/v1/run?pipeline=${encodeURIComponent(pipeline)}`, { method: 'POST', body: photo });
  assert.ok(Buffer.from(await posted.arrayBuffer()).equals(a));
  assert.equal(first.headers.get('kiln-meta'), posted.headers.get('kiln-meta'));
  assert.equal(allowed.hits['/photo.jpg'], 1);

  const second = await proxied(`${allowed.url}/photo.jpg`, pipeline);
  assert.equal(second.status, 200);
  assert.equal(second.headers.get('kiln-cache'), 'hit');
  assert.equal(second.headers.get('etag'), etag);
  assert.equal(second.headers.get('kiln-meta'), first.headers.get('kiln-meta'));
  assert.ok(Buffer.from(await second.arrayBuffer()).equals(a));
  assert.equal(allowed.hits['/photo.jpg'], 1, 'a cache hit must not fetch the source again');

  // Another pipeline on the same source is another key.
  const third = await proxied(`${allowed.url}/photo.jpg`, 'resize width=32 | encode format=png');
  assert.equal(third.headers.get('kiln-cache'), 'miss');
  await third.arrayBuffer();
  assert.equal(allowed.hits['/photo.jpg'], 2);
});

test('ETag and If-None-Match: 304, from the cache and on a miss', async () => {
  const pipeline = 'grayscale | encode format=webp';
  const first = await proxied(`${allowed.url}/photo2.jpg`, pipeline);
  await first.arrayBuffer();
  assert.equal(first.status, 200);
  assert.equal(first.headers.get('cache-control'), 'public, max-age=60');
  const etag = first.headers.get('etag');
  const hit = await proxied(`${allowed.url}/photo2.jpg`, pipeline, { 'if-none-match': etag });
  assert.equal(hit.status, 304);
  assert.equal(hit.headers.get('etag'), etag);
  assert.equal(hit.headers.get('kiln-cache'), 'hit');
  assert.equal((await hit.arrayBuffer()).byteLength, 0);
  const weak = await proxied(`${allowed.url}/photo2.jpg`, pipeline, { 'if-none-match': `"nope", W/${etag}` });
  assert.equal(weak.status, 304);
  await weak.arrayBuffer();
  const stale = await proxied(`${allowed.url}/photo2.jpg`, pipeline, { 'if-none-match': '"0000"' });
  assert.equal(stale.status, 200);
  await stale.arrayBuffer();
  // A miss whose result matches (another key, same bytes): still 304.
  const miss = await proxied(`${allowed.url}/photo.jpg`, pipeline, { 'if-none-match': etag });
  assert.equal(miss.status, 304);
  assert.equal(miss.headers.get('kiln-cache'), 'miss');
  await miss.arrayBuffer();
});

test('an origin outside the allow-list is 403, never fetched', async () => {
  const error = await errorOf(await proxied(`${other.url}/photo.jpg`, 'grayscale'), 403, 'forbidden');
  assert.equal(error.param, 'src');
  assert.match(error.message, /not in KILN_ALLOWED_ORIGINS/);
  assert.equal(other.hits['/photo.jpg'], undefined);
  await errorOf(await proxied('http://localhost:1/photo.jpg', 'grayscale'), 403, 'forbidden');
});

test('redirects: followed inside the allow-list, refused when they leave it', async () => {
  const ok = await proxied(`${allowed.url}/to-photo`, 'resize width=16 | encode format=png');
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('content-type'), 'image/png');
  await ok.arrayBuffer();
  const away = await errorOf(await proxied(`${allowed.url}/away`, 'grayscale'), 403, 'forbidden');
  assert.match(away.message, /redirected to http:\/\/127\.0\.0\.1:\d+/);
  assert.equal(other.hits['/photo.jpg'], undefined, 'the refused redirect target must not be fetched');
  await errorOf(await proxied(`${allowed.url}/loop`, 'grayscale'), 502, 'bad_gateway');
});

test('origin errors and limits', async () => {
  const missing = await errorOf(await proxied(`${allowed.url}/missing.jpg`, 'grayscale'), 502, 'bad_gateway');
  assert.equal(missing.message, 'origin answered 404');
  const big = await errorOf(await proxied(`${allowed.url}/big`, 'compress'), 413, 'too_large');
  assert.equal(big.message, `source exceeds the limit of ${MAX_BODY} bytes`);
  // Unreachable: nothing listens on port 9 of the allow-listed host... (use a closed port of the allowed list)
  const closed = await startWorker({ KILN_ALLOWED_ORIGINS: 'http://127.0.0.1:9' });
  try {
    await errorOf(await proxied('http://127.0.0.1:9/x.jpg', 'grayscale', {}, closed), 502, 'bad_gateway');
  } finally {
    await closed.dispose();
  }
});

test('the request is checked before anything is fetched', async () => {
  const before = allowed.hits['/nostore.jpg'] ?? 0;
  await errorOf(await proxied(`${allowed.url}/nostore.jpg`, 'frobnicate'), 400, 'bad_pipeline');
  await errorOf(await proxied(`${allowed.url}/nostore.jpg`), 400, 'bad_pipeline');
  await errorOf(await proxied('/photo.jpg', 'grayscale'), 400, 'bad_pipeline');
  await errorOf(await proxied('file:///etc/passwd', 'grayscale'), 400, 'bad_pipeline');
  assert.equal(allowed.hits['/nostore.jpg'] ?? 0, before);
  // A kernel error on the fetched source keeps its code.
  await errorOf(await proxied(`${allowed.url}/photo.jpg`, 'json'), 422, 'bad_input');
});

test('the origin\'s no-store is kept and nothing is cached', async () => {
  for (let i = 0; i < 2; i++) {
    const res = await proxied(`${allowed.url}/nostore.jpg`, 'resize width=8 | encode format=png');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('kiln-cache'), 'miss');
    await res.arrayBuffer();
  }
  assert.equal(allowed.hits['/nostore.jpg'], 2);
});

test('a proxied pipeline must be in the URL (the cache key), not the kiln-pipeline header', async () => {
  const before = allowed.hits['/photo.jpg'] ?? 0;
  const res = await proxied(`${allowed.url}/photo.jpg`, undefined, { 'kiln-pipeline': 'resize width=8 | encode format=png' });
  const error = await errorOf(res, 400, 'bad_pipeline');
  assert.match(error.message, /\?pipeline=/);
  assert.equal(allowed.hits['/photo.jpg'] ?? 0, before, 'nothing fetched');
});

test('two spellings of one pipeline share a cache entry; a fragment is not part of the key', async () => {
  const first = await proxied(`${allowed.url}/photo.jpg`, 'resize width=24 | encode format=png');
  assert.equal(first.headers.get('kiln-cache'), 'miss');
  const a = Buffer.from(await first.arrayBuffer());
  const second = await proxied(`${allowed.url}/photo.jpg#top`, '{"steps": [{"op": "resize", "width": 24}, {"op": "encode", "format": "png"}]}');
  assert.equal(second.headers.get('kiln-cache'), 'hit');
  assert.ok(Buffer.from(await second.arrayBuffer()).equals(a));
});

test('src with credentials is 400, not 500', async () => {
  const src = allowed.url.replace('http://', 'http://user:secret@') + '/photo.jpg';
  const error = await errorOf(await proxied(src, 'grayscale'), 400, 'bad_pipeline');
  assert.match(error.message, /credentials/);
});

test('proxy mode off (no KILN_ALLOWED_ORIGINS): 403', async () => {
  const error = await errorOf(await proxied(`${allowed.url}/photo.jpg`, 'grayscale', {}, mfOff), 403, 'forbidden');
  assert.match(error.message, /proxy mode is off/);
});
