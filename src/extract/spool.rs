//! Files for the ingest pipeline, waiting on disk as base64 between their download and the
//! `_bulk` request that writes them.
//!
//! A file sent as `_attachment` was held in memory from its first byte until Elasticsearch
//! had answered: an 8 MiB file took 19 MiB of the byte budget (bytes and base64) for as long
//! as its download lasted, so on a slow link three large files downloaded at once where ten
//! small ones did. Now a large file is encoded as it arrives, 192 KiB at a time, into an
//! unnamed temporary file (in `TMPDIR`; the kernel removes it when it is closed, even if the
//! process dies; an unwritable `TMPDIR` leaves every file in memory, as before, said once), and the bulk encoder copies that base64 into the `_bulk` body: a download
//! holds buffers, not the file, and the file's base64 takes its share of the budget only once
//! it is downloaded ([`crate::sync`]'s content path). The copy from the page cache also costs
//! the sink less than the base64 encoding it replaces.
//!
//! Disk, not memory, then follows the files: at most `concurrent_downloads` files being
//! downloaded plus those the budget lets wait to be written, each up to
//! `max_file_download_size` × 4/3.

use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use tokio::io::AsyncWriteExt;

/// Whether `dir` is on a file system held in memory (tmpfs, ramfs): files spooled there
/// would take memory beside the budget — in a container, memory its limit counts.
#[allow(clippy::unnecessary_cast)] // `f_type` and the magic numbers differ in type by target.
pub(crate) fn in_memory(dir: &Path) -> bool {
    const RAMFS_MAGIC: i64 = 0x8584_58f6;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: statfs reads the NUL-terminated path and writes only the struct it is given.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(path.as_ptr(), &mut stat) } != 0 {
        return false;
    }
    let kind = stat.f_type as i64;
    kind == libc::TMPFS_MAGIC as i64 || kind == RAMFS_MAGIC
}

/// Raw bytes encoded at once: a multiple of 3, so that no padding falls inside the base64.
const STAGE: usize = 3 * 64 * 1024;

/// What one download being spooled holds in memory at most: its two buffers, the file
/// handle's own copy of the block it is writing, and the HTTP client's receive buffers.
pub(crate) const SPOOLING_MEMORY: u64 = 1024 * 1024;

/// How a spool keeps the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// As base64, for `_attachment`: copied as is into the `_bulk` body.
    Base64,
    /// As received, to be read back into memory by whatever turns it into text.
    Raw,
}

/// A spool being written.
#[derive(Debug)]
pub(crate) struct SpoolWriter {
    file: tokio::fs::File,
    encoding: Encoding,
    /// Bytes not yet written (fewer than [`STAGE`]).
    staged: Vec<u8>,
    /// The base64 of one stage.
    encoded: Vec<u8>,
    /// Bytes of the file received.
    raw: u64,
}

impl SpoolWriter {
    /// A spool in a new unnamed temporary file in `dir`.
    pub(crate) fn create_in(dir: &Path, encoding: Encoding) -> io::Result<SpoolWriter> {
        let file = tempfile::tempfile_in(dir)?;
        let encoded = match encoding {
            Encoding::Base64 => vec![0; STAGE / 3 * 4],
            Encoding::Raw => Vec::new(),
        };
        Ok(SpoolWriter {
            file: tokio::fs::File::from_std(file),
            encoding,
            staged: Vec::with_capacity(STAGE),
            encoded,
            raw: 0,
        })
    }

    /// Takes the next bytes of the file.
    pub(crate) async fn write(&mut self, mut chunk: &[u8]) -> io::Result<()> {
        self.raw += chunk.len() as u64;
        while !chunk.is_empty() {
            let take = chunk.len().min(STAGE - self.staged.len());
            self.staged.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.staged.len() == STAGE {
                self.flush_stage().await?;
            }
        }
        Ok(())
    }

    /// Writes what is staged (encoded, the last stage padded).
    async fn flush_stage(&mut self) -> io::Result<()> {
        match self.encoding {
            Encoding::Base64 => {
                let written = base64::engine::general_purpose::STANDARD
                    .encode_slice(&self.staged, &mut self.encoded)
                    .map_err(io::Error::other)?;
                self.file.write_all(&self.encoded[..written]).await?;
            }
            Encoding::Raw => self.file.write_all(&self.staged).await?,
        }
        self.staged.clear();
        Ok(())
    }

    /// Writes the rest and hands the spool over for reading.
    pub(crate) async fn finish(mut self) -> io::Result<SpooledFile> {
        if !self.staged.is_empty() {
            self.flush_stage().await?;
        }
        // The file handle writes in the background: its errors (a full disk) show here.
        self.file.flush().await?;
        let file = self.file.into_std().await;
        let len = file.metadata()?.len();
        let expected = match self.encoding {
            Encoding::Base64 => self.raw.div_ceil(3) * 4,
            Encoding::Raw => self.raw,
        };
        if len != expected {
            return Err(io::Error::other(format!(
                "{len} bytes written to the spool where {expected} were due"
            )));
        }
        Ok(SpooledFile { file: Arc::new(file), encoding: self.encoding, len, raw: self.raw })
    }
}

