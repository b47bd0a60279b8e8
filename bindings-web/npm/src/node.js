// @kiln/kernel for Node (the "node" condition). The .wasm is read from the package
// with fs: Node's fetch() cannot read file: URLs. run() and describe() load it
// synchronously on first use, so `await init()` is optional here.

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { api, initFrom, initSyncFrom } from './core.js';

export { KilnError, isReady } from './core.js';
export { toText } from './builder.js';

const wasmUrl = () => new URL('./kiln_bg.wasm', import.meta.url);

/** Loads the kernel once (memoised). `source`: bytes, a WebAssembly.Module, or a path/URL to read. */
export function init(source) {
  const read = source == null || typeof source === 'string' || source instanceof URL;
  return initFrom(read ? readFile(source ?? wasmUrl()) : source);
}

/** Loads the kernel synchronously (default: the package's own .wasm). */
export function initSync(source) {
  initSyncFrom(source ?? readFileSync(wasmUrl()));
}

const kiln = api({ init, loadSync: () => readFileSync(wasmUrl()) });
/** Runs a whole pipeline on one input in one call: `{ data, meta }`, or throws a KilnError. */
export const run = kiln.run;
/** Checks a pipeline without running it: its canonical form, or throws a KilnError. */
export const check = kiln.check;
/** The kernel's self-description. */
export const describe = kiln.describe;
/** A streaming run of one pipeline that streams: push() chunks, then finish(); abort() frees it. */
export const KilnStream = kiln.KilnStream;
/** A TransformStream<Uint8Array, Uint8Array> running a pipeline that streams (`.contentType` at once, `.meta` at the end). */
export const stream = kiln.stream;
/** Typed builders: `image(bytes).resize({ width: 800 }).encode('webp').run()`. */
export const image = kiln.image;
export const bytes = kiln.bytes;
export const csv = kiln.csv;
