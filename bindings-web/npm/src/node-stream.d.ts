// Types of @kiln/kernel/node-stream (Node only; needs @types/node).
import type { Transform } from 'node:stream';
import type { Meta, Pipeline, StreamOptions } from './index.js';

/** A node:stream Transform running a pipeline; `meta` settles when it ends. */
export interface KilnNodeStream extends Transform {
  /** The output's content type, known when the stream is made. */
  readonly contentType: string;
  /** The output's meta, once the stream has ended; rejects if it fails or is destroyed. */
  readonly meta: Promise<Meta>;
}

/**
 * A Transform running `pipeline`, for `stream.pipeline(source, nodeStream('decompress'), sink)`.
 * Throws KilnError `bad_pipeline` at once if the pipeline cannot stream; a later error
 * destroys the stream with its KilnError. Destroying it frees the session.
 */
export function nodeStream(pipeline: Pipeline, options?: StreamOptions): KilnNodeStream;