/// A file on disk, as base64 or as received; the disk space comes back when the last clone
/// is dropped.
#[derive(Debug, Clone)]
pub struct SpooledFile {
    file: Arc<std::fs::File>,
    encoding: Encoding,
    len: u64,
    raw: u64,
}

impl SpooledFile {
    /// Bytes on disk (of base64, or of the file).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file was empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes of the file itself.
    pub fn raw_len(&self) -> u64 {
        self.raw
    }

    /// Whether it holds base64.
    pub(crate) fn is_base64(&self) -> bool {
        self.encoding == Encoding::Base64
    }

    /// Reads all of it into `out` (exactly [`SpooledFile::len`] bytes). A plain read, not
    /// an async one: the bulk encoder calls it, for a copy out of the page cache where it
    /// used to base64-encode the same file in memory, which took longer.
    pub(crate) fn read_into(&self, out: &mut [u8]) -> io::Result<()> {
        if out.len() as u64 != self.len {
            return Err(io::Error::other(format!("{} bytes asked of a spool of {}", out.len(), self.len)));
        }
        self.file.read_exact_at(out, 0)
    }

    /// Reads all of it into memory, on a blocking thread.
    pub(crate) async fn read_all(&self) -> io::Result<bytes::Bytes> {
        let spool = self.clone();
        let len = usize::try_from(self.len).map_err(io::Error::other)?;
        let read = tokio::task::spawn_blocking(move || {
            let mut out = vec![0; len];
            spool.read_into(&mut out).map(|()| bytes::Bytes::from(out))
        });
        read.await.map_err(io::Error::other)?
    }

    /// Whether both are the same spool.
    pub(crate) fn same(&self, other: &SpooledFile) -> bool {
        Arc::ptr_eq(&self.file, &other.file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn spooled(chunks: &[&[u8]]) -> SpooledFile {
        spooled_as(chunks, Encoding::Base64).await
    }

    async fn spooled_as(chunks: &[&[u8]], encoding: Encoding) -> SpooledFile {
        let mut writer = SpoolWriter::create_in(&std::env::temp_dir(), encoding).unwrap();
        for chunk in chunks {
            writer.write(chunk).await.unwrap();
        }
        writer.finish().await.unwrap()
    }

    fn read(file: &SpooledFile) -> String {
        let mut out = vec![0; file.len() as usize];
        file.read_into(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn the_spool_holds_the_base64_of_the_file_whatever_the_chunks() {
        let file: Vec<u8> = (0..STAGE * 2 + 1234).map(|i| (i * 7 % 251) as u8).collect();
        let expected = base64::engine::general_purpose::STANDARD.encode(&file);
        // Chunks that straddle the stages and the 3-byte groups.
        let pieces: Vec<&[u8]> = file.chunks(1000).collect();
        let spool = spooled(&pieces).await;
        assert_eq!((spool.len(), spool.raw_len()), (expected.len() as u64, file.len() as u64));
        assert_eq!(read(&spool), expected);
        let whole = spooled(&[&file]).await;
        assert_eq!(read(&whole), expected);
        assert!(whole.is_base64());
    }

    #[tokio::test]
    async fn a_raw_spool_reads_back_the_file() {
        let file: Vec<u8> = (0..STAGE + 5).map(|i| (i % 256) as u8).collect();
        let pieces: Vec<&[u8]> = file.chunks(4096).collect();
        let spool = spooled_as(&pieces, Encoding::Raw).await;
        assert!(!spool.is_base64());
        assert_eq!((spool.len(), spool.raw_len()), (file.len() as u64, file.len() as u64));
        assert_eq!(spool.read_all().await.unwrap(), file);
    }

    #[tokio::test]
    async fn short_and_empty_files_are_padded_or_empty() {
        assert_eq!(read(&spooled(&[b"a"]).await), "YQ==");
        assert_eq!(read(&spooled(&[b"ab", b"c", b"d"]).await), "YWJjZA==");
        let empty = spooled(&[]).await;
        assert!(empty.is_empty());
        assert_eq!(read(&empty), "");
    }

    #[test]
    fn a_directory_in_memory_is_told_apart_from_one_on_disk() {
        let shm = Path::new("/dev/shm");
        // Linux mounts a tmpfs there; a system without one has nothing to show here.
        if shm.is_dir() {
            assert!(in_memory(shm));
        }
        assert!(!in_memory(Path::new(env!("CARGO_MANIFEST_DIR"))), "the source tree is on disk");
        assert!(!in_memory(Path::new("/no/such/directory")));
    }

    #[tokio::test]
    async fn a_read_of_the_wrong_length_is_refused() {
        let spool = spooled(&[b"abc"]).await;
        assert!(spool.read_into(&mut [0; 3]).is_err());
        assert!(spool.same(&spool.clone()));
    }
}
