// End-to-end test of the demo page: `node --test www/test/` after scripts/build-web.sh
// and `cargo build -p kiln-native`. Serves www/dist with `kiln serve` on 127.0.0.1 (a
// free port), opens it in Debian's headless Chromium through playwright-core, runs an
// image pipeline, a compression, a decompression and a CSV, checks every output is the
// bytes the native kernel gives (`kiln run --engine native`), triggers errors and checks
// the page keeps working, and saves a screenshot to target/e2e/demo.png.
//
// Large files (KILN_E2E_MIB MiB, default 192, and a CSV of KILN_E2E_CSV_MIB, default the
// same, written to a temporary folder and picked with setInputFiles, as a user picks
// them) stream through the page's worker:
// compressed to a file on disk as it streams (the File System Access path; the save
// dialog's choice is a file of the origin private file system), decompressed into a Blob
// (the fallback path; to disk too past 256 MiB, beyond what Chromium keeps in a Blob),
// each with its progress bar at 100% and the native kernel's bytes;
// a CSV shows its first rows long before its end, and its final stats are the native
// `stats`; a cancelled CSV leaves no session in the workers. The renderer's peak RSS
// growth during each (page and workers: Chromium runs dedicated workers in the page's
// process) is printed, and bounded whatever the file's size (RSS_BOUND, CSV_RSS_BOUND).
//
// KILN_BIN overrides the kiln binary (default target/debug/kiln, else target/release/kiln);
// CHROMIUM the browser (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, writeSync } from 'node:fs';
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
const MIB = Number(process.env.KILN_E2E_MIB ?? 192);
const CSV_MIB = Number(process.env.KILN_E2E_CSV_MIB ?? MIB);
// What the renderer (the page and its workers) may grow by while a large file streams,
// whatever its size: the chunks passed are garbage that V8 frees once its external memory
// has grown by tens of MiB, in the page and in each worker. Compressing (one worker)
// stays near 100 MiB (160 MiB at 2 GiB); the CSV preview (two workers and a page parsing every row) near
// 350 MiB (measured with 512 MiB and 1 GiB). Holding a file of MIB, or the CSV's NDJSON
// (twice its size), would pass them.
const RSS_BOUND = 200 * 2 ** 20;
const CSV_RSS_BOUND = 400 * 2 ** 20;

/** The native kernel's output for this pipeline and input file. */
function native(pipeline, inputFile) {
  const out = join(tmp, `out-${Math.random().toString(36).slice(2)}`);
  execFileSync(kilnBin, ['run', '--engine', 'native', pipeline, inputFile, out], { stdio: ['ignore', 'ignore', 'pipe'] });
  return readFileSync(out);
}

let server, context, page, base;
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
  // A profile on disk, as a user's: its origin private file system (the save dialog's
  // stand-in below) is on disk, not in memory with a quota of about 1.4 GiB.
  context = await chromium.launchPersistentContext(join(tmp, 'profile'), {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await context.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) pageErrors.push(`off-site request: ${r.url()}`);
  });
});

after(async () => {
  await context?.close();
  server?.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
});

/** sha256 of the last output of a panel (bytes, a Blob or a file), computed in the page. */
async function pageSha(panel, field = 'data') {
  return (await pageShas(panel, field)).join();
}

/** Hashes are of PIECE-byte pieces: a page cannot read a Blob of gigabytes at once. */
const PIECE = 64 * 2 ** 20;

