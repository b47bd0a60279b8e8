// The package where web developers build and run: packs bindings-web/npm/dist, installs
// the tarball into a tiny app (fixtures/bundlers/: index.html + main.js, the bundlers,
// the Deno and Bun binaries, Miniflare (workerd) and @types/node pinned by its
// package-lock.json, installed from the npm registry with `npm ci`), builds it for production with Vite, webpack 5 and esbuild,
// serves each build to headless Chromium and checks that `init()`, `run()`, `KilnError`,
// `KilnWorker` and the streaming API (stream-job.js: `stream()` and `KilnWorker.stream()`
// piped from a Response body, refused and failing streams) work there and give the results of the package in
// Node; runs a Worker on the `workerd` entry in workerd (Miniflare: the job, and a
// request body streamed through); then runs runtime.mjs (the same, `describe()`, and
// `nodeStream()` of `@kiln/kernel/node-stream`) with Deno and with Bun.
//
// esbuild emits no assets: its recipe (the package's README) bundles worker-entry.js as
// a second entry point and copies kiln_bg.wasm next to the bundles.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/bundlers/', import.meta.url));
const kiln = await import(new URL('../dist/node.js', import.meta.url));
const { CSV, streamJob } = await import(new URL('../fixtures/bundlers/stream-job.js', import.meta.url));
/** The streaming job's results in Node: what every other runtime must give. */
const streamed = await streamJob(kiln);
const tmp = mkdtempSync(join(tmpdir(), 'kiln-bundlers-'));
const app = join(tmp, 'app');
const sh = (cmd, args, cwd = app) => {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
};
const npmFlags = ['--no-audit', '--no-fund', '--loglevel=error'];
const PIPELINE = 'decode format=rgba width=4 height=4 | resize width=2 | encode format=png';
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

let browser;

before(async () => {
  cpSync(fixture, app, { recursive: true });
  const [info] = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', tmp, dist], tmp));
  sh('npm', ['ci', ...npmFlags]);
  sh('npm', ['install', '--no-save', ...npmFlags, join(tmp, info.filename)]);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Serves `root` on 127.0.0.1, loads it in Chromium and returns `window.kilnResult`. */
async function runIn(root) {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(root, path.endsWith('/') ? `${path}index.html` : path);
    if (!file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const page = await browser.newPage();
  const failed = [];
  page.on('response', (r) => r.status() >= 400 && failed.push(`${r.status()} ${r.url()}`));
  try {
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.kilnResult, null, { timeout: 30_000 });
    return { ...(await page.evaluate(() => window.kilnResult)), failed };
  } finally {
    await page.close();
    server.close();
  }
}

/** The bytes the package gives in Node for the app's job. */
function expected() {
  const out = execFileSync('node', ['--input-type=module', '-e', `
    import { run } from ${JSON.stringify(join(dist, 'node.js'))};
    const out = run(${JSON.stringify(PIPELINE)}, new Uint8Array(64).map((_, i) => (i * 37) & 255));
    console.log(JSON.stringify(Array.from(out.data)));`], { encoding: 'utf8' });
  return JSON.parse(out);
}

function check(result, root) {
  assert.equal(result.error, undefined, result.error);
  // Only @kiln/kernel/node-stream imports node:stream, and no page imports that.
  for (const file of readdirSync(root, { recursive: true }).filter((f) => f.endsWith('.js'))) {
    assert.doesNotMatch(readFileSync(join(root, file), 'utf8'), /node:stream/, file);
  }
  assert.deepEqual(result.failed, []);
  assert.deepEqual(result.direct, expected());
  assert.deepEqual(result.worker, result.direct);
  assert.equal(result.code, 'bad_pipeline');
  assert.deepEqual(result.stream, streamed);
  assert.deepEqual(result.workerStream, streamed);
}

test('the streaming job in Node: run()\'s gzip, what gunzip reads back, refusals and errors', () => {
  assert.deepEqual({ ...streamed, ndjson: undefined }, {
    gzipIsRuns: true,
    gunzipped: true,
    ndjson: undefined,
    rows: 5000,
    contentType: 'application/x-ndjson',
    refused: 'bad_pipeline 0',
    failed: 'bad_input',
  });
  const ndjson = kiln.run('parse_csv | to_json format=ndjson', CSV).data;
  assert.equal(streamed.ndjson, createHash('sha256').update(ndjson).digest('hex'));
});

test('Vite 6 production build: run, KilnError, KilnWorker and stream work', async () => {
  sh('npx', ['vite', 'build', '--outDir', 'dist-vite', '--logLevel', 'error']);
  check(await runIn(join(app, 'dist-vite')), join(app, 'dist-vite'));
});

test('webpack 5 production build: run, KilnError, KilnWorker and stream work', async () => {
  sh('npx', ['webpack']);
  copyFileSync(join(app, 'index.html'), join(app, 'dist-webpack/index.html'));
  check(await runIn(join(app, 'dist-webpack')), join(app, 'dist-webpack'));
});

test('esbuild bundle (the README recipe): run, KilnError, KilnWorker and stream work', async () => {
  const out = join(app, 'dist-esbuild');
  sh('npx', ['esbuild', 'main.js', 'node_modules/@kiln/kernel/worker-entry.js', '--bundle', '--format=esm',
    '--minify', `--outdir=${out}`, '--entry-names=[name]', '--log-level=error']);
  copyFileSync(join(app, 'node_modules/@kiln/kernel/kiln_bg.wasm'), join(out, 'kiln_bg.wasm'));
  copyFileSync(join(app, 'index.html'), join(out, 'index.html'));
  check(await runIn(out), out);
});

test('the types of @kiln/kernel/node-stream check against @types/node', () => {
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022', 'dom'], strict: true, noEmit: true, types: ['node'] },
      files: ['node-stream.types.ts'],
    }),
  );
  sh('node', [fileURLToPath(new URL('../../../node_modules/typescript/bin/tsc', import.meta.url)), '-p', app]);
});

