// Type tests: `tsc -p bindings-web/npm/test` must pass, and every @ts-expect-error line
// must really be an error (tsc fails on an unused one). A typo in an op or a
// parameter fails type-checking.
import {
  run,
  image,
  csv,
  bytes,
  describe,
  stream,
  KilnStream,
  KilnError,
  type Pipeline,
  type Step,
  type Output,
  type ImageInfo,
  type Meta,
  type KilnTransformStream,
} from '@kiln/kernel';
import { KilnWorker, type KilnWorkerStream } from '@kiln/kernel/worker';

declare const input: Uint8Array;

const ok: Pipeline = {
  steps: [
    { op: 'resize', width: 800, fit: 'cover', filter: 'lanczos3' },
    { op: 'blur', sigma: 1.5 },
    { op: 'convolve', kernel: [0, -1, 0, -1, 5, -1, 0, -1, 0] },
    { op: 'encode', format: 'webp' },
  ],
  limits: { max_pixels: 1_000_000 },
};
const text: Pipeline = 'resize width=800 | encode format=webp';
const out: Output = run(ok, input);
const w: number | undefined = out.meta.width;
run(text, { data: new Uint8ClampedArray(4), width: 1, height: 1 });

// @ts-expect-error unknown op
const s1: Step = { op: 'blurr', sigma: 1 };
// @ts-expect-error unknown parameter
const s2: Step = { op: 'blur', sigmaa: 1 };
// @ts-expect-error missing required parameter
const s3: Step = { op: 'blur' };
// @ts-expect-error bad choice
const s4: Step = { op: 'encode', format: 'gif' };
// @ts-expect-error resize needs width or height
const s5: Step = { op: 'resize', fit: 'cover' };
// @ts-expect-error rotate takes a number of degrees
const s6: Step = { op: 'rotate', degrees: '45' };
// @ts-expect-error median sizes are odd
const s9: Step = { op: 'median', size: 4 };
// @ts-expect-error grayscale takes no parameters
const s7: Step = { op: 'grayscale', value: 1 };
// @ts-expect-error level is 0..=9
const s8: Step = { op: 'compress', level: 12 };
// ICC profiles: converted on decode unless ignored; kept on encode if asked.
const s10: Step = { op: 'decode', icc: 'ignore' };
const s11: Step = { op: 'encode', format: 'jpeg', icc: 'keep' };
// @ts-expect-error decode converts or ignores; keeping is encode's
const s12: Step = { op: 'decode', icc: 'keep' };

async function builder() {
  const r: Output = await image(input).resize({ width: 800 }).blur(1.5).encode('webp').run();
  await image(input)
    .resize({ width: 300, height: 200, fit: 'cover', position: 'attention' })
    .resize({ width: 320, height: 320, background: '#ffffff' })
    .extend({ top: 10, left: 4, background: '#00000080' })
    .extend({ width: 400 })
    .trim({ threshold: 20, background: '#ffffff' })
    .trim()
    .rotate(17, { background: '#ff0000' })
    .rotate(90)
    .modulate({ brightness: 1.1, hue: 30 })
    .tint('#ff8000')
    .flatten('#ffffff')
    .threshold({ value: 100, greyscale: false })
    .linear([1, 1.2, 0.9], 5)
    .normalize({ lower: 2 })
    .median(7)
    .run();
  // @ts-expect-error no such position
  image(input).resize({ width: 10, height: 10, fit: 'cover', position: 'middle' });
  // @ts-expect-error extend needs a side or a size
  image(input).extend({ background: '#000000' });
  // @ts-expect-error typo in a builder parameter
  image(input).resize({ widht: 800 });
  await bytes(input).decode({ icc: 'ignore' }).resize({ width: 64 }).encode('png', { icc: 'keep' }).run();
  // @ts-expect-error no such format
  image(input).encode('gif');
  // @ts-expect-error an image op on a table
  csv(input).blur(2);
  // @ts-expect-error tables come from bytes, not images
  image(input).parseCsv();
  const info: ImageInfo = JSON.parse(new TextDecoder().decode((await bytes(input).info().run()).data));
  const tall: boolean = info.oriented_height > info.oriented_width && info.exif?.gps === false;
  // @ts-expect-error info reads bytes: an image must be encoded first
  image(input).info();
  await bytes(input).decompress().parseCsv({ delimiter: ';' }).filter('age >= 18').stats().toJson({ pretty: true }).run();
  await csv(input, { delimiter: 'auto', skip_lines: 1, comment: '#' })
    .sort(['-age', 'name'])
    .limit(10, 5)
    .distinct()
    .rename({ name: 'who' })
    .groupBy(['who'], ['count', 'sum:age'])
    .toCsv({ quote: 'always' })
    .run();
  // @ts-expect-error no such quoting
  csv(input).toCsv({ quote: 'never' });
  // @ts-expect-error limit needs a count
  csv(input).limit();
  const worker = new KilnWorker();
  await image(input).grayscale().run(worker);
  const o: Output = await worker.run('sobel', input, { transfer: false });
  return [r, o];
}

async function streaming(response: Response) {
  // A TransformStream of bytes: fetch bodies pipe through it.
  const ts: KilnTransformStream = stream('decompress | parse_csv | to_json format=ndjson');
  const body: ReadableStream<Uint8Array> = response.body!.pipeThrough(ts);
  const meta: Meta = await ts.meta;
  const type: string = ts.contentType;
  const rows: number | undefined = meta.rows;
  stream({ steps: [{ op: 'compress', format: 'zlib' }] }, { chunkSize: 16384 });
  // @ts-expect-error no such option
  stream('decompress', { chunk: 16384 });
  // @ts-expect-error a typo in a stream's pipeline object fails too
  stream({ steps: [{ op: 'decompres' }] });
  const s = new KilnStream('json mode=minify');
  const part: Uint8Array = s.push(input);
  s.push(new ArrayBuffer(8));
  const early: Meta = s.meta();
  const end: Output = s.finish();
  s.abort();
  // @ts-expect-error chunks are bytes, not text
  s.push('[1]');
  const streams: boolean = describe().ops[0].streams;
  // The same stream in a Web Worker: made asynchronously, chunks transferred.
  const worker = new KilnWorker();
  const off: KilnWorkerStream = await worker.stream('parse_csv | to_json format=ndjson', { transfer: false, chunkSize: 65536 });
  const offBody: ReadableStream<Uint8Array> = response.body!.pipeThrough(off);
  const offMeta: Meta = await off.meta;
  // @ts-expect-error the worker's stream is a promise of the stream
  response.body!.pipeThrough(worker.stream('decompress'));
  return [body, rows, part, end, streams, type, early, offBody, offMeta];
}

try {
  run('blur sigma=0', input);
} catch (e) {
  if (e instanceof KilnError) {
    const code: 'bad_pipeline' | 'bad_input' | 'unsupported' | 'too_large' | 'internal' = e.code;
    const step: number | null = e.step;
    void [code, step];
  }
}
void [s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, w, builder, streaming];
