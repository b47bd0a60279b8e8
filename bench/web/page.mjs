// Page load to first result in headless Chromium: the demo page (www/dist) served by
// `kiln serve` on 127.0.0.1, loaded N times in fresh browser contexts (cold cache);
// the page records when its first image result arrived (kilnDemo.firstResultMs,
// milliseconds after navigation start: HTML, JS, the .wasm fetch and compile in the
// worker, describe(), drawing the sample and running the default pipeline).
//
//   node bench/web/page.mjs [RUNS]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../../', import.meta.url));
const runs = Number(process.argv[2] ?? 5);
const bin = [`${root}target/release/kiln`, `${root}target/debug/kiln`].find((p) => existsSync(p));
const server = spawn(bin, ['serve', '--engine', 'native', '--unsandboxed', '--addr', '127.0.0.1:0', '--www', `${root}www/dist`], { stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise((resolve) => {
  let text = '';
  server.stdout.on('data', (c) => {
    text += c;
    const m = text.match(/listening on (http:\/\/\S+)/);
    if (m) resolve(m[1]);
  });
});
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const times = [];
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.kilnDemo?.firstResultMs != null, null, { timeout: 60_000 });
  const t = await page.evaluate(() => ({ first: window.kilnDemo.firstResultMs, dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd }));
  times.push(t);
  await context.close();
}
await browser.close();
server.kill('SIGTERM');
const med = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
console.log(`page load to first result (median of ${runs}, cold cache): ${med(times.map((t) => t.first)).toFixed(0)} ms; DOMContentLoaded ${med(times.map((t) => t.dcl)).toFixed(0)} ms`);
