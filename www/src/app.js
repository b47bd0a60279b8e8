// kiln's demo page. Plain ES modules, no framework, no CDN: the package's files are
// copied to ./kiln/ by scripts/build-web.sh. Every job runs in a Web Worker
// (KilnWorker): an image as ONE call into the kernel, its input transferred to the
// worker and its output transferred back; a file to compress or decompress, and a CSV,
// as a stream through the worker (KilnWorker.stream), so files larger than the page
// could hold pass in bounded memory. The page keeps its last results on
// window.kilnDemo so the e2e test can check them against the native kernel.

import { KilnWorker } from './kiln/worker.js';
import { toText } from './kiln/builder.js';

const $ = (id) => document.getElementById(id);
const kiln = new KilnWorker();

/** Results for tests and curious people: the last output of each panel. */
const demo = (window.kilnDemo = { ready: false, results: {}, firstResultMs: null, errors: 0, describe: null });

// ---------------------------------------------------------------- small helpers

function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(2)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}
const fmtMs = (ms) => (ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`);
const debounce = (fn, ms) => {
  let t;
  return (...a) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...a), ms);
  };
};
const readFile = async (file) => new Uint8Array(await file.arrayBuffer());

let errorTimer;
function showError(err, context) {
  demo.errors++;
  const box = $('error');
  $('error-code').textContent = err.code ?? 'error';
  const where = [context, err.step != null ? `step ${err.step + 1}` : null, err.param ? `parameter “${err.param}”` : null]
    .filter(Boolean)
    .join(' · ');
  $('error-where').textContent = where;
  $('error-message').textContent = err.message ?? String(err);
  box.hidden = false;
  clearTimeout(errorTimer);
  markBadStep(err.step);
}
function clearError() {
  $('error').hidden = true;
  markBadStep(null);
}
$('error-close').onclick = clearError;

/** Runs one job in the worker and times the round trip. */
async function job(pipeline, input, transfer = true) {
  const t0 = performance.now();
  const out = await kiln.run(pipeline, input, { transfer });
  const ms = performance.now() - t0;
  if (demo.firstResultMs == null) demo.firstResultMs = performance.now();
  return { ...out, ms };
}

function dropTarget(el, onFile) {
  el.addEventListener('dragover', (e) => {
    e.preventDefault();
    el.classList.add('over');
  });
  el.addEventListener('dragleave', () => el.classList.remove('over'));
  el.addEventListener('drop', (e) => {
    e.preventDefault();
    el.classList.remove('over');
    const file = e.dataTransfer?.files?.[0];
    if (file) onFile(file);
  });
}

// ---------------------------------------------------------------- tabs

for (const tab of document.querySelectorAll('.tabs button')) {
  tab.onclick = () => {
    for (const t of document.querySelectorAll('.tabs button')) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      $(t.getAttribute('aria-controls')).hidden = !on;
    }
  };
}

// ---------------------------------------------------------------- image panel

const IMAGE_OPS = [
  'resize', 'crop', 'rotate', 'extend', 'trim', 'flip', 'grayscale', 'blur', 'sharpen', 'brightness', 'contrast', 'gamma',
  'invert', 'modulate', 'tint', 'flatten', 'threshold', 'linear', 'normalize', 'median', 'convolve', 'sobel', 'encode',
];
const PRESETS = {
  thumbnail: 'resize width=480 | sharpen amount=0.6 | encode format=webp',
  'square jpeg': 'resize width=400 height=400 fit=cover | encode format=jpeg quality=75',
  'soft b/w': 'grayscale | contrast value=1.2 | blur sigma=1.5 | encode format=png',
  edges: 'resize width=640 | sobel | invert | encode format=png',
  emboss: 'convolve kernel=-2,-1,0,-1,1,1,0,1,2 | encode format=png',
};
// Sensible values for a freshly added step (describe() gives defaults, not examples).
const EXAMPLE = {
  resize: { width: 480 }, crop: { x: 0, y: 0, width: 200, height: 200 }, rotate: { degrees: 90 },
  blur: { sigma: 2 }, brightness: { value: 1.2 }, contrast: { value: 1.2 }, gamma: { value: 1.4 },
  convolve: { kernel: [0, -1, 0, -1, 5, -1, 0, -1, 0] }, encode: { format: 'png' },
  extend: { top: 20, right: 20, bottom: 20, left: 20, background: '#ffffff' }, modulate: { saturation: 1.5 },
  tint: { color: '#ff8000' }, flatten: { background: '#ffffff' }, linear: { a: [1.2], b: [-10] },
};

let spec = null; // op name -> describe() entry
let steps = []; // [{op, ...params}]
let imageInput = null; // {bytes, name, type}
let imageBitmap = null;

function setText(text) {
  $('pipeline-text').value = text;
}

function renderSteps() {
  const list = $('steps');
  list.textContent = '';
  steps.forEach((step, index) => {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'op';
    name.textContent = step.op;
    name.title = spec[step.op]?.doc ?? '';
    li.append(name);
    for (const p of spec[step.op]?.params ?? []) li.append(control(step, p));
    const up = button('↑', 'move', () => {
      if (index > 0) [steps[index - 1], steps[index]] = [steps[index], steps[index - 1]];
      changed();
    });
    up.title = 'move up';
    up.disabled = index === 0;
    const remove = button('×', 'remove', () => {
      steps.splice(index, 1);
      changed();
    });
    remove.title = 'remove step';
    li.append(remove, up);
    list.append(li);
  });
}

function button(text, cls, onclick) {
  const b = document.createElement('button');
  b.textContent = text;
  b.className = `ghost ${cls}`;
  b.onclick = onclick;
  return b;
}

function control(step, p) {
  const label = document.createElement('label');
  label.title = p.doc;
  label.append(p.name);
  let input;
  const current = step[p.name];
  if (p.type === 'choice' || (p.type === 'integer' && p.values)) {
    input = document.createElement('select');
    const values = p.values;
    if (!p.required && p.default === undefined) input.append(new Option('—', ''));
    for (const v of values) input.append(new Option(String(v), String(v)));
    input.value = String(current ?? p.default ?? values[0]);
    input.onchange = () => set(step, p, input.value === '' ? undefined : p.type === 'integer' ? Number(input.value) : input.value);
  } else if (p.type === 'boolean') {
    input = document.createElement('input');
    input.type = 'checkbox';
    input.checked = current ?? p.default ?? false;
    input.onchange = () => set(step, p, input.checked);
  } else if (p.type === 'integer' || p.type === 'number') {
    input = document.createElement('input');
    input.type = 'number';
    if (p.min !== undefined) input.min = p.exclusive_min ? '' : p.min;
    if (p.max !== undefined) input.max = p.max;
    input.step = p.type === 'integer' ? '1' : '0.1';
    input.placeholder = p.default !== undefined ? String(p.default) : p.required ? 'required' : 'auto';
    input.value = current ?? '';
    input.oninput = debounce(() => set(step, p, input.value === '' ? undefined : Number(input.value)), 250);
  } else {
    input = document.createElement('input');
    input.className = 'wide';
    input.spellcheck = false;
    input.value = Array.isArray(current) ? current.join(',') : (current ?? '');
    input.placeholder = p.default !== undefined ? String(p.default) : '';
    input.oninput = debounce(() => set(step, p, input.value === '' ? undefined : typed(p, input.value)), 350);
  }
  label.append(input);
  return label;
}

/** The text form of the controls' steps, leaving out parameters at their default (the
 *  steps from check() have every default filled in). */
function stepsText() {
  const given = steps.map((step) =>
    Object.fromEntries(
      Object.entries(step).filter(([k, v]) => k === 'op' || JSON.stringify(v) !== JSON.stringify(spec[step.op]?.params.find((p) => p.name === k)?.default)),
    ),
  );
  return toText(given);
}

function set(step, p, value) {
  if (value === undefined) delete step[p.name];
  else step[p.name] = value;
  setText(stepsText());
  $('text-note').hidden = true;
  runImageSoon();
}

function changed() {
  setText(stepsText());
  $('text-note').hidden = true;
  renderSteps();
  runImageSoon();
}

function markBadStep(step) {
  const items = $('steps').children;
  for (let i = 0; i < items.length; i++) items[i].classList.toggle('bad', i === step);
}

/** A control's text as the parameter's type (the kernel checks it when the job runs). */
function typed(p, value) {
  switch (p.type) {
    case 'integer':
    case 'number':
      return value === '' || Number.isNaN(Number(value)) ? value : Number(value);
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : value;
    case 'numbers':
      return value.split(',').map((v) => Number(v.trim()));
    case 'names':
      return value.split(',').map((v) => v.trim());
    default:
      return value;
  }
}

/** Mirrors a pipeline's text in the controls. The kernel that runs the jobs (in the
 *  worker) reads it with check(): its canonical steps are what the controls show. */
async function loadPipeline(text) {
  setText(text);
  let canonical = null;
  try {
    canonical = await kiln.check(text);
  } catch {
    // Not a pipeline the kernel accepts: running it shows why.
  }
  const shown = canonical && spec && !canonical.limits && canonical.steps.every((s) => spec[s.op]);
  if (shown) {
    steps = canonical.steps;
    renderSteps();
  }
  $('text-note').hidden = !!shown;
  $('text-note').textContent = 'The controls cannot show this pipeline; the text form runs as written.';
}

async function setImage(file) {
  const bytes = await readFile(file);
  const name = file.name ?? 'image';
  $('before').src = URL.createObjectURL(new Blob([bytes], { type: file.type || 'application/octet-stream' }));
  let bitmap = null;
  try {
    bitmap = await createImageBitmap(new Blob([bytes]));
    $('before-info').textContent = `${bitmap.width}×${bitmap.height} · ${fmtBytes(bytes.length)}`;
  } catch {
    // The browser cannot show it (TIFF, say): the kernel may still read it.
    $('before-info').textContent = `${fmtBytes(bytes.length)} · ${name}`;
  }
  // The file and its bitmap change together: a run in between sees the old pair whole.
  imageInput = { bytes, name, type: file.type };
  imageBitmap = bitmap;
  showInfo(imageInput);
  runImage();
}

/** What the kernel's `info` says of the picked file (headers only), after its size. */
async function showInfo(input) {
  try {
    const out = await job('info', input.bytes.slice());
    if (imageInput !== input) return; // another file was picked meanwhile
    const i = JSON.parse(new TextDecoder().decode(out.data));
    const parts = [`${i.format} ${i.width}×${i.height}`, i.color_type, `${i.bit_depth}-bit`];
    if (i.orientation && i.orientation !== 1) parts.push(`EXIF orientation ${i.orientation}`);
    if (i.frames > 1) parts.push(`${i.frames} frames`);
    if (i.progressive) parts.push('progressive');
    if (i.icc) parts.push(`ICC ${i.icc_description ?? 'profile'}`);
    const camera = [i.exif?.make, i.exif?.model].filter(Boolean).join(' ');
    if (camera) parts.push(camera);
    if (i.exif?.gps) parts.push('GPS in EXIF (never written out)');
    $('before-info').textContent += ` · ${parts.join(', ')}`;
  } catch {
    // Not an image the kernel reads: the run shows the error.
  }
}

/** The canvas-pixels input: the image drawn on a canvas, as ImageData (raw RGBA). */
function pixelsOf(bitmap) {
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
}

let imageSeq = 0;
async function runImage() {
  if (!imageInput || !spec) return;
  const seq = ++imageSeq;
  const text = $('pipeline-text').value;
  // What this run reads, taken now: the inputs may change while the job runs.
  const name = imageInput.name;
  const usePixels = $('image-pixels').checked && imageBitmap;
  // Each job gets its own copy to transfer: the original stays for the next run.
  const input = usePixels ? pixelsOf(imageBitmap) : imageInput.bytes.slice();
  $('panel-image').classList.add('busy');
  try {
    const out = await job(text, input);
    if (seq !== imageSeq) return; // a newer run started
    clearError();
    showImage(out);
    demo.results.image = { pipeline: text, input: name, pixels: !!usePixels, data: out.data, meta: out.meta, ms: out.ms };
  } catch (err) {
    if (seq === imageSeq) showError(err, 'image');
  } finally {
    if (seq === imageSeq) $('panel-image').classList.remove('busy');
  }
}
const runImageSoon = debounce(runImage, 150);

function showImage({ data, meta, ms }) {
  const img = $('after');
  const canvas = $('after-canvas');
  const dims = meta.width ? `${meta.width}×${meta.height} · ` : '';
  $('after-info').textContent = `${dims}${meta.format ?? meta.kind} · ${fmtBytes(data.length)} · ${fmtMs(ms)}`;
  const link = $('after-download');
  URL.revokeObjectURL(link.href);
  const blob = new Blob([data], { type: meta.content_type });
  link.href = URL.createObjectURL(blob);
  link.download = `kiln-output.${meta.format === 'jpeg' ? 'jpg' : (meta.format ?? 'bin')}`;
  link.hidden = false;
  if (meta.format === 'rgba') {
    canvas.width = meta.width;
    canvas.height = meta.height;
    canvas.getContext('2d').putImageData(new ImageData(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), meta.width, meta.height), 0, 0);
    canvas.hidden = false;
    img.hidden = true;
  } else {
    URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(blob);
    img.hidden = false;
    canvas.hidden = true;
  }
}

/** A sample picture drawn here, so the page shows something before any file. */
async function sampleImage() {
  const w = 960, h = 640;
  const c = new OffscreenCanvas(w, h);
  const g = c.getContext('2d');
  const sky = g.createLinearGradient(0, 0, 0, h);
  sky.addColorStop(0, '#1c3f6e');
  sky.addColorStop(0.55, '#f08c4a');
  sky.addColorStop(1, '#ffd8a8');
  g.fillStyle = sky;
  g.fillRect(0, 0, w, h);
  g.fillStyle = '#ffe066';
  g.beginPath();
  g.arc(w * 0.68, h * 0.52, 90, 0, Math.PI * 2);
  g.fill();
  g.fillStyle = '#2b2118';
  g.beginPath();
  g.moveTo(0, h);
  for (let x = 0; x <= w; x += 40) g.lineTo(x, h * 0.72 - Math.sin(x / 90) * 40 - Math.cos(x / 37) * 14);
  g.lineTo(w, h);
  g.fill();
  g.fillStyle = 'rgba(255,255,255,.9)';
  g.font = 'bold 72px system-ui, sans-serif';
  g.fillText('kiln', 48, 110);
  const blob = await c.convertToBlob({ type: 'image/png' });
  return new File([blob], 'sample.png', { type: 'image/png' });
}

function initImagePanel() {
  const select = $('add-op');
  for (const op of IMAGE_OPS) select.append(new Option(op, op));
  $('add-step').onclick = () => {
    const op = select.value;
    const step = { op, ...structuredClone(EXAMPLE[op] ?? {}) };
    const encodeAt = steps.findIndex((s) => s.op === 'encode');
    if (op !== 'encode' && encodeAt >= 0) steps.splice(encodeAt, 0, step);
    else steps.push(step);
    changed();
  };
  for (const [name, text] of Object.entries(PRESETS)) {
    const b = button(name, '', () => {
      loadPipeline(text);
      runImage();
    });
    $('presets').append(b);
  }
  $('pipeline-text').addEventListener(
    'input',
    debounce(() => {
      loadPipeline($('pipeline-text').value);
      runImage();
    }, 400),
  );
  $('pipeline-text').addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    loadPipeline($('pipeline-text').value);
    runImage();
  });
  $('run-image').onclick = runImage;
  $('image-pixels').onchange = runImage;
  $('image-file').onchange = (e) => e.target.files[0] && setImage(e.target.files[0]);
  $('image-sample').onclick = async () => setImage(await sampleImage());
  dropTarget(document.querySelector('[data-drop="image"]'), setImage);
  loadPipeline(PRESETS.thumbnail);
}

// ---------------------------------------------------------------- streaming helpers

/** A TransformStream that passes chunks on, telling `onBytes` the bytes so far. */
function counter(onBytes) {
  let n = 0;
  return new TransformStream({
    transform(chunk, controller) {
      n += chunk.byteLength; // before the chunk moves on (the worker's stream transfers it)
      onBytes(n);
      controller.enqueue(chunk);
    },
  });
}

/**
 * Joins chunks into pieces of at least `size` bytes: each write to a file on disk
 * (FileSystemWritableFileStream) is a round trip to the browser, too slow per 64 KiB.
 */
function batches(size) {
  let batch = [];
  let length = 0;
  const join = (controller) => {
    const out = new Uint8Array(length);
    let at = 0;
    for (const chunk of batch) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    controller.enqueue(out);
    batch = [];
    length = 0;
  };
  return new TransformStream({
    transform(chunk, controller) {
      batch.push(chunk);
      length += chunk.byteLength;
      if (length >= size) join(controller);
    },
    flush(controller) {
      if (length) join(controller);
    },
  });
}

/**
 * Where a result goes when it cannot be written to disk as it streams: every 16 MiB the
 * chunks become a Blob, and the result is a Blob of those parts. Blob bytes live in the
 * browser's blob storage, not in the page's heap, so the page holds 16 MiB of it; how much
 * the browser keeps is its own limit (runCompress checks the Blob can be read).
 */
function blobSink() {
  const parts = [];
  let batch = [];
  let size = 0;
  const seal = () => {
    if (batch.length) parts.push(new Blob(batch));
    batch = [];
    size = 0;
  };
  const writable = new WritableStream({
    write(chunk) {
      batch.push(chunk);
      size += chunk.byteLength;
      if (size >= 16 << 20) seal();
    },
    close: seal,
  });
  return { writable, blob: () => new Blob(parts) };
}

/** Calls `draw` at most once a frame while a stream runs. */
function frames(draw) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      draw();
    });
  };
}

/** Draws a progress bar and its line: bytes read of the input's size, and the rate. */
function showProgress(prefix, read, size, t0) {
  const percent = size ? Math.min(100, (100 * read) / size) : 100;
  $(`${prefix}-bar`).style.width = `${percent}%`;
  $(`${prefix}-bar`).parentElement.setAttribute('aria-valuenow', percent.toFixed(0));
  const seconds = (performance.now() - t0) / 1000;
  const rate = seconds > 0 ? ` · ${(read / 1e6 / seconds).toFixed(1)} MB/s` : '';
  $(`${prefix}-progress`).textContent = `${fmtBytes(read)} of ${fmtBytes(size)} read (${percent.toFixed(0)}%)${rate}`;
}

/** One stream at a time per panel: starting one cancels the last. */
function runner(cancelButton) {
  let current = null;
  $(cancelButton).onclick = () => current?.abort();
  return {
    start() {
      current?.abort();
      current = new AbortController();
      $(cancelButton).hidden = false;
      return current;
    },
    end(controller) {
      if (current !== controller) return false; // a newer run took over
      current = null;
      $(cancelButton).hidden = true;
      return true;
    },
  };
}

const isAbort = (err) => err?.name === 'AbortError';

// ---------------------------------------------------------------- compress panel
//
// The input (a picked or dropped file, or the text) streams through the worker:
// file.stream() -> kiln.stream('compress ...') -> a file on disk (File System Access,
// where the browser has it and the box is ticked) or a Blob to download. Nothing of it
// is held whole in the page, so a file larger than the page could hold passes.

let compressInput = null; // a File; null: the textarea
const compressRuns = runner('compress-cancel');
const canSave = typeof window.showSaveFilePicker === 'function';

/** Where the output goes: a file the user picks, written as it streams, or a Blob. */
async function compressSink(name) {
  if (canSave && $('compress-disk').checked) {
    const handle = await window.showSaveFilePicker({ suggestedName: name });
    return { writable: await handle.createWritable(), file: handle };
  }
  return blobSink();
}

async function runCompress(direction) {
  const format = $('compress-format').value;
  const level = $('compress-level').value;
  const pipeline = direction === 'compress' ? `compress format=${format} level=${level}` : `decompress format=${format}`;
  const input = compressInput ?? new Blob([$('compress-text').value]);
  const name = compressInput?.name ?? null;
  const base = name ?? 'text.txt';
  const ext = { gzip: '.gz', zlib: '.zz', deflate: '.deflate' }[format];
  const outName = direction === 'compress' ? base + ext : base.endsWith(ext) ? base.slice(0, -ext.length) : `${base}.out`;
  let sink;
  try {
    sink = await compressSink(outName); // first: the file picker needs the click's activation
  } catch (err) {
    if (!isAbort(err)) showError(err, direction); // AbortError: the picker was dismissed
    return;
  }
  const run = compressRuns.start();
  const t0 = performance.now();
  let read = 0;
  let written = 0;
  let frameCount = 0;
  const draw = () => {
    frameCount++;
    showProgress('c', read, input.size, t0);
    $('c-in').textContent = fmtBytes(read);
    $('c-out').textContent = fmtBytes(written);
    $('c-time').textContent = fmtMs(performance.now() - t0);
  };
  const redraw = frames(draw);
  $('compress-result').hidden = false;
  $('compress-download').hidden = true;
  $('c-ratio').textContent = '…';
  $('c-rate').textContent = 'time';
  $('c-check').textContent = `${pipeline} · running`;
  try {
    const stream = await kiln.stream(pipeline);
    await input
      .stream()
      .pipeThrough(counter((n) => ((read = n), redraw())))
      .pipeThrough(stream)
      .pipeThrough(counter((n) => ((written = n), redraw())))
      .pipeThrough(batches(1 << 20))
      .pipeTo(sink.writable, { signal: run.signal });
    const meta = await stream.meta;
    const ms = performance.now() - t0;
    const blob = sink.blob?.();
    // A browser that cannot keep it all (Chromium here: past a few hundred MB) fails to
    // read it: say so now, not at the download.
    await blob?.slice(-1).arrayBuffer().catch(() => {
      throw new Error(`the browser could not keep ${fmtBytes(written)} in its blob storage: tick “save to disk as it streams”`);
    });
    if (!compressRuns.end(run)) return;
    clearError();
    draw();
    $('c-time').textContent = fmtMs(ms);
    $('c-rate').textContent = `time · ${(read / 1e6 / (ms / 1000)).toFixed(1)} MB/s`;
    const ratio = direction === 'compress' ? read / Math.max(written, 1) : written / Math.max(read, 1);
    $('c-ratio').textContent = `${ratio.toFixed(2)}×`;
    $('c-ratio-label').textContent = direction === 'compress' ? 'ratio (in / out)' : 'expansion (out / in)';
    const result = { pipeline, input: name, read, written, meta, ms, frames: frameCount };
    if (sink.file) {
      $('c-check').textContent = `${pipeline} · saved to ${sink.file.name}`;
      result.file = sink.file;
    } else {
      const link = $('compress-download');
      URL.revokeObjectURL(link.href);
      link.href = URL.createObjectURL(blob);
      link.download = outName;
      link.hidden = false;
      $('c-check').textContent = `${pipeline} · kept in the browser's blob storage until downloaded`;
      result.blob = blob;
    }
    demo.results.compress = result;
  } catch (err) {
    if (!compressRuns.end(run)) return;
    $('c-check').textContent = `${pipeline} · ${isAbort(err) ? 'cancelled' : 'failed'}`;
    if (!isAbort(err)) showError(err, direction);
  }
}

