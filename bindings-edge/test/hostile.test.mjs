// The hostile corpus in workerd: every case of tests/cases that expects an error (the
// same files the conformance matrix runs on every target and `kiln serve`'s load test
// sends), three rounds, 16 at a time, plus broken requests: a body stream that fails
// midway, a body over the limit, pipelines that are not text. Every answer must be a
// clean JSON error with its code's status — never a 500, never a lost request — and the
// isolate must live through it all: its count of requests served (GET /_kiln/memory,
// KILN_DEBUG=1) covers every request sent, which a restarted isolate's would not, and
// valid jobs still give the native kernel's bytes afterwards. Needs the built Worker
// (scripts/build-edge.sh) and target/debug/kiln-cases, whose `--list` loads the cases
// (kiln-case-format: the one loader every test uses).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { startWorker, workerFetch, root, MAX_BODY } from './lib.mjs';

const STATUS = { bad_pipeline: 400, bad_input: 422, unsupported: 415, too_large: 413 };
const casesDir = resolve(root, 'tests/cases');

/** Every case of tests/cases, as kiln-case-format loads it: { name, pipeline, input, expect }. */
function loadCases() {
  const bin = process.env.KILN_CASES_BIN ?? resolve(root, 'target/debug/kiln-cases');
  if (!existsSync(bin)) throw new Error(`${bin} missing: cargo build -p kiln-cases`);
  const lines = execFileSync(bin, ['--list', '--cases', casesDir], { maxBuffer: 1 << 30 }).toString().trim().split('\n');
  return lines.map((line) => {
    const c = JSON.parse(line);
    return { name: c.name, pipeline: c.pipeline, input: Buffer.from(c.input_base64, 'base64'), expect: c.expect, skip: c.skip };
  });
}
const allCases = loadCases();

/** Every error case: { name, pipeline, input, code }. */
function hostileCases() {
  return allCases.filter((c) => c.expect.error && !c.skip).map((c) => ({ ...c, code: c.expect.error }));
}

let mf;
/** Requests sent to the Worker so far. */
let sent = 0;
before(async () => {
  mf = await startWorker({ KILN_DEBUG: '1' });
});
after(async () => {
  await mf?.dispose();
});

const run = (pipeline, body, init = {}) => {
  sent++;
  return workerFetch(mf, `http://127.0.0.1/v1/run?pipeline=${encodeURIComponent(pipeline)}`, { method: 'POST', body, ...init });
};

/** { wasm_memory_bytes, requests_served } of the isolate (counted in `sent` too). */
const probe = async () => {
  sent++;
  return (await mf.dispatchFetch('http://127.0.0.1/_kiln/memory')).json();
};
/** Checks that the isolate that answers has served every request sent so far. */
async function sameIsolate(what) {
  const { wasm_memory_bytes: memory, requests_served: served } = await probe();
  assert.ok(served >= sent, `${what}: the isolate has served ${served} of ${sent} requests: it was restarted`);
  assert.ok(memory <= 128 << 20, `${what}: wasm memory ${memory} past the 128 MB isolate`);
  return memory;
}

/** Checks a clean error answer and returns its code. */
async function expectError(res, what) {
  const text = await res.text();
  assert.notEqual(res.status, 500, `${what}: 500 ${text.slice(0, 300)}`);
  assert.equal(res.headers.get('content-type'), 'application/json', `${what}: ${text.slice(0, 300)}`);
  const { error } = JSON.parse(text);
  assert.ok(error?.code && error.message, `${what}: ${text.slice(0, 300)}`);
  assert.equal(res.status, STATUS[error.code], `${what}: status of ${error.code}`);
  return error.code;
}

/** Valid jobs with pinned outputs (a sha256 or an exact text). */
function validCases() {
  return ['image/resize-lanczos3', 'compress/gzip-level6', 'table/ndjson-to-csv'].map((name) => {
    const c = allCases.find((k) => k.name === name);
    assert.ok(c, `case ${name} not found`);
    return { name, pipeline: c.pipeline, input: c.input, sha256: c.expect.sha256, text: c.expect.text };
  });
}