/** sha256 of each PIECE of the last output of a panel, computed in the page. */
async function pageShas(panel, field = 'data') {
  return page.evaluate(
    async ([p, f, piece]) => {
      let out = window.kilnDemo.results[p][f];
      if (out.getFile) out = await out.getFile();
      if (!(out instanceof Blob)) out = new Blob([out]);
      const hex = (digest) => [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
      const shas = [];
      for (let at = 0; at === 0 || at < out.size; at += piece) {
        shas.push(hex(await crypto.subtle.digest('SHA-256', await out.slice(at, at + piece).arrayBuffer())));
      }
      return shas;
    },
    [panel, field, PIECE],
  );
}

/** sha256 of each PIECE of a file, as pageShas() hashes them. */
function fileShas(path) {
  const shas = [];
  const fd = openSync(path, 'r');
  const buffer = Buffer.alloc(PIECE);
  for (;;) {
    let got = 0;
    for (let n = 1; got < PIECE && n > 0; got += n) n = readSync(fd, buffer, got, PIECE - got);
    if (got > 0 || shas.length === 0) shas.push(sha(buffer.subarray(0, got)));
    if (got < PIECE) break;
  }
  closeSync(fd);
  return shas;
}

/**
 * Writes `mib` MiB of text made by `line(i, x)` (x: the next of a xorshift sequence, so
 * the file is the same each run) to `path`, in 1 MiB writes.
 */
function writeGenerated(path, mib, header, line) {
  const fd = openSync(path, 'w');
  let x = 2463534242;
  let i = 0;
  let size = 0;
  let block = header;
  while (size < mib * 2 ** 20) {
    while (block.length < 1 << 20) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      block += line(i++, x);
    }
    size += writeSync(fd, block);
    block = '';
  }
  closeSync(fd);
  return size;
}

/** The summed RSS of this test's Chromium renderer processes (the page and its workers), in bytes. */
function rendererRss() {
  const procs = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      procs.push({ pid: Number(pid), ppid });
    } catch {
      // gone meanwhile
    }
  }
  const ours = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (ours.has(p.pid) || !ours.has(p.ppid)) continue;
      ours.add(p.pid);
      grew = true;
    }
  }
  let total = 0;
  for (const pid of ours) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      const kb = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
      if (kb) total += Number(kb[1]) * 1024;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** Samples rendererRss() every 50 ms until stop(): { stop() -> peak growth in bytes }. */
function rssPeak() {
  const base = rendererRss();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, rendererRss())), 50);
  return { stop: () => (clearInterval(timer), Math.max(peak, rendererRss()) - base) };
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

/** Clicks `button` and waits for the compress panel's result of `pipeline` on `input`. */
async function compressRun(button, pipeline, input) {
  await page.evaluate(() => delete window.kilnDemo.results.compress);
  await page.click(button);
  await page.waitForFunction(
    ([p, i]) => window.kilnDemo.results.compress?.pipeline === p && window.kilnDemo.results.compress.input === i,
    [pipeline, input],
    { timeout: 120_000 },
  );
  return page.evaluate(() => {
    const { blob, file, ...r } = window.kilnDemo.results.compress;
    return { ...r, blob: !!blob, file: file?.name ?? null };
  });
}

test('compression and decompression give the native bytes', async () => {
  await page.click('#tab-compress');
  // The Blob path: the result is kept to download.
  await page.uncheck('#compress-disk');
  await page.setInputFiles('#compress-file', data('lines.txt'));
  const gz = await compressRun('#compress-run', 'compress format=gzip level=6', 'lines.txt');
  assert.ok(gz.blob);
  assert.equal(await pageSha('compress', 'blob'), sha(native('compress format=gzip level=6', data('lines.txt'))));
  assert.equal(await page.getAttribute('#compress-download', 'download'), 'lines.txt.gz');
  assert.match(await page.textContent('#c-ratio'), /×/);

  await page.setInputFiles('#compress-file', data('lines.txt.gz'));
  await compressRun('#decompress-run', 'decompress format=gzip', 'lines.txt.gz');
  assert.equal(await pageSha('compress', 'blob'), sha(readFileSync(data('lines.txt'))));
  assert.equal(await page.getAttribute('#compress-download', 'download'), 'lines.txt');
});

