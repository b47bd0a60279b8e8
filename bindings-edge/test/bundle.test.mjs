// The Worker bundle (what `wrangler deploy` uploads: index.js + index_bg.wasm) must stay
// under 1 MB gzipped (the Free plan allows 3 MB), and start in workerd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildDir, startWorker } from './lib.mjs';

const BUDGET = 1_000_000;

test(`bundle is at most ${BUDGET} bytes gzipped`, () => {
  const files = ['index.js', 'index_bg.wasm'].map((f) => readFileSync(resolve(buildDir, f)));
  const raw = files.reduce((n, f) => n + f.length, 0);
  const gz = files.reduce((n, f) => n + gzipSync(f, { level: 9 }).length, 0);
  console.log(`# bundle: ${raw} bytes raw, ${gz} bytes gzipped`);
  assert.ok(gz <= BUDGET, `${gz} bytes gzipped > ${BUDGET}`);
});

test('smoke: the Worker answers in workerd', async () => {
  const mf = await startWorker();
  try {
    const res = await mf.dispatchFetch('http://127.0.0.1/healthz');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '{"status":"ok"}');
    const run = await mf.dispatchFetch('http://127.0.0.1/v1/run?pipeline=compress%20%7C%20decompress', { method: 'POST', body: 'hello' });
    assert.equal(await run.text(), 'hello');
  } finally {
    await mf.dispose();
  }
});
