// KilnWorker: runs kiln jobs in a module Web Worker, off the main thread.
//
//   const kiln = new KilnWorker();
//   const { data, meta } = await kiln.run('resize width=800 | encode format=webp', file);
//
// Buffers are transferred, not copied: the output comes back as a transferred
// ArrayBuffer, and the input's buffer is transferred too when it is safe to (a
// Uint8Array, ImageData or ArrayBuffer that spans its whole, non-shared buffer): it is
// then detached in the caller. Pass { transfer: false } to keep it (it is copied).
// Jobs run one at a time in arrival order; use several KilnWorkers for parallelism.
// If the worker dies or the kernel traps (`internal`), the worker is replaced: the
// jobs already sent to it fail with KilnError `internal` (their inputs may have been
// transferred, so they are not sent again) and the next job starts a fresh worker.

import { KilnError } from './core.js';

export class KilnWorker {
  /**
   * @param {{ url?: string | URL, wasm?: string | URL, type?: 'module' | 'classic', name?: string }} [options]
   *   url: the worker script (default: this package's worker-entry.js);
   *   wasm: where the worker loads the kernel from (default: next to the script).
   */
  constructor(options = {}) {
    this._options = options;
    this._worker = null;
    this._next = 1;
    this._pending = new Map();
  }

  _spawn() {
    if (this._worker) return this._worker;
    const name = this._options.name ?? 'kiln';
    // `new Worker(new URL('./worker-entry.js', import.meta.url), { type: 'module' })` in one
    // expression: the pattern Vite, webpack 5 and Parcel recognise, so a production
    // build emits the worker script (and the kernel it loads) as assets of its own.
    const worker = this._options.url
      ? new Worker(this._options.url, { type: 'module', name })
      : new Worker(new URL('./worker-entry.js', import.meta.url), { type: 'module', name });
    worker.onmessage = (event) => {
      const msg = event.data;
      const job = this._pending.get(msg.id);
      if (!job) return;
      this._pending.delete(msg.id);
      if (msg.ok) {
        job.resolve(msg.value !== undefined ? msg.value : { data: msg.data, meta: msg.meta });
      } else {
        const { code, message, step, param } = msg.error;
        job.reject(new KilnError(code, message, step, param));
        // A trap leaves no instance worth keeping, and the jobs queued behind it with it.
        if (code === 'internal') this._fail(`restarted after a fault of another job: ${message}`);
      }
    };
    const die = (what) => this._fail(`kiln worker failed: ${what}`);
    worker.onerror = (event) => {
      event.preventDefault?.();
      die(event.message || 'error');
    };
    worker.onmessageerror = () => die('a message could not be read');
    this._worker = worker;
    this._first = true;
    return worker;
  }

  /** Ends the worker; every job sent to it fails with `internal` and `message`. */
  _fail(message) {
    this._worker?.terminate();
    this._worker = null;
    const pending = [...this._pending.values()];
    this._pending.clear();
    for (const job of pending) job.reject(new KilnError('internal', message));
  }

  _post(message, transfer) {
    const worker = this._spawn();
    if (this._first && this._options.wasm) message.wasm = String(this._options.wasm);
    this._first = false;
    const id = this._next++;
    message.id = id;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject });
      try {
        worker.postMessage(message, transfer);
      } catch (err) {
        this._pending.delete(id);
        reject(err);
      }
    });
  }

  /**
   * Runs a whole pipeline in the worker: one message there, one back.
   * @returns {Promise<{data: Uint8Array, meta: object}>}
   */
  run(pipeline, input, { transfer = true } = {}) {
    const [payload, transferList] = prepare(input, transfer);
    const p = typeof pipeline === 'string' ? pipeline : JSON.parse(JSON.stringify(pipeline));
    return this._post({ type: 'run', pipeline: p, input: payload }, transferList);
  }

  /** Checks a pipeline in the worker's kernel: its canonical form, or a KilnError. */
  check(pipeline) {
    const p = typeof pipeline === 'string' ? pipeline : JSON.parse(JSON.stringify(pipeline));
    return this._post({ type: 'check', pipeline: p }, []);
  }

  /** The kernel's self-description, from the worker. */
  describe() {
    return this._post({ type: 'describe' }, []);
  }

  /** Stops the worker; pending jobs fail. A later run() starts a new one. */
  terminate() {
    this._fail('kiln worker terminated');
  }
}

const isShared = (buffer) => typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer;

/** What to post and what to transfer. Never clones more than the caller's bytes. */
function prepare(input, transfer) {
  if (input instanceof ArrayBuffer) {
    return transfer ? [input, [input]] : [input.slice(0), []];
  }
  if (ArrayBuffer.isView(input)) {
    const view = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    const whole = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && !isShared(view.buffer);
    if (transfer && whole) return [view, [view.buffer]];
    return [view.slice(), []]; // a sub-view: copy just its bytes, not its whole buffer
  }
  if (input && typeof input === 'object' && 'data' in input && 'width' in input && 'height' in input) {
    const [data, list] = prepare(input.data, transfer);
    const pixels = new Uint8Array(data.buffer ?? data, data.byteOffset ?? 0, data.byteLength);
    return [{ data: pixels, width: input.width, height: input.height }, list];
  }
  return [input, []]; // strings and anything else: structured clone (the kernel checks)
}
