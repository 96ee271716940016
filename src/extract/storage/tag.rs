//! Reading one tag in the bytes of a body: where it ends (quotes respected), its lower-cased
//! name, the value of one attribute, and the byte searches the scanner skips with.

use super::entities::decode_entities;
use super::text_out::is_space;

/// Position of the `>` that ends the tag whose name starts at `from` (quotes respected), or
/// `bytes.len()` for a truncated tag.
#[inline]
pub(super) fn tag_end(b: &[u8], from: usize) -> usize {
    let mut i = from;
    let mut quote = 0u8;
    while i < b.len() {
        let c = b[i];
        if quote != 0 {
            if c == quote {
                quote = 0;
            }
        } else if c == b'>' {
            return i;
        } else if c == b'"' || c == b'\'' {
            quote = c;
        }
        i += 1;
    }
    // An unbalanced quote: fall back to the first `>` at all.
    find(b, from, b">").unwrap_or(b.len())
}

/// Where the tag name that starts at `from` ends (before `end`).
#[inline]
pub(super) fn name_end(b: &[u8], from: usize, end: usize) -> usize {
    let end = end.min(b.len());
    b[from..end].iter().position(|&c| is_space(c) || c == b'/' || c == b'>').map_or(end, |p| from + p)
}

/// The lower-cased tag name, or "" for a name too long to be one we know.
#[inline]
pub(super) fn lower_name<'b>(name: &[u8], buf: &'b mut [u8; 32]) -> &'b str {
    if name.len() > buf.len() || !name.is_ascii() {
        return "";
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    std::str::from_utf8(&buf[..name.len()]).unwrap_or("")
}

/// Position of `needle` at or after `from`.
#[inline]
pub(super) fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= b.len() {
        return None;
    }
    b[from..].windows(needle.len()).position(|w| w == needle).map(|p| from + p)
}

/// Position of `needle` at or after `from`, ASCII case ignored.
#[inline]
pub(super) fn find_ignore_case(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= b.len() {
        return None;
    }
    b[from..].windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle)).map(|p| from + p)
}

/// The entity-decoded value of attribute `key` in the text after a tag name.
#[inline]
pub(super) fn attribute(attrs: &str, key: &str) -> Option<String> {
    let b = attrs.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (is_space(b[i]) || b[i] == b'/') {
            i += 1;
        }
        let name_start = i;
        while i < b.len() && !is_space(b[i]) && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        let name = &attrs[name_start..i];
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        if i >= b.len() || b[i] != b'=' {
            if name.is_empty() {
                i += 1;
            }
            continue;
        }
        i += 1;
        while i < b.len() && is_space(b[i]) {
            i += 1;
        }
        let (value, next) = match b.get(i) {
            Some(&q) if q == b'"' || q == b'\'' => {
                let start = i + 1;
                let end = b[start..].iter().position(|&c| c == q).map_or(b.len(), |p| start + p);
                (&attrs[start..end], end + 1)
            }
            _ => {
                let start = i;
                let end =
                    b[start..].iter().position(|&c| is_space(c) || c == b'/').map_or(b.len(), |p| start + p);
                (&attrs[start..end], end)
            }
        };
        if name.eq_ignore_ascii_case(key) {
            return Some(decode_entities(value));
        }
        i = next;
    }
    None
}
