//! Tests of the JS boundary shared by the Node and the Chromium suites.

use js_sys::{JSON, Reflect, Uint8Array, Uint8ClampedArray};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

pub fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &key.into()).expect("property")
}

pub fn data(out: &JsValue) -> Vec<u8> {
    get(out, "data")
        .dyn_into::<Uint8Array>()
        .expect("data is a Uint8Array")
        .to_vec()
}

fn pixels(w: u32, h: u32) -> Vec<u8> {
    (0..w * h * 4).map(|i| (i * 13 % 256) as u8).collect()
}

#[wasm_bindgen_test]
fn runs_bytes_like_native() {
    let input = Uint8Array::from(&b"hello hello hello"[..]);
    let out = kiln_web::run("compress level=9".into(), input.into()).unwrap();
    let native = kiln_kernel::run("compress level=9", b"hello hello hello").unwrap();
    assert_eq!(data(&out), native.data);
    let meta = get(&out, "meta");
    assert_eq!(get(&meta, "kind").as_string().unwrap(), "bytes");
    assert_eq!(
        JSON::stringify(&meta).unwrap().as_string().unwrap(),
        native.meta.to_json()
    );
}

#[wasm_bindgen_test]
fn takes_strings_buffers_and_json_objects() {
    let pipeline = JSON::parse(r#"{"steps":[{"op":"json","mode":"minify"}]}"#).unwrap();
    let out = kiln_web::run(pipeline, JsValue::from_str("{ \"a\" : [1, 2] }")).unwrap();
    assert_eq!(data(&out), br#"{"a":[1,2]}"#);
    let buffer = Uint8Array::from(&b"[1, 2]"[..]).buffer();
    let out = kiln_web::run("json mode=minify".into(), buffer.into()).unwrap();
    assert_eq!(data(&out), b"[1,2]");
}

#[wasm_bindgen_test]
fn pixels_are_the_raw_rgba_kind() {
    let px = pixels(6, 4);
    let object = js_sys::Object::new();
    Reflect::set(&object, &"data".into(), &Uint8ClampedArray::from(px.as_slice())).unwrap();
    Reflect::set(&object, &"width".into(), &6.into()).unwrap();
    Reflect::set(&object, &"height".into(), &4.into()).unwrap();
    let out = kiln_web::run("invert | encode format=png".into(), object.into()).unwrap();
    let native = kiln_kernel::run("decode format=rgba width=6 height=4 | invert | encode format=png", &px).unwrap();
    assert_eq!(data(&out), native.data);
}

#[wasm_bindgen_test]
fn errors_carry_code_step_and_param() {
    let e = kiln_web::run("invert | blur sigma=0".into(), Uint8Array::new_with_length(4).into()).unwrap_err();
    assert_eq!(get(&e, "name").as_string().unwrap(), "KilnError");
    assert_eq!(get(&e, "code").as_string().unwrap(), "bad_pipeline");
    assert_eq!(get(&e, "step").as_f64(), Some(1.0));
    assert_eq!(get(&e, "param").as_string().unwrap(), "sigma");
    assert!(e.is_instance_of::<js_sys::Error>());

    let e = kiln_web::run("invert".into(), Uint8Array::from(&b"not an image"[..]).into()).unwrap_err();
    assert_eq!(get(&e, "code").as_string().unwrap(), "bad_input");

    let e = kiln_web::run("invert".into(), JsValue::from_f64(3.0)).unwrap_err();
    assert_eq!(get(&e, "code").as_string().unwrap(), "bad_input");
    assert!(get(&e, "step").is_null());

    let e = kiln_web::run(JsValue::from_f64(1.0), JsValue::from_str("")).unwrap_err();
    assert_eq!(get(&e, "code").as_string().unwrap(), "bad_pipeline");
}

#[wasm_bindgen_test]
fn describe_lists_every_op() {
    let d = kiln_web::describe().unwrap();
    let ops = get(&d, "ops").dyn_into::<js_sys::Array>().unwrap();
    assert_eq!(ops.length() as usize, kiln_kernel::op::OPS.len());
    assert_eq!(get(&d, "version").as_string().unwrap(), kiln_kernel::VERSION);
}

#[wasm_bindgen_test]
fn a_session_gives_runs_bytes_chunk_by_chunk() {
    let csv: Vec<u8> = (0..2000)
        .flat_map(|i| format!("{i},\"r\n{i}\"\n").into_bytes())
        .collect();
    let native = kiln_kernel::run("parse_csv header=false | to_json format=ndjson", &csv).unwrap();
    let mut session = kiln_web::Session::new("parse_csv header=false | to_json format=ndjson".into()).unwrap();
    // What is known before the end: all of run's meta but a table's rows and columns.
    let early = JSON::stringify(&session.meta().unwrap()).unwrap().as_string().unwrap();
    assert_eq!(
        early,
        kiln_kernel::Meta {
            rows: None,
            columns: None,
            ..native.meta.clone()
        }
        .to_json()
    );
    let mut out = Vec::new();
    for chunk in csv.chunks(997) {
        out.extend(session.push(chunk).unwrap());
    }
    let end = session.finish().unwrap();
    out.extend(data(&end));
    assert_eq!(out, native.data);
    assert_eq!(
        JSON::stringify(&get(&end, "meta")).unwrap().as_string().unwrap(),
        native.meta.to_json()
    );
}

#[wasm_bindgen_test]
fn a_session_refuses_what_cannot_stream_and_throws_kiln_errors() {
    let e = kiln_web::Session::new("decompress | parse_csv | sort by=a".into())
        .err()
        .unwrap();
    assert_eq!(get(&e, "name").as_string().unwrap(), "KilnError");
    assert_eq!(get(&e, "code").as_string().unwrap(), "bad_pipeline");
    assert_eq!(get(&e, "step").as_f64(), Some(2.0));
    let mut session = kiln_web::Session::new("decompress".into()).unwrap();
    let e = session.push(b"not gzip").unwrap_err();
    assert_eq!(get(&e, "code").as_string().unwrap(), "bad_input");
    // Spent: the same error again.
    let again = session.push(b"more").unwrap_err();
    assert_eq!(get(&again, "message").as_string(), get(&e, "message").as_string());
}
