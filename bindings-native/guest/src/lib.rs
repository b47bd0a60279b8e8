//! The kernel as a WebAssembly component exporting `kernel/wit/kiln.wit`'s `api`.
//!
//! Built for `wasm32-unknown-unknown` (simd128 on, see `.cargo/config.toml`) by
//! kiln-sandbox's build script, which turns the core module into a component. It
//! imports nothing: the kernel needs no clock, no file, no randomness.

mod bindings {
    // Generated code: the canonical ABI flattens the `limits` record into arguments.
    #![allow(clippy::too_many_arguments)]
    wit_bindgen::generate!({ world: "kiln", path: "../../kernel/wit" });
}

use std::cell::RefCell;

use bindings::exports::kiln::kernel::api::{
    Error, ErrorCode, Guest, GuestSession, Limits, Meta, Output, Session as SessionHandle,
};

#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Kernel;

/// A streaming session: the kernel's, until `finish` spends it, and the output's meta as
/// last known.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Session {
    live: RefCell<Option<kiln_kernel::Session>>,
    meta: RefCell<kiln_kernel::Meta>,
}

/// Inputs that make the `fault-injection` build trap.
#[cfg(feature = "fault-injection")]
const FAULT_TRIGGER: &[u8] = b"KILN-FAULT";

/// Inputs that make the `fault-injection` build spin until its deadline.
#[cfg(feature = "fault-injection")]
const SPIN_TRIGGER: &[u8] = b"KILN-SPIN";

fn limits(l: Limits) -> kiln_kernel::Limits {
    kiln_kernel::Limits {
        max_input_bytes: l.max_input_bytes,
        max_output_bytes: l.max_output_bytes,
        max_pixels: l.max_pixels,
        max_dimension: l.max_dimension,
        max_decompressed_bytes: l.max_decompressed_bytes,
        max_rows: l.max_rows,
        max_columns: l.max_columns,
        max_json_depth: l.max_json_depth,
        max_memory_bytes: l.max_memory_bytes,
    }
}

fn error(e: kiln_kernel::Error) -> Error {
    Error {
        code: match e.code {
            kiln_kernel::ErrorCode::BadPipeline => ErrorCode::BadPipeline,
            kiln_kernel::ErrorCode::BadInput => ErrorCode::BadInput,
            kiln_kernel::ErrorCode::Unsupported => ErrorCode::Unsupported,
            kiln_kernel::ErrorCode::TooLarge => ErrorCode::TooLarge,
            kiln_kernel::ErrorCode::Internal => ErrorCode::Internal,
        },
        message: e.message,
        step: e.step.map(|s| u32::try_from(s).unwrap_or(u32::MAX)),
        param: e.param,
    }
}

impl Guest for Kernel {
    fn run(pipeline: String, input: Vec<u8>, l: Limits) -> Result<Output, Error> {
        #[cfg(feature = "fault-injection")]
        if input.starts_with(FAULT_TRIGGER) {
            panic!("fault-injection build: input starts with KILN-FAULT");
        }
        #[cfg(feature = "fault-injection")]
        if input.starts_with(SPIN_TRIGGER) {
            #[allow(clippy::empty_loop)]
            loop {}
        }
        kiln_kernel::run_with_limits(&pipeline, input, &limits(l))
            .map(output)
            .map_err(error)
    }

    fn check(pipeline: String) -> Result<String, Error> {
        kiln_kernel::check(&pipeline).map_err(error)
    }

    fn describe(l: Limits) -> String {
        kiln_kernel::describe_with_limits(&limits(l))
    }

    type Session = Session;
}

impl GuestSession for Session {
    fn open(pipeline: String, l: Limits) -> Result<SessionHandle, Error> {
        let session = kiln_kernel::Session::open(&pipeline, &limits(l)).map_err(error)?;
        Ok(SessionHandle::new(Session {
            meta: RefCell::new(session.meta()),
            live: RefCell::new(Some(session)),
        }))
    }

    fn push(&self, chunk: Vec<u8>) -> Result<Vec<u8>, Error> {
        match self.live.borrow_mut().as_mut() {
            Some(session) => session.push(&chunk).map_err(error),
            None => Err(spent()),
        }
    }

    fn meta(&self) -> Meta {
        meta(self.meta.borrow().clone())
    }

    fn finish(&self) -> Result<Output, Error> {
        let session = self.live.borrow_mut().take().ok_or_else(spent)?;
        let out = session.finish().map_err(error)?;
        *self.meta.borrow_mut() = out.meta.clone();
        Ok(output(out))
    }
}

/// A call on a session after `finish`.
fn spent() -> Error {
    error(kiln_kernel::Error::bad_pipeline("the session has finished"))
}

fn output(out: kiln_kernel::Output) -> Output {
    Output {
        data: out.data,
        meta: meta(out.meta),
    }
}

fn meta(m: kiln_kernel::Meta) -> Meta {
    Meta {
        kind: m.kind,
        content_type: m.content_type,
        width: m.width,
        height: m.height,
        format: m.format,
        trim_left: m.trim_left,
        trim_top: m.trim_top,
        rows: m.rows,
        columns: m.columns,
        version: m.version,
    }
}

// Exported from the wasm build only: the interface's symbol names
// (`kiln:kernel/api@0.4.0#run`) are not names a host linker's version script takes, and
// `cargo test --workspace` links this crate for the host too.
#[cfg(target_arch = "wasm32")]
bindings::export!(Kernel with_types_in bindings);
