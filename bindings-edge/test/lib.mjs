// Shared by the Worker's tests: the built Worker in workerd (Miniflare's API), `kiln
// serve` on 127.0.0.1, and small helpers. Everything listens on 127.0.0.1 only.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const edgeDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const root = resolve(edgeDir, '..');
export const buildDir = resolve(edgeDir, 'build');
export const MAX_BODY = 16 << 20;

const { Miniflare } = await import('miniflare');

/** The built Worker in workerd. `vars` become the Worker's env (wrangler [vars]). */
export async function startWorker(vars = {}) {
  if (!existsSync(resolve(buildDir, 'index.js'))) {
    throw new Error(`the Worker is not built (${buildDir}); run scripts/build-edge.sh`);
  }
  const mf = new Miniflare({
    modules: true,
    scriptPath: resolve(buildDir, 'index.js'),
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: '2026-04-20',
    bindings: { KILN_ALLOWED_ORIGINS: '', KILN_DEBUG: '0', ...vars },
    cf: false,
    host: '127.0.0.1',
  });
  await mf.ready;
  return mf;
}

/** `fetch(url, init)` to the Worker as an HTTP client sends it: a body of known length
 * keeps its `content-length`, which decides whether a request streams (DESIGN.md,
 * "Streamed requests"); Miniflare's `dispatchFetch` sends every body chunked. `url`'s
 * origin is replaced by the runtime's. */
export async function workerFetch(mf, url, init) {
  const { pathname, search } = new URL(url);
  return fetch(new URL(pathname + search, await mf.ready), init);
}

/** `kiln serve` (target/debug/kiln, from `cargo build -p kiln-native`) with the
 * Worker's input limit and no demo page. Resolves to { url, stop }. */
export async function startNative() {
  const bin = process.env.KILN_BIN ?? resolve(root, 'target/debug/kiln');
  if (!existsSync(bin)) throw new Error(`${bin} missing: cargo build -p kiln-native`);
  const child = spawn(bin, ['serve', '--addr', '127.0.0.1:0', '--www', resolve(edgeDir, 'no-such-dir'),
    '--max-input-mib', String(MAX_BODY >> 20)], { stdio: ['ignore', 'pipe', 'ignore'] });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('kiln serve did not start in 60 s')), 60_000);
    lines.on('line', (l) => {
      const m = /^kiln listening on (http:\/\/\S+)/.exec(l);
      if (m) { clearTimeout(timer); ok(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`kiln serve exited (${code})`)); });
  });
  return { url, stop: () => child.kill('SIGTERM') };
}

/** A response as the four things that must be identical, plus `allow`. */
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
