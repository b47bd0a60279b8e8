// The kernel component from JavaScript through jco, against the npm package
// (bindings-web/npm/dist): the same kernel built two ways (wit-bindgen component vs
// wasm-bindgen) must give the same bytes, meta and errors. Needs target/debug/kiln and
// target/debug/kiln-cases (cargo test --workspace --no-run), the built npm package
// (scripts/build-web.sh --package) and this folder's npm ci (scripts/setup.sh).
//
//   node --test examples/js/test/
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { componentWit } from '@bytecodealliance/jco-transpile/wasm-tools';

const here = fileURLToPath(new URL('..', import.meta.url));
const root = resolve(here, '../..');
const bin = (name, env) => {
  const path = process.env[env] ?? resolve(root, 'target/debug', name);
  if (!existsSync(path)) throw new Error(`${path} missing: cargo test --workspace --no-run`);
  return path;
};
const work = mkdtempSync(join(tmpdir(), 'kiln-jco-'));
const component = join(work, 'kiln-kernel.wasm');
const MiB = 1n << 20n;
const DEFAULTS = {
  maxInputBytes: 256n * MiB, maxOutputBytes: 256n * MiB, maxPixels: 64n * MiB, maxDimension: 65535,
  maxDecompressedBytes: 256n * MiB, maxRows: 10_000_000n, maxColumns: 16384, maxJsonDepth: 128,
  maxMemoryBytes: 1024n * MiB,
};

let jco;
let npm;
before(async () => {
  execFileSync(bin('kiln', 'KILN_BIN'), ['export-kernel', component], { stdio: 'ignore' });
  // The example's own transpile script, so the example is what is tested.
  execFileSync(process.execPath, [join(here, 'transpile.mjs'), component, join(work, 'kiln-js')], { stdio: 'ignore' });
  ({ api: jco } = await import(pathToFileURL(join(work, 'kiln-js/kiln.js')).href));
  npm = await import(pathToFileURL(resolve(root, 'bindings-web/npm/dist/node.js')).href);
});

test('wasm-tools component wit (jco\'s build of it): the interface `api`, no imports', async () => {
  const wit = await componentWit(readFileSync(component));
  assert.doesNotMatch(wit, /^\s*import /m, wit);
  assert.deepEqual([...wit.matchAll(/^\s*export ([^;]+);/gm)].map((m) => m[1]), ['kiln:kernel/api@0.4.0']);
  // Its calls, as jco binds them.
  assert.deepEqual(Object.keys(jco).sort(), ['Session', 'check', 'describe', 'run']);
  for (const call of ['push', 'meta', 'finish']) assert.equal(typeof jco.Session.prototype[call], 'function', call);
  assert.equal(typeof jco.Session.open, 'function');
});

test('describe() with the kernel\'s default limits is the npm package\'s describe()', () => {
  const text = jco.describe(DEFAULTS);
  assert.deepEqual(JSON.parse(text), npm.describe());
  const tighter = JSON.parse(jco.describe({ ...DEFAULTS, maxPixels: 1000n }));
  assert.equal(tighter.limits.max_pixels, 1000);
});

test('check() gives the npm package\'s canonical form and errors', () => {
  for (const p of ['resize width=64 | encode format=png', 'parse_csv delimiter=";" | stats', '{"steps":[{"op":"json"}],"limits":{"max_json_depth":4}}']) {
    assert.deepEqual(JSON.parse(jco.check(p)), npm.check(p));
  }
  assert.throws(() => jco.check('blur sigma=0'), (e) => e.payload.code === 'bad-pipeline' && e.payload.step === 0 && e.payload.param === 'sigma');
});

// jco's meta (camelCase, undefined when absent, bigint u64) as the npm package's.
const snake = (meta) => Object.fromEntries(Object.entries(meta).filter(([, v]) => v !== undefined)
  .map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), typeof v === 'bigint' ? Number(v) : v]));