function initCompressPanel() {
  const setFile = (file) => {
    compressInput = file;
    $('compress-source').textContent = `input: ${file.name} (${fmtBytes(file.size)}) — type in the box to use text instead`;
    if (/\.(gz|zz|deflate)$/i.test(file.name)) {
      $('compress-format').value = { gz: 'gzip', zz: 'zlib', deflate: 'deflate' }[file.name.split('.').pop().toLowerCase()];
    }
  };
  $('compress-file').onchange = (e) => e.target.files[0] && setFile(e.target.files[0]);
  dropTarget(document.querySelector('[data-drop="compress"]'), setFile);
  $('compress-text').oninput = () => {
    compressInput = null;
    $('compress-source').textContent = 'input: the text above';
  };
  $('compress-level').oninput = () => ($('compress-level-out').textContent = $('compress-level').value);
  $('compress-disk-label').hidden = !canSave;
  $('compress-run').onclick = () => runCompress('compress');
  $('decompress-run').onclick = () => runCompress('decompress');
  $('compress-source').textContent = 'input: the text above';
}

// ---------------------------------------------------------------- CSV panel
//
// Two streams read the file at once: `parse_csv | to_json format=ndjson` in the page's
// worker gives the rows (the first PREVIEW_ROWS are shown as they arrive, and every row
// updates the running stats here), and `parse_csv | stats | to_json` in a second worker
// gives the kernel's own stats table at the end, which replaces the running one.