test('every error case of tests/cases, 3 rounds, 16 at a time: clean errors, one isolate throughout', async () => {
  const cases = hostileCases();
  assert.ok(cases.length >= 30, `only ${cases.length} error cases`);
  const valid = validCases();
  for (const v of valid) assert.ok(v.sha256 || v.text, `${v.name} pins its output`);
  const start = await sameIsolate('at start');
  let last = start;
  let answered = 0;
  for (let round = 0; round < 3; round++) {
    const queue = [...cases];
    await Promise.all(Array.from({ length: 16 }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const code = await expectError(await run(c.pipeline, c.input), c.name);
        assert.equal(code, c.code, c.name);
        answered++;
      }
    }));
    last = await sameIsolate(`after round ${round + 1}`);
  }
  assert.equal(answered, 3 * cases.length);
  for (const v of valid) {
    const res = await run(v.pipeline, v.input);
    assert.equal(res.status, 200, v.name);
    const out = Buffer.from(await res.arrayBuffer());
    if (v.sha256) assert.equal(createHash('sha256').update(out).digest('hex'), v.sha256, `${v.name} after the hostile rounds`);
    else assert.equal(out.toString('utf8'), v.text, `${v.name} after the hostile rounds`);
  }
  await sameIsolate('at the end');
  console.log(`workerd: ${answered} hostile requests, all clean errors; wasm memory ${(start / 2 ** 20).toFixed(1)} -> ${(last / 2 ** 20).toFixed(1)} MiB`);
});

test('broken requests: a failing body stream, a body over the limit, pipelines that are not text', async () => {
  await sameIsolate('at start');
  // A body stream that errors after 64 KiB: the request fails on the client side or is
  // answered with a clean error; the Worker carries on.
  const failing = new ReadableStream({
    start(controller) {
      controller.enqueue(new Uint8Array(64 << 10));
      controller.error(new Error('client went away'));
    },
  });
  let res;
  try {
    res = await run('compress', failing, { duplex: 'half' });
  } catch (e) {
    // The client's own fetch fails, with our stream's error as the cause (and the
    // request may never have reached the Worker).
    assert.match(`${e} ${e?.cause}`, /client went away/);
    sent--;
  }
  if (res) await expectError(res, 'failing body');
  // Over the limit (a pipeline that does not stream: a streamed body has no body limit),
  // sent chunked as dispatchFetch sends it: announced, it is answered before it is sent
  // and the client's fetch fails under it (api.test.mjs retries that).
  sent++;
  const over = await mf.dispatchFetch(`http://127.0.0.1/v1/run?pipeline=grayscale`, { method: 'POST', body: Buffer.alloc(MAX_BODY + 1) });
  assert.equal(await expectError(over, 'over the limit'), 'too_large');
  // Pipelines that are binary, long, empty steps, or JSON with an object for a name.
  for (const pipeline of ['\u0000\u0001\u0002', 'blur sigma=1 | '.repeat(300), ' | | ', '{"steps": [{"op": {"$ne": 1}}]}']) {
    assert.equal(await expectError(await run(pipeline, Buffer.from('x')), `pipeline ${pipeline.slice(0, 20)}`), 'bad_pipeline');
  }
  const h = await mf.dispatchFetch('http://127.0.0.1/v1/run', {
    method: 'POST', body: 'x', headers: { 'kiln-pipeline': 'resize width=\u00ff' },
  });
  sent++;
  assert.equal(await expectError(h, 'non-ASCII header'), 'bad_pipeline');
  await sameIsolate('at the end');
  const ok = await mf.dispatchFetch('http://127.0.0.1/healthz');
  assert.equal(ok.status, 200);
});