/** What runtime.mjs prints under `runtime` (its argv before the script). */
function runtimeResult(runtime) {
  const result = JSON.parse(sh('npx', [...runtime, 'runtime.mjs']));
  assert.deepEqual(result.data, expected());
  assert.equal(result.meta.format, 'png');
  assert.equal(result.code, 'bad_pipeline');
  assert.equal(result.version, JSON.parse(readFileSync(join(dist, 'package.json'), 'utf8')).version);
  assert.deepEqual(result.stream, streamed);
  assert.equal(result.stats, new TextDecoder().decode(kiln.run('parse_csv | stats', CSV).data));
}

test('workerd (Miniflare) runs the workerd entry: the streaming job, and a request body streamed through', async () => {
  // As wrangler bundles a Worker: the `workerd` condition, the .wasm a module of its own.
  const out = join(app, 'dist-workerd');
  sh('npx', ['esbuild', 'cf-worker.js', '--bundle', '--format=esm', '--platform=neutral', '--conditions=workerd,worker',
    '--external:*.wasm', `--outfile=${join(out, 'worker.js')}`, '--log-level=error']);
  copyFileSync(join(app, 'node_modules/@kiln/kernel/kiln_bg.wasm'), join(out, 'kiln_bg.wasm'));
  const { Miniflare } = await import(pathToFileURL(createRequire(join(app, 'package.json')).resolve('miniflare')));
  const mf = new Miniflare({
    modulesRoot: out,
    modules: [
      { type: 'ESModule', path: join(out, 'worker.js') },
      { type: 'CompiledWasm', path: join(out, 'kiln_bg.wasm') },
    ],
    compatibilityDate: '2025-01-01',
  });
  try {
    assert.deepEqual(await (await mf.dispatchFetch('http://kiln/')).json(), streamed);
    const csv = new TextEncoder().encode(CSV);
    const gz = kiln.run('compress level=9', csv).data;
    const pipeline = encodeURIComponent('decompress | parse_csv | to_json format=ndjson');
    const res = await mf.dispatchFetch(`http://kiln/?pipeline=${pipeline}`, { method: 'POST', body: gz });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const body = new Uint8Array(await res.arrayBuffer());
    assert.deepEqual(body, kiln.run('parse_csv | to_json format=ndjson', csv).data);
    const refused = await mf.dispatchFetch(`http://kiln/?pipeline=${encodeURIComponent('blur sigma=2')}`, { method: 'POST', body: gz });
    assert.equal(refused.status, 400);
    assert.equal((await refused.json()).error.code, 'bad_pipeline');
  } finally {
    await mf.dispose();
  }
});

test('Deno runs the installed package', () => {
  runtimeResult(['deno', 'run', '--allow-read', '--allow-env']);
});

test('Bun runs the installed package', () => {
  runtimeResult(['bun']);
});