const SAMPLE_CSV = `city,country,population,area_km2,capital,founded
Tokyo,Japan,13960000,2194,true,1457
Delhi,India,16787941,1484,true,
Shanghai,China,24870895,6341,false,751
São Paulo,Brazil,12325232,1521,false,1554
Mexico City,Mexico,9209944,1485,true,1325
Cairo,Egypt,9539673,3085,true,969
Mumbai,India,12442373,603,false,
Beijing,China,21893095,16411,true,
Osaka,Japan,2753862,225,false,
"New York",United States,8804190,783,false,1624
Lagos,Nigeria,15388000,1171,false,
Oslo,Norway,709037,454,true,1048
`;
const PREVIEW_ROWS = 100;

let csvInput = null; // a File; null: the sample
let statsKiln = null; // the second worker, made on first use
const csvRuns = runner('csv-cancel');
/** Stream sessions open in the workers (0 once every stream has ended): for the test. */
demo.openStreams = async () => (await kiln._openStreams()) + (statsKiln ? await statsKiln._openStreams() : 0);

function csvPipeline(tail) {
  const d = $('csv-delimiter').value;
  const parts = [
    { op: 'parse_csv', delimiter: d === '\\t' ? '\t' : d, header: $('csv-header').checked, infer: $('csv-infer').checked },
  ];
  const where = $('csv-where').value.trim();
  if (where) parts.push({ op: 'filter', where });
  return toText([...parts, ...tail]);
}
const rowsPipeline = () => csvPipeline([{ op: 'to_json', format: 'ndjson' }]);
const statsPipeline = () => csvPipeline([{ op: 'stats' }, { op: 'to_json' }]);

