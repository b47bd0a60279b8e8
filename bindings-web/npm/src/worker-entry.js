// The script inside a KilnWorker (a module Web Worker). One message = one job = one
// call into the kernel. The output's ArrayBuffer (owned by the output alone) is
// transferred back, never copied. The first message may carry `wasm`: where to load
// the kernel from (default: next to this file).

import { init, run, check, describe, KilnError } from './index.js';

let loaded = null;

self.onmessage = async (event) => {
  const { id, type, pipeline, input, wasm } = event.data;
  try {
    loaded ??= init(wasm);
    await loaded;
    if (type === 'describe') {
      self.postMessage({ id, ok: true, value: describe() });
      return;
    }
    if (type === 'check') {
      self.postMessage({ id, ok: true, value: check(pipeline) });
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
