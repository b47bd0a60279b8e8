//! `wasm-pack test --headless --chrome -- --test browser`: the boundary in Chromium,
//! plus a real canvas `ImageData`.
#![cfg(target_arch = "wasm32")]

mod common;

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn takes_canvas_image_data() {
    // A 3x2 ImageData, built without web-sys: `new ImageData(data, 3, 2)`.
    let px: Vec<u8> = (0..24u8).map(|i| i * 10).collect();
    let make = Function::new_with_args("d", "return new ImageData(new Uint8ClampedArray(d), 3, 2)");
    let image = make
        .call1(&JsValue::NULL, &js_sys::Uint8Array::from(px.as_slice()))
        .unwrap();
    assert_eq!(Reflect::get(&image, &"width".into()).unwrap().as_f64(), Some(3.0));
    let out = kiln_web::run("flip | encode format=rgba".into(), image).unwrap();
    let native = kiln_kernel::run("decode format=rgba width=3 height=2 | flip | encode format=rgba", &px).unwrap();
    assert_eq!(common::data(&out), native.data);
}
