// @kiln/kernel for Cloudflare Workers / workerd (the "workerd" condition). Workers
// cannot compile wasm from bytes at run time; the .wasm is imported as a module
// (wrangler's default rule: *.wasm is CompiledWasm) and instantiated synchronously on
// first use, so `await init()` is optional here.

import wasmModule from './kiln_bg.wasm';
import { api, initSyncFrom } from './core.js';

export { KilnError, isReady } from './core.js';
export { toText } from './builder.js';

/** Loads the kernel (memoised). `source` defaults to the bundled module. */
export async function init(source) {
  initSyncFrom(source ?? wasmModule);
}

/** Loads the kernel synchronously (default: the bundled module). */
export function initSync(source) {
  initSyncFrom(source ?? wasmModule);
}

const kiln = api({ init, loadSync: () => wasmModule });
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
