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
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create KOPPEL_DATA_DIR {}", data_dir.display()))?;
    let key = generate();
    write_private(&path, &key).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::warn!(path = %path.display(), "generated a development key; set the variable in production");
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}
