//! # kiln-web
//!
//! kiln's kernel for JavaScript: the wasm-bindgen adapter behind the `@kiln/kernel`
//! npm package (`bindings-web/npm/`). Built for `wasm32-unknown-unknown` with simd128
//! (`.cargo/config.toml`), the same target and flags as the wasmtime guest, so it gives
//! the same bytes as the native kernel.
//!
//! ## The boundary (the wasm module exports exactly these three functions and a class)
//!
//! - `run(pipeline, input) -> { data: Uint8Array, meta: object }`
//!   - `pipeline`: the text form (`"resize width=800 | encode format=webp"`) or the JSON
//!     form, as a string or as an object (serialised with `JSON.stringify`).
//!   - `input`: bytes — `Uint8Array` (Node's `Buffer` too), any other `ArrayBufferView`,
//!     `ArrayBuffer` — or a string (its UTF-8 bytes), or canvas pixels: an `ImageData`
//!     or any `{ data: Uint8ClampedArray | Uint8Array, width, height }`, which is the
//!     raw RGBA8 kind (see [`job`]: the pipeline gets a leading
//!     `decode format=rgba width= height=`, and error steps stay the caller's).
//!   - Errors are thrown as an `Error` named `KilnError` with `code`, `message`,
//!     `step` (number or null) and `param` (string or null); the npm package re-throws
//!     them as its `KilnError` class. An input of the wrong type is `bad_input`, a
//!     pipeline that is neither a string nor an object is `bad_pipeline`.
//! - `check(pipeline) -> object`: the pipeline checked without running it, in canonical
//!   form (`kiln_kernel::check`), or a thrown `KilnError`.
//! - `describe() -> object`: the kernel's self-description (version, ops, limits).
//! - `new Session(pipeline)`: the kernel's streaming session ([`Session`]), the WIT
//!   resource's shape: `push(chunk)` gives the output that chunk completes, `meta()` what
//!   is known of the meta so far, `finish()` the rest and the meta, `free()` aborts. A
//!   pipeline that cannot stream is `bad_pipeline` at construction.
//!
//! ## Copies
//!
//! One boundary crossing per job, never per step. The input is copied once into wasm
//! memory (a JS engine cannot lend its buffers to wasm), the kernel runs the whole
//! pipeline there, and the output is copied once into a fresh `Uint8Array` that owns its
//! own `ArrayBuffer` — which a Web Worker can therefore transfer, not copy.
//!
//! A session's chunks cross the same way: each `push` copies its chunk in and its output
//! out, once each.
//!
//! ## Limits
//!
//! The kernel's default [`kiln_kernel::Limits`]; a pipeline may tighten them. A session
//! has their [`streaming`](kiln_kernel::Limits::streaming) form, as every host gives
//! one: the caps on bytes in, out and decompressed and on rows are lifted (none of them
//! is held); the others are `run`'s. wasm
//! memory grows to the largest job's working set and does not shrink: run very large
//! jobs in a Worker you can terminate.

pub mod job;

use js_sys::{Array, ArrayBuffer, JSON, Object, Reflect, Uint8Array, Uint8ClampedArray};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use job::Input;

/// Runs `pipeline` on `input` in one call: see the crate docs for the accepted types.
#[wasm_bindgen]
pub fn run(pipeline: JsValue, input: JsValue) -> Result<JsValue, JsValue> {
    let pipeline = pipeline_text(&pipeline)?;
    let output = match RawInput::from_js(&input)? {
        RawInput::Bytes(bytes) => job::run(&pipeline, Input::Bytes(bytes.into())),
        RawInput::Rgba { pixels, width, height } => job::run(
            &pipeline,
            Input::Rgba {
                pixels: pixels.into(),
                width,
                height,
            },
        ),
    }
    .map_err(|e| to_js(&e))?;
    output_object(&output)
}

/// `{ data, meta }` of an output. `Uint8Array::from` allocates a JS buffer of exactly
/// the output's length and copies once; the wasm-side Vec is freed by the caller.
fn output_object(output: &kiln_kernel::Output) -> Result<JsValue, JsValue> {
    let result = Object::new();
    set(&result, "data", &Uint8Array::from(output.data.as_slice()).into())?;
    set(&result, "meta", &JSON::parse(&output.meta.to_json())?)?;
    Ok(result.into())
}

/// Checks a pipeline without running it: its canonical form (`kiln_kernel::check`) as
/// an object, or a `KilnError`.
#[wasm_bindgen]
pub fn check(pipeline: JsValue) -> Result<JsValue, JsValue> {
    let pipeline = pipeline_text(&pipeline)?;
    let canonical = kiln_kernel::check(&pipeline).map_err(|e| to_js(&e))?;
    JSON::parse(&canonical)
}

/// The kernel's self-description (`kiln_kernel::describe()`) as an object.
#[wasm_bindgen]
pub fn describe() -> Result<JsValue, JsValue> {
    JSON::parse(&kiln_kernel::describe())
}

/// A streaming session: a pipeline run over input pushed in chunks, its output given
/// back as it is made; concatenated, byte for byte `run`'s output on the whole input.
/// Dropping it (`free()` in JS) aborts it.
#[wasm_bindgen]
pub struct Session {
    inner: kiln_kernel::Session,
}

#[wasm_bindgen]
impl Session {
    /// Opens a session for `pipeline` (as `run` takes it) under the streaming limits; a
    /// step that cannot stream is a `KilnError` `bad_pipeline` naming it.
    #[wasm_bindgen(constructor)]
    pub fn new(pipeline: JsValue) -> Result<Session, JsValue> {
        let inner = job::open_stream(&pipeline_text(&pipeline)?).map_err(|e| to_js(&e))?;
        Ok(Session { inner })
    }

