//! Confluence storage format (XHTML plus `ac:`/`ri:` macros) to plain text, in one streaming
//! pass over the string: no DOM, no allocation per element, never a panic on broken input.
//!
//! Why a scanner and not a parser: page bodies are the bulk of every sync, they are often
//! malformed (pasted HTML, truncated bodies), and the text only needs to keep what a reader
//! sees. The conventions, chosen to stay compatible in meaning with Elastic's connector
//! (`BeautifulSoup(html).get_text(separator="\n")`):
//!
//! * Block elements (`p`, `div`, `h1`–`h6`, `li`, `tr`, `pre`, `blockquote`, `table`, macro
//!   bodies, …) end the current line; `<br>` ends a line even when it is empty, so `a<br><br>b`
//!   keeps one blank line. Runs of blank lines collapse to one; there is no trailing newline.
//! * Inside a line, runs of whitespace become one space; inside `<pre>` and a macro's
//!   `ac:plain-text-body` (the code and noformat macros) spaces and line breaks are kept.
//! * Table cells of one row are separated by a TAB (`\t`), one row per line; block elements
//!   inside a cell become spaces, so a row stays on one line.
//! * Dropped: markup, comments, `<style>`, `<script>`, `<noscript>`, `<template>`, an HTML
//!   `<head>` (its `<title>` too: it repeats the page title), macro parameters
//!   (`ac:parameter`), template placeholders, task ids and statuses, ADF fallbacks (they
//!   repeat the content), XML declarations and doctypes.
//! * Kept: text of code macros (CDATA), panels/info/note/warning bodies, tables, link text;
//!   an `ac:link` without a body shows the linked page's title (`ri:content-title`), the
//!   attachment's file name, the space key or the URL; a link to a user (`ri:user`) shows
//!   nothing (the account id means nothing to a reader). `<time datetime="…"/>` shows the date.
//! * Emoticons (`ac:emoticon`) become their emoji: the `ac:emoji-fallback` attribute when it
//!   is an emoji, else the character of the classic emoticon name; unknown names give nothing.
//! * Entities are decoded: the common named set (incl. `&nbsp;`, which becomes a plain space,
//!   `&rsquo;`, `&hellip;`) and numeric ones; an unknown or malformed entity is kept as written,
//!   a numeric one that is not a character becomes U+FFFD.
//!
//! The scanner is one state machine over one string and stays in this file, longer than most:
//! split, its states would be read across files. The entity and emoticon tables are in
//! [`entities`], the tests in `tests.rs`.

use entities::{decode_entities, decode_entity, emoticon};

/// Text of a Confluence storage-format (or plain HTML/XML) body; see the module doc for the
/// conventions.
pub fn storage_to_text(storage: &str) -> String {
    let mut scan = Scanner {
        src: storage,
        bytes: storage.as_bytes(),
        pos: 0,
        text: TextOut::with_capacity(storage.len() / 2),
        skip_depth: 0,
        preserve_depth: 0,
        tables: Vec::new(),
        link: None,
    };
    scan.run();
    scan.text.out
}

/// The text being built, with the pending separators that are only written when more text
/// follows (so nothing trails and blank-line runs collapse).
struct TextOut {
    out: String,
    /// The current line holds text that a following word must be separated from.
    line_has_text: bool,
    /// Whitespace was seen since the last word.
    pending_space: bool,
    /// Line breaks owed before the next text (at most 2: one blank line).
    pending_newlines: u8,
}

impl TextOut {
    fn with_capacity(cap: usize) -> Self {
        TextOut {
            out: String::with_capacity(cap),
            line_has_text: false,
            pending_space: false,
            pending_newlines: 0,
        }
    }

    fn at_line_start(&self) -> bool {
        self.out.is_empty() || self.out.ends_with('\n')
    }

