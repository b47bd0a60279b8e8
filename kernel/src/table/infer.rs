//! Type inference from text: the rules `parse_csv` types its cells by, and bare values
//! in `filter` predicates.

/// A scalar inferred from text: the type rules of `parse_csv` (and of bare values in
/// `filter` predicates).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scalar {
    /// Empty text.
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Keep the text as a string.
    Text,
}

/// Infers the type of a CSV cell: see [`parse_csv`].
pub(crate) fn infer(text: &str) -> Scalar {
    let bytes = text.as_bytes();
    match bytes.first() {
        None => Scalar::Null,
        Some(b't' | b'T') if text.eq_ignore_ascii_case("true") => Scalar::Bool(true),
        Some(b'f' | b'F') if text.eq_ignore_ascii_case("false") => Scalar::Bool(false),
        Some(b'-' | b'0'..=b'9') => match json_number(bytes) {
            Some(true) => match text.parse::<i64>() {
                Ok(i) => Scalar::Int(i),
                Err(_) => finite_float(text),
            },
            Some(false) => finite_float(text),
            None => Scalar::Text,
        },
        Some(_) => Scalar::Text,
    }
}

fn finite_float(text: &str) -> Scalar {
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => Scalar::Float(f),
        _ => Scalar::Text,
    }
}

/// Whether `b` is a number in JSON's grammar: `Some(true)` for an integer (no fraction,
/// no exponent), `Some(false)` for other numbers, `None` if it is not a number.
fn json_number(b: &[u8]) -> Option<bool> {
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let mut i = usize::from(b.first() == Some(&b'-'));
    i = match b.get(i) {
        Some(b'0') => i + 1,
        Some(b'1'..=b'9') => digits(i + 1),
        _ => return None,
    };
    let mut integer = true;
    if b.get(i) == Some(&b'.') {
        if !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        i = digits(i + 1);
        integer = false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        i = digits(i);
        integer = false;
    }
    (i == b.len()).then_some(integer)
}
