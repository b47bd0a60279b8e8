// The built package from Node: `node --test bindings-web/npm/test/` (after
// scripts/build-web.sh --package). Byte-identity with the native kernel is checked by
// the conformance matrix (kiln-cases --targets native,node,chromium); this checks the
// JS surface: loading, inputs, the builder, errors, describe().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url);
const kiln = await import(new URL('node.js', dist));
const { run, check, describe, init, initSync, isReady, image, bytes, csv, KilnError, toText } = kiln;
const data = (name) => readFileSync(new URL(`../../../tests/data/${name}`, import.meta.url));

test('run() loads the kernel synchronously on first use in Node', () => {
  const { data: out, meta } = run('compress format=gzip level=9', 'hello hello hello');
  assert.equal(isReady(), true);
  assert.equal(gunzipSync(out).toString(), 'hello hello hello');
  assert.deepEqual(Object.keys(meta), ['kind', 'content_type', 'version']);
  assert.equal(meta.kind, 'bytes');
});

test('init() is memoised and initSync() is a no-op once loaded', async () => {
  const a = init();
  const b = init();
  await Promise.all([a, b]);
  initSync();
  assert.equal(isReady(), true);
});

test('output owns its buffer (transferable)', () => {
  const { data: out } = run('json mode=minify', '[1, 2, 3]');
  assert.ok(out instanceof Uint8Array);
  assert.equal(out.byteOffset, 0);
  assert.equal(out.buffer.byteLength, out.length);
  assert.equal(new TextDecoder().decode(out), '[1,2,3]');
});

test('inputs: Buffer, ArrayBuffer, sub-views, strings', () => {
  const buf = Buffer.from('xx[1, 2]yy');
  const view = new Uint8Array(buf.buffer, buf.byteOffset + 2, 6);
  assert.equal(new TextDecoder().decode(run('json mode=minify', view).data), '[1,2]');
  const ab = new TextEncoder().encode('{"a": 1}').buffer;
  assert.equal(new TextDecoder().decode(run('json mode=minify', ab).data), '{"a":1}');
  const dv = new DataView(new TextEncoder().encode('[ ]').buffer);
  assert.equal(new TextDecoder().decode(run('json mode=minify', dv).data), '[]');
});

test('pixels ({data, width, height}) are the raw RGBA kind', () => {
  const px = new Uint8ClampedArray(4 * 3 * 2).map((_, i) => i * 9);
  const viaPixels = run('invert | encode format=png', { data: px, width: 3, height: 2 });
  const viaDecode = run('decode format=rgba width=3 height=2 | invert | encode format=png', new Uint8Array(px.buffer));
  assert.deepEqual(viaPixels.data, viaDecode.data);
  assert.equal(viaPixels.meta.width, 3);
  // Step numbers stay the caller's: step 1 is the blur, not the injected decode.
  assert.throws(() => run('invert | blur sigma=0', { data: px, width: 3, height: 2 }), (e) => e.step === 1 && e.param === 'sigma');
  assert.throws(() => run('invert', { data: px, width: 5, height: 2 }), (e) => e.code === 'bad_input' && e.step === null);
});

test('errors are KilnError with code, step, param', () => {
  let err;
  try {
    run('resize width=10 | blur sigma=0', data('photo.png'));
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof KilnError);
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'KilnError');
  assert.equal(err.code, 'bad_pipeline');
  assert.equal(err.step, 1);
  assert.equal(err.param, 'sigma');
  assert.match(err.message, /sigma/);
  assert.deepEqual(Object.keys(err.toJSON()), ['code', 'message', 'step', 'param']);
  assert.throws(() => run('grayscale', 'not an image'), { code: 'bad_input' });
  assert.throws(() => run('decompress', 'not gzip'), { code: 'bad_input' });
  assert.throws(() => run('limits max_input_bytes=3 | json', '[1, 2]'), { code: 'too_large' });
  assert.throws(() => run('json', 42), { code: 'bad_input' });
  assert.throws(() => run(42, 'x'), { code: 'bad_pipeline' });
  // And the kernel still works afterwards.
  assert.equal(run('json', '[]').data.length, 2);
});

test('JSON pipelines: as an object or a string', () => {
  const p = { steps: [{ op: 'resize', width: 16 }, { op: 'encode', format: 'png' }] };
  const a = run(p, data('photo.jpg'));
  const b = run(JSON.stringify(p), data('photo.jpg'));
  const c = run('resize width=16 | encode format=png', data('photo.jpg'));
  assert.deepEqual(a.data, b.data);
  assert.deepEqual(a.data, c.data);
  assert.equal(a.meta.width, 16);
});

test('the builder compiles to one pipeline and one run', async () => {
  const job = image(data('photo.jpg')).resize({ width: 40, fit: 'contain' }).blur(1.5).encode('webp');
  assert.deepEqual(job.pipeline, {
    steps: [{ op: 'resize', width: 40, fit: 'contain' }, { op: 'blur', sigma: 1.5 }, { op: 'encode', format: 'webp' }],
  });
  assert.equal(String(job), 'resize width=40 fit=contain | blur sigma=1.5 | encode format=webp');
  const out = await job.run();
  assert.deepEqual(out.data, run(String(job), data('photo.jpg')).data);
  assert.equal(out.meta.format, 'webp');
  assert.deepEqual(job.runSync().data, out.data);
  // A runner may be passed (a KilnWorker in browsers): it gets the whole pipeline once.
  const calls = [];
  await job.run({ run: (p, i) => (calls.push(p), run(p, i)) });
  assert.equal(calls.length, 1);
});

