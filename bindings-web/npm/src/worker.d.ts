import type { Description, Input, Meta, Output, Pipeline, PipelineObject, StreamOptions } from './index.js';

export interface KilnWorkerOptions {
  /** The worker script (default: this package's worker-entry.js, as a module worker). */
  url?: string | URL;
  /** Where the worker loads the .wasm from (default: next to the worker script). */
  wasm?: string | URL;
  /** The worker's name (default "kiln"). */
  name?: string;
}

/** Options of {@link KilnWorker.stream}. */
export interface KilnWorkerStreamOptions extends StreamOptions {
  /** Transfer each chunk's buffer to the worker when it can (default true). */
  transfer?: boolean;
}

/**
 * A stream running in a KilnWorker: a readable/writable pair for `pipeThrough()` (not a
 * TransformStream, whose cancelling not every browser reports to its transformer).
 */
export interface KilnWorkerStream extends ReadableWritablePair<Uint8Array, ArrayBufferView | ArrayBuffer> {
  readonly writable: WritableStream<ArrayBufferView | ArrayBuffer>;
  readonly readable: ReadableStream<Uint8Array>;
  /** The output's content type, known when the stream is made. */
  readonly contentType: string;
  /** The output's meta, once the stream has ended; rejects if it fails or is cancelled. */
  readonly meta: Promise<Meta>;
}

/** Runs kiln jobs in a module Web Worker; buffers are transferred, not copied. */
export declare class KilnWorker {
  constructor(options?: KilnWorkerOptions);
  /**
   * One job, one message each way. With `transfer` (default true) the input's buffer
   * is transferred when it is a whole, non-shared buffer (and is then detached here).
   */
  run(pipeline: Pipeline, input: Input, options?: { transfer?: boolean }): Promise<Output>;
  /** Checks a pipeline with the worker's kernel: its canonical form. */
  check(pipeline: Pipeline): Promise<PipelineObject>;
  describe(): Promise<Description>;
  /**
   * stream() of the package, run in the worker: resolves once the worker has opened its
   * session (`contentType` known, `meta` at the end), or rejects with KilnError
   * `bad_pipeline` if the pipeline cannot stream. Chunks written are transferred
   * (detached here) when they span their whole, non-shared buffer, else copied; with
   * `transfer: false` always copied. At most 4 chunks are in the worker at once, and none
   * is sent while the reader is not reading. A later error errors both sides with its
   * KilnError; cancelling the readable or aborting the writable frees the worker's session.
   */
  stream(pipeline: Pipeline, options?: KilnWorkerStreamOptions): Promise<KilnWorkerStream>;
  /** Stops the worker; pending jobs fail with KilnError `internal`. */
  terminate(): void;
}