const outcome = (f) => {
  try {
    const { data, meta } = f();
    return { data: Buffer.from(data), meta: meta.contentType ? snake(meta) : meta };
  } catch (e) {
    // jco's ComponentError carries the WIT error in `payload`; the npm package throws KilnError.
    const p = e.payload ?? (e instanceof npm.KilnError ? e : null);
    if (!p) throw e;
    return { code: String(p.code).replace(/-/g, '_'), message: p.message, step: p.step ?? null, param: p.param ?? null };
  }
};

test('run(): every conformance case gives the npm package\'s bytes, meta and error', () => {
  const cases = execFileSync(bin('kiln-cases', 'KILN_CASES_BIN'), ['--list', '--cases', resolve(root, 'tests/cases')], { maxBuffer: 1 << 30 })
    .toString().trim().split('\n').map((l) => JSON.parse(l)).filter((c) => !c.skip);
  assert.ok(cases.length > 200, `only ${cases.length} cases`);
  let errors = 0;
  for (const c of cases) {
    const input = Buffer.from(c.input_base64, 'base64');
    const a = outcome(() => jco.run(c.pipeline, input, DEFAULTS));
    const b = outcome(() => npm.run(c.pipeline, input));
    if (a.code) errors++;
    assert.deepEqual(a, b, `${c.name}: ${c.pipeline}`);
  }
  assert.ok(errors > 30, `only ${errors} error cases`);
});

test('the example (run.mjs) writes the npm package\'s thumbnail', () => {
  const photo = resolve(root, 'tests/data/photo.jpg');
  const out = join(work, 'thumb.png');
  const said = execFileSync(process.execPath, [join(here, 'run.mjs'), photo, out, join(work, 'kiln-js')]).toString();
  assert.match(said, /thumb\.png: 64x\d+ image\/png/);
  assert.ok(readFileSync(out).equals(Buffer.from(npm.run('resize width=64 | encode format=png', readFileSync(photo)).data)));
});

test('api.Session: every case that streams, pushed in random pieces, gives run()\'s bytes, meta and error code', () => {
  const seed = Number(process.env.KILN_STREAM_SEED ?? Date.now() % 1e9);
  let state = seed;
  const next = (n) => { state = (state * 1103515245 + 12345) % 2147483648; return state % n; };
  const cases = execFileSync(bin('kiln-cases', 'KILN_CASES_BIN'), ['--list', '--cases', resolve(root, 'tests/cases')], { maxBuffer: 1 << 30 })
    .toString().trim().split('\n').map((l) => JSON.parse(l)).filter((c) => !c.skip);
  let streamed = 0;
  for (const c of cases) {
    const input = Buffer.from(c.input_base64, 'base64');
    const want = outcome(() => npm.run(c.pipeline, input));
    let session;
    try {
      session = jco.Session.open(c.pipeline, DEFAULTS);
    } catch (e) {
      if (/cannot stream/.test(e.payload?.message)) continue;
      assert.equal(outcome(() => { throw e; }).code, want.code, `${c.name}: open`);
      continue;
    }
    const got = outcome(() => {
      const parts = [];
      for (let at = 0; at < input.length;) {
        const n = 1 + next([1, 7, 64 << 10, input.length][next(4)]);
        parts.push(session.push(input.subarray(at, at + n)));
        at += n;
      }
      const { data, meta } = session.finish();
      return { data: Buffer.concat([...parts, data]), meta };
    });
    session[Symbol.dispose]();
    streamed++;
    const ctx = `${c.name}: ${c.pipeline} (KILN_STREAM_SEED=${seed})`;
    // A bound on what run() holds at once (the memory model, the cells cap): a session
    // holds a record, so it may pass (DESIGN.md, "Streaming").
    const heldWhole = want.code === 'too_large' && /max_memory_bytes|cells/.test(want.message);
    if (heldWhole && !got.code) continue;
    if (want.code) assert.equal(got.code, want.code, ctx);
    else assert.deepEqual(got, want, ctx);
  }
  assert.ok(streamed > 60, `only ${streamed} cases stream`);
});
