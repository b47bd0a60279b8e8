//! File writes that never leave half a file.

use std::path::Path;

/// Writes `data` to a temporary file beside `target` and renames it into place, so a
/// reader never sees half a file. A target that exists and is not a regular file (a
/// FIFO, `/dev/null`, a terminal) is written in place instead: renaming over it would
/// replace the device with a file.
pub fn write_atomically(target: &Path, data: &[u8]) -> std::io::Result<()> {
    if std::fs::metadata(target).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(target)
            .and_then(|mut f| std::io::Write::write_all(&mut f, data));
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.kiln-{}.tmp", std::process::id()));
    let written = std::fs::write(&tmp, data).and_then(|_| std::fs::rename(&tmp, target));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
