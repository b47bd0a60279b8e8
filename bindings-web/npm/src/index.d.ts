// Types of @kiln/kernel. Op names and parameters mirror kernel/src/spec.rs exactly
// (checked by bindings-web/npm/test/types.test.ts and the describe() test), so a typo
// in a pipeline object or a builder call fails type-checking.

/** A compression container. */
export type Compression = 'gzip' | 'zlib' | 'deflate';
/** An integer 0..=9. */
export type Level = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
/** One ASCII character (CSV delimiter or quote); `'\t'` or `'tab'` for a tab. */
export type Char = string;

/** Every op and its parameters (the JSON form). Ranges are in the comments. */
export interface OpParams {
  /** bytes -> image. Sniffs PNG, JPEG, WebP, GIF, BMP, TIFF; or raw RGBA8 with width and height. */
  decode: { format?: 'auto' } | { format: 'rgba'; /** 1..=65535 */ width: number; /** 1..=65535 */ height: number };
  /** image -> image. Width, height or both (1..=65535). */
  resize: ({ width: number; height?: number } | { width?: number; height: number }) & {
    fit?: 'contain' | 'cover' | 'fill';
    filter?: 'nearest' | 'bilinear' | 'catmull_rom' | 'lanczos3';
  };
  /** image -> image. x, y 0..=65535 (default 0); width, height 1..=65535. */
  crop: { x?: number; y?: number; width: number; height: number };
  /** image -> image, clockwise. */
  rotate: { degrees: 90 | 180 | 270 };
  /** image -> image. */
  flip: { axis?: 'horizontal' | 'vertical' };
  /** image -> image (Rec. 709 luma). */
  grayscale: {};
  /** image -> image. sigma 0.1..=1000. */
  blur: { sigma: number };
  /** image -> image. sigma 0.1..=1000 (default 1), amount 0..=10 (default 1). */
  sharpen: { sigma?: number; amount?: number };
  /** image -> image. value 0..=10, 1 is unchanged. */
  brightness: { value: number };
  /** image -> image. value 0..=10, 1 is unchanged. */
  contrast: { value: number };
  /** image -> image. value above 0, up to 10; 1 is unchanged. */
  gamma: { value: number };
  /** image -> image (colour, not alpha). */
  invert: {};
  /** image -> image. 9 (3x3) or 25 (5x5) weights, row-major. */
  convolve: { kernel: readonly number[] };
  /** image -> image: Sobel edge magnitude of the luma. */
  sobel: {};
  /** image -> bytes. quality 1..=100 (JPEG, default 80); level 0..=9 (PNG, default 6). */
  encode: { format: 'png' | 'jpeg' | 'webp' | 'rgba'; quality?: number; level?: Level };
  /** bytes -> bytes. */
  compress: { format?: Compression; level?: Level };
  /** bytes -> bytes. */
  decompress: { format?: Compression };
  /** bytes -> bytes. */
  json: { mode?: 'validate' | 'minify' | 'pretty' };
  /** bytes -> table. */
  parse_csv: { delimiter?: Char; quote?: Char; header?: boolean; infer?: boolean };
  /** bytes -> table: a JSON array of objects, or NDJSON. */
  parse_json: {};
  /** table -> table. */
  select: { columns: readonly string[] };
  /** table -> table. `COLUMN OP VALUE`, OP one of == != < <= > >= contains starts_with ends_with. */
  filter: { where: string };
  /** table -> table: one row per column: column, count, nulls, min, max, mean. */
  stats: {};
  /** table -> bytes. */
  to_json: { format?: 'array' | 'ndjson'; pretty?: boolean };
  /** table -> bytes. */
  to_csv: { delimiter?: Char };
}

/** Every op name. */
export type OpName = keyof OpParams;

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

/** The stable error codes. */
export type ErrorCode = 'bad_pipeline' | 'bad_input' | 'unsupported' | 'too_large' | 'internal';

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
  default?: number | boolean | string;
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
  ops: { name: OpName; input: 'bytes' | 'image' | 'table'; output: 'bytes' | 'image' | 'table'; doc: string; params: ParamDescription[] }[];
  errors: { code: ErrorCode; http_status: number; exit_code: number }[];
  limits: Required<Limits>;
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
/** Every op with its parameters, the kinds, the error codes and the limits in force. */
export function describe(): Description;
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
  rotate(degrees: 90 | 180 | 270): ImageJob;
  flip(axis?: 'horizontal' | 'vertical'): ImageJob;
  grayscale(): ImageJob;
  blur(sigma: number): ImageJob;
  sharpen(params?: OpParams['sharpen']): ImageJob;
  brightness(value: number): ImageJob;
  contrast(value: number): ImageJob;
  gamma(value: number): ImageJob;
  invert(): ImageJob;
  convolve(kernel: readonly number[]): ImageJob;
  sobel(): ImageJob;
  encode(format: OpParams['encode']['format'], params?: Omit<OpParams['encode'], 'format'>): BytesJob;
}

/** A builder whose value is bytes. */
export interface BytesJob extends JobBase {
  decode(params?: OpParams['decode']): ImageJob;
  compress(params?: OpParams['compress']): BytesJob;
  decompress(params?: OpParams['decompress']): BytesJob;
  json(mode?: OpParams['json']['mode']): BytesJob;
  parseCsv(params?: OpParams['parse_csv']): TableJob;
  parseJson(): TableJob;
}

/** A builder whose value is a table. Unless written, the result is a JSON array. */
export interface TableJob extends JobBase {
  select(columns: readonly string[]): TableJob;
  filter(where: string): TableJob;
  stats(): TableJob;
  toJson(params?: OpParams['to_json']): BytesJob;
  toCsv(params?: OpParams['to_csv']): BytesJob;
}

/** Starts a pipeline on an image: encoded bytes (decoded implicitly) or pixels. */
export function image(input: Input): ImageJob;
/** Starts a pipeline on bytes. */
export function bytes(input: Input): BytesJob;
/** Starts a pipeline on CSV: `parse_csv` with these options. */
export function csv(input: Input, options?: OpParams['parse_csv']): TableJob;
