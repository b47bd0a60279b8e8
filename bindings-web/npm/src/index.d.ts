// Types of @kiln/kernel. Op names and parameters (ops.d.ts) are generated at build time
// from the kernel's describe() (gen-types.mjs), so a typo in a pipeline object or a
// builder call fails type-checking and the types cannot drift from the kernel.

/** A compression container. */
import type { ErrorCode, OpName, OpParams } from './ops.js';

export type { ErrorCode, OpName, OpParams } from './ops.js';

/** One step of the JSON form: `{ op: 'blur', sigma: 1.5 }`. */
export type Step = { [K in OpName]: { op: K } & OpParams[K] }[OpName];

/** Limits a pipeline may tighten (never loosen). */
export interface Limits {
  max_input_bytes?: number;
  max_output_bytes?: number;
  max_pixels?: number;
  max_dimension?: number;
  max_decompressed_bytes?: number;
  max_rows?: number;
  max_columns?: number;
  max_json_depth?: number;
  max_memory_bytes?: number;
}

/** The canonical JSON form of a pipeline. */
export interface PipelineObject {
  steps: readonly Step[];
  limits?: Limits;
}

/**
 * A pipeline: the JSON form as an object, or a string in the text form
 * (`'resize width=800 | blur sigma=1.5 | encode format=webp'`) or JSON form.
 */
export type Pipeline = PipelineObject | string;

/** Canvas pixels: raw RGBA8, `width * height * 4` bytes (an ImageData fits). */
export interface Pixels {
  data: Uint8ClampedArray | Uint8Array;
  width: number;
  height: number;
}

/** What a job runs on: bytes, a string (its UTF-8 bytes), or pixels. */
export type Input = Uint8Array | ArrayBuffer | ArrayBufferView | string | Pixels;

/** What the output bytes are. */
export interface Meta {
  kind: 'image' | 'table' | 'bytes';
  content_type: string;
  width?: number;
  height?: number;
  format?: 'png' | 'jpeg' | 'webp' | 'rgba';
  /** After `trim`: the columns the last trim removed on the left. */
  trim_left?: number;
  /** After `trim`: the rows the last trim removed at the top. */
  trim_top?: number;
  rows?: number;
  columns?: number;
  /** The kernel version. */
  version: string;
}

/** The result of one job. `data` owns its ArrayBuffer (transferable). */
export interface Output {
  data: Uint8Array;
  meta: Meta;
}

/** An error of the kernel (or of the input given to it). */
export declare class KilnError extends Error {
  constructor(code: ErrorCode, message: string, step?: number | null, param?: string | null, options?: { cause?: unknown });
  readonly name: 'KilnError';
  /** The stable code: match on this, not on the message. */
  code: ErrorCode;
  /** The 0-based step of the pipeline as written, or null. */
  step: number | null;
  /** The parameter at fault, or null. */
  param: string | null;
  toJSON(): { code: ErrorCode; message: string; step: number | null; param: string | null };
}

/** One parameter in describe(). */
export interface ParamDescription {
  name: string;
  type: 'integer' | 'number' | 'boolean' | 'choice' | 'character' | 'string' | 'numbers' | 'names';
  doc: string;
  required: boolean;
  default?: number | boolean | string | readonly string[];
  min?: number;
  max?: number;
  exclusive_min?: boolean;
  values?: (string | number)[];
  lengths?: number[];
}

/** The kernel's self-description. */
export interface Description {
  name: 'kiln';
  version: string;
  kinds: ('bytes' | 'image' | 'table')[];
  ops: {
    name: OpName;
    input: 'bytes' | 'image' | 'table';
    output: 'bytes' | 'image' | 'table';
    doc: string;
    /** Whether a stream ({@link stream}, {@link KilnStream}) takes it. */
    streams: boolean;
    params: ParamDescription[];
    /** The op needs at least one of these parameters. */
    needs_one_of?: string[];
  }[];
  errors: { code: ErrorCode; http_status: number; exit_code: number }[];
  /** The limits of run() (a stream lifts the byte caps: see {@link KilnStream}). */
  limits: Required<Limits>;
  /** Bounds on every pipeline: steps, and image work as a multiple of max_pixels. */
  pipeline: { max_steps: number; max_image_passes: number };
}

/** Where init() may load the .wasm from. */
export type InitSource =
  | URL
  | string
  | Response
  | Promise<Response>
  | BufferSource
  | WebAssembly.Module;

