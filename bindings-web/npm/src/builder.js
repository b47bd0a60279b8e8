// The typed builder: collects steps and compiles them to ONE pipeline object, run by
// ONE call into the kernel (or one message to a KilnWorker). No step ever runs on its
// own. `kind` tracks what flows between steps so the .d.ts can offer only the methods
// that chain (image -> image ops, encode -> bytes, parse_csv -> table ...); the kernel
// checks the whole pipeline again before any work.

export class Job {
  constructor(input, steps, kind, runner) {
    this.input = input;
    this.steps = steps;
    this.kind = kind;
    this._runner = runner;
  }

  /** Appends any step (escape hatch; the named methods below are typed). */
  step(op, params = {}) {
    return new Job(this.input, [...this.steps, { op, ...clean(params) }], kindAfter(op, this.kind), this._runner);
  }

  /** The canonical JSON form: `{ steps: [...] }`. */
  get pipeline() {
    return { steps: this.steps.map((s) => ({ ...s })) };
  }

  toJSON() {
    return this.pipeline;
  }

  /** The text form, e.g. `resize width=800 | blur sigma=1.5 | encode format=webp`. */
  toString() {
    return toText(this.steps);
  }

  /** Runs the whole pipeline (awaits init() first). `runner`: e.g. a KilnWorker. */
  run(runner = this._runner) {
    return Promise.resolve(runner.run(this.pipeline, this.input));
  }

  /** Runs synchronously in this thread (the kernel must be initialised). */
  runSync() {
    return this._runner.runSync(this.pipeline, this.input);
  }

  // image -> image
  decode(params = {}) { return this.step('decode', params); }
  resize(params) { return this.step('resize', params); }
  crop(params) { return this.step('crop', params); }
  /** Any angle, clockwise; `params.background` colours the corners (not multiples of 90). */
  rotate(degrees, params = {}) { return this.step('rotate', { degrees, ...params }); }
  extend(params) { return this.step('extend', params); }
  trim(params = {}) { return this.step('trim', params); }
  flip(axis) { return this.step('flip', axis === undefined ? {} : { axis }); }
  grayscale() { return this.step('grayscale'); }
  blur(sigma) { return this.step('blur', { sigma }); }
  sharpen(params = {}) { return this.step('sharpen', params); }
  brightness(value) { return this.step('brightness', { value }); }
  contrast(value) { return this.step('contrast', { value }); }
  gamma(value) { return this.step('gamma', { value }); }
  /** sharp's `negate`. */
  invert() { return this.step('invert'); }
  modulate(params) { return this.step('modulate', params); }
  tint(color) { return this.step('tint', { color }); }
  /** Onto a `#rrggbb` background (black unless given), opaque: sharp's `flatten`. */
  flatten(background) { return this.step('flatten', background === undefined ? {} : { background }); }
  threshold(params = {}) { return this.step('threshold', params); }
  /** `a * c + b`: numbers, or lists of 3 (R, G, B) or 4 (and alpha). */
  linear(a, b) { return this.step('linear', { a: numbers(a), b: numbers(b) }); }
  normalize(params = {}) { return this.step('normalize', params); }
  median(size) { return this.step('median', size === undefined ? {} : { size }); }
  convolve(kernel) { return this.step('convolve', { kernel: Array.from(kernel) }); }
  sobel() { return this.step('sobel'); }
  // image -> bytes
  encode(format, params = {}) { return this.step('encode', { format, ...params }); }
  // bytes -> bytes
  compress(params = {}) { return this.step('compress', params); }
  decompress(params = {}) { return this.step('decompress', params); }
  json(mode) { return this.step('json', mode === undefined ? {} : { mode }); }
  /** What an image file is, from its headers: JSON (`ImageInfo` in the types). */
  info() { return this.step('info'); }
  // bytes -> table
  parseCsv(params = {}) { return this.step('parse_csv', params); }
  parseJson() { return this.step('parse_json'); }
  // table -> table
  select(columns) { return this.step('select', { columns: Array.from(columns) }); }
  filter(where) { return this.step('filter', { where }); }
  stats() { return this.step('stats'); }
  /** `by`: column names, `-name` for descending: `sort(['city', '-age'])`. */
  sort(by) { return this.step('sort', { by: list(by) }); }
  limit(count, offset) { return this.step('limit', { count, offset }); }
  /** Distinct rows by these columns (all when not given). */
  distinct(columns) { return this.step('distinct', columns === undefined ? {} : { columns: list(columns) }); }
  /** `{ old: 'new' }` or `['old:new']`. */
  rename(columns) { return this.step('rename', { columns: pairs(columns) }); }
  /** `aggregates`: `count`, `sum:col`, `mean:col`, `min:col`, `max:col` (default `count`). */
  groupBy(by, aggregates) {
    return this.step('group_by', { by: list(by), aggregates: aggregates === undefined ? undefined : list(aggregates) });
  }
  // table -> bytes
  toJson(params = {}) { return this.step('to_json', params); }
  toCsv(params = {}) { return this.step('to_csv', params); }
}

const OUTPUT_KIND = {
  decode: 'image', encode: 'bytes', info: 'bytes', compress: 'bytes', decompress: 'bytes', json: 'bytes',
  parse_csv: 'table', parse_json: 'table', select: 'table', filter: 'table', stats: 'table',
  sort: 'table', limit: 'table', distinct: 'table', rename: 'table', group_by: 'table',
  to_json: 'bytes', to_csv: 'bytes',
};

function kindAfter(op, kind) {
  return OUTPUT_KIND[op] ?? (kind === 'table' ? 'table' : 'image');
}

/** A numbers parameter from a number or an iterable of them; undefined stays so. */
function numbers(v) {
  if (v === undefined) return undefined;
  return typeof v === 'number' ? [v] : Array.from(v);
}

/** A list parameter from an array (or any iterable); a string is one name. */
function list(v) {
  return typeof v === 'string' ? [v] : Array.from(v);
}

/** `rename`'s pairs from `{ old: 'new' }` or an iterable of `'old:new'`. */
function pairs(v) {
  if (typeof v === 'string' || Symbol.iterator in Object(v)) return list(v);
  return Object.entries(v).map(([from, to]) => `${from}:${to}`);
}

function clean(params) {
  const out = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out[k] = v;
  return out;
}

/** Writes steps in the text form, quoting values that need it. */
export function toText(steps) {
  return steps
    .map(({ op, ...params }) =>
      [op, ...Object.entries(params).map(([k, v]) => `${k}=${textValue(v)}`)].join(' '),
    )
    .join(' | ');
}

function textValue(v) {
  const s = Array.isArray(v) ? v.join(',') : String(v);
  if (s === '\t') return '\\t';
  if (s !== '' && !/[\s|'"\\]/.test(s)) return s;
  if (!s.includes("'")) return `'${s}'`;
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
