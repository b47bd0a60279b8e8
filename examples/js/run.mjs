// kiln's kernel component from Node, through jco: a 64-pixel-wide PNG thumbnail.
//
//   kiln export-kernel kiln-kernel.wasm && node transpile.mjs kiln-kernel.wasm kiln-js
//   node run.mjs photo.jpg thumb.png [kiln-js]
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [input, output, dir = 'kiln-js'] = process.argv.slice(2);
// The calls are in the interface `api` of kernel/wit/kiln.wit.
const { api: kiln } = await import(pathToFileURL(resolve(dir, 'kiln.js')).href);

// The host's caps on a job (the kernel's defaults); a pipeline may only tighten them.
const MiB = 1n << 20n;
const limits = {
  maxInputBytes: 256n * MiB, maxOutputBytes: 256n * MiB, maxPixels: 64n * MiB, maxDimension: 65535,
  maxDecompressedBytes: 256n * MiB, maxRows: 10_000_000n, maxColumns: 16384, maxJsonDepth: 128,
  maxMemoryBytes: 1024n * MiB,
};

try {
  const { data, meta } = kiln.run('resize width=64 | encode format=png', readFileSync(input), limits);
  writeFileSync(output, data);
  console.log(`${output}: ${meta.width}x${meta.height} ${meta.contentType}, ${data.length} bytes`);
} catch (e) {
  // A kiln error arrives as jco's ComponentError, the WIT `error` record in `payload`.
  const { code, message, step } = e.payload ?? {};
  if (!code) throw e;
  console.error(`kiln: ${code} at step ${step ?? '-'}: ${message}`);
  process.exit(1);
}
