// End-to-end test of the demo page: `node --test www/test/` after scripts/build-web.sh
// and `cargo build -p kiln-native`. Serves www/dist with `kiln serve` on 127.0.0.1 (a
// free port), opens it in Debian's headless Chromium through playwright-core, runs an
// image pipeline, a compression, a decompression and a CSV, checks every output is the
// bytes the native kernel gives (`kiln run --engine native`), triggers errors and checks
// the page keeps working, and saves a screenshot to target/e2e/demo.png.
//
// KILN_BIN overrides the kiln binary (default target/debug/kiln, else target/release/kiln);
// CHROMIUM the browser (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../../', import.meta.url));
const data = (name) => join(root, 'tests/data', name);
const kilnBin =
  process.env.KILN_BIN ?? [join(root, 'target/debug/kiln'), join(root, 'target/release/kiln')].find((p) => existsSync(p));
const tmp = mkdtempSync(join(tmpdir(), 'kiln-e2e-'));
const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** The native kernel's output for this pipeline and input file. */
function native(pipeline, inputFile) {
  const out = join(tmp, `out-${Math.random().toString(36).slice(2)}`);
  execFileSync(kilnBin, ['run', '--engine', 'native', pipeline, inputFile, out], { stdio: ['ignore', 'ignore', 'pipe'] });
  return readFileSync(out);
}

let server, browser, page, base;
const pageErrors = [];

before(async () => {
  assert.ok(kilnBin, 'no kiln binary: cargo build -p kiln-native (or set KILN_BIN)');
  assert.ok(existsSync(join(root, 'www/dist/index.html')), 'www/dist is not built: scripts/build-web.sh');
  server = spawn(kilnBin, ['serve', '--engine', 'native', '--unsandboxed', '--addr', '127.0.0.1:0', '--www', join(root, 'www/dist')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, RUST_LOG: 'warn' },
  });
  base = await new Promise((resolve, reject) => {
    let text = '';
    server.stdout.on('data', (chunk) => {
      text += chunk;
      const m = text.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`kiln serve exited (${code})`)));
    setTimeout(() => reject(new Error('kiln serve did not start in 60 s')), 60_000).unref();
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) pageErrors.push(`off-site request: ${r.url()}`);
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
});

/** sha256 of the last output of a panel, computed in the page. */
async function pageSha(panel, field = 'data') {
  return page.evaluate(
    async ([p, f]) => {
      const digest = await crypto.subtle.digest('SHA-256', window.kilnDemo.results[p][f]);
      return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
    },
    [panel, field],
  );
}

const waitFor = (fn, arg) => page.waitForFunction(fn, arg, { timeout: 30_000 });

test('the page loads with no CDN and shows a first result', async () => {
  const t0 = Date.now();
  await page.goto(`${base}/`);
  await waitFor(() => window.kilnDemo?.ready && window.kilnDemo.results.image);
  const first = await page.evaluate(() => window.kilnDemo.firstResultMs);
  console.log(`# page load to first result: ${first.toFixed(0)} ms after navigation start (wall ${Date.now() - t0} ms)`);
  assert.match(await page.textContent('#status'), /ready/);
  assert.deepEqual(pageErrors, []);
});

test('an image pipeline gives the native bytes', async () => {
  const pipeline = 'resize width=240 | sharpen amount=0.5 | encode format=webp';
  await page.fill('#pipeline-text', pipeline);
  await page.press('#pipeline-text', 'Enter');
  await page.setInputFiles('#image-file', data('photo.jpg'));
  await waitFor((p) => {
    const r = window.kilnDemo.results.image;
    return r && r.pipeline === p && r.input === 'photo.jpg';
  }, pipeline);
  assert.equal(await pageSha('image'), sha(native(pipeline, data('photo.jpg'))));
  // The controls mirror the text form: one row per step.
  assert.equal(await page.locator('#steps li').count(), 3);
  assert.match(await page.textContent('#after-info'), /240×\d+ · webp/);
  // The picked file is described by the kernel's `info` (headers only).
  await page.waitForFunction(() => document.getElementById('before-info').textContent.includes('jpeg 320×240'));
  assert.match(await page.textContent('#before-info'), /jpeg 320×240, rgb, 8-bit/);
});

test('canvas pixels (ImageData) are the raw RGBA kind', async () => {
  const pipeline = 'invert | encode format=png';
  await page.fill('#pipeline-text', pipeline);
  await page.check('#image-pixels');
  await page.setInputFiles('#image-file', data('photo.png'));
  await waitFor((p) => {
    const r = window.kilnDemo.results.image;
    return r && r.pipeline === p && r.input === 'photo.png' && r.pixels;
  }, pipeline);
  // The browser decoded the PNG, the kernel got its pixels: same bytes as the kernel
  // decoding the PNG itself (an opaque, untagged PNG decodes exactly).
  assert.equal(await pageSha('image'), sha(native(pipeline, data('photo.png'))));
  await page.uncheck('#image-pixels');
});

