//! Elasticsearch's `rest-api-spec` jar, as the conformance tests read it: where
//! `tests/es-node/rest-spec.sh` keeps it (or where a variable says), and its files under
//! `rest-api-spec/` — from the jar, or from a directory holding them.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The jar or directory `var` names, else the newest jar in `target/<cache>/`.
pub fn location(var: &str, cache: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target").join(cache);
    let mut jars: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jar"))
        .collect();
    jars.sort();
    jars.pop()
}

/// The text of every file `wanted` picks, by its path under `rest-api-spec/` (`api/search.json`,
/// `test/bulk/10_basic.yml`). A directory may hold `rest-api-spec/` or be it.
pub fn read(at: &Path, wanted: impl Fn(&str) -> bool) -> Result<BTreeMap<String, String>, String> {
    let mut files = BTreeMap::new();
    if at.is_dir() {
        let root =
            if at.join("rest-api-spec").is_dir() { at.join("rest-api-spec") } else { at.to_path_buf() };
        let mut pending = vec![root.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
                let path = entry.map_err(|e| e.to_string())?.path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let name =
                    path.strip_prefix(&root).map_err(|e| e.to_string())?.to_string_lossy().replace('\\', "/");
                if wanted(&name) {
                    let text =
                        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                    files.insert(name, text);
                }
            }
        }
    } else {
        let file = std::fs::File::open(at).map_err(|e| format!("{}: {e}", at.display()))?;
        let mut jar = zip::ZipArchive::new(file).map_err(|e| format!("{}: {e}", at.display()))?;
        for i in 0..jar.len() {
            let mut entry = jar.by_index(i).map_err(|e| e.to_string())?;
            let Some(name) = entry.name().strip_prefix("rest-api-spec/").map(str::to_string) else {
                continue;
            };
            if wanted(&name) {
                let mut text = String::new();
                entry.read_to_string(&mut text).map_err(|e| format!("{name}: {e}"))?;
                files.insert(name, text);
            }
        }
    }
    Ok(files)
}
