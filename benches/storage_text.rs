//! Throughput of `storage_to_text` on a deterministic ~50 MB corpus of storage-format pages
//! (headings, paragraphs with inline markup and entities, tables, code and panel macros,
//! links, emoticons, tasks, non-ASCII text). Prints the median MB/s of several runs and writes
//! `target/bench/storage_text.json` as `{"median_mb_per_s": …, "runs": [...]}`.

use std::hint::black_box;
use std::time::Instant;

use confluence_connector::storage_to_text;

/// Corpus size to reach, in bytes.
const CORPUS_BYTES: usize = 50 * 1024 * 1024;
/// Timed passes over the corpus.
const RUNS: usize = 7;

/// A small deterministic generator (xorshift64*), so every run measures the same corpus.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const WORDS: [&str; 24] = [
    "deployment",
    "the",
    "cluster",
    "Zürich",
    "naïve",
    "release",
    "and",
    "of",
    "configuration",
    "東京",
    "service",
    "owner",
    "résumé",
    "to",
    "index",
    "Ελλάδα",
    "backup",
    "is",
    "a",
    "team",
    "Москва",
    "retry",
    "for",
    "pipeline",
];

fn sentence(rng: &mut Xorshift, out: &mut String) {
    let n = 6 + rng.next() % 14;
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        match rng.next() % 20 {
            0 => out.push_str("<strong>"),
            1 => out.push_str("&nbsp;"),
            2 => out.push_str("&rsquo;"),
            3 => out.push_str("&amp; "),
            _ => {}
        }
        out.push_str(rng.pick(&WORDS));
        if matches!(rng.next() % 20, 0) {
            out.push_str("</strong>");
        }
    }
    out.push_str(rng.pick(&[".", "&hellip;", "!", ".", "?"]));
}

fn page(rng: &mut Xorshift, out: &mut String) {
    out.push_str("<h1>Runbook ");
    out.push_str(&rng.next().to_string());
    out.push_str("</h1>");
    for _ in 0..(4 + rng.next() % 8) {
        match rng.next() % 9 {
            0 => {
                out.push_str("<table><tbody><tr><th>Name</th><th>Value</th><th>Notes</th></tr>");
                for _ in 0..(2 + rng.next() % 6) {
                    out.push_str("<tr><td><p>");
                    out.push_str(rng.pick(&WORDS));
                    out.push_str("</p></td><td>");
                    out.push_str(&(rng.next() % 10_000).to_string());
                    out.push_str("</td><td>");
                    sentence(rng, out);
                    out.push_str("</td></tr>");
                }
                out.push_str("</tbody></table>");
            }
            1 => {
                out.push_str(r#"<ac:structured-macro ac:name="code" ac:schema-version="1" ac:macro-id="6f0c1c9e"><ac:parameter ac:name="language">python</ac:parameter><ac:parameter ac:name="linenumbers">true</ac:parameter><ac:plain-text-body><![CDATA[def handler(event, context):
    if event["count"] < 10 and event["name"] != "x":
        return {"status": 200}
    raise RuntimeError("bad <input> & more")
]]></ac:plain-text-body></ac:structured-macro>"#);
            }
            2 => {
                out.push_str(r#"<ac:structured-macro ac:name="info" ac:schema-version="1"><ac:parameter ac:name="title">Note</ac:parameter><ac:rich-text-body><p>"#);
                sentence(rng, out);
                out.push_str("</p></ac:rich-text-body></ac:structured-macro>");
            }
            3 => {
                out.push_str(r#"<p>See <ac:link><ri:page ri:content-title="Architecture &amp; Design" ri:space-key="ENG"/></ac:link> and <a href="https://example.com/a?b=1&amp;c=2">the dashboard</a> <ac:emoticon ac:name="smile"/> or ask <ac:link><ri:user ri:account-id="557058:f7a6b5c4"/></ac:link>.</p>"#);
            }
            4 => {
                out.push_str("<ul>");
                for _ in 0..(2 + rng.next() % 5) {
                    out.push_str("<li>");
                    sentence(rng, out);
                    out.push_str("</li>");
                }
                out.push_str("</ul>");
            }
            5 => {
                out.push_str("<ac:task-list><ac:task><ac:task-id>17</ac:task-id><ac:task-status>incomplete</ac:task-status><ac:task-body>");
                sentence(rng, out);
                out.push_str("</ac:task-body></ac:task></ac:task-list>");
            }
            _ => {
                out.push_str("<p>");
                for _ in 0..(1 + rng.next() % 4) {
                    sentence(rng, out);
                    out.push(' ');
                }
                out.push_str("<br/>&#x1F600; &#169; &eacute;t&eacute;</p>");
            }
        }
    }
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test` this is a quick smoke run.
    let benching = std::env::args().any(|a| a == "--bench");
    let corpus_bytes = if benching { CORPUS_BYTES } else { CORPUS_BYTES / 50 };
    let mut rng = Xorshift(0x9E37_79B9_7F4A_7C15);
    let mut pages = Vec::new();
    let mut total = 0;
    while total < corpus_bytes {
        let mut p = String::new();
        page(&mut rng, &mut p);
        total += p.len();
        pages.push(p);
    }
    let mb = total as f64 / 1e6;
    let mut runs = Vec::with_capacity(RUNS);
    let mut out_bytes = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        out_bytes = 0;
        for p in &pages {
            out_bytes += black_box(storage_to_text(black_box(p))).len();
        }
        runs.push(mb / start.elapsed().as_secs_f64());
    }
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    println!(
        "storage_text: {} pages, {mb:.1} MB in, {:.1} MB out; median {median:.1} MB/s over {RUNS} runs",
        pages.len(),
        out_bytes as f64 / 1e6
    );
    let dir =
        std::path::Path::new(&std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_string()))
            .join("bench");
    let runs_json: Vec<String> = runs.iter().map(|r| format!("{r:.2}")).collect();
    let json = format!(
        "{{\"median_mb_per_s\": {median:.2}, \"runs\": [{}], \"corpus_bytes\": {total}}}\n",
        runs_json.join(", ")
    );
    if !benching {
        return;
    }
    if let Err(e) =
        std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(dir.join("storage_text.json"), json))
    {
        eprintln!("could not write {}: {e}", dir.join("storage_text.json").display());
        std::process::exit(1);
    }
}
