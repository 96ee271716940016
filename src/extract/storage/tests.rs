//! The conventions of the module doc, one test each, on storage-format snippets.

use super::storage_to_text as t;

#[test]
fn paragraphs_and_headings_end_lines() {
    assert_eq!(t("<h1>Title</h1><p>One  two\n three</p><p>Four</p>"), "Title\nOne two three\nFour");
}

#[test]
fn breaks_keep_one_blank_line_at_most() {
    assert_eq!(t("<p>a<br/>b<br><br/><br/><br/>c</p>"), "a\nb\n\nc");
    assert_eq!(t("<p>a</p><p></p><p></p><br/><br/><br/><p>b</p>"), "a\n\nb");
}

#[test]
fn no_leading_or_trailing_whitespace() {
    assert_eq!(t("  <p>  hello  </p>  <br/> "), "hello");
    assert_eq!(t(""), "");
}

#[test]
fn inline_elements_do_not_split_words() {
    assert_eq!(t("<p>Hel<strong>lo</strong> <em>wor</em>ld</p>"), "Hello world");
}

#[test]
fn code_macro_keeps_cdata_verbatim_and_drops_parameters() {
    let s = r#"<p>Before</p><ac:structured-macro ac:name="code" ac:schema-version="1"><ac:parameter ac:name="language">rust</ac:parameter><ac:parameter ac:name="title">Example</ac:parameter><ac:plain-text-body><![CDATA[fn main() {
    let a = 1 < 2 && 3 > 2; // &amp; stays
}]]></ac:plain-text-body></ac:structured-macro><p>After</p>"#;
    assert_eq!(t(s), "Before\nfn main() {\n    let a = 1 < 2 && 3 > 2; // &amp; stays\n}\nAfter");
}

#[test]
fn panels_keep_rich_text_body() {
    let s = r#"<ac:structured-macro ac:name="info"><ac:parameter ac:name="title">Heads up</ac:parameter><ac:rich-text-body><p>Read <b>this</b>.</p></ac:rich-text-body></ac:structured-macro><ac:structured-macro ac:name="warning"><ac:rich-text-body><p>Careful</p></ac:rich-text-body></ac:structured-macro>"#;
    assert_eq!(t(s), "Read this.\nCareful");
}

#[test]
fn tables_use_tabs_between_cells_and_lines_between_rows() {
    let s = "<table><tbody><tr><th>Name</th><th>Age</th></tr><tr><td><p>Ann</p><p>Lee</p></td><td>42</td></tr><tr><td></td><td>x</td></tr></tbody></table><p>next</p>";
    assert_eq!(t(s), "Name\tAge\nAnn Lee\t42\n\tx\nnext");
}

#[test]
fn nested_table_does_not_break_the_outer_row() {
    let s =
        "<table><tr><td>a</td><td><table><tr><td>b</td><td>c</td></tr></table></td><td>d</td></tr></table>";
    assert_eq!(t(s), "a\tb\tc\td");
}

#[test]
fn links_show_their_text_or_the_target_title() {
    let s = r#"<p>See <a href="https://x.test/?a=1&amp;b=2">the docs</a>, <ac:link><ri:page ri:content-title="Home &amp; Away" ri:space-key="DEV"/></ac:link>, <ac:link><ri:page ri:content-title="Ignored"/><ac:plain-text-link-body><![CDATA[label here]]></ac:plain-text-link-body></ac:link>, <ac:link><ri:attachment ri:filename="report.pdf"/></ac:link> and <ac:link><ri:user ri:account-id="5b10ac8d82e05b22cc7d4ef5"/></ac:link>.</p>"#;
    assert_eq!(t(s), "See the docs, Home & Away, label here, report.pdf and .");
}

#[test]
fn link_with_rich_body() {
    let s =
        r#"<ac:link><ri:page ri:content-title="T"/><ac:link-body><b>Bold</b> link</ac:link-body></ac:link>"#;
    assert_eq!(t(s), "Bold link");
}

#[test]
fn emoticons_become_emoji() {
    let s = r#"<p>Hi <ac:emoticon ac:name="smile"/> <ac:emoticon ac:name="blue-star" ac:emoji-shortname=":grinning:" ac:emoji-id="1f600" ac:emoji-fallback="😀"/> <ac:emoticon ac:name="nonsense"/>!</p>"#;
    assert_eq!(t(s), "Hi 🙂 😀 !");
}

#[test]
fn entities_are_decoded() {
    assert_eq!(
        t("<p>a&nbsp;b &rsquo;c&hellip; &lt;tag&gt; &amp;amp; &#123; &#x1F600; &eacute;</p>"),
        "a b ’c… <tag> &amp; { 😀 é"
    );
}

#[test]
fn bad_entities_are_kept_or_replaced() {
    assert_eq!(
        t("AT&T &bogus; & &#xZZ; &#99999999999; &#xD800; &;"),
        "AT&T &bogus; & &#xZZ; \u{FFFD} \u{FFFD} &;"
    );
}

