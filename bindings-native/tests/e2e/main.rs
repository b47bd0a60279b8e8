//! kiln's end-to-end tests: the `kiln` binary as users run it (CLI, HTTP API v1, live
//! kernels, load and faults). One test binary, as ripgrep does: each module used to be
//! a binary of its own that linked wasmtime.

mod cli;
mod common;
mod http;
mod kernels;
mod load;
mod stream;
mod wit;
