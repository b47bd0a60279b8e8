// @kiln/kernel for browsers, Deno, Bun and anything else with fetch() and import.meta.url
// (the "browser" and "default" conditions). Bundlers (Vite, webpack 5, esbuild, Rollup)
// recognise `new URL('./kiln_bg.wasm', import.meta.url)` and emit the .wasm as an asset.

import { api, initFrom, initSyncFrom } from './core.js';

export { KilnError, isReady } from './core.js';
export { toText } from './builder.js';

/**
 * Loads the kernel, once (memoised; concurrent calls share one load). `source`:
 * a URL or string of the .wasm, a Response or Promise<Response>, bytes, or a
 * WebAssembly.Module. Default: the package's own kiln_bg.wasm, streamed.
 */
export function init(source) {
  return initFrom(source ?? new URL('./kiln_bg.wasm', import.meta.url));
}

/** Loads the kernel synchronously from the .wasm bytes or a WebAssembly.Module. */
export function initSync(source) {
  initSyncFrom(source);
}

const kiln = api({ init, loadSync: null });
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
