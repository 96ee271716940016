//! PDF text read in a child process: the connector's own program, run as
//! `confluence-connector read-pdf`, reads a file on its standard input and writes its text.
//!
//! Why a process and not a thread: a PDF parser meets hostile and broken files, and on them
//! it may panic (caught in a thread too), but also overflow its stack or fail to allocate
//! (both abort the whole process: the sync would die), loop or recurse without end, or
//! inflate a small stream into gigabytes. A blocking thread that timed out cannot be
//! stopped: it keeps a core busy and its memory held until it ends, which it may never do,
//! and a few such files would starve the sync. A child process is killed when its time is
//! up, and the kernel bounds its address space ([`MEMORY`]) and its CPU time, so a file
//! costs at most that, and then only a report. At most one child per core runs at once
//! ([`readers`]): reading is CPU-bound, and so the children's memory is bounded too.
//!
//! Starting a process costs about a millisecond; a PDF's reading takes longer.

use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

use super::office::MAX_TEXT;
use super::pdf::pdf_text;

/// The hidden command line argument that makes the program a PDF reader.
pub const READ_PDF: &str = "read-pdf";

/// The address space a reader may map: its program and libraries, the file, the parsed
/// document and the text, with room to spare; an allocation past it fails and the reader
/// stops (reported as unreadable). Added to eight times the file's size.
pub const MEMORY: u64 = 512 * 1024 * 1024;

/// CPU seconds after which the kernel stops a reader, should its parent be gone (the parent
/// kills it when its time is up).
const CPU_SECONDS: u64 = 60;

/// The first line a reader writes, then `ok` and the text, or `error` and why: a program
/// that is not the reader (a test harness, say) cannot pass for one.
const ANSWER: &[u8] = b"confluence-connector read-pdf 1 ";

/// The program run as the reader: this one, unless [`use_program`] named another.
static PROGRAM: OnceLock<PathBuf> = OnceLock::new();

/// Names the program that answers `read-pdf`, for a process whose own program does not
/// (tests and benchmarks, run by a harness: `env!("CARGO_BIN_EXE_confluence-connector")`).
/// The first call wins.
pub fn use_program(path: impl Into<PathBuf>) {
    let _ = PROGRAM.set(path.into());
}

/// Readers that may run at once: one per core.
fn readers() -> &'static Semaphore {
    static READERS: OnceLock<Semaphore> = OnceLock::new();
    READERS.get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

/// The text of the PDF `file`, read by a child process within `time`; an error says why
/// there is none, in words for the log.
pub async fn read_pdf(file: Bytes, time: Duration) -> Result<String, String> {
    PdfReader::of_this_process()?.read(file, time).await
}

/// A program that answers `read-pdf`.
#[derive(Debug, Clone)]
pub struct PdfReader {
    /// Its path.
    program: PathBuf,
}

impl PdfReader {
    /// The reader of this process: the program [`use_program`] named, or this one.
    pub fn of_this_process() -> Result<Self, String> {
        let program = match PROGRAM.get() {
            Some(path) => path.clone(),
            None => {
                std::env::current_exe().map_err(|e| format!("cannot find the connector's program: {e}"))?
            }
        };
        Ok(Self { program })
    }

    /// The program at `program`.
    pub fn at(program: impl Into<PathBuf>) -> Self {
        Self { program: program.into() }
    }

