// The `node` target of kiln-cases: the built npm package (bindings-web/npm/dist, its
// "node" entry) driven over JSON lines.
//
//   node tests/js/node-target.mjs [PACKAGE_DIR]
//   stdin:  {"pipeline": "...", "input": "<base64>"}            one job per line
//           (with "chunks": [n, ...]: through stream(), the package's TransformStream,
//           the input written in pieces of those sizes)
//   stdout: {"ok": true, "data": "<base64>", "meta": {...}}
//         | {"ok": false, "code": "...", "message": "..."}       a KilnError
//         | {"crash": "..."}                                      anything else
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chunkedBody } from './jobs.mjs';

const dir = resolve(process.argv[2] ?? new URL('../../bindings-web/npm/dist', import.meta.url).pathname);
const { run, stream, KilnError, initSync } = await import(pathToFileURL(`${dir}/node.js`).href);
initSync();

/** The output of `pipeline` streamed over `input` written in pieces of `chunks`. */
async function streamed(pipeline, input, chunks) {
  const ts = stream(pipeline);
  const parts = [];
  for await (const part of chunkedBody(input, chunks).pipeThrough(ts)) parts.push(part);
  return { data: Buffer.concat(parts), meta: await ts.meta };
}

const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (!line) continue;
  const { pipeline, input, chunks } = JSON.parse(line);
  try {
    const bytes = Buffer.from(input, 'base64');
    const { data, meta } = chunks ? await streamed(pipeline, bytes, chunks) : run(pipeline, bytes);
    out({ ok: true, data: Buffer.from(data.buffer, data.byteOffset, data.length).toString('base64'), meta });
  } catch (e) {
    if (e instanceof KilnError && e.code !== 'internal') out({ ok: false, code: e.code, message: e.message });
    else out({ crash: String(e?.stack ?? e) });
  }
}
