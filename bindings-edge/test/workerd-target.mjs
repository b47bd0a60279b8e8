// The `workerd` target of kiln-cases: the built Worker (bindings-edge/build) in workerd
// through Miniflare, every job a real `POST /v1/run?pipeline=` request, driven over JSON
// lines exactly like tests/js/node-target.mjs:
//   stdin:  {"pipeline": "...", "input": "<base64>"}            one job per line
//           (with "chunks": [n, ...]: the body sent chunked in pieces of those sizes,
//           so the host streams it through a session)
//   stdout: {"ok": true, "data": "<base64>", "meta": {...}}       200 (meta: kiln-meta)
//         | {"ok": false, "code": "...", "message": "..."}       an API error
//         | {"crash": "..."}                                      internal, or no answer
import { createInterface } from 'node:readline';
import { chunkedBody, reply } from '../../tests/js/jobs.mjs';
import { startWorker, workerFetch } from './lib.mjs';

const mf = await startWorker();
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
try {
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (!line) continue;
    const { pipeline, input, chunks } = JSON.parse(line);
    const bytes = Buffer.from(input, 'base64');
    try {
      const res = await workerFetch(mf, `http://127.0.0.1/v1/run?pipeline=${encodeURIComponent(pipeline)}`, {
        method: 'POST',
        ...(chunks ? { body: chunkedBody(bytes, chunks), duplex: 'half' } : { body: bytes }),
      });
      out(await reply(res));
    } catch (e) {
      out({ crash: String(e?.stack ?? e) });
    }
  }
} finally {
  await mf.dispose();
}