    /// Pushes the next chunk (copied in once); returns the output it completes, often
    /// empty. After an error every call gives that error again.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, JsValue> {
        self.inner.push(chunk).map_err(|e| to_js(&e))
    }

    /// What is known of the meta before `finish`: `kind`, `content_type` and `version`
    /// (a table's `rows` and `columns` come at the end).
    pub fn meta(&self) -> Result<JsValue, JsValue> {
        JSON::parse(&self.inner.meta().to_json())
    }

    /// Ends the input: `{ data, meta }`, the rest of the output and the meta as `run`
    /// gives them, or the pipeline's `KilnError`. The session is consumed.
    pub fn finish(self) -> Result<JsValue, JsValue> {
        let output = self.inner.finish().map_err(|e| to_js(&e))?;
        output_object(&output)
    }
}

/// An input after one copy into wasm memory.
enum RawInput {
    Bytes(Vec<u8>),
    Rgba { pixels: Vec<u8>, width: u32, height: u32 },
}

impl RawInput {
    fn from_js(input: &JsValue) -> Result<RawInput, JsValue> {
        if let Some(bytes) = bytes_of(input) {
            return Ok(RawInput::Bytes(bytes));
        }
        if let Some(text) = input.as_string() {
            return Ok(RawInput::Bytes(text.into_bytes()));
        }
        if input.is_object() && !Array::is_array(input) {
            let data = Reflect::get(input, &"data".into())?;
            let width = Reflect::get(input, &"width".into())?;
            let height = Reflect::get(input, &"height".into())?;
            if !data.is_undefined() || !width.is_undefined() || !height.is_undefined() {
                let pixels = bytes_of(&data).ok_or_else(|| {
                    bad_input("pixel input needs `data` as a Uint8ClampedArray or Uint8Array of RGBA8 pixels")
                })?;
                return Ok(RawInput::Rgba {
                    pixels,
                    width: dimension(&width, "width")?,
                    height: dimension(&height, "height")?,
                });
            }
        }
        Err(bad_input(
            "input must be bytes (Uint8Array, ArrayBuffer, a typed array view), a string, \
             or pixels (ImageData or { data, width, height })",
        ))
    }
}

/// The bytes of a `Uint8Array`, `Uint8ClampedArray`, other `ArrayBufferView` or
/// `ArrayBuffer`, copied once into wasm memory.
fn bytes_of(value: &JsValue) -> Option<Vec<u8>> {
    if let Some(a) = value.dyn_ref::<Uint8Array>() {
        return Some(a.to_vec());
    }
    if let Some(a) = value.dyn_ref::<Uint8ClampedArray>() {
        return Some(a.to_vec());
    }
    if let Some(b) = value.dyn_ref::<ArrayBuffer>() {
        return Some(Uint8Array::new(b).to_vec());
    }
    if ArrayBuffer::is_view(value) {
        let buffer = Reflect::get(value, &"buffer".into()).ok()?;
        let offset = Reflect::get(value, &"byteOffset".into()).ok()?.as_f64()?;
        let length = Reflect::get(value, &"byteLength".into()).ok()?.as_f64()?;
        let view = Uint8Array::new_with_byte_offset_and_length(&buffer, offset as u32, length as u32);
        return Some(view.to_vec());
    }
    None
}

fn dimension(value: &JsValue, name: &str) -> Result<u32, JsValue> {
    match value.as_f64() {
        Some(v) if v.fract() == 0.0 && (1.0..=f64::from(u32::MAX)).contains(&v) => Ok(v as u32),
        _ => Err(bad_input(&format!(
            "pixel input needs `{name}` as a positive integer (got {})",
            value.as_string().unwrap_or_else(|| format!("{value:?}"))
        ))),
    }
}

fn pipeline_text(pipeline: &JsValue) -> Result<String, JsValue> {
    if let Some(text) = pipeline.as_string() {
        return Ok(text);
    }
    if pipeline.is_object()
        && let Some(text) = JSON::stringify(pipeline).ok().and_then(|s| s.as_string())
    {
        return Ok(text);
    }
    Err(kiln_error(
        "bad_pipeline",
        "pipeline must be a string (text or JSON form) or a pipeline object {steps: [...]}",
        None,
        None,
    ))
}

fn bad_input(message: &str) -> JsValue {
    kiln_error("bad_input", message, None, None)
}

/// A kernel error as a `KilnError`.
fn to_js(e: &kiln_kernel::Error) -> JsValue {
    kiln_error(e.code.as_str(), &e.message, e.step, e.param.as_deref())
}

/// An `Error` named `KilnError` carrying the boundary's fields.
fn kiln_error(code: &str, message: &str, step: Option<usize>, param: Option<&str>) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name("KilnError");
    let step = step.map_or(JsValue::NULL, |s| JsValue::from_f64(s as f64));
    let param = param.map_or(JsValue::NULL, JsValue::from_str);
    // Setting plain data properties on a fresh Error cannot fail.
    let _ = Reflect::set(&error, &"code".into(), &code.into());
    let _ = Reflect::set(&error, &"step".into(), &step);
    let _ = Reflect::set(&error, &"param".into(), &param);
    error.into()
}

fn set(object: &Object, key: &str, value: &JsValue) -> Result<(), JsValue> {
    Reflect::set(object, &key.into(), value).map(|_| ())
}
