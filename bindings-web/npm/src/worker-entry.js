// The script inside a KilnWorker (a module Web Worker). One message = one job = one
// call into the kernel. The output's ArrayBuffer (owned by the output alone) is
// transferred back, never copied. The first message may carry `wasm`: where to load
// the kernel from (default: next to this file).
//
// Streams (KilnWorker.stream): `open` makes a KilnStream, known by the id of its open
// message; each `push` pushes its (transferred) chunk and sends back the outputs, each
// owning its buffer, transferred; `finish` and `abort` (no reply) end it. A session
// that fails is freed (KilnStream does so) and forgotten here.

import { init, run, check, describe, KilnError, KilnStream } from './index.js';
import { pushChunk } from './stream.js';

let loaded = null;
/** Open stream sessions: id of the open message -> { session, size }. */
const sessions = new Map();

function session(sid) {
  const open = sessions.get(sid);
  if (!open) throw new KilnError('internal', 'no such kiln stream in this worker (it ended)');
  return open;
}

self.onmessage = async (event) => {
  const { id, type, pipeline, input, wasm, sid } = event.data;
  try {
    loaded ??= init(wasm);
    await loaded;
    switch (type) {
      case 'describe':
        self.postMessage({ id, ok: true, value: describe() });
        return;
      case 'check':
        self.postMessage({ id, ok: true, value: check(pipeline) });
        return;
      case 'streams':
        self.postMessage({ id, ok: true, value: sessions.size });
        return;
      case 'open': {
        const opened = new KilnStream(pipeline);
        sessions.set(id, { session: opened, size: event.data.chunkSize });
        self.postMessage({ id, ok: true, value: opened.meta() });
        return;
      }
      case 'push': {
        const { session: s, size } = session(sid);
        const outs = [];
        try {
          pushChunk(s, input, size, (out) => outs.push(out));
        } catch (err) {
          sessions.delete(sid);
          throw err;
        }
        self.postMessage({ id, ok: true, value: outs }, outs.map((out) => out.buffer));
        return;
      }
      case 'finish': {
        const { session: s } = session(sid);
        sessions.delete(sid);
        const { data, meta } = s.finish();
        self.postMessage({ id, ok: true, data, meta }, [data.buffer]);
        return;
      }
      case 'abort':
        sessions.get(sid)?.session.abort();
        sessions.delete(sid);
        return;
    }
    const { data, meta } = run(pipeline, input);
    self.postMessage({ id, ok: true, data, meta }, [data.buffer]);
  } catch (err) {
    const e = err instanceof KilnError ? err : new KilnError('internal', String(err?.message ?? err));
    if (!(err instanceof KilnError)) loaded = null; // a failed load may be retried
    self.postMessage({ id, ok: false, error: e.toJSON() });
  }
};