    /// The text of the PDF `file`, read by a child process within `time` (the wait for a
    /// turn among [`readers`] not counted); an error says why there is none.
    pub async fn read(&self, file: Bytes, time: Duration) -> Result<String, String> {
        let program = &self.program;
        let _turn = readers().acquire().await.map_err(|e| e.to_string())?;
        let mut child = tokio::process::Command::new(program)
            .arg(READ_PDF)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            // Dropped when its time is up: SIGKILL, and Tokio reaps it.
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start its reader {}: {e}", program.display()))?;
        let (Some(mut input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("its reader has no pipes".into());
        };
        let exchange = async move {
            let write = async move {
                // A reader that stops early closes the pipe: its answer says why.
                let _ = input.write_all(&file).await;
            };
            let mut answer = Vec::new();
            let limit = (ANSWER.len() + 8 + MAX_TEXT) as u64;
            let mut output = output.take(limit);
            let read = output.read_to_end(&mut answer);
            let ((), read) = tokio::join!(write, read);
            let status = child.wait().await;
            (read, status, answer)
        };
        let (read, status, answer) = tokio::time::timeout(time, exchange)
            .await
            .map_err(|_| format!("reading its text took longer than {time:?}"))?;
        read.map_err(|e| format!("its reader's answer could not be read: {e}"))?;
        let status = status.map_err(|e| format!("its reader could not be awaited: {e}"))?;
        let mut answer = answer;
        let (ok, error) = ([ANSWER, b"ok\n"].concat(), [ANSWER, b"error\n"].concat());
        let text = |mut answer: Vec<u8>, prefix: usize| {
            answer.drain(..prefix);
            // Valid UTF-8 (the reader writes a `String`) becomes the text without a copy.
            String::from_utf8(answer).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        };
        if answer.starts_with(&ok) {
            Ok(text(answer, ok.len()))
        } else if answer.starts_with(&error) {
            Err(text(answer, error.len()))
        } else {
            answer.clear();
            Err(stopped(status, program))
        }
    }
}

/// Why a reader ended without an answer, from its exit status.
fn stopped(status: std::process::ExitStatus, program: &std::path::Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        match status.signal() {
            // SIGABRT: Rust aborts on a failed allocation and on stack overflow.
            Some(libc::SIGABRT) => return "its reader stopped: out of memory or of stack (SIGABRT)".into(),
            Some(libc::SIGKILL) => return "its reader was killed (SIGKILL)".into(),
            Some(libc::SIGSEGV) => return "its reader stopped: out of stack (SIGSEGV)".into(),
            Some(libc::SIGXCPU) => {
                return format!("its reader used more than {CPU_SECONDS} s of CPU (SIGXCPU)")
            }
            Some(n) => return format!("its reader stopped on signal {n}"),
            None => {}
        }
    }
    format!("its reader {} gave no answer ({status})", program.display())
}

/// The reader's side (`confluence-connector read-pdf`): the PDF on standard input, the
/// answer on standard output. Runs on one thread, with its address space and CPU time
/// bounded by the kernel once the file is in.
pub fn serve() -> ExitCode {
    use std::io::{Read, Write};
    let mut file = Vec::new();
    let answer = match std::io::stdin().lock().read_to_end(&mut file) {
        Err(e) => Err(format!("its reader could not read the file: {e}")),
        Ok(_) => {
            limit_resources(MEMORY.saturating_add(8 * file.len() as u64));
            // The panic's message is the answer; the default hook would print it to nowhere.
            std::panic::set_hook(Box::new(|_| {}));
            match std::panic::catch_unwind(|| pdf_text(&file)) {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(panic) => Err(format!("its reader failed on it: {}", panic_message(&*panic))),
            }
        }
    };
    let mut out = std::io::stdout().lock();
    let written = match &answer {
        Ok(text) => out.write_all(ANSWER).and(out.write_all(b"ok\n")).and(out.write_all(text.as_bytes())),
        Err(why) => out.write_all(ANSWER).and(out.write_all(b"error\n")).and(out.write_all(why.as_bytes())),
    };
    match written.and(out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// The message a panic carried.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic")
}

/// Bounds this process's address space to `bytes` and its CPU time to [`CPU_SECONDS`].
fn limit_resources(bytes: u64) {
    #[cfg(unix)]
    {
        let bound = |resource, value: u64| {
            let limit = libc::rlimit { rlim_cur: value as libc::rlim_t, rlim_max: value as libc::rlim_t };
            // SAFETY: setrlimit reads the struct given and changes only this process's limits.
            unsafe { libc::setrlimit(resource, &limit) };
        };
        bound(libc::RLIMIT_AS, bytes);
        bound(libc::RLIMIT_CPU, CPU_SECONDS);
    }
    #[cfg(not(unix))]
    let _ = bytes;
}