/** Loads the kernel once; later and concurrent calls share the same promise. */
export function init(source?: InitSource): Promise<void>;
/** Loads the kernel synchronously (bytes or a module; Node and workerd: optional argument). */
export function initSync(source?: BufferSource | WebAssembly.Module): void;
/** True once the kernel is loaded. */
export function isReady(): boolean;

/** Runs a whole pipeline on one input, in one call. Throws KilnError. */
export function run(pipeline: Pipeline, input: Input): Output;
/** Checks a pipeline without running it: its canonical form (every step as written,
 *  all its parameters with defaults filled in), or throws a KilnError. */
export function check(pipeline: Pipeline): PipelineObject;
/** Every op with its parameters, the kinds, the error codes and the limits in force. */
export function describe(): Description;
/** Options of {@link stream} (and `nodeStream` of `@kiln/kernel/node-stream`). */
export interface StreamOptions {
  /** Bytes per push into the kernel: a larger chunk is pushed in pieces of this size. Default 65536. */
  chunkSize?: number;
}

/**
 * A streaming run of one pipeline whose steps all stream (describe()'s `streams`).
 * Concatenated, the outputs of push() and finish() are run()'s output on the whole
 * input, byte for byte, however the input is cut. Nothing is held whole, so input,
 * output and decompressed bytes and rows are capped at 1 TiB (2^40; a pipeline's
 * `limits` still tighten them); columns, JSON depth and `max_memory_bytes` (which
 * bounds one record) are run()'s.
 */
export declare class KilnStream {
  /** Opens a session; a step that cannot stream throws KilnError `bad_pipeline` naming it. */
  constructor(pipeline: Pipeline);
  /** Pushes one chunk (one call into the kernel); returns the output it completes, often empty. Throws KilnError. */
  push(chunk: ArrayBufferView | ArrayBuffer): Uint8Array;
  /** What is known of the meta before finish(): `kind`, `content_type` and `version` (a table's `rows` and `columns` come at the end). */
  meta(): Meta;
  /** Ends the input: the rest of the output and the meta. Throws KilnError. */
  finish(): Output;
  /** Frees the session (a no-op once finished or failed). An error frees it too; one dropped unfinished is freed when collected. */
  abort(): void;
}

/** A TransformStream running a pipeline; `meta` settles when it ends. */
export interface KilnTransformStream extends TransformStream<ArrayBufferView | ArrayBuffer, Uint8Array> {
  /** The output's content type, known when the stream is made (for a Response's headers). */
  readonly contentType: string;
  /** The output's meta, once the stream has ended; rejects if it fails or is cancelled. */
  readonly meta: Promise<Meta>;
}

/**
 * A TransformStream of bytes running `pipeline`: `response.body.pipeThrough(stream('decompress'))`.
 * Throws KilnError `bad_pipeline` at once if the pipeline cannot stream; a later error
 * errors the stream with its KilnError. Cancelling or aborting it frees the session.
 */
export function stream(pipeline: Pipeline, options?: StreamOptions): KilnTransformStream;

/** Writes steps in the text form. */
export function toText(steps: readonly Step[]): string;

/** Something that runs a pipeline: the kernel here, or a KilnWorker. */
export interface Runner {
  run(pipeline: PipelineObject, input: Input): Output | Promise<Output>;
}

/** Common to every builder stage: the pipeline so far, and how to run it. */
interface JobBase {
  readonly input: Input;
  readonly steps: readonly Step[];
  /** The JSON form. */
  readonly pipeline: PipelineObject;
  /** The text form. */
  toString(): string;
  /** Runs the whole pipeline in one call (awaits init() first), or through `runner`. */
  run(runner?: Runner): Promise<Output>;
  /** Runs synchronously here; the kernel must be loaded. */
  runSync(): Output;
}