function table(el, rows, columns) {
  el.textContent = '';
  const thead = el.createTHead().insertRow();
  for (const c of columns) {
    const th = document.createElement('th');
    th.textContent = c;
    thead.append(th);
  }
  const body = el.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const c of columns) {
      const td = tr.insertCell();
      const v = row[c];
      if (v === null || v === undefined) {
        td.textContent = 'null';
        td.className = 'null';
      } else {
        td.textContent = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4).replace(/0+$/, '')) : typeof v === 'object' ? JSON.stringify(v) : String(v);
        if (typeof v === 'number') td.className = 'num';
      }
    }
  }
}

/** Splits text into lines: each chunk out is the array of lines it completed. */
function lines() {
  let rest = '';
  return new TransformStream({
    transform(text, controller) {
      const parts = (rest + text).split('\n');
      rest = parts.pop();
      if (parts.length) controller.enqueue(parts.filter(Boolean));
    },
    flush(controller) {
      if (rest) controller.enqueue([rest]);
    },
  });
}

/** The keys of a JSON object's text in their order (JSON.parse puts integer-like keys first). */
function keysOf(text) {
  const keys = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && /^\s*:/.test(text.slice(j + 1, j + 3))) keys.push(JSON.parse(text.slice(i, j + 1)));
      i = j;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