test(`a ${MIB} MiB file streams through the worker: to disk, then back into a Blob, with progress bars`, async () => {
  const big = join(tmp, 'big.log');
  const size = writeGenerated(big, MIB, '', (i, x) => `${i} ${['GET', 'PUT', 'POST'][x % 3]} /item/${x % 5000} ${x % 997}ms ${(x >>> 8).toString(36)}\n`);
  const gz = join(tmp, 'big.log.gz');
  const t0 = Date.now();
  execFileSync(kilnBin, ['run', '--engine', 'native', 'compress format=gzip level=1', big, gz]);
  console.log(`# native compress level=1 of ${MIB} MiB: ${Date.now() - t0} ms`);

  // Compress, written to a file as it streams. The save dialog cannot be clicked here:
  // its choice is a file of the origin private file system, written the same way.
  await page.evaluate(() => {
    window.showSaveFilePicker = async ({ suggestedName }) =>
      (await navigator.storage.getDirectory()).getFileHandle(suggestedName, { create: true });
  });
  await page.check('#compress-disk');
  await page.selectOption('#compress-format', 'gzip');
  await page.$eval('#compress-level', (el) => {
    el.value = '1';
    el.dispatchEvent(new Event('input'));
  });
  await page.setInputFiles('#compress-file', big);
  let rss = rssPeak();
  const down = await compressRun('#compress-run', 'compress format=gzip level=1', 'big.log');
  const downRss = rss.stop();
  const mbs = (r) => (size / 1e6 / (r.ms / 1000)).toFixed(0);
  console.log(`# compress ${MIB} MiB through the page to disk: ${down.ms.toFixed(0)} ms (${mbs(down)} MB/s), renderer RSS +${(downRss / 2 ** 20).toFixed(0)} MiB`);
  assert.equal(down.file, 'big.log.gz');
  assert.equal(down.read, size);
  assert.ok(down.frames > 2, `progress drawn ${down.frames} times`);
  assert.equal(await page.getAttribute('#c-bar', 'style'), 'width: 100%;');
  assert.match(await page.textContent('#c-progress'), /\(100%\)/);
  assert.match(await page.textContent('#c-check'), /saved to big\.log\.gz/);
  assert.deepEqual(await pageShas('compress', 'file'), fileShas(gz));

  // Decompress the native gzip into a Blob: the input's bytes again. Chromium keeps a Blob
  // of a few hundred MB at most (the page says so past that): a larger file goes to disk.
  const toBlob = size <= 256 * 2 ** 20;
  if (toBlob) await page.uncheck('#compress-disk');
  await page.setInputFiles('#compress-file', gz);
  rss = rssPeak();
  const back = await compressRun('#decompress-run', 'decompress format=gzip', 'big.log.gz');
  const backRss = rss.stop();
  const where = toBlob ? 'into a Blob' : 'to disk';
  console.log(`# decompress back ${where}: ${back.ms.toFixed(0)} ms (${mbs(back)} MB/s of output), renderer RSS +${(backRss / 2 ** 20).toFixed(0)} MiB`);
  if (toBlob) assert.ok(back.blob);
  else assert.equal(back.file, 'big.log');
  assert.equal(back.written, size);
  assert.equal(await page.getAttribute('#c-bar', 'style'), 'width: 100%;');
  assert.deepEqual(await pageShas('compress', toBlob ? 'blob' : 'file'), fileShas(big));
  // Neither held the file in the page (the Blob's parts are the browser's, not the page's).
  assert.ok(downRss < RSS_BOUND, `renderer RSS grew ${downRss} bytes writing ${size} to disk`);
  assert.ok(backRss < RSS_BOUND, `renderer RSS grew ${backRss} bytes decompressing ${size} ${where}`);
  await page.evaluate(async (names) => {
    const root = await navigator.storage.getDirectory();
    for (const name of names) await root.removeEntry(name).catch(() => {});
  }, ['big.log.gz', 'big.log']);
});

test('a CSV gives the native rows, running stats and the native stats', async () => {
  await page.click('#tab-csv');
  await page.setInputFiles('#csv-file', data('people.csv'));
  await waitFor(() => window.kilnDemo.results.csv?.input === 'people.csv');
  const r = await page.evaluate(() => {
    const { stats, ...rest } = window.kilnDemo.results.csv;
    return { ...rest, stats: new TextDecoder().decode(stats) };
  });
  assert.equal(r.stats, native(r.statsPipeline, data('people.csv')).toString());
  const rows = native(r.pipeline, data('people.csv')).toString().trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(r.preview, rows.slice(0, 100));
  assert.equal(r.rows, rows.length);
  assert.equal(r.meta.rows, rows.length);
  assert.equal(await page.locator('#csv-preview tbody tr').count(), Math.min(rows.length, 100));
  assert.equal(await page.locator('#csv-stats tbody tr').count(), Object.keys(rows[0]).length);
  assertRunning(r.running, JSON.parse(r.stats));
});

