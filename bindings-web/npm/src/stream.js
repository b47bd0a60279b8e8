// Streaming: the kernel's session (DESIGN.md, "Streaming") as a class, KilnStream, and
// as a WHATWG TransformStream, stream(). Each entry point gets them from core.js's
// api(), bound to its own loader; node-stream.js adapts them to node:stream.
//
// Backpressure is CompressionStream's: transform() pushes synchronously and enqueues
// what each push gives, with the default queuing strategies, so a writer waits while
// the reader is behind. A caller's chunk is pushed 64 KiB at a time (the chunk size of
// fflate and of Node's streams), which bounds what one push gives: about 64 KiB for
// the table and JSON steps, at most DEFLATE's 1032:1 of it for `decompress`.
//
// Cancelling the readable side or aborting the writable side frees the session
// (transformer.cancel); where a runtime predates that, and for a KilnStream dropped
// without finish() or abort(), wasm-bindgen's FinalizationRegistry frees it when collected.

import { Session as RawSession } from './kiln.js';

/** Bytes per push into the kernel. */
export const CHUNK_SIZE = 64 * 1024;

/**
 * `chunk` as a Uint8Array view (no copy) of a BufferSource; anything else is not bytes.
 * @param {(message: string) => Error} badInput
 */
export function bytesOf(chunk, badInput) {
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw badInput('a stream chunk must be bytes (Uint8Array, ArrayBuffer or another ArrayBufferView)');
}

/**
 * Pushes `chunk` into `session` `size` bytes at a time, handing each non-empty output
 * to `emit`. Shared by stream() and the Node adapter.
 */
export function pushChunk(session, chunk, size, emit) {
  const bytes = session._bytes(chunk);
  if (bytes.length === 0) return;
  for (let at = 0; at < bytes.length; at += size) {
    const out = session.push(bytes.subarray(at, at + size));
    if (out.length) emit(out);
  }
}

/** A chunk size option: a positive integer, CHUNK_SIZE by default. */
export function chunkSizeOf(options) {
  const size = options?.chunkSize ?? CHUNK_SIZE;
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunkSize must be a positive integer (got ${size})`);
  return size;
}

/** A promise whose rejection is reported only to those who await it. */
export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/**
 * The streaming API of one entry point. `call(fn)`: runs `fn` with the kernel loaded
 * (or throws as run() does), turning what it throws into a KilnError.
 */
export function streams({ call, KilnError }) {
  const badInput = (message) => new KilnError('bad_input', message);

  /**
   * A streaming run of one pipeline: push() chunks, finish() once; abort() (or an
   * error) frees it. Concatenated, its output is run()'s output on the whole input.
   */
  class KilnStream {
    /** Opens a session; a pipeline with a step that cannot stream throws KilnError `bad_pipeline`. */
    constructor(pipeline) {
      this._raw = call(() => new RawSession(pipeline));
      this._state = 'open';
      this._error = null;
    }

    /** Pushes one chunk (as given: one call into the kernel); returns the output it completes, often empty. */
    push(chunk) {
      const bytes = this._bytes(chunk);
      return this._use((raw) => raw.push(bytes));
    }

    /** What is known of the meta before finish(): `kind`, `content_type`, `version`. */
    meta() {
      return this._use((raw) => raw.meta());
    }

    /** Ends the input: the rest of the output and the meta, as run() gives them. */
    finish() {
      return this._use((raw) => {
        this._raw = null; // finish() consumes the session
        this._state = 'finished';
        return raw.finish();
      });
    }

    /** Frees the session; later calls throw. Does nothing once finished or failed. */
    abort() {
      if (this._state !== 'open') return;
      this._state = 'aborted';
      this._free();
    }

    /** `chunk` as bytes, or a KilnError `bad_input` (which spends the stream). */
    _bytes(chunk) {
      try {
        return bytesOf(chunk, badInput);
      } catch (err) {
        this._fail(err);
        throw err;
      }
    }

    _use(fn) {
      if (this._state === 'failed') throw this._error;
      if (this._state !== 'open') throw new TypeError(`this KilnStream is ${this._state}`);
      try {
        return call(() => fn(this._raw));
      } catch (err) {
        this._fail(err);
        throw err;
      }
    }

    /** After an error the session is spent: free it now, and give that error again. */
    _fail(err) {
      this._state = 'failed';
      this._error = err;
      this._free();
    }

    _free() {
      const raw = this._raw;
      this._raw = null;
      try {
        raw?.free();
      } catch {
        // a trapped instance (the error says so) may not free: nothing more to do
      }
    }
  }

  /**
   * A TransformStream<Uint8Array, Uint8Array> running `pipeline`, with `contentType` (of
   * the output, known at once) and `meta`: a promise of the meta, settled when the stream
   * ends. Throws KilnError `bad_pipeline` now if the pipeline cannot stream; a later
   * error errors the stream with its KilnError.
   */
  function stream(pipeline, options) {
    const size = chunkSizeOf(options);
    const session = new KilnStream(pipeline);
    const meta = deferred();
    const transform = new TransformStream({
      transform(chunk, controller) {
        try {
          pushChunk(session, chunk, size, (out) => controller.enqueue(out));
        } catch (err) {
          meta.reject(err);
          throw err;
        }
      },
      flush(controller) {
        try {
          const out = session.finish();
          if (out.data.length) controller.enqueue(out.data);
          meta.resolve(out.meta);
        } catch (err) {
          meta.reject(err);
          throw err;
        }
      },
      cancel(reason) {
        session.abort();
        meta.reject(reason);
      },
    });
    transform.contentType = session.meta().content_type;
    transform.meta = meta.promise;
    return transform;
  }

  return { KilnStream, stream };
}
