//! Number parsing: strict subsets of Python's `int(text)` and `float(text)`.
//!
//! Every text these functions accept is accepted by Python with the same value; texts
//! they refuse (`None`) may or may not be accepted by Python, so the caller defers.

/// Python's `str.isspace()` for ASCII characters (what `int()`/`float()`/`str.split()`
/// strip or split on, as far as ASCII goes).
pub(crate) fn is_py_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x1c..=0x1f | b' ')
}

/// `text.strip()` for ASCII text; `None` if the text has any non-ASCII character
/// (Python's Unicode whitespace set is not reproduced).
pub(crate) fn py_strip(text: &str) -> Option<&str> {
    if !text.is_ascii() {
        return None;
    }
    let b = text.as_bytes();
    let mut s = 0;
    let mut e = b.len();
    while s < e && is_py_space(b[s]) {
        s += 1;
    }
    while e > s && is_py_space(b[e - 1]) {
        e -= 1;
    }
    Some(&text[s..e])
}

/// `int(text)` when the text is (after ASCII whitespace) an optional sign and ASCII
/// digits whose value fits in `i64`.
pub(crate) fn py_int(text: &str) -> Option<i64> {
    let t = py_strip(text)?.as_bytes();
    let (neg, digits) = match t.first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i128 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i128::from(d - b'0');
        if v > 1 << 64 {
            return None;
        }
    }
    let v = if neg { -v } else { v };
    i64::try_from(v).ok()
}

/// `float(text)` for the plain decimal forms `[sign] (digits [. [digits]] | . digits)
/// [(e|E) [sign] digits]` (no `inf`/`nan`, no underscores).
pub(crate) fn py_float(text: &str) -> Option<f64> {
    let t = py_strip(text)?;
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        frac_digits = i - s;
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let s = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == s {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    t.parse::<f64>().ok()
}

/// `text.split()` (no argument) for ASCII text; `None` for non-ASCII text.
pub(crate) fn py_split_ws(text: &str) -> Option<Vec<&str>> {
    if !text.is_ascii() {
        return None;
    }
    Some(text.split(|c: char| is_py_space(c as u8)).filter(|s| !s.is_empty()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints() {
        assert_eq!(py_int(" 12\n"), Some(12));
        assert_eq!(py_int("-0"), Some(0));
        assert_eq!(py_int("+7"), Some(7));
        assert_eq!(py_int("007"), Some(7));
        assert_eq!(py_int(""), None);
        assert_eq!(py_int("-"), None);
        assert_eq!(py_int("1_0"), None);
        assert_eq!(py_int("3.0"), None);
        assert_eq!(py_int("9223372036854775807"), Some(i64::MAX));
        assert_eq!(py_int("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(py_int("9223372036854775808"), None);
        assert_eq!(py_int("99999999999999999999999999999"), None);
    }

    #[test]
    fn floats() {
        assert_eq!(py_float("1"), Some(1.0));
        assert_eq!(py_float(" .5 "), Some(0.5));
        assert_eq!(py_float("1."), Some(1.0));
        assert_eq!(py_float("-1e3"), Some(-1000.0));
        assert_eq!(py_float("."), None);
        assert_eq!(py_float("e3"), None);
        assert_eq!(py_float("1e"), None);
        assert_eq!(py_float("nan"), None);
        assert_eq!(py_float("inf"), None);
        assert_eq!(py_float("1_0"), None);
    }
}