/**
 * Per-column count, nulls, min, max and mean as rows arrive, by the rules of the
 * kernel's `stats` in JS numbers (min and max over the numbers if a column has any, else
 * over its text; booleans and objects count but have no order). For display while the
 * file streams: the kernel's table, exact, replaces it at the end.
 */
class RunningStats {
  constructor(columns) {
    this.columns = columns.map((column) => ({ column, count: 0, nulls: 0, numbers: 0, sum: 0, lo: null, hi: null, textLo: null, textHi: null }));
  }

  add(row) {
    for (const c of this.columns) {
      const v = row[c.column];
      if (v === null || v === undefined) {
        c.nulls++;
        continue;
      }
      c.count++;
      if (typeof v === 'number') {
        c.numbers++;
        c.sum += v;
        if (c.lo === null || v < c.lo) c.lo = v;
        if (c.hi === null || v > c.hi) c.hi = v;
      } else if (typeof v === 'string') {
        if (c.textLo === null || v < c.textLo) c.textLo = v;
        if (c.textHi === null || v > c.textHi) c.textHi = v;
      }
    }
  }

  rows() {
    return this.columns.map((c) => ({
      column: c.column,
      count: c.count,
      nulls: c.nulls,
      min: c.numbers ? c.lo : c.textLo,
      max: c.numbers ? c.hi : c.textHi,
      mean: c.numbers ? c.sum / c.numbers : null,
    }));
  }
}

