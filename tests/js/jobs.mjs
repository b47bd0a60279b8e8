// What the drivers of tests/js share. The input of a streamed job (kiln-cases --stream) in pieces: `chunks` are the piece
// sizes, cycled, as kiln_cases::pieces cuts them.
export function* pieces(input, chunks) {
  for (let at = 0, i = 0; at < input.length; i++) {
    const n = Math.max(1, chunks[i % chunks.length]);
    yield input.subarray(at, at + n);
    at += n;
  }
}

// A request body sent in those pieces, chunked (no content-length), for the HTTP
// targets: pass it with `duplex: 'half'`.
export const chunkedBody = (input, chunks) => {
  const it = pieces(input, chunks);
  return new ReadableStream({
    pull(controller) {
      const { value, done } = it.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
  });
};

// A `POST /v1/run` answer as a driver's reply: 200, the output and kiln-meta; an error
// body, its code; a body cut short after a streamed answer started (its job failed
// then: DESIGN.md, "Streamed requests"), `cut_short`, or the code of NDJSON's last
// `{"error": ...}` line; anything else a crash.
export async function reply(res) {
  const parts = [];
  let cut = null;
  try {
    for await (const part of res.body ?? []) parts.push(part);
  } catch (e) {
    cut = e;
  }
  const body = Buffer.concat(parts);
  if (cut && res.status === 200) {
    let error = { code: 'cut_short', message: String(cut?.message ?? cut) };
    try {
      error = JSON.parse(body.toString('utf8').trimEnd().split('\n').pop()).error ?? error;
    } catch { /* not an NDJSON error line */ }
    return { ok: false, code: error.code, message: `cut short after the answer started: ${error.message}` };
  }
  if (cut) throw cut;
  if (res.status === 200) return { ok: true, data: body.toString('base64'), meta: JSON.parse(res.headers.get('kiln-meta')) };
  let error;
  try { ({ error } = JSON.parse(body.toString('utf8'))); } catch { /* not JSON */ }
  if (error?.code && error.code !== 'internal') return { ok: false, code: error.code, message: error.message };
  return { crash: `HTTP ${res.status}: ${body.toString('utf8').slice(0, 300)}` };
}
