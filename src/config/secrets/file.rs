//! A secret handed over as a file (`${file:/run/secrets/confluence_token}`), the way
//! Kubernetes and Docker mount them.
//!
//! The file holds the value alone; the newline an editor or `echo` adds at its end is not part
//! of it. A file that every user of the machine may read defeats the point of keeping the
//! secret out of `config.yml`, so it is read but warned about.

use std::path::Path;

use crate::config::Secret;

/// A file's secret and, when its permissions are too open, a warning.
pub(super) struct FileSecret {
    /// The file's text without its trailing newline.
    pub(crate) value: Secret,
    /// Set when every user may read the file.
    pub(crate) warning: Option<String>,
}

/// Reads the secret in `path`; `Err` says why it cannot (never what the file holds).
pub(super) fn read(path: &Path) -> Result<FileSecret, String> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read secret file {shown}: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("secret file {shown} is not UTF-8 text"))?;
    let value = text.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        return Err(format!("secret file {shown} is empty"));
    }
    Ok(FileSecret { value: Secret::new(value), warning: world_readable(path) })
}

/// A warning when others than the owner and the group may read `path`.
#[cfg(unix)]
fn world_readable(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o004 != 0).then(|| {
        format!(
            "secret file {} is readable by every user of this machine (mode {mode:04o}); \
             restrict it, e.g. chmod 600 or 640",
            path.display()
        )
    })
}

#[cfg(not(unix))]
fn world_readable(_path: &Path) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn write(dir: &tempfile::TempDir, text: &str, mode: u32) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.path().join("token");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[cfg(unix)]
    #[test]
    fn the_trailing_newline_is_not_part_of_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let read = read(&write(&dir, "s3cret value\r\n", 0o600)).unwrap();
        assert_eq!(read.value.expose(), "s3cret value");
        assert!(read.warning.is_none());
    }

    #[cfg(unix)]
    #[test]
    fn a_world_readable_file_is_read_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "s3cret\n", 0o644);
        let warning = read(&path).unwrap().warning.unwrap();
        assert!(warning.contains("readable by every user") && warning.contains("0644"), "{warning}");
        assert!(!warning.contains("s3cret"), "{warning}");
    }

    #[cfg(unix)]
    #[test]
    fn missing_and_empty_files_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let missing = read(&dir.path().join("nope")).err().unwrap();
        assert!(missing.contains("cannot read secret file") && missing.contains("nope"), "{missing}");
        let empty = read(&write(&dir, "\n", 0o600)).err().unwrap();
        assert!(empty.ends_with("is empty"), "{empty}");
    }
}