const STATS_COLUMNS = ['column', 'count', 'nulls', 'min', 'max', 'mean'];

/** A stream's whole (small) output, read under `signal`. */
async function collect(readable, signal) {
  const sink = blobSink();
  await readable.pipeTo(sink.writable, { signal });
  return new Uint8Array(await sink.blob().arrayBuffer());
}

async function runCsv() {
  const input = csvInput ?? new Blob([SAMPLE_CSV]);
  const name = csvInput?.name ?? null;
  const pipeline = rowsPipeline();
  const statsText = statsPipeline();
  $('csv-pipeline').textContent = pipeline;
  $('csv-stats-pipeline').textContent = statsText;
  const run = csvRuns.start();
  const t0 = performance.now();
  statsKiln ??= new KilnWorker({ name: 'kiln-stats' });
  let read = 0;
  let ndjson = 0;
  let rows = 0;
  let columns = null;
  let stats = null;
  let firstRows = null; // bytes read and ms when the first rows were shown
  const preview = [];
  let shown = 0;
  const draw = () => {
    showProgress('t', read, input.size, t0);
    $('t-rows').textContent = rows.toLocaleString();
    $('t-cols').textContent = columns ? columns.length : '…';
    $('t-json').textContent = fmtBytes(ndjson);
    $('t-time').textContent = fmtMs(performance.now() - t0);
    if (stats) table($('csv-stats'), stats.rows(), STATS_COLUMNS);
    if (preview.length > shown) {
      table($('csv-preview'), preview, columns);
      shown = preview.length;
      firstRows ??= { read, ms: performance.now() - t0 };
    }
    $('csv-preview-note').textContent = rows > shown ? `first ${shown} of ${rows.toLocaleString()} rows` : `${rows} rows`;
  };
  const redraw = frames(draw);
  $('csv-result').hidden = false;
  $('csv-stats-note').textContent = 'running, from the rows so far';
  $('t-rate').textContent = 'time';
  for (const id of ['csv-stats', 'csv-preview']) $(id).textContent = '';
  const rowSink = new WritableStream({
    write(batch) {
      if (!batch.length) return;
      if (!columns) {
        columns = keysOf(batch[0]);
        stats = new RunningStats(columns);
      }
      // One parse of the chunk's rows: faster than a parse per row.
      for (const row of JSON.parse(`[${batch.join(',')}]`)) {
        rows++;
        stats.add(row);
        if (preview.length < PREVIEW_ROWS) preview.push(row);
      }
      redraw();
    },
  });
  try {
    const [rowStream, statsStream] = await Promise.all([kiln.stream(pipeline), statsKiln.stream(statsText)]);
    const rowsDone = input
      .stream()
      .pipeThrough(counter((n) => ((read = n), redraw())))
      .pipeThrough(rowStream)
      .pipeThrough(counter((n) => (ndjson = n)))
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(lines())
      .pipeTo(rowSink, { signal: run.signal });
    const statsDone = collect(input.stream().pipeThrough(statsStream), run.signal);
    // One failing stops the other.
    const [, kernelStats] = await Promise.all([rowsDone, statsDone].map((p) => p.catch((err) => (run.abort(err), Promise.reject(err)))));
    const meta = await rowStream.meta;
    const ms = performance.now() - t0;
    if (!csvRuns.end(run)) return;
    clearError();
    draw();
    $('t-time').textContent = fmtMs(ms);
    $('t-rate').textContent = `time · ${(read / 1e6 / (ms / 1000)).toFixed(1)} MB/s`;
    const statRows = JSON.parse(new TextDecoder().decode(kernelStats));
    table($('csv-stats'), statRows, STATS_COLUMNS);
    $('csv-stats-note').textContent = 'the kernel\'s stats of the whole file';
    $('t-cols').textContent = meta.columns;
    demo.results.csv = {
      pipeline, statsPipeline: statsText, input: name, size: input.size, read, rows, meta, ms, firstRows,
      preview, running: stats?.rows() ?? [], stats: kernelStats,
    };
  } catch (err) {
    if (!csvRuns.end(run)) return;
    $('csv-stats-note').textContent = isAbort(err) ? 'cancelled' : 'failed';
    if (!isAbort(err)) showError(err, 'csv');
  }
}

