//! Storage-format page bodies, derived from (seed, id, version) on each request: headings,
//! paragraphs, lists, tables, an info panel, a code macro with a CDATA body, a user link and
//! an emoticon — the XHTML dialect connectors have to turn into text. Nothing is stored, so a
//! million-page site costs no body memory.

use super::generate::mix;

/// The vocabulary of generated text (titles, paragraphs, file contents).
pub const WORDS: &[&str] = &[
    "architecture",
    "release",
    "deployment",
    "customer",
    "roadmap",
    "incident",
    "review",
    "design",
    "database",
    "service",
    "pipeline",
    "security",
    "onboarding",
    "meeting",
    "quarterly",
    "budget",
    "migration",
    "performance",
    "latency",
    "throughput",
    "backlog",
    "sprint",
    "retrospective",
    "feature",
    "rollout",
    "monitoring",
    "alerting",
    "capacity",
    "search",
    "index",
    "cluster",
    "shard",
    "replica",
    "gateway",
    "network",
    "storage",
    "policy",
    "compliance",
    "audit",
    "training",
    "handbook",
    "process",
    "workflow",
    "template",
    "decision",
    "proposal",
    "summary",
    "analysis",
    "report",
    "metrics",
];

/// Makes the storage-format body of one content version. `paragraphs` sets the size (about
/// 600 bytes each); `user_link` is the `ri:user` attribute naming a user, e.g.
/// `ri:userkey="…"` (Server/DC) or `ri:account-id="…"` (Cloud).
pub fn storage_body(seed: u64, id: u64, version: u32, paragraphs: u32, user_link: &str) -> String {
    let mut state = mix(mix(seed, id), u64::from(version));
    let mut out = String::with_capacity(paragraphs as usize * 640 + 512);
    out.push_str("<h1>");
    push_words(&mut out, &mut state, 4);
    out.push_str("</h1>");
    for section in 0..paragraphs.max(1) {
        out.push_str("<p>");
        push_words(&mut out, &mut state, 60);
        out.push_str("</p>");
        match section % 6 {
            0 => {
                out.push_str("<ul><li>");
                push_words(&mut out, &mut state, 6);
                out.push_str("</li><li>");
                push_words(&mut out, &mut state, 6);
                out.push_str("</li></ul>");
            }
            1 => {
                out.push_str(
                    "<ac:structured-macro ac:name=\"code\" ac:schema-version=\"1\">\
                     <ac:parameter ac:name=\"language\">rust</ac:parameter>\
                     <ac:plain-text-body><![CDATA[fn main() {\n    let x = 1 < 2 && 3 > 2;\n    println!(\"",
                );
                push_words(&mut out, &mut state, 3);
                out.push_str("\");\n}]]></ac:plain-text-body></ac:structured-macro>");
            }
            2 => {
                out.push_str("<table><tbody><tr><th>Item</th><th>Owner</th></tr><tr><td>");
                push_words(&mut out, &mut state, 2);
                out.push_str("</td><td><ac:link><ri:user ");
                out.push_str(user_link);
                out.push_str(" /></ac:link></td></tr></tbody></table>");
            }
            3 => {
                out.push_str(
                    "<ac:structured-macro ac:name=\"info\" ac:schema-version=\"1\"><ac:rich-text-body><p>",
                );
                push_words(&mut out, &mut state, 12);
                out.push_str(
                    " <ac:emoticon ac:name=\"smile\" /></p></ac:rich-text-body></ac:structured-macro>",
                );
            }
            4 => {
                out.push_str("<h2>");
                push_words(&mut out, &mut state, 3);
                out.push_str("</h2>");
            }
            _ => {
                out.push_str("<p>Special characters: &amp; &lt;tag&gt; &quot;quoted&quot; caf\u{e9} \u{65e5}\u{672c}</p>");
            }
        }
    }
    out
}

/// The plain words of a storage body (tags dropped), for `text ~` matching.
pub fn plain_text(storage: &str) -> String {
    let mut out = String::with_capacity(storage.len());
    let mut in_tag = false;
    for ch in storage.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(ch),
            _ => {}
        }
    }
    out
}

fn push_words(out: &mut String, state: &mut u64, count: usize) {
    for i in 0..count {
        *state = mix(*state, i as u64);
        if i > 0 {
            out.push(' ');
        }
        out.push_str(WORDS[(*state % WORDS.len() as u64) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_deterministic_and_change_with_the_version() {
        let a = storage_body(1, 100, 1, 6, "ri:userkey=\"k\"");
        assert_eq!(a, storage_body(1, 100, 1, 6, "ri:userkey=\"k\""));
        assert_ne!(a, storage_body(1, 100, 2, 6, "ri:userkey=\"k\""));
        assert!(a.contains("<![CDATA["));
        assert!(a.contains("ac:emoticon"));
        assert!(a.contains("<table>"));
        assert!(a.contains("ri:userkey=\"k\""));
    }

    #[test]
    fn plain_text_drops_tags() {
        assert_eq!(plain_text("<p>a</p><b>c</b>").split_whitespace().collect::<Vec<_>>(), ["a", "c"]);
    }
}