/** A builder whose value is an image. Unless encoded, the result is in the input's format. */
export interface ImageJob extends JobBase {
  resize(params: OpParams['resize']): ImageJob;
  crop(params: OpParams['crop']): ImageJob;
  /** Clockwise, any angle; multiples of 90 are exact, others grow to the bounding box. */
  rotate(degrees: number, params?: Omit<OpParams['rotate'], 'degrees'>): ImageJob;
  /** A border: `{ top, right, bottom, left }` or `{ width, height }` (centred), `background`. */
  extend(params: OpParams['extend']): ImageJob;
  /** Removes a uniform border; the result's meta has `trim_left` and `trim_top`. */
  trim(params?: OpParams['trim']): ImageJob;
  flip(axis?: 'horizontal' | 'vertical'): ImageJob;
  grayscale(): ImageJob;
  blur(sigma: number): ImageJob;
  sharpen(params?: OpParams['sharpen']): ImageJob;
  brightness(value: number): ImageJob;
  contrast(value: number): ImageJob;
  gamma(value: number): ImageJob;
  /** sharp's `negate`. */
  invert(): ImageJob;
  modulate(params: OpParams['modulate']): ImageJob;
  /** A colour, `#rrggbb`. */
  tint(color: string): ImageJob;
  /** Composites onto a colour, `#rrggbb` (black unless given), and makes the image opaque. */
  flatten(background?: string): ImageJob;
  threshold(params?: OpParams['threshold']): ImageJob;
  /** `a * c + b`: one number for R, G, B, or 3 (R, G, B) or 4 (and alpha). */
  linear(a?: number | readonly number[], b?: number | readonly number[]): ImageJob;
  normalize(params?: OpParams['normalize']): ImageJob;
  median(size?: OpParams['median']['size']): ImageJob;
  convolve(kernel: readonly number[]): ImageJob;
  sobel(): ImageJob;
  encode(format: OpParams['encode']['format'], params?: Omit<OpParams['encode'], 'format'>): BytesJob;
}

/** The JSON `info` gives for an image file. `null` where the file does not say. */
export interface ImageInfo {
  format: 'png' | 'jpeg' | 'webp' | 'gif' | 'bmp' | 'tiff';
  width: number;
  height: number;
  /** The size after the EXIF orientation (width and height swap for 5 to 8). */
  oriented_width: number;
  oriented_height: number;
  /** EXIF orientation 1 to 8, or `null` when the file has none. */
  orientation: number | null;
  has_alpha: boolean;
  /** Bits per sample; a palette's index size. */
  bit_depth: number;
  color_type: 'gray' | 'gray_alpha' | 'rgb' | 'rgba' | 'palette' | 'cmyk';
  /** Whether an ICC profile is embedded, and its description. */
  icc: boolean;
  icc_description: string | null;
  /** Frames of an animated GIF, WebP or PNG; 1 otherwise. */
  frames: number;
  /** A progressive JPEG, or an interlaced PNG or GIF. */
  progressive: boolean;
  /** Whether GPS data is present, never its value. */
  exif: { make: string | null; model: string | null; date_taken: string | null; gps: boolean } | null;
}

/** A builder whose value is bytes. */
export interface BytesJob extends JobBase {
  decode(params?: OpParams['decode']): ImageJob;
  compress(params?: OpParams['compress']): BytesJob;
  decompress(params?: OpParams['decompress']): BytesJob;
  json(mode?: OpParams['json']['mode']): BytesJob;
  /** What an image file is, from its headers alone: JSON text of an {@link ImageInfo}. */
  info(): BytesJob;
  parseCsv(params?: OpParams['parse_csv']): TableJob;
  parseJson(): TableJob;
}

/** A builder whose value is a table. Unless written, the result is a JSON array. */
export interface TableJob extends JobBase {
  select(columns: readonly string[]): TableJob;
  filter(where: string): TableJob;
  stats(): TableJob;
  /** Sort keys: a column name, `-name` for descending; stable, nulls last. */
  sort(by: readonly string[] | string): TableJob;
  /** `count` rows from row `offset` (0-based). */
  limit(count: number, offset?: number): TableJob;
  /** The first row of each distinct combination of `columns` (all when not given). */
  distinct(columns?: readonly string[]): TableJob;
  /** `{ old: 'new' }` or `['old:new']`; all at once. */
  rename(columns: Readonly<Record<string, string>> | readonly string[]): TableJob;
  /** One row per group of `by` values, in first-seen order; aggregates `count`, `sum:col`, `mean:col`, `min:col`, `max:col` (default `count`). */
  groupBy(by: readonly string[] | string, aggregates?: readonly string[]): TableJob;
  toJson(params?: OpParams['to_json']): BytesJob;
  toCsv(params?: OpParams['to_csv']): BytesJob;
}

/** Starts a pipeline on an image: encoded bytes (decoded implicitly) or pixels. */
export function image(input: Input): ImageJob;
/** Starts a pipeline on bytes. */
export function bytes(input: Input): BytesJob;
/** Starts a pipeline on CSV: `parse_csv` with these options. */
export function csv(input: Input, options?: OpParams['parse_csv']): TableJob;
