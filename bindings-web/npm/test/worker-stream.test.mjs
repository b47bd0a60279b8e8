// KilnWorker.stream() in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core; CHROMIUM overrides it): module Workers, transfers and the streams'
// backpressure as a page has them. Serves bindings-web/npm/dist on 127.0.0.1 and imports
// the package's worker.js and index.js into a blank page; each test runs there.
//
// Checked: the worker's output is the main thread's run() (and stream()) output, byte for
// byte, under several cuttings; chunks are transferred (or copied with transfer: false)
// and outputs come back owning their buffers; at most IN_FLIGHT chunks are sent ahead of
// the reader; refusals and errors are KilnErrors; cancelling, aborting, errors and the end
// leave no session open in the worker; a terminated worker errors its streams.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

let server, browser, page;

before(async () => {
  assert.ok(existsSync(join(dist, 'worker-entry.js')), 'the package is not built: scripts/build-web.sh --package');
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>kiln worker streams</title>');
      return;
    }
    const file = join(dist, path);
    if (!file.startsWith(dist) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e}`));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  // Helpers every test uses, on window.
  await page.evaluate(async () => {
    const kiln = await import('/index.js');
    const { KilnWorker, IN_FLIGHT } = await import('/worker.js');
    await kiln.init();
    const concat = (chunks) => {
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      return out;
    };
    /** Reads a readable whole: its chunks. */
    const drain = async (readable) => {
      const chunks = [];
      for (const reader = readable.getReader(); ; ) {
        const { done, value } = await reader.read();
        if (done) return chunks;
        chunks.push(value);
      }
    };
    /** A readable of `bytes` cut at `cuts` (chunk sizes, repeated), each chunk its own buffer. */
    const cut = (bytes, cuts) => {
      let at = 0;
      let i = 0;
      return new ReadableStream({
        pull(controller) {
          if (at >= bytes.length) return controller.close();
          const n = cuts[i++ % cuts.length];
          controller.enqueue(bytes.slice(at, at + n));
          at += n;
        },
      });
    };
    const hex = async (bytes) =>
      Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
    // A CSV of about `mib` MiB, ints, floats, text and empty cells.
    const csv = (rows) =>
      new TextEncoder().encode(
        'id,name,score,note\n' +
          Array.from({ length: rows }, (_, i) => `${i},name ${i % 97},${((i * 37) % 1000) / 10},${i % 5 ? 'x' + (i % 13) : ''}`).join('\n') +
          '\n',
      );
    Object.assign(window, { kiln, KilnWorker, IN_FLIGHT, concat, drain, cut, hex, csv });
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

test('the worker streams give run()\'s bytes and meta under every cutting', async () => {
  const result = await page.evaluate(async () => {
    const worker = new KilnWorker();
    const input = csv(100_000); // about 2.6 MiB
    const gz = kiln.run('compress format=gzip level=6', input).data;
    const jobs = [
      ['compress format=gzip level=6', input],
      ['decompress', gz],
      ['decompress | parse_csv | to_json format=ndjson', gz],
      ['parse_csv | stats | to_json', input],
    ];
    const cuttings = [[1, 7, 4093], [65536], [1_000_003], [input.length]];
    const out = [];
    for (const [pipeline, bytes] of jobs) {
      const want = kiln.run(pipeline, bytes);
      for (const cuts of cuttings) {
        const s = await worker.stream(pipeline);
        const got = concat(await drain(cut(bytes, cuts).pipeThrough(s)));
        const meta = await s.meta;
        out.push({
          pipeline,
          cuts: cuts.join(','),
          same: (await hex(got)) === (await hex(want.data)),
          meta: JSON.stringify(meta) === JSON.stringify(want.meta),
          contentType: s.contentType === want.meta.content_type,
        });
      }
    }
    // Pushed 1000 bytes at a time in the worker (chunkSize), too.
    const small = await worker.stream('compress format=zlib', { chunkSize: 1000 });
    const zlib = concat(await drain(cut(input, [65536]).pipeThrough(small)));
    const open = await worker._openStreams();
    worker.terminate();
    return { out, chunkSize: (await hex(zlib)) === (await hex(kiln.run('compress format=zlib', input).data)), open };
  });
  for (const r of result.out) assert.deepEqual(r, { ...r, same: true, meta: true, contentType: true }, JSON.stringify(r));
  assert.equal(result.out.length, 16);
  assert.ok(result.chunkSize);
  assert.equal(result.open, 0, 'every finished stream is freed in the worker');
});

test('chunks are transferred (or copied with transfer: false); outputs own their buffers', async () => {
  const result = await page.evaluate(async () => {
    const worker = new KilnWorker();
    const take = async (options) => {
      const s = await worker.stream('parse_csv | to_json format=ndjson', options);
      const chunk = csv(20_000);
      const length = chunk.length;
      const writer = s.writable.getWriter();
      const read = drain(s.readable);
      await writer.write(chunk);
      const after = chunk.byteLength;
      // A view into part of a buffer is copied whatever `transfer` says: its buffer stays.
      const whole = csv(10);
      const part = whole.subarray(0, 20);
      await writer.write(part);
      await writer.write(whole.subarray(20));
      await writer.close();
      const outs = await read;
      return {
        detached: after === 0,
        kept: after === length,
        partKept: part.byteLength === 20 && whole.byteLength > 20,
        owning: outs.every((o) => o.byteOffset === 0 && o.byteLength === o.buffer.byteLength),
        outputs: outs.length,
      };
    };
    const r = { transferred: await take(), copied: await take({ transfer: false }) };
    worker.terminate();
    return r;
  });
  assert.deepEqual(result.transferred, { ...result.transferred, detached: true, kept: false, partKept: true, owning: true });
  assert.deepEqual(result.copied, { ...result.copied, detached: false, kept: true, partKept: true, owning: true });
  assert.ok(result.transferred.outputs > 1);
});

test('backpressure: no more than IN_FLIGHT chunks go ahead of a reader that stops', async () => {
  const result = await page.evaluate(async () => {
    const worker = new KilnWorker();
    // Each chunk completes rows, so each push gives output at once.
    const s = await worker.stream('parse_csv | to_json format=ndjson');
    const text = csv(200_000);
    const chunks = Array.from({ length: 64 }, (_, i) => text.slice(i * 65536, (i + 1) * 65536));
    const writer = s.writable.getWriter();
    for (const c of chunks) writer.write(c).catch(() => {});
    const reader = s.readable.getReader();
    await reader.read(); // one read, then the reader stops
    await new Promise((resolve) => setTimeout(resolve, 500));
    const sent = chunks.filter((c) => c.byteLength === 0).length;
    // Reading on takes every chunk through.
    let bytes = 0;
    const closing = writer.close();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
    }
    await closing;
    const all = chunks.every((c) => c.byteLength === 0);
    worker.terminate();
    return { sent, all, bytes, IN_FLIGHT };
  });
  assert.equal(result.IN_FLIGHT, 4); // as worker.d.ts says
  // The reader's one read lets chunks go until the first output comes back: IN_FLIGHT of them.
  assert.ok(result.sent >= 1 && result.sent <= 4, `${result.sent} chunks sent ahead of the reader`);
  assert.ok(result.all);
  assert.ok(result.bytes > 0);
});

test('refusals and errors are KilnErrors; errored streams leave no session', async () => {
  const result = await page.evaluate(async () => {
    const { KilnError } = kiln;
    const worker = new KilnWorker();
    const caught = async (p) => {
      try {
        await p;
        return 'no error';
      } catch (e) {
        return e instanceof KilnError ? `${e.code} ${e.step}` : `not a KilnError: ${e}`;
      }
    };
    const refused = await caught(worker.stream('resize width=2'));
    const badText = await caught(worker.stream('no_such_op'));
    // Corrupt gzip: the read and the meta fail with bad_input.
    const corrupt = await worker.stream('decompress');
    const corruptRead = caught(drain(new Blob(['not gzip at all']).stream().pipeThrough(corrupt)));
    const corruptMeta = caught(corrupt.meta);
    // A CSV record wider than its header, far into the input: output came before the error.
    const rows = new TextEncoder().encode('a,b\n' + '1,2\n'.repeat(200_000) + '1,2,3\n');
    const wide = await worker.stream('parse_csv | to_json format=ndjson');
    const got = [];
    const wideRead = caught(
      cut(rows, [65536])
        .pipeThrough(wide)
        .pipeTo(new WritableStream({ write: (c) => got.push(c.length) })),
    );
    // A chunk that is not bytes (a writer waits for a reader, as with every TransformStream).
    const text = await worker.stream('json mode=minify');
    const textRead = caught(drain(text.readable));
    const textWrite = caught(text.writable.getWriter().write('[1, 2]'));
    const r = {
      refused,
      badText,
      corruptRead: await corruptRead,
      corruptMeta: await corruptMeta,
      wide: await wideRead,
      outputBeforeError: got.length > 0,
      text: await textWrite,
      textRead: await textRead,
    };
    r.open = await worker._openStreams();
    // The worker still works.
    r.after = (await worker.run('compress', 'abc')).data.length > 0;
    worker.terminate();
    return r;
  });
  assert.deepEqual(result, {
    refused: 'bad_pipeline 0',
    badText: 'bad_pipeline 0',
    corruptRead: 'bad_input 0',
    corruptMeta: 'bad_input 0',
    wide: 'bad_input 0',
    outputBeforeError: true,
    text: 'bad_input null',
    textRead: 'bad_input null',
    open: 0,
    after: true,
  });
});

test('cancelling the readable, aborting the writable or a pipe\'s signal frees the worker\'s session', async () => {
  const result = await page.evaluate(async () => {
    const worker = new KilnWorker();
    const open = [];
    const endless = () => new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(65536).fill(7)) });
    const a = await worker.stream('compress');
    const b = await worker.stream('compress');
    const c = await worker.stream('compress');
    open.push(await worker._openStreams());
    // A reader that cancels after a few reads.
    const reader = endless().pipeThrough(a).getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    await reader.cancel('enough');
    const metaA = await a.meta.then(() => 'resolved', (reason) => String(reason));
    // A writer that aborts.
    const bRead = drain(b.readable).catch((e) => e);
    const writer = b.writable.getWriter();
    await writer.write(new Uint8Array(1000));
    await writer.abort('stop');
    const readB = await bRead;
    // A writer that aborts while its write waits for a reader that never reads.
    const d = await worker.stream('compress');
    const stuck = d.writable.getWriter();
    const waiting = stuck.write(new Uint8Array(1000)).then(() => 'written', (e) => String(e));
    const hangs = () => new Promise((resolve) => setTimeout(() => resolve('hangs'), 2000));
    const aborted = await Promise.race([stuck.abort('no reader').then(() => 'aborted'), hangs()]);
    const blocked = await Promise.race([waiting, hangs()]);
    // A pipe stopped by its signal, as the demo page's Cancel button does.
    const controller = new AbortController();
    const piped = endless().pipeThrough(c).pipeTo(new WritableStream(), { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const pipe = await piped.then(() => 'finished', (e) => e.name);
    open.push(await worker._openStreams());
    worker.terminate();
    return { open, metaA, readB, aborted, blocked, pipe };
  });
  assert.deepEqual(result, { open: [3, 0], metaA: 'enough', readB: 'stop', aborted: 'aborted', blocked: 'no reader', pipe: 'AbortError' });
});

test('a terminated worker errors its streams with KilnError internal; the next stream starts a new one', async () => {
  const result = await page.evaluate(async () => {
    const worker = new KilnWorker();
    const s = await worker.stream('compress');
    const writer = s.writable.getWriter();
    const read = drain(s.readable).then(() => 'ended', (e) => e.code);
    await writer.write(new Uint8Array(1000));
    worker.terminate();
    // The write may still be taken (the worker's loss shows when its push comes back).
    await writer.write(new Uint8Array(1000)).catch(() => {});
    const close = await writer.closed.then(() => 'closed', (e) => e.code);
    const again = await worker.stream('compress');
    const out = concat(await drain(new Blob(['abc']).stream().pipeThrough(again)));
    const same = out.length === kiln.run('compress', 'abc').data.length;
    worker.terminate();
    return { close, read: await read, same };
  });
  assert.deepEqual(result, { close: 'internal', read: 'internal', same: true });
});