test('compression and decompression give the native bytes', async () => {
  await page.click('#tab-compress');
  await page.setInputFiles('#compress-file', data('lines.txt'));
  await waitFor(() => window.kilnDemo.results.compress?.pipeline === 'compress format=gzip level=6');
  assert.equal(await pageSha('compress'), sha(native('compress format=gzip level=6', data('lines.txt'))));
  assert.match(await page.textContent('#c-check'), /same bytes/);
  assert.match(await page.textContent('#c-ratio'), /×/);

  await page.setInputFiles('#compress-file', data('lines.txt.gz'));
  await waitFor(() => window.kilnDemo.results.compress?.pipeline === 'decompress format=gzip');
  assert.equal(await pageSha('compress'), sha(readFileSync(data('lines.txt'))));
});

test('a CSV gives the native JSON, a preview and column stats', async () => {
  await page.click('#tab-csv');
  await page.setInputFiles('#csv-file', data('people.csv'));
  await waitFor(() => window.kilnDemo.results.csv?.input === 'people.csv');
  const pipeline = await page.evaluate(() => window.kilnDemo.results.csv.pipeline);
  assert.equal(await pageSha('csv'), sha(native(pipeline, data('people.csv'))));
  const statsPipeline = pipeline.replace(/ \| to_json$/, ' | stats | to_json');
  assert.equal(await pageSha('csv', 'stats'), sha(native(statsPipeline, data('people.csv'))));
  assert.ok((await page.locator('#csv-preview tbody tr').count()) > 0);
  assert.ok((await page.locator('#csv-stats tbody tr').count()) > 0);
});

test('a KilnWorker whose kernel fails settles every job sent to it', async () => {
  // A kernel that cannot load is an `internal` error; the jobs queued behind the first
  // must fail too, not wait forever for a worker that was replaced.
  if (!page.url().startsWith(base)) await page.goto(base);
  const outcome = await page.evaluate(async (url) => {
    const { KilnWorker } = await import(url);
    const kiln = new KilnWorker({ wasm: '/no-such-kernel.wasm' });
    const jobs = [1, 2, 3].map(() => kiln.run('resize width=8 | encode format=png', new Uint8Array([1, 2, 3])));
    const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 10_000));
    const settled = await Promise.race([Promise.allSettled(jobs), timeout]);
    if (settled === 'timeout') return 'timeout';
    // And a job after them starts a fresh worker (the bad URL again: internal again).
    const again = await kiln.run('resize width=8 | encode format=png', new Uint8Array([1])).catch((e) => e.code);
    return { codes: settled.map((r) => r.status === 'rejected' && r.reason.code), again };
  }, `${base}/kiln/worker.js`);
  assert.deepEqual(outcome, { codes: ['internal', 'internal', 'internal'], again: 'internal' });
});

test('errors are readable and the page keeps working', async () => {
  await page.click('#tab-image');
  await page.fill('#pipeline-text', 'resize width=200 | blur sigma=0');
  await page.press('#pipeline-text', 'Enter');
  await page.waitForSelector('#error:not([hidden])');
  assert.equal(await page.textContent('#error-code'), 'bad_pipeline');
  assert.match(await page.textContent('#error-where'), /step 2 · parameter “sigma”/);
  assert.match(await page.textContent('#error-message'), /sigma/);
  assert.equal(await page.locator('#steps li.bad').count(), 1);

  // A file that is not an image.
  await page.fill('#pipeline-text', 'resize width=200 | encode format=png');
  await page.setInputFiles('#image-file', data('lines.txt'));
  await waitFor(() => document.getElementById('error-code').textContent === 'bad_input');

  // And back to work.
  await page.setInputFiles('#image-file', data('photo.jpg'));
  await waitFor(() => {
    const r = window.kilnDemo.results.image;
    return r.input === 'photo.jpg' && r.pipeline === 'resize width=200 | encode format=png' && document.getElementById('error').hidden;
  });
  assert.equal(await pageSha('image'), sha(native('resize width=200 | encode format=png', data('photo.jpg'))));
  await page.fill('#pipeline-text', 'resize width=480 | sharpen amount=0.6 | encode format=webp');
  await page.press('#pipeline-text', 'Enter');
  await waitFor(() => window.kilnDemo.results.image.pipeline.startsWith('resize width=480'));
  mkdirSync(join(root, 'target/e2e'), { recursive: true });
  await page.screenshot({ path: join(root, 'target/e2e/demo.png'), fullPage: true });
  await page.click('#tab-csv');
  await page.screenshot({ path: join(root, 'target/e2e/demo-csv.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
});
