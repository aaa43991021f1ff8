//! Development keys: generated once into the data directory when the operator configured none.

use anyhow::Context;
use std::path::Path;

/// Reads the key in `data_dir/name`, or writes a new random one there (readable by the owner only).
pub fn development_key(data_dir: &Path, name: &str) -> anyhow::Result<String> {
    development_value(data_dir, name, || {
        crate::auth::api_token::generate().replacen(crate::auth::api_token::PREFIX, "", 1)
    })
}

/// Reads `data_dir/name`, or writes `generate()` there (readable by the owner only).
pub fn development_value(data_dir: &Path, name: &str, generate: impl FnOnce() -> String) -> anyhow::Result<String> {
    let path = data_dir.join(name);
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create KOPPEL_DATA_DIR {}", data_dir.display()))?;
    let key = generate();
    // `create_new`: two processes starting at once, or a file left by a crash, never lead to a key being
    // replaced (which would make everything encrypted or signed with it unreadable).
    match write_private(&path, &key) {
        Ok(()) => {
            tracing::warn!(path = %path.display(), "generated a development key; set the variable in production");
            Ok(key)
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => read_existing(&path),
        Err(error) => Err(error).with_context(|| format!("cannot write {}", path.display())),
    }
}

fn read_existing(path: &Path) -> anyhow::Result<String> {
    // Another process may be writing it this very moment.
    for _ in 0..50 {
        let existing = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let existing = existing.trim();
        if existing.len() >= 32 {
            return Ok(existing.to_owned());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    anyhow::bail!("{} is not a valid key; restore it from a backup, or remove it to start over", path.display())
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_generated_once_and_never_replaced() {
        let dir = tempfile_dir();
        let first = development_value(&dir, "master-key", || "a".repeat(44)).unwrap();
        let again = development_value(&dir, "master-key", || "b".repeat(44)).unwrap();
        assert_eq!(first, again);
        std::fs::write(dir.join("broken"), "short").unwrap();
        let error = development_value(&dir, "broken", || "c".repeat(44)).unwrap_err();
        assert!(error.to_string().contains("not a valid key"), "{error}");
        assert_eq!(std::fs::read_to_string(dir.join("broken")).unwrap(), "short", "left as it was");
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("koppel-secrets-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
