//! The kernel as a WebAssembly component exporting `kernel/wit/kiln.wit`.
//!
//! Built for `wasm32-unknown-unknown` (simd128 on, see `.cargo/config.toml`) by
//! kiln-native's build script, which turns the core module into a component. It
//! imports nothing: the kernel needs no clock, no file, no randomness.

mod bindings {
    // Generated code: the canonical ABI flattens the `limits` record into arguments.
    #![allow(clippy::too_many_arguments)]
    wit_bindgen::generate!({ world: "kiln", path: "../../kernel/wit" });
}

use bindings::{Error, Guest, Limits, Output};

struct Kernel;

/// Inputs that make the `fault-injection` build trap.
#[cfg(feature = "fault-injection")]
const FAULT_TRIGGER: &[u8] = b"KILN-FAULT";

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
    }
}

impl Guest for Kernel {
    fn run(pipeline: String, input: Vec<u8>, l: Limits) -> Result<Output, Error> {
        #[cfg(feature = "fault-injection")]
        if input.starts_with(FAULT_TRIGGER) {
            panic!("fault-injection build: input starts with KILN-FAULT");
        }
        match kiln_kernel::run_with_limits(&pipeline, &input, &limits(l)) {
            Ok(out) => Ok(Output {
                data: out.data,
                meta: out.meta.to_json(),
            }),
            Err(e) => Err(Error {
                code: e.code.as_str().to_owned(),
                message: e.message,
                step: e.step.map(|s| s as u32),
                param: e.param,
            }),
        }
    }

    fn describe(l: Limits) -> String {
        kiln_kernel::describe_with_limits(&limits(l))
    }
}

bindings::export!(Kernel with_types_in bindings);
