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
//! The scanner is one state machine over one string and stays in this file whole: split, its
//! states would be read across files. What it writes to is [`text_out`] (the pending
//! separators), how it reads one tag is [`tag`], the entity and emoticon tables are in
//! [`entities`], the tests in `tests.rs`.

use entities::{decode_entity, emoticon};
use tag::{attribute, find, find_ignore_case, lower_name, name_end, tag_end};
use text_out::TextOut;

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

mod entities;
mod tag;
mod text_out;

#[cfg(test)]
mod tests;