test('builder: info of an image file, from its headers', async () => {
  const job = bytes(data('photo.jpg')).info();
  assert.equal(String(job), 'info');
  const out = await job.run();
  assert.equal(out.meta.content_type, 'application/json');
  const info = JSON.parse(new TextDecoder().decode(out.data));
  assert.deepEqual([info.format, info.width, info.height, info.color_type, info.exif], ['jpeg', 320, 240, 'rgb', null]);
  assert.throws(() => run('info', 'name,age'), { code: 'bad_input' });
});

test('builder: bytes and tables', async () => {
  const gz = await bytes('a,b\n1,2\n').compress({ format: 'zlib', level: 9 }).run();
  const back = await bytes(gz.data).decompress({ format: 'zlib' }).parseCsv().toJson({ pretty: false }).run();
  assert.equal(new TextDecoder().decode(back.data), '[{"a":1,"b":2}]');
  const t = csv(data('people.csv'), { delimiter: ',' }).filter('age >= 18').select(['name', 'age']).toCsv();
  assert.equal(String(t), "parse_csv delimiter=, | filter where='age >= 18' | select columns=name,age | to_csv");
  const out = await t.run();
  assert.equal(out.meta.kind, 'table');
  assert.deepEqual(out.data, run(String(t), data('people.csv')).data);
  assert.equal(toText([{ op: 'parse_csv', delimiter: '\t' }]), 'parse_csv delimiter=\\t');
  const g = csv(data('people.csv'), { delimiter: 'auto' })
    .filter('age not_null and member == true or age > 40')
    .rename({ name: 'who' })
    .sort(['-age', 'who'])
    .limit(3, 0)
    .distinct(['member'])
    .groupBy('member', ['count', 'mean:age'])
    .toCsv({ quote: 'always' });
  assert.equal(
    String(g),
    "parse_csv delimiter=auto | filter where='age not_null and member == true or age > 40' | rename columns=name:who" +
      ' | sort by=-age,who | limit count=3 offset=0 | distinct columns=member | group_by by=member aggregates=count,mean:age' +
      ' | to_csv quote=always',
  );
  const grouped = await g.run();
  assert.deepEqual(grouped.data, run(String(g), data('people.csv')).data);
  // 007 (51, member null), Grace (45, false), Ada (36, true): one group each, in that order.
  assert.equal(
    new TextDecoder().decode(grouped.data),
    '"member","count","mean_age"\n"","1","51.0"\n"false","1","45.0"\n"true","1","36.0"\n',
  );
});

test('check() gives the canonical pipeline or a KilnError, and runs nothing', () => {
  assert.deepEqual(check('blur sigma=2 | encode format=png'), {
    steps: [
      { op: 'blur', sigma: 2 },
      { op: 'encode', format: 'png', quality: 80, level: 6, background: '#ffffff', icc: 'strip' },
    ],
  });
  const canonical = check({ steps: [{ op: 'parse_csv', delimiter: ';' }], limits: { max_rows: 5 } });
  assert.deepEqual(canonical, {
    steps: [{ op: 'parse_csv', delimiter: ';', quote: '"', header: true, infer: true, skip_lines: 0 }],
    limits: { max_rows: 5 },
  });
  assert.deepEqual(check(canonical), canonical);
  assert.throws(
    () => check('resize fit=cover'),
    (e) => e instanceof KilnError && e.code === 'bad_pipeline' && e.step === 0 && e.param === 'width',
  );
});

test('describe() matches the op catalogue', () => {
  const d = describe();
  assert.equal(d.name, 'kiln');
  assert.equal(d.ops.length, 40);
  const names = d.ops.map((o) => o.name);
  for (const op of ['decode', 'resize', 'blur', 'encode', 'compress', 'parse_csv', 'to_json', 'to_csv']) assert.ok(names.includes(op), op);
  assert.deepEqual(d.kinds, ['bytes', 'image', 'table']);
  assert.equal(typeof d.limits.max_pixels, 'number');
});

test('ops.d.ts (generated at build time) names exactly the ops and parameters describe() gives', () => {
  const dts = readFileSync(new URL('ops.d.ts', dist), 'utf8');
  assert.match(readFileSync(new URL('index.d.ts', dist), 'utf8'), /from '\.\/ops\.js'/);
  const body = dts.slice(dts.indexOf('export interface OpParams'), dts.indexOf('/** Every op name. */'));
  for (const op of describe().ops) {
    const at = body.indexOf(`\n  ${op.name}: `);
    assert.ok(at >= 0, `OpParams has ${op.name}`);
    const rest = body.slice(at + 1);
    const next = rest.slice(1).search(/\n {2}(\/\*\*|[a-z_]+: )/);
    const decl = next < 0 ? rest : rest.slice(0, next + 1);
    for (const p of op.params) assert.match(decl, new RegExp(`\\b${p.name}\\??:`), `${op.name}.${p.name}`);
  }
  const declared = [...body.matchAll(/\n {2}([a-z_]+): /g)].map((m) => m[1]);
  assert.deepEqual(declared.sort(), describe().ops.map((o) => o.name).sort());
});