#[test]
fn style_script_comments_and_head_are_dropped() {
    let s = "<html><head><title>T</title><style>p { color: red; }</style></head><body><!-- hidden <p>x</p> --><script>if (a < b) { x('</p>'); }</script><p>Shown</p><SCRIPT type='x'>bad</SCRIPT></body></html>";
    assert_eq!(t(s), "Shown");
}

#[test]
fn tasks_keep_only_their_body() {
    let s = "<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-status>incomplete</ac:task-status><ac:task-body>Buy milk</ac:task-body></ac:task><ac:task><ac:task-id>2</ac:task-id><ac:task-status>complete</ac:task-status><ac:task-body>Pay</ac:task-body></ac:task></ac:task-list>";
    assert_eq!(t(s), "Buy milk\nPay");
}

#[test]
fn pre_keeps_whitespace() {
    assert_eq!(t("<p>x</p><pre>  a\n    b &lt; c</pre><p>y</p>"), "x\n  a\n    b < c\ny");
}

#[test]
fn lists_and_blockquotes() {
    assert_eq!(
        t("<ul><li>one</li><li>two<ol><li>two.a</li></ol></li></ul><blockquote>q</blockquote>"),
        "one\ntwo\ntwo.a\nq"
    );
}

#[test]
fn time_shows_its_date() {
    assert_eq!(t(r#"<p>Due <time datetime="2024-05-01" /> ok</p>"#), "Due 2024-05-01 ok");
}

#[test]
fn images_and_placeholders_show_nothing() {
    let s = r#"<p>a<ac:image ac:width="200"><ri:attachment ri:filename="pic.png"/></ac:image>b<ac:placeholder>Type here</ac:placeholder></p>"#;
    assert_eq!(t(s), "ab");
}

#[test]
fn stray_angle_brackets_are_text() {
    assert_eq!(t("<p>1 < 2 and 3 <= 4 </ p> <> x</p>"), "1 < 2 and 3 <= 4 </ p> <> x");
}

#[test]
fn malformed_input_never_panics() {
    let inputs = [
        "<",
        "<p",
        "<p attr=\"unterminated",
        "</",
        "</p",
        "&",
        "&#",
        "&#x",
        "&amp",
        "<![CDATA[",
        "<![CDATA[abc",
        "<!--",
        "<!-- x",
        "<ac:link><ri:page ri:content-title=\"",
        "<script>never closed",
        "<td>a<td>b",
        "</td></tr></table></ac:link></pre>",
        "<ac:parameter>swallow",
        "<?xml",
        "<!DOCTYPE html",
        "é<é>ü&é;",
        "<a b='1' c=\"2\" d=3 e>x</a>",
        "<p>\u{0}\u{FFFF}</p>",
    ];
    for s in inputs {
        let _ = t(s);
        // Every prefix, cut anywhere on a char boundary, must also be fine.
        for (i, _) in s.char_indices() {
            let _ = t(&s[..i]);
        }
    }
    assert_eq!(t("<![CDATA[abc"), "abc");
    assert_eq!(t("<p>ok</p><p attr=\"unterminated"), "ok");
    assert_eq!(t("<td>a<td>b"), "a\tb");
}

#[test]
fn random_fragment_soup_never_panics_and_keeps_the_blank_line_rule() {
    const PIECES: [&str; 28] = [
        "<p>",
        "</p>",
        "<br/>",
        "<td>",
        "</td>",
        "<tr>",
        "</table>",
        "<table>",
        "&amp;",
        "&#x",
        ";",
        "&",
        "<",
        ">",
        "<![CDATA[",
        "]]>",
        "<!--",
        "-->",
        "\"",
        "é",
        "😀",
        " ",
        "\n",
        "<ac:link>",
        "</ac:link>",
        "<ri:page ri:content-title=\"T\"/>",
        "<ac:plain-text-body>",
        "<script>",
    ];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..3000 {
        let mut s = String::new();
        for _ in 0..(state % 40) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            s.push_str(PIECES[(state % PIECES.len() as u64) as usize]);
        }
        let out = t(&s);
        assert!(!out.contains("\n\n\n"), "{s:?} -> {out:?}");
        assert!(!out.starts_with('\n'), "{s:?} -> {out:?}");
    }
}

#[test]
fn xml_declaration_and_doctype_are_dropped() {
    assert_eq!(
        t("<?xml version=\"1.0\"?><!DOCTYPE html><root><item>v1</item> <item>v2</item></root>"),
        "v1 v2"
    );
}

#[test]
fn layout_cells_end_lines() {
    let s = r#"<ac:layout><ac:layout-section ac:type="two_equal"><ac:layout-cell><p>left</p></ac:layout-cell><ac:layout-cell><p>right</p></ac:layout-cell></ac:layout-section></ac:layout>"#;
    assert_eq!(t(s), "left\nright");
}

#[test]
fn uppercase_html_tags() {
    assert_eq!(t("<P>A<BR>B</P><DIV>C</DIV>"), "A\nB\nC");
}
