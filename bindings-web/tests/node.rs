//! `wasm-pack test --node -- --test node`: the boundary in Node.
#![cfg(target_arch = "wasm32")]

mod common;
