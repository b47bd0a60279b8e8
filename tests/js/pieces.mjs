// The input of a streamed job (kiln-cases --stream) in pieces: `chunks` are the piece
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
