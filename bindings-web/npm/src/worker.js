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
//
// Streaming: `await kiln.stream(pipeline)` is stream() of the package run in the worker
// (a readable/writable pair of bytes with `contentType` and `meta`): each chunk written is
// transferred there, pushed, and its output transferred back. At most IN_FLIGHT chunks
// are in the worker at once; past that a write waits for the oldest to come back, and,
// as with stream(), no chunk is sent while the readable side is not being read.
// Messages of streams and jobs interleave in the worker, each in arrival order.

import { KilnError } from './core.js';
import { bytesOf, chunkSizeOf, deferred } from './stream.js';

/** Chunks a stream may have sent to the worker and not had back. */
export const IN_FLIGHT = 4;

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

  /** Sends a message that has a reply; `worker`: only to that worker (a stream's), if still running. */
  _post(message, transfer, worker = this._spawn()) {
    const id = this._next++;
    message.id = id;
    if (worker !== this._worker) {
      return Promise.reject(new KilnError('internal', 'kiln worker restarted: the stream it ran is lost'));
    }
    if (this._first && this._options.wasm) message.wasm = String(this._options.wasm);
    this._first = false;
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
    return this._post({ type: 'run', pipeline: plain(pipeline), input: payload }, transferList);
  }

  /** Checks a pipeline in the worker's kernel: its canonical form, or a KilnError. */
  check(pipeline) {
    return this._post({ type: 'check', pipeline: plain(pipeline) }, []);
  }

  /** The kernel's self-description, from the worker. */
  describe() {
    return this._post({ type: 'describe' }, []);
  }

  /**
   * A streaming run of `pipeline` in the worker: resolves, once the worker has opened its
   * session, to a pair of streams of bytes for pipeThrough() (`writable`, `readable`), with
   * `contentType` and `meta` (a promise, settled at the end), as stream() of the package;
   * rejects with KilnError `bad_pipeline` if the pipeline cannot stream. Chunks written
   * are transferred (then detached here) when they span their whole, non-shared buffer,
   * else their bytes are copied; `{ transfer: false }` always copies. A later error errors
   * both sides with its KilnError; cancelling the readable or aborting the writable frees
   * the worker's session.
   *
   * A pair rather than a TransformStream: a transformer's `cancel` is not called by every
   * browser (Chromium 156 does not), and a session in a worker is never collected.
   * @param {{ chunkSize?: number, transfer?: boolean }} [options]
   */
  async stream(pipeline, options = {}) {
    const size = chunkSizeOf(options);
    const transfer = options.transfer ?? true;
    const worker = this._spawn();
    const open = { type: 'open', pipeline: plain(pipeline), chunkSize: size };
    const opened = this._post(open, [], worker);
    const sid = open.id;
    const first = await opened;
    const send = (type, extra = {}, list = []) => this._post({ type, sid, ...extra }, list, worker);

    const meta = deferred();
    let readable, writable; // the two sides' controllers
    // Chunks are sent only while the reader waits for output: the backpressure of a
    // TransformStream, whose readable side has a high-water mark of 0.
    let wanted = false;
    let wake = null; // resumes the write waiting for `wanted` (writes come one at a time)
    const resume = () => {
      wake?.();
      wake = null;
    };
    const inFlight = []; // the pushes sent, oldest first; each settles once its output is enqueued
    let ended = null; // { reason } once failed, cancelled or finished: nothing more is enqueued
    const end = (reason, { abort = false } = {}) => {
      if (ended) return;
      ended = { reason };
      meta.reject(reason);
      resume(); // a write waiting for the reader goes on, and fails
      // The worker frees a session that failed there; one ended here is freed by a message.
      if (abort && this._worker === worker) worker.postMessage({ type: 'abort', sid });
    };
    const fail = (err) => {
      if (ended) return;
      end(err);
      readable.error(err);
      writable.error(err);
    };
    const emit = (out) => {
      wanted = false; // until the stream pulls again: now, if a read is still waiting
      readable.enqueue(out);
    };

    const stream = {
      readable: new ReadableStream(
        {
          start: (controller) => void (readable = controller),
          pull: () => {
            wanted = true;
            resume();
          },
          cancel: (reason) => {
            end(reason, { abort: true });
            writable.error(reason);
          },
        },
        { highWaterMark: 0 },
      ),
      writable: new WritableStream({
        start: (controller) => {
          writable = controller;
          // abort() waits for the write in progress, which may be waiting for the reader:
          // it ends here first (its signal) and lets that write go.
          controller.signal?.addEventListener('abort', () => {
            end(controller.signal.reason, { abort: true });
            readable.error(controller.signal.reason);
          });
        },
        async write(chunk) {
          while (!wanted && !ended) await new Promise((resolve) => (wake = resolve));
          if (ended) throw ended.reason;
          let bytes;
          try {
            bytes = bytesOf(chunk, (message) => new KilnError('bad_input', message));
          } catch (err) {
            end(err, { abort: true });
            readable.error(err);
            throw err;
          }
          const [payload, list] = prepare(bytes, transfer);
          const pushed = send('push', { input: payload }, list).then((outs) => {
            if (!ended) for (const out of outs) emit(out);
          }, fail);
          inFlight.push(pushed);
          if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
        },
        async close() {
          await Promise.all(inFlight);
          if (ended) throw ended.reason;
          try {
            const out = await send('finish');
            if (ended) return; // cancelled meanwhile
            ended = { reason: null };
            if (out.data.length) readable.enqueue(out.data);
            readable.close();
            meta.resolve(out.meta);
          } catch (err) {
            fail(err);
            throw err;
          }
        },
        abort(reason) {
          end(reason, { abort: true });
          readable.error(reason);
        },
      }),
      contentType: first.content_type,
      meta: meta.promise,
    };
    return stream;
  }

  /** The number of stream sessions open in the worker (for tests). */
  _openStreams() {
    return this._post({ type: 'streams' }, []);
  }

  /** Stops the worker; pending jobs fail. A later run() starts a new one. */
  terminate() {
    this._fail('kiln worker terminated');
  }
}

/** A pipeline as a message carries it: the text, or a plain copy of the JSON form. */
const plain = (pipeline) => (typeof pipeline === 'string' ? pipeline : JSON.parse(JSON.stringify(pipeline)));

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
