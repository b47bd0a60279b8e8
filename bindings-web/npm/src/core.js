// @kiln/kernel — the part every entry point shares (browser, Node, workerd).
//
// The entry points differ only in where the .wasm comes from; everything else lives
// here, in one module, so there is exactly one kernel instance per JS realm:
//
//   index.js   (browser, Deno, Bun, default)  fetch(new URL('./kiln_bg.wasm', import.meta.url))
//   node.js    (Node)                          fs.readFile of the same file
//   workerd.js (Cloudflare Workers)            the .wasm imported as a compiled module
//
// Streaming (KilnStream, stream()) is stream.js, bound to each entry's loader here.
//
// State machine: not loaded -> loading (one shared promise: init() is memoised) ->
// ready. initSync() loads synchronously from bytes or a WebAssembly.Module. In Node
// and workerd, run() and describe() also load synchronously on first use; in a browser
// they need `await init()` first (or use the builder, whose run() awaits it).

import initGlue, {
  initSync as initGlueSync,
  run as rawRun,
  check as rawCheck,
  describe as rawDescribe,
} from './kiln.js';
import { Job } from './builder.js';
import { streams } from './stream.js';

/**
 * An error of the kernel: `code` is one of bad_pipeline, bad_input, unsupported,
 * too_large, internal; `step` the 0-based step at fault (or null); `param` the
 * parameter at fault (or null).
 */
export class KilnError extends Error {
  constructor(code, message, step = null, param = null, options = undefined) {
    super(message, options);
    this.name = 'KilnError';
    this.code = code;
    this.step = step;
    this.param = param;
  }

  toJSON() {
    return { code: this.code, message: this.message, step: this.step, param: this.param };
  }
}

let ready = false;
let loading = null;
let poisoned = null;

/** Memoised async load. `source`: whatever the entry point resolved (or a promise of it). */
export function initFrom(source) {
  if (ready) return Promise.resolve();
  if (!loading) {
    loading = Promise.resolve(source)
      .then((s) => initGlue({ module_or_path: s }))
      .then(() => {
        ready = true;
      })
      .catch((err) => {
        loading = null; // a failed load may be retried
        throw err;
      });
  }
  return loading;
}

/** Synchronous load from bytes (BufferSource) or a WebAssembly.Module. */
export function initSyncFrom(source) {
  if (ready) return;
  if (source == null) {
    throw new TypeError('initSync() needs the .wasm bytes or a WebAssembly.Module here (or use `await init()`)');
  }
  initGlueSync({ module: source });
  ready = true;
}

/** True once the kernel is loaded. */
export function isReady() {
  return ready;
}

function wrap(err) {
  if (err instanceof KilnError) return err;
  if (err && typeof err === 'object' && err.name === 'KilnError' && typeof err.code === 'string') {
    return new KilnError(err.code, err.message, err.step ?? null, err.param ?? null);
  }
  if (typeof WebAssembly !== 'undefined' && err instanceof WebAssembly.RuntimeError) {
    // A trap is a kernel bug (DESIGN.md: reported as `internal`, the host survives).
    // Its memory may be inconsistent, so this instance is not used again.
    poisoned = err;
    return new KilnError('internal', `kernel trapped: ${err.message}`, null, null, { cause: err });
  }
  return new KilnError('internal', String(err && err.message ? err.message : err), null, null, { cause: err });
}

/** Views that wasm-bindgen reads directly, without a copy on the JS side. */
function normaliseInput(input) {
  if (input instanceof Uint8Array || typeof input === 'string') return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  return input; // pixels ({data, width, height} / ImageData) and the rest: checked in Rust
}

function notReady() {
  throw new Error('@kiln/kernel is not initialised: `await init()` first (or initSync(bytes))');
}

/**
 * The public API of one entry point. `loadSync`: how run() loads on first use where
 * that can be synchronous (Node, workerd), or null (browsers: init() first).
 * `init`: the entry's async init, awaited by the builder's run().
 *
 * Each entry defines its exports from this object in its own module body, so no
 * import-time side effect is needed ("sideEffects" lists only the worker script).
 */
export function api({ init, loadSync }) {
  const ensure = () => {
    if (ready) return;
    if (loadSync) initSyncFrom(loadSync());
    else notReady();
  };
  /** Runs `fn` on the loaded kernel; what it throws becomes a KilnError. */
  const call = (fn) => {
    ensure();
    if (poisoned) {
      throw new KilnError('internal', `kernel instance is unusable after a trap (${poisoned.message}); reload it`);
    }
    try {
      return fn();
    } catch (err) {
      throw wrap(err);
    }
  };
  const run = (pipeline, input) => call(() => rawRun(pipeline, normaliseInput(input)));
  const describe = () => call(rawDescribe);
  const check = (pipeline) => call(() => rawCheck(pipeline));
  const runner = {
    async run(pipeline, input) {
      if (!ready) await init();
      return run(pipeline, input);
    },
    runSync: run,
  };
  return {
    run,
    check,
    describe,
    ...streams({ call, KilnError }),
    image: (input) => new Job(input, [], 'image', runner),
    bytes: (input) => new Job(input, [], 'bytes', runner),
    csv: (input, options = {}) => new Job(input, [{ op: 'parse_csv', ...options }], 'table', runner),
  };
}
