//! PDFs read here (`service.attachment_text: local`), each in a child process of its own: the
//! fixtures of `tests/fixtures/pdf` (written by fpdf2, and two hostile files written by hand)
//! read through the connector's own program, as a sync reads them; a reader that runs out of
//! time is killed. A whole sync reading the simulator's PDFs: `tests/local_text.rs`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use confluence_connector::PdfReader;

/// The connector's program, which answers `read-pdf`.
const PROGRAM: &str = env!("CARGO_BIN_EXE_confluence-connector");

fn fixture(name: &str) -> Bytes {
    let path = format!("{}/tests/fixtures/pdf/{name}", env!("CARGO_MANIFEST_DIR"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

async fn read(name: &str) -> Result<String, String> {
    PdfReader::at(PROGRAM).read(fixture(name), Duration::from_secs(30)).await
}

#[tokio::test]
async fn the_reader_process_gives_the_text_of_real_pdfs() {
    assert!(read("plain.pdf").await.unwrap().contains("plainfixture"));
    let pages = read("multipage.pdf").await.unwrap();
    assert!(pages.contains("alphapage") && pages.contains("gammapage"), "{pages}");
    assert!(read("unicode.pdf").await.unwrap().contains("Привет мир"));
    assert!(read("permissions.pdf").await.unwrap().contains("openlockfixture"));
}

#[tokio::test]
async fn what_it_cannot_read_is_an_error_that_says_why() {
    let why = read("encrypted.pdf").await.unwrap_err();
    assert!(why.contains("encrypted with a password"), "{why}");
    let why = read("truncated.pdf").await.unwrap_err();
    assert!(why.contains("not a readable PDF"), "{why}");
    let why = read("no_text.pdf").await.unwrap_err();
    assert!(why.contains("no text"), "{why}");
}

/// Files that would take a reader in the sync's own process down with them: a drawing that
/// draws itself (the parser recurses until its stack overflows, which aborts a process) and
/// a 4 KiB stream that inflates to 2 GiB (past the reader's address space).
#[tokio::test]
async fn hostile_files_cost_their_reader_only() {
    let why = read("recursive.pdf").await.unwrap_err();
    assert!(why.contains("stack"), "{why}");
    let started = Instant::now();
    let why = read("bomb.pdf").await.unwrap_err();
    assert!(why.contains("memory") || why.contains("reader failed"), "{why}");
    assert!(started.elapsed() < Duration::from_secs(20), "stopped at its memory bound");
    // And this process reads the next file as before.
    assert!(read("plain.pdf").await.unwrap().contains("plainfixture"));
}

/// A reader past its time is killed, not left running: here a program that only sleeps,
/// writing its process id first.
#[tokio::test]
async fn a_reader_out_of_time_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let (script, pid_file) = (dir.path().join("slow-reader"), dir.path().join("pid"));
    std::fs::write(&script, format!("#!/bin/sh\necho $$ > {}\nexec sleep 60\n", pid_file.display())).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // A script just written may not start at once ("Text file busy"): another test of this
    // process forking meanwhile holds the file open for writing until its child execs.
    let mut tries = 0;
    let (why, took) = loop {
        let started = Instant::now();
        let why =
            PdfReader::at(&script).read(fixture("plain.pdf"), Duration::from_millis(500)).await.unwrap_err();
        tries += 1;
        if !why.contains("Text file busy") || tries == 20 {
            break (why, started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(why.contains("took longer than 500ms"), "{why}");
    assert!(took < Duration::from_secs(5));
    let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_string();
    let gone = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| stat.contains(") Z "))
    });
    assert!(gone, "the reader {pid} still runs");
}

/// A program that is not the reader (a test harness, say) is not taken for one.
#[tokio::test]
async fn a_program_that_is_not_the_reader_gives_no_text() {
    let why = PdfReader::at("/bin/cat").read(fixture("plain.pdf"), Duration::from_secs(5)).await.unwrap_err();
    assert!(why.contains("gave no answer"), "{why}");
}