function initCsvPanel() {
  const setFile = (file) => {
    csvInput = file;
    if (/\.tsv$/i.test(file.name)) $('csv-delimiter').value = '\\t';
    runCsv();
  };
  $('csv-file').onchange = (e) => e.target.files[0] && setFile(e.target.files[0]);
  dropTarget(document.querySelector('[data-drop="csv"]'), setFile);
  $('csv-sample').onclick = () => {
    csvInput = null;
    runCsv();
  };
  $('csv-run').onclick = runCsv;
  for (const id of ['csv-delimiter', 'csv-header', 'csv-infer']) $(id).onchange = runCsv;
  $('csv-where').addEventListener('keydown', (e) => e.key === 'Enter' && runCsv());
  $('csv-pipeline').textContent = rowsPipeline();
  $('csv-stats-pipeline').textContent = statsPipeline();
}

// ---------------------------------------------------------------- start

async function start() {
  initCompressPanel();
  initCsvPanel();
  try {
    const described = await kiln.describe();
    demo.describe = described;
    spec = Object.fromEntries(described.ops.map((o) => [o.name, o]));
    $('status').textContent = `kiln ${described.version} · ready`;
    $('status').className = 'chip ready';
    $('footer-version').textContent = `kiln ${described.version}, ${described.ops.length} ops`;
  } catch (err) {
    $('status').textContent = 'kernel failed to load';
    $('status').className = 'chip failed';
    showError(err, 'loading the kernel');
    return;
  }
  initImagePanel();
  demo.ready = true;
  await setImage(await sampleImage());
}

start();
