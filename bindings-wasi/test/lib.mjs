// Shared by kiln-http's tests: the component (target/components/kiln-http.wasm, from
// scripts/build-wasi-http.sh) under `wasmtime serve`, `kiln serve` with its default limits
// (the component's), and a response snapshot. Everything listens on 127.0.0.1 only.
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { homedir } from 'node:os';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const component = process.env.KILN_HTTP_WASM ?? resolve(root, 'target/components/kiln-http.wasm');
export const MAX_BODY = 256 << 20;

/** Starts `bin args...` and resolves to { url, stop, child } once a line of its output
 * (stdout or stderr) matches `ready` (whose group 1 is the URL). */
function start(what, bin, args, ready) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${what} did not start in 120 s`)), 120_000);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (l) => {
        const m = ready.exec(l);
        if (m) { clearTimeout(timer); ok(m[1].replace(/\/$/, '')); }
      });
    }
    child.on('error', (e) => { clearTimeout(timer); fail(new Error(`${what}: ${e.message}`)); });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`${what} exited (${code})`)); });
  });
  return url.then((u) => ({ url: u, child, stop: () => child.kill('SIGTERM') }));
}

/** `wasmtime serve` on the component: KILN_WASMTIME, else the CLI scripts/setup.sh
 * installs (cargo's bin folder), else `wasmtime` on PATH. */
export function startWasmtime() {
  if (!existsSync(component)) throw new Error(`${component} missing: scripts/build-wasi-http.sh`);
  const installed = resolve(process.env.CARGO_HOME ?? resolve(homedir(), '.cargo'), 'bin/wasmtime');
  const bin = process.env.KILN_WASMTIME ?? (existsSync(installed) ? installed : 'wasmtime');
  return start('wasmtime serve', bin, ['serve', '--addr', '127.0.0.1:0', component],
    /Serving HTTP on (http:\/\/\S+)/);
}

/** `kiln serve` (target/debug/kiln) with its default limits and no demo page. */
export function startNative() {
  const bin = process.env.KILN_BIN ?? resolve(root, 'target/debug/kiln');
  if (!existsSync(bin)) throw new Error(`${bin} missing: cargo build -p kiln-native`);
  return start('kiln serve', bin, ['serve', '--addr', '127.0.0.1:0', '--www', resolve(root, 'no-such-dir')],
    /^kiln listening on (http:\/\/\S+)/);
}

/** A response as what must be identical: status, content-type, kiln-meta, allow, nosniff, body. */
export async function snapshot(res) {
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    meta: res.headers.get('kiln-meta'),
    allow: res.headers.get('allow'),
    nosniff: res.headers.get('x-content-type-options'),
    body: Buffer.from(await res.arrayBuffer()),
  };
}

/** fetch, retried twice when the connection fails (a server may answer 413 and close
 * while the client still sends). */
export async function fetchRetry(url, init) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await snapshot(await fetch(url, init));
    } catch (e) {
      if (attempt === 2) throw e;
    }
  }
}

/** POSTs `path` sending 1 MiB chunks until the answer comes (at most `chunks` of them),
 * with `content-length: declared` if given, else chunked; resolves to the answer's
 * snapshot. A server refusing a body it has not read answers before the upload ends. */
export function upload(url, path, { declared, chunks }) {
  return new Promise((ok, fail) => {
    const headers = declared === undefined ? {} : { 'content-length': String(declared) };
    const req = request(`${url}${path}`, { method: 'POST', headers }, (res) => {
      const body = [];
      res.on('data', (d) => body.push(d));
      res.on('end', () => {
        req.destroy();
        ok({
          status: res.statusCode,
          contentType: res.headers['content-type'] ?? null,
          meta: res.headers['kiln-meta'] ?? null,
          nosniff: res.headers['x-content-type-options'] ?? null,
          body: Buffer.concat(body),
        });
      });
    });
    let answered = false;
    req.on('response', () => { answered = true; });
    req.on('error', (e) => { if (!answered) fail(e); });
    const chunk = Buffer.alloc(1 << 20);
    let sent = 0;
    const pump = () => {
      while (!answered && sent < chunks) {
        sent++;
        if (!req.write(chunk)) return req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}
