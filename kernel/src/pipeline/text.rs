//! The compact text form: `op key=value ... | op ...`.
//!
//! It is translated to the canonical JSON form and checked by the same code, so both
//! forms mean the same thing. Values may be quoted: `"..."` (with `\"` and `\\`
//! escapes) or `'...'` (literal); `|` and spaces inside quotes are part of the value.
//! Values are typed by the op's parameter spec: `width=800` becomes the number 800,
//! `kernel=0,-1,0,...` a list of numbers, `columns=a,b` a list of names. A leading
//! or trailing step `limits key=value ...` tightens the limits.

use serde_json::{Map, Value as Json};

use crate::op::{self, ParamType};
use crate::{Error, Result};

/// Translates the text form to the JSON form `{"steps": [...], "limits": {...}}`.
pub fn to_json(text: &str) -> Result<Json> {
    let mut steps = Vec::new();
    let mut limits = Map::new();
    for (index, words) in split_steps(text)?.into_iter().enumerate() {
        let mut words = words.into_iter();
        let Some(op) = words.next() else {
            return Err(Error::bad_pipeline("empty step (two `|` in a row, or a `|` at an end)").at_step(index));
        };
        if op.contains('=') {
            return Err(Error::bad_pipeline(format!("step starts with `{op}`; expected an op name")).at_step(index));
        }
        let target = if op == "limits" { &mut limits } else { &mut Map::new() };
        let spec = op::find(&op);
        let mut step = Map::new();
        for word in words {
            let Some((key, value)) = word.split_once('=') else {
                return Err(Error::bad_pipeline(format!(
                    "`{word}` is not key=value (parameters are written name=value)"
                ))
                .at_step(index));
            };
            if key.is_empty() {
                return Err(Error::bad_pipeline(format!("`{word}` has no parameter name")).at_step(index));
            }
            let typed = if op == "limits" {
                value
                    .parse::<u64>()
                    .map(Json::from)
                    .unwrap_or_else(|_| Json::from(value))
            } else {
                let ty = spec.and_then(|s| s.param(key)).map(|p| p.ty);
                typed_value(value, ty)
            };
            let map = if op == "limits" { &mut *target } else { &mut step };
            if map.insert(key.to_owned(), typed).is_some() {
                return Err(Error::bad_pipeline(format!("parameter `{key}` given twice"))
                    .at_step(index)
                    .with_param(key));
            }
        }
        if op != "limits" {
            let mut object = Map::new();
            object.insert("op".into(), Json::from(op));
            object.extend(step);
            steps.push(Json::Object(object));
        }
    }
    let mut root = Map::new();
    root.insert("steps".into(), Json::Array(steps));
    if !limits.is_empty() {
        root.insert("limits".into(), Json::Object(limits));
    }
    Ok(Json::Object(root))
}

/// Types a text value by the parameter's spec; anything that does not parse stays a
/// string, so the checker reports the type error in one place for both forms.
fn typed_value(value: &str, ty: Option<ParamType>) -> Json {
    let as_string = || Json::from(value);
    match ty {
        Some(ParamType::Int { .. } | ParamType::IntChoice(_)) => {
            value.parse::<i64>().map(Json::from).unwrap_or_else(|_| as_string())
        }
        Some(ParamType::Float { .. }) => match value.parse::<f64>() {
            Ok(v) if v.is_finite() => Json::from(v),
            _ => as_string(),
        },
        Some(ParamType::Bool) => match value {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            _ => as_string(),
        },
        Some(ParamType::Numbers(_)) => {
            let numbers: Option<Vec<Json>> = value
                .split(',')
                .map(|n| n.trim().parse::<f64>().ok().filter(|v| v.is_finite()).map(Json::from))
                .collect();
            numbers.map(Json::Array).unwrap_or_else(as_string)
        }
        Some(ParamType::Names) => Json::Array(value.split(',').map(|n| Json::from(n.trim())).collect()),
        Some(ParamType::Choice(_) | ParamType::Char | ParamType::CharOrAuto | ParamType::Text | ParamType::Color)
        | None => as_string(),
    }
}

/// Splits into steps of words, honouring quotes.
fn split_steps(text: &str) -> Result<Vec<Vec<String>>> {
    let mut steps = vec![Vec::new()];
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '|' => {
                finish_word(&mut steps, &mut word, &mut in_word);
                steps.push(Vec::new());
            }
            c if c.is_whitespace() => finish_word(&mut steps, &mut word, &mut in_word),
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\')) => word.push(e),
                            Some(e) => {
                                word.push('\\');
                                word.push(e);
                            }
                            None => return Err(unclosed(steps.len() - 1)),
                        },
                        Some(c) => word.push(c),
                        None => return Err(unclosed(steps.len() - 1)),
                    }
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(unclosed(steps.len() - 1)),
                    }
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    finish_word(&mut steps, &mut word, &mut in_word);
    if steps.len() == 1 && steps[0].is_empty() {
        steps.clear();
    }
    Ok(steps)
}

fn finish_word(steps: &mut [Vec<String>], word: &mut String, in_word: &mut bool) {
    if *in_word {
        if let Some(step) = steps.last_mut() {
            step.push(std::mem::take(word));
        }
        *in_word = false;
    }
}

fn unclosed(step: usize) -> Error {
    Error::bad_pipeline("unclosed quote").at_step(step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_values_by_spec() {
        let j = to_json("resize width=800 fit=contain | blur sigma=1.5 | encode format=webp").unwrap();
        assert_eq!(
            j,
            json!({"steps": [
                {"op": "resize", "width": 800, "fit": "contain"},
                {"op": "blur", "sigma": 1.5},
                {"op": "encode", "format": "webp"}
            ]})
        );
    }

    #[test]
    fn quotes_keep_spaces_and_pipes() {
        let j = to_json(r#"parse_csv delimiter=';' | filter where="name == 'a|b' " | select columns=a,b"#).unwrap();
        assert_eq!(j["steps"][0]["delimiter"], json!(";"));
        assert_eq!(j["steps"][1]["where"], json!("name == 'a|b' "));
        assert_eq!(j["steps"][2]["columns"], json!(["a", "b"]));
    }

    #[test]
    fn lists_and_limits() {
        let j = to_json("limits max_pixels=100 | convolve kernel=0,-1,0,-1,5,-1,0,-1,0").unwrap();
        assert_eq!(j["limits"], json!({"max_pixels": 100}));
        assert_eq!(
            j["steps"][0]["kernel"],
            json!([0.0, -1.0, 0.0, -1.0, 5.0, -1.0, 0.0, -1.0, 0.0])
        );
    }

    #[test]
    fn bad_text_is_bad_pipeline_with_step() {
        for (text, step) in [
            ("resize width=1 | | blur sigma=1", 1),
            ("blur sigma", 0),
            ("grayscale | blur sigma=\"1", 1),
            ("blur sigma=1 sigma=2", 0),
            ("blur =1", 0),
        ] {
            let e = to_json(text).unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::BadPipeline, "{text}");
            assert_eq!(e.step, Some(step), "{text}");
        }
    }

    #[test]
    fn untyped_values_stay_strings() {
        let j = to_json("resize width=abc").unwrap();
        assert_eq!(j["steps"][0]["width"], json!("abc"));
        assert_eq!(to_json("  ").unwrap(), json!({"steps": []}));
    }
}
