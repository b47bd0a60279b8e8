//! File writes that never leave half a file.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `data` to `target` as [`AtomicFile`] does: whole or not at all.
pub fn write_atomically(target: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut file = AtomicFile::create(target)?;
    file.write_all(data)?;
    file.commit()
}

/// A file written whole or not at all: the bytes go to a temporary file beside the
/// target (created new: never through a link planted there), which [`commit`] syncs and
/// renames into place, syncing the folder, so a reader never sees half a file, nor an
/// empty one after a crash. Dropped without a commit, the temporary file is removed. A
/// target that exists and is not a regular file (a FIFO, `/dev/null`, a terminal) is
/// written in place instead: renaming over it would replace the device with a file.
///
/// [`commit`]: AtomicFile::commit
pub struct AtomicFile {
    file: std::fs::File,
    /// The temporary file and the target, until committed (`None` when written in place).
    rename: Option<(PathBuf, PathBuf)>,
}

impl AtomicFile {
    /// Starts writing `target`.
    pub fn create(target: &Path) -> std::io::Result<AtomicFile> {
        if std::fs::metadata(target).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            let file = std::fs::OpenOptions::new().write(true).open(target)?;
            return Ok(AtomicFile { file, rename: None });
        }
        let dir = folder_of(target);
        std::fs::create_dir_all(dir)?;
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        let tmp = dir.join(format!(".{name}{TEMP_MARK}{}.tmp", std::process::id()));
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        Ok(AtomicFile {
            file,
            rename: Some((tmp, target.to_path_buf())),
        })
    }

    /// Syncs the file and puts it in place.
    pub fn commit(mut self) -> std::io::Result<()> {
        let Some((tmp, target)) = self.rename.take() else {
            return self.file.flush();
        };
        let done = self.file.sync_all().and_then(|()| std::fs::rename(&tmp, &target));
        if done.is_err() {
            let _ = std::fs::remove_file(&tmp);
            return done;
        }
        // The rename is durable once the folder is synced (not every platform can open
        // a folder for that; the file's own data is synced already).
        if let Ok(d) = std::fs::File::open(folder_of(&target)) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some((tmp, _)) = &self.rename {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// The folder `target` is in (`.` for a bare name).
fn folder_of(target: &Path) -> &Path {
    target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// What names a temporary file of [`write_atomically`]: `.NAME.kiln-PID.tmp`.
const TEMP_MARK: &str = ".kiln-";

/// The process that wrote the temporary file named `name`, if it is one.
pub fn temporary_owner(name: &OsStr) -> Option<u32> {
    let name = name.to_str()?;
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (_, pid) = rest.rsplit_once(TEMP_MARK)?;
    pid.parse().ok()
}

/// Whether process `pid` is running (on Linux, from `/proc`; elsewhere it is assumed to
/// be, so nothing of a live process is removed).
pub fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_give_their_process() {
        assert_eq!(temporary_owner(OsStr::new(".a.png.kiln-123.tmp")), Some(123));
        assert_eq!(temporary_owner(OsStr::new(".x.kiln-y.kiln-7.tmp")), Some(7));
        for other in ["a.png", ".a.png.tmp", ".a.kiln-.tmp", "a.kiln-1.tmp", ".a.kiln-1x.tmp"] {
            assert_eq!(temporary_owner(OsStr::new(other)), None, "{other}");
        }
        assert!(process_alive(std::process::id()));
    }
}
