// @kiln/kernel/node-stream: the streaming session as a node:stream Transform, for
// stream.pipeline(). Its own subpath so that browser bundles never import node:stream.
//
//   import { pipeline } from 'node:stream/promises';
//   import { nodeStream } from '@kiln/kernel/node-stream';
//   await pipeline(fs.createReadStream('big.csv.gz'), nodeStream('decompress | parse_csv | to_json format=ndjson'), fs.createWriteStream('big.ndjson'));
//
// Backpressure is Node's own: a chunk written is pushed (64 KiB at a time) and its
// output pushed on; the writer waits while the readable side is over its highWaterMark.

import { Transform } from 'node:stream';
import { KilnStream } from './node.js';
import { chunkSizeOf, deferred, pushChunk } from './stream.js';

/**
 * A Transform running `pipeline`, with `contentType` (of the output, known at once) and
 * `meta`: a promise of the meta, settled when the stream ends. Throws KilnError
 * `bad_pipeline` now if the pipeline cannot stream; a later error destroys the stream
 * with its KilnError. Destroying it frees the session.
 */
export function nodeStream(pipeline, options) {
  const size = chunkSizeOf(options);
  const session = new KilnStream(pipeline);
  const meta = deferred();
  const transform = new Transform({
    transform(chunk, _encoding, callback) {
      try {
        pushChunk(session, chunk, size, (out) => this.push(out));
      } catch (err) {
        callback(err);
        return;
      }
      callback();
    },
    flush(callback) {
      let out;
      try {
        out = session.finish();
      } catch (err) {
        callback(err);
        return;
      }
      meta.resolve(out.meta);
      callback(null, out.data.length ? out.data : undefined);
    },
    destroy(err, callback) {
      session.abort();
      meta.reject(err ?? new Error('the kiln stream was destroyed before its end'));
      callback(err);
    },
  });
  transform.contentType = session.meta().content_type;
  transform.meta = meta.promise;
  return transform;
}
