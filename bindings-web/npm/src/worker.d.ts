import type { Description, Input, Output, Pipeline, PipelineObject } from './index.js';

export interface KilnWorkerOptions {
  /** The worker script (default: this package's worker-entry.js, as a module worker). */
  url?: string | URL;
  /** Where the worker loads the .wasm from (default: next to the worker script). */
  wasm?: string | URL;
  /** The worker's name (default "kiln"). */
  name?: string;
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
  /** Stops the worker; pending jobs fail with KilnError `internal`. */
  terminate(): void;
}