    /// Writes the owed separators before new text.
    fn flush(&mut self) {
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
    fn end_line(&mut self) {
        if self.pending_newlines == 0 && !self.at_line_start() {
            self.pending_newlines = 1;
        }
    }

    /// A `<br>`: one more line break, even on an empty line.
    fn line_break(&mut self) {
        if !self.out.is_empty() {
            self.pending_newlines = (self.pending_newlines + 1).min(2);
        }
    }

    /// Text whose whitespace runs collapse to one space.
    fn words(&mut self, s: &str) {
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
    fn verbatim(&mut self, s: &str) {
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
    fn cell_separator(&mut self) {
        self.pending_space = false;
        self.flush();
        self.out.push('\t');
        self.line_has_text = false;
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// One open `<table>`: how many cells its current row has, and whether one is open.
struct TableRow {
    cells: u32,
    cell_open: bool,
}

/// An open `ac:link`: where its text started, and what to show if it has none.
struct LinkTarget {
    out_len_at_start: usize,
    fallback: Option<String>,
}

/// The single pass over the body.
struct Scanner<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    text: TextOut,
    /// Depth of elements whose whole content is dropped (`ac:parameter`, …).
    skip_depth: u32,
    /// Depth of elements whose whitespace is kept (`pre`, `ac:plain-text-body`).
    preserve_depth: u32,
    tables: Vec<TableRow>,
    link: Option<LinkTarget>,
}

/// What a tag is, once its name is known.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Inline,
    Block,
    Break,
    Skip,
    RawSkip,
    Preserve,
    Table,
    Row,
    Cell,
    Link,
    LinkTarget,
    Emoticon,
    Time,
}

fn role_of(name: &str) -> Role {
    match name {
        "p"
        | "div"
        | "h1"
        | "h2"
        | "h3"
        | "h4"
        | "h5"
        | "h6"
        | "li"
        | "ul"
        | "ol"
        | "dl"
        | "dt"
        | "dd"
        | "blockquote"
        | "hr"
        | "section"
        | "article"
        | "header"
        | "footer"
        | "nav"
        | "aside"
        | "figure"
        | "figcaption"
        | "address"
        | "main"
        | "details"
        | "summary"
        | "caption"
        | "form"
        | "fieldset"
        | "title"
        | "thead"
        | "tbody"
        | "tfoot"
        | "body"
        | "html"
        | "ac:structured-macro"
        | "ac:macro"
        | "ac:rich-text-body"
        | "ac:task-list"
        | "ac:task"
        | "ac:task-body"
        | "ac:layout"
        | "ac:layout-section"
        | "ac:layout-cell"
        | "ac:adf-extension"
        | "ac:adf-node"
        | "ac:adf-content" => Role::Block,
        "br" => Role::Break,
        "ac:parameter" | "ac:placeholder" | "ac:task-id" | "ac:task-uuid" | "ac:task-status"
        | "ac:adf-fallback" | "ac:adf-attribute" | "head" => Role::Skip,
        "style" | "script" | "noscript" | "template" => Role::RawSkip,
        "pre" | "ac:plain-text-body" => Role::Preserve,
        "table" => Role::Table,
        "tr" => Role::Row,
        "td" | "th" => Role::Cell,
        "ac:link" => Role::Link,
        "ri:page" | "ri:blog-post" | "ri:attachment" | "ri:space" | "ri:url" => Role::LinkTarget,
        "ac:emoticon" => Role::Emoticon,
        "time" => Role::Time,
        _ => Role::Inline,
    }
}

impl Scanner<'_> {
    fn run(&mut self) {
        let len = self.bytes.len();
        while self.pos < len {
            let start = self.pos;
            let next =
                self.bytes[start..].iter().position(|&b| b == b'<' || b == b'&').map_or(len, |p| start + p);
            if next > start {
                self.emit(&self.src[start..next]);
            }
            if next >= len {
                break;
            }
            if self.bytes[next] == b'&' {
                self.pos = self.entity(next);
            } else {
                self.pos = self.markup(next);
            }
        }
    }

    fn emit(&mut self, s: &str) {
        if self.skip_depth > 0 {
            return;
        }
        if self.preserve_depth > 0 {
            self.text.verbatim(s);
        } else {
            self.text.words(s);
        }
    }

    fn in_cell(&self) -> bool {
        self.tables.last().is_some_and(|t| t.cell_open)
    }

    /// A row boundary: a new line, unless the table is nested in a cell of another.
    fn end_row(&mut self) {
        let n = self.tables.len();
        if n >= 2 && self.tables[n - 2].cell_open {
            self.text.pending_space = true;
        } else {
            self.text.end_line();
        }
    }

    fn end_line(&mut self) {
        if self.in_cell() {
            self.text.pending_space = true;
        } else {
            self.text.end_line();
        }
    }

    /// Decodes the entity at `at` (an `&`); returns the position after it.
    fn entity(&mut self, at: usize) -> usize {
        let b = self.bytes;
        let limit = (at + 34).min(b.len());
        let end = b[at + 1..limit]
            .iter()
            .position(|&c| !(c.is_ascii_alphanumeric() || c == b'#'))
            .map(|p| at + 1 + p);
        if let Some(semi) = end.filter(|&e| b[e] == b';' && e > at + 1) {
            let name = &self.src[at + 1..semi];
            if let Some(decoded) = decode_entity(name) {
                let mut buf = [0u8; 4];
                self.emit(decoded.encode_utf8(&mut buf));
                return semi + 1;
            }
        }
        self.emit("&");
        at + 1
    }

    /// Handles the markup at `at` (a `<`); returns the position after it.
    fn markup(&mut self, at: usize) -> usize {
        let b = self.bytes;
        let rest = &b[at + 1..];
        if rest.starts_with(b"!--") {
            return find(b, at + 4, b"-->").map_or(b.len(), |p| p + 3);
        }
        if rest.starts_with(b"![CDATA[") {
            let body = at + 9;
            let (end, next) = find(b, body, b"]]>").map_or((b.len(), b.len()), |p| (p, p + 3));
            if end > body {
                self.emit(&self.src[body..end]);
            }
            return next;
        }
        match rest.first() {
            Some(b'!') | Some(b'?') => {
                return find(b, at + 1, b">").map_or(b.len(), |p| p + 1);
            }
            Some(b'/') if rest.get(1).is_some_and(|c| c.is_ascii_alphabetic()) => {
                let end = tag_end(b, at + 2);
                let name_end = name_end(b, at + 2, end);
                let mut buf = [0u8; 32];
                let name = lower_name(&b[at + 2..name_end], &mut buf);
                self.close(name);
                return (end + 1).min(b.len());
            }
            Some(c) if c.is_ascii_alphabetic() => {}
            _ => {
                // A stray `<` is text.
                self.emit("<");
                return at + 1;
            }
        }
        let end = tag_end(b, at + 1);
        let name_end = name_end(b, at + 1, end);
        let self_closing = end > at + 1 && end < b.len() && b[end - 1] == b'/';
        let mut buf = [0u8; 32];
        let name = lower_name(&b[at + 1..name_end], &mut buf);
        let attrs = &self.src[name_end..end.min(b.len())];
        let after = (end + 1).min(b.len());
        self.open(name, attrs, self_closing, after)
    }

    /// A start tag; returns where scanning goes on.
    fn open(&mut self, name: &str, attrs: &str, self_closing: bool, after: usize) -> usize {
        let role = role_of(name);
        if self.skip_depth > 0 {
            if role == Role::Skip && !self_closing {
                self.skip_depth += 1;
            }
            return after;
        }
        match role {
            Role::Inline => {}
            Role::Block => self.end_line(),
            Role::Break => {
                if self.in_cell() {
                    self.text.pending_space = true;
                } else {
                    self.text.line_break();
                }
            }
            Role::Skip => {
                if !self_closing {
                    self.skip_depth += 1;
                }
            }
            Role::RawSkip => {
                if self_closing {
                    return after;
                }
                // Raw text: everything up to the matching end tag, `<` included.
                let mut close = Vec::with_capacity(name.len() + 2);
                close.extend_from_slice(b"</");
                close.extend_from_slice(name.as_bytes());
                return find_ignore_case(self.bytes, after, &close)
                    .map_or(self.bytes.len(), |p| (tag_end(self.bytes, p + 2) + 1).min(self.bytes.len()));
            }
            Role::Preserve => {
                self.end_line();
                if !self_closing {
                    self.preserve_depth += 1;
                }
            }
            Role::Table => {
                self.end_line();
                if !self_closing {
                    self.tables.push(TableRow { cells: 0, cell_open: false });
                }
            }
            Role::Row => {
                if let Some(t) = self.tables.last_mut() {
                    t.cells = 0;
                    t.cell_open = false;
                }
                self.end_row();
            }
            Role::Cell => {
                if self.tables.is_empty() {
                    // A cell outside any table: behave as if the table were there.
                    self.text.end_line();
                    self.tables.push(TableRow { cells: 0, cell_open: false });
                }
                let mut separate = false;
                if let Some(t) = self.tables.last_mut() {
                    separate = t.cells > 0;
                    t.cells += 1;
                    t.cell_open = !self_closing;
                }
                if separate {
                    self.text.cell_separator();
                }
            }
            Role::Link => {
                if !self_closing {
                    self.link = Some(LinkTarget { out_len_at_start: self.text.out.len(), fallback: None });
                }
            }
            Role::LinkTarget => {
                if let Some(link) = self.link.as_mut().filter(|l| l.fallback.is_none()) {
                    let key = match name {
                        "ri:attachment" => "ri:filename",
                        "ri:space" => "ri:space-key",
                        "ri:url" => "ri:value",
                        _ => "ri:content-title",
                    };
                    link.fallback = attribute(attrs, key);
                }
            }
            Role::Emoticon => {
                if let Some(e) = attribute(attrs, "ac:emoji-fallback")
                    .filter(|f| !f.is_empty() && !f.starts_with(':') && f.chars().count() <= 8)
                {
                    self.text.words(&e);
                } else if let Some(c) = attribute(attrs, "ac:name").and_then(|n| emoticon(&n)) {
                    self.text.words(c);
                }
            }
            Role::Time => {
                if let Some(d) = attribute(attrs, "datetime") {
                    self.text.words(&d);
                }
            }
        }
        after
    }

    /// An end tag.
    fn close(&mut self, name: &str) {
        let role = role_of(name);
        if self.skip_depth > 0 {
            if role == Role::Skip {
                self.skip_depth -= 1;
            }
            return;
        }
        match role {
            Role::Block => self.end_line(),
            Role::Preserve => {
                self.preserve_depth = self.preserve_depth.saturating_sub(1);
                self.end_line();
            }
            Role::Table => {
                self.tables.pop();
                self.end_line();
            }
            Role::Row => {
                if let Some(t) = self.tables.last_mut() {
                    t.cell_open = false;
                }
                self.end_row();
            }
            Role::Cell => {
                if let Some(t) = self.tables.last_mut() {
                    t.cell_open = false;
                }
            }
            Role::Link => {
                if let Some(link) = self.link.take() {
                    if self.text.out.len() == link.out_len_at_start {
                        if let Some(f) = link.fallback {
                            self.text.words(&f);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// Position of the `>` that ends the tag whose name starts at `from` (quotes respected), or
/// `bytes.len()` for a truncated tag.
fn tag_end(b: &[u8], from: usize) -> usize {
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

fn name_end(b: &[u8], from: usize, end: usize) -> usize {
    let end = end.min(b.len());
    b[from..end].iter().position(|&c| is_space(c) || c == b'/' || c == b'>').map_or(end, |p| from + p)
}

/// The lower-cased tag name, or "" for a name too long to be one we know.
fn lower_name<'b>(name: &[u8], buf: &'b mut [u8; 32]) -> &'b str {
    if name.len() > buf.len() || !name.is_ascii() {
        return "";
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    std::str::from_utf8(&buf[..name.len()]).unwrap_or("")
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= b.len() {
        return None;
    }
    b[from..].windows(needle.len()).position(|w| w == needle).map(|p| from + p)
}

fn find_ignore_case(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= b.len() {
        return None;
    }
    b[from..].windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle)).map(|p| from + p)
}

/// The entity-decoded value of attribute `key` in the text after a tag name.
fn attribute(attrs: &str, key: &str) -> Option<String> {
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

mod entities;
#[cfg(test)]
mod tests;
