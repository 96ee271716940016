//! The text being built: words, verbatim code and table cells, with the separators owed
//! between them written only when more text follows, so nothing trails and runs of blank
//! lines collapse to one.
//!
//! Its methods and [`is_space`] are marked `#[inline]`: they run for every word of every body,
//! and this module may be compiled apart from the scanner that calls them.

/// The text being built, with the pending separators that are only written when more text
/// follows (so nothing trails and blank-line runs collapse).
pub(super) struct TextOut {
    /// The text so far.
    pub(super) out: String,
    /// The current line holds text that a following word must be separated from.
    line_has_text: bool,
    /// Whitespace was seen since the last word.
    pub(super) pending_space: bool,
    /// Line breaks owed before the next text (at most 2: one blank line).
    pending_newlines: u8,
}

impl TextOut {
    #[inline]
    pub(super) fn with_capacity(cap: usize) -> Self {
        TextOut {
            out: String::with_capacity(cap),
            line_has_text: false,
            pending_space: false,
            pending_newlines: 0,
        }
    }

    #[inline]
    pub(super) fn at_line_start(&self) -> bool {
        self.out.is_empty() || self.out.ends_with('\n')
    }

    /// Writes the owed separators before new text.
    #[inline]
    pub(super) fn flush(&mut self) {
        if self.pending_newlines > 0 {
            if !self.out.is_empty() {
                let b = self.out.as_bytes();
                let trailing = b.iter().rev().take(2).take_while(|&&c| c == b'\n').count();
                let want = usize::from(self.pending_newlines).saturating_sub(trailing);
                for _ in 0..want {
                    self.out.push('\n');
                }
            }
            self.pending_newlines = 0;
            self.pending_space = false;
            self.line_has_text = false;
        } else if self.pending_space {
            if self.line_has_text {
                self.out.push(' ');
            }
            self.pending_space = false;
        }
    }

    /// Ends the current line (a block boundary).
    #[inline]
    pub(super) fn end_line(&mut self) {
        if self.pending_newlines == 0 && !self.at_line_start() {
            self.pending_newlines = 1;
        }
    }

    /// A `<br>`: one more line break, even on an empty line.
    #[inline]
    pub(super) fn line_break(&mut self) {
        if !self.out.is_empty() {
            self.pending_newlines = (self.pending_newlines + 1).min(2);
        }
    }

    /// Text whose whitespace runs collapse to one space.
    #[inline]
    pub(super) fn words(&mut self, s: &str) {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if is_space(b[i]) {
                self.pending_space = true;
                i += 1;
                continue;
            }
            // Copy words separated by single spaces in one go; longer whitespace runs and
            // other whitespace characters go through `pending_space`.
            let start = i;
            loop {
                while i < b.len() && !is_space(b[i]) {
                    i += 1;
                }
                if i + 1 < b.len() && b[i] == b' ' && !is_space(b[i + 1]) {
                    i += 1;
                    continue;
                }
                break;
            }
            self.flush();
            // Split at ASCII bytes only, so both ends are char boundaries.
            self.out.push_str(&s[start..i]);
            self.line_has_text = true;
        }
    }

    /// Text whose spaces and line breaks are kept (code).
    #[inline]
    pub(super) fn verbatim(&mut self, s: &str) {
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\n' => {
                    self.pending_newlines = (self.pending_newlines + 1).min(2);
                    self.pending_space = false;
                    i += 1;
                }
                b'\r' => {
                    if b.get(i + 1) != Some(&b'\n') {
                        self.pending_newlines = (self.pending_newlines + 1).min(2);
                    }
                    i += 1;
                }
                _ => {
                    let start = i;
                    while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                        i += 1;
                    }
                    self.flush();
                    self.out.push_str(&s[start..i]);
                    self.line_has_text = true;
                }
            }
        }
    }

    /// The table cell separator.
    #[inline]
    pub(super) fn cell_separator(&mut self) {
        self.pending_space = false;
        self.flush();
        self.out.push('\t');
        self.line_has_text = false;
    }
}

/// Whitespace as HTML counts it.
#[inline]
pub(super) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}
