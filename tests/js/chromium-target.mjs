// The `chromium` target of kiln-cases: the built npm package (its "browser" entry,
// loaded with init() from a page served on 127.0.0.1) in Debian's headless Chromium,
// driven by playwright-core. Same JSON-lines protocol as node-target.mjs.
//
//   node tests/js/chromium-target.mjs [PACKAGE_DIR]
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { extname, join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const dir = resolve(process.argv[2] ?? new URL('../../bindings-web/npm/dist', import.meta.url).pathname);
const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
const PAGE = `<!doctype html><script type="module">
import { init, run, stream, KilnError } from './index.js';
const b64 = (u8) => { let s = ''; for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000)); return btoa(s); };
// Through stream(), the input written in pieces of chunks (cycled), as jobs.mjs cuts it.
async function streamed(pipeline, bytes, chunks) {
  const ts = stream(pipeline);
  const writing = (async () => {
    const writer = ts.writable.getWriter();
    for (let at = 0, i = 0; at < bytes.length; i++) {
      const n = Math.max(1, chunks[i % chunks.length]);
      await writer.write(bytes.subarray(at, at + n));
      at += n;
    }
    await writer.close();
  })();
  writing.catch(() => {});
  const parts = [];
  for (const reader = ts.readable.getReader(); ; ) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (data.set(p, at), at + p.length), 0);
  return { data, meta: await ts.meta };
}
window.kilnJob = async (pipeline, input, chunks) => {
  const bytes = Uint8Array.from(atob(input), (c) => c.charCodeAt(0));
  try {
    const { data, meta } = chunks ? await streamed(pipeline, bytes, chunks) : run(pipeline, bytes);
    return { ok: true, data: b64(data), meta };
  } catch (e) {
    if (e instanceof KilnError && e.code !== 'internal') return { ok: false, code: e.code, message: e.message };
    return { crash: String(e?.stack ?? e) };
  }
};
window.kilnReady = init().then(() => true);
</script>`;

const server = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    return;
  }
  const file = join(dir, path.replace(/^\/+/, ''));
  if (!file.startsWith(dir)) return res.writeHead(403).end();
  try {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const page = await browser.newPage();
page.on('pageerror', (e) => process.stderr.write(`chromium-target: page error: ${e}\n`));
await page.goto(`http://127.0.0.1:${server.address().port}/`);
await page.waitForFunction(() => window.kilnReady);
await page.evaluate(() => window.kilnReady);

const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (!line) continue;
  const { pipeline, input, chunks } = JSON.parse(line);
  try {
    out(await page.evaluate(([p, i, c]) => window.kilnJob(p, i, c), [pipeline, input, chunks ?? null]));
  } catch (e) {
    out({ crash: String(e?.message ?? e) });
  }
}
await browser.close();
server.close();