/** The page's running stats agree with the kernel's: exactly, but for the mean's last bits. */
function assertRunning(running, kernel) {
  assert.equal(running.length, kernel.length);
  for (const [i, k] of kernel.entries()) {
    const { mean, ...rest } = running[i];
    assert.deepEqual(rest, { column: k.column, count: k.count, nulls: k.nulls, min: k.min, max: k.max }, k.column);
    if (k.mean === null) assert.equal(mean, null);
    else assert.ok(Math.abs(mean - k.mean) <= 1e-9 * Math.abs(k.mean), `${k.column}: mean ${mean} vs ${k.mean}`);
  }
}

test(`a ${CSV_MIB} MiB CSV shows its first rows early and ends with the native stats`, async () => {
  const big = join(tmp, 'big.csv');
  const names = ['Ada', 'Grace', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis', 'Frances'];
  const size = writeGenerated(
    big,
    CSV_MIB,
    'id,name,score,active,city,amount\n',
    (i, x) =>
      `${i},${names[x % 8]} ${x % 1000},${(x % 100000) / 100},${x % 2 === 0},${x % 7 ? `"c${x % 40}, ""q"""` : ''},${x % 3 ? x % 10000 : ''}\n`,
  );
  const rss = rssPeak();
  const t0 = Date.now();
  await page.setInputFiles('#csv-file', big);
  await page.waitForFunction(() => window.kilnDemo.results.csv?.input === 'big.csv', null, { timeout: 120_000 });
  const peak = rss.stop();
  const r = await page.evaluate(() => {
    const { stats, ...rest } = window.kilnDemo.results.csv;
    return { ...rest, stats: new TextDecoder().decode(stats) };
  });
  console.log(
    `# CSV ${(size / 2 ** 20).toFixed(0)} MiB (${r.rows} rows) through the page: ${r.ms.toFixed(0)} ms (${(size / 1e6 / (r.ms / 1000)).toFixed(0)} MB/s; wall ${Date.now() - t0} ms), ` +
      `first rows after ${r.firstRows.ms.toFixed(0)} ms and ${(r.firstRows.read / 2 ** 20).toFixed(1)} MiB, renderer RSS +${(peak / 2 ** 20).toFixed(0)} MiB`,
  );
  assert.equal(r.read, size);
  // The first rows show within the first chunks read (16 MiB at most), whatever the size.
  assert.ok(r.firstRows.read < Math.min(size, 16 * 2 ** 20), `first rows shown after ${r.firstRows.read} of ${size} bytes`);
  assert.equal(r.preview.length, 100);
  assert.equal(await page.locator('#csv-preview tbody tr').count(), 100);
  assert.match(await page.textContent('#csv-preview-note'), /first 100 of/);
  assert.match(await page.textContent('#t-progress'), /\(100%\)/);
  assert.equal(r.stats, native(r.statsPipeline, big).toString());
  assertRunning(r.running, JSON.parse(r.stats));
  const first = native(r.pipeline.replace(' | to_json format=ndjson', ' | limit count=100 | to_json format=ndjson'), big);
  assert.deepEqual(r.preview, first.toString().trimEnd().split('\n').map((l) => JSON.parse(l)));
  assert.equal(r.meta.rows, r.rows);
  assert.ok(peak < CSV_RSS_BOUND, `renderer RSS grew ${peak} bytes for a ${size}-byte CSV`);

  // Cancelled at the first frame that shows rows (in the page: no round trip to miss it
  // in): no error, and no session left in either worker.
  await page.evaluate(async () => {
    document.getElementById('csv-run').click();
    while (!document.querySelector('#csv-preview tbody tr')) await new Promise(requestAnimationFrame);
    document.getElementById('csv-cancel').click();
  });
  await waitFor(() => document.getElementById('csv-stats-note').textContent === 'cancelled');
  assert.equal(await page.evaluate(() => window.kilnDemo.openStreams()), 0);
  assert.ok(await page.isHidden('#error'));
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
  await page.click('#csv-sample');
  await waitFor(() => window.kilnDemo.results.csv?.input === null);
  await page.screenshot({ path: join(root, 'target/e2e/demo-csv.png'), fullPage: true });
  await page.click('#tab-compress');
  await page.screenshot({ path: join(root, 'target/e2e/demo-compress.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);
});
