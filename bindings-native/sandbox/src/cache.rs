//! The compiled-code cache: `<root>/kiln/kernel-<key>.cwasm`, where `<root>` is
//! `$XDG_CACHE_HOME` or `~/.cache`. Compiled code runs as is, past any kernel signature,
//! so it is trusted like this binary, and only where no one else could have put it:
//!
//! - the cache folder is opened without following a link, and must be owned by this
//!   process's effective user and writable by no one else (it is created 0700);
//! - its parent (the cache root) must be owned by this user or root and not writable by
//!   others (unless sticky, as `/tmp`);
//! - a cached file is opened through the folder's handle without following a link, and
//!   must be a regular file owned by this user, writable by no one else;
//! - a new file is created under a fresh name (`O_EXCL`, so never through a link
//!   planted there), synced, and renamed into place.
//!
//! Anything else is not an error: the kernel is compiled instead (and not cached).
//! Elsewhere than Unix nothing is cached.

use std::path::Path;

/// The largest cached file read (compiled kernels are ~5 MB).
const MAX_FILE: u64 = 256 << 20;

/// The cached compiled code for `name` in `dir`, if it is there and trusted.
pub fn load(dir: &Path, name: &str) -> Option<Vec<u8>> {
    imp::load(dir, name)
}

/// Stores `bytes` as `name` in `dir` (created if needed); false if it was not stored.
pub fn store(dir: &Path, name: &str, bytes: &[u8]) -> bool {
    imp::store(dir, name, bytes)
}

#[cfg(unix)]
mod imp {
    use std::io::{Read, Write};
    use std::os::fd::OwnedFd;
    use std::path::Path;

    use rustix::fs::{Mode, OFlags, RawMode, Stat};

    use super::MAX_FILE;

    /// Group or others may write.
    const SHARED_WRITE: RawMode = 0o022;
    const STICKY: RawMode = 0o1000;

    fn owned_by_me(stat: &Stat) -> bool {
        stat.st_uid == rustix::process::geteuid().as_raw()
    }

    /// The cache folder, opened without following a link, if it is trusted.
    fn open_dir(dir: &Path) -> Option<OwnedFd> {
        let root = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let root = rustix::fs::stat(root).ok()?;
        let root_owner_ok = owned_by_me(&root) || root.st_uid == 0;
        let root_mode = RawMode::from(root.st_mode);
        if !root_owner_ok || (root_mode & SHARED_WRITE != 0 && root_mode & STICKY == 0) {
            return None;
        }
        let fd = rustix::fs::open(
            dir,
            OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        let stat = rustix::fs::fstat(&fd).ok()?;
        (owned_by_me(&stat) && RawMode::from(stat.st_mode) & SHARED_WRITE == 0).then_some(fd)
    }

    pub fn load(dir: &Path, name: &str) -> Option<Vec<u8>> {
        let dir = open_dir(dir)?;
        let fd = rustix::fs::openat(
            &dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        let stat = rustix::fs::fstat(&fd).ok()?;
        let regular = rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::RegularFile;
        let size = u64::try_from(stat.st_size).ok()?;
        if !regular || !owned_by_me(&stat) || RawMode::from(stat.st_mode) & SHARED_WRITE != 0 || size > MAX_FILE {
            return None;
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).ok()?);
        std::fs::File::from(fd).take(MAX_FILE).read_to_end(&mut bytes).ok()?;
        Some(bytes)
    }

    pub fn store(dir: &Path, name: &str, bytes: &[u8]) -> bool {
        use std::os::unix::fs::DirBuilderExt;
        if let Some(root) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(root);
        }
        let _ = std::fs::DirBuilder::new().mode(0o700).create(dir);
        let Some(dir) = open_dir(dir) else { return false };
        let tmp = format!(".{name}.{}.tmp", std::process::id());
        let create = || {
            rustix::fs::openat(
                &dir,
                tmp.as_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )
        };
        // A name left by a process of the same pid that was killed mid-write (containers
        // often run as pid 1): only this user can write here, so it is removed (not
        // followed: unlinking a link removes the link) and created again once.
        let created = create().or_else(|e| {
            if e == rustix::io::Errno::EXIST {
                let _ = rustix::fs::unlinkat(&dir, tmp.as_str(), rustix::fs::AtFlags::empty());
                create()
            } else {
                Err(e)
            }
        });
        let Ok(fd) = created else {
            return false;
        };
        let mut file = std::fs::File::from(fd);
        let stored = file.write_all(bytes).is_ok()
            && file.sync_all().is_ok()
            && rustix::fs::renameat(&dir, tmp.as_str(), &dir, name).is_ok();
        if !stored {
            let _ = rustix::fs::unlinkat(&dir, tmp.as_str(), rustix::fs::AtFlags::empty());
        }
        stored
    }
}

#[cfg(not(unix))]
mod imp {
    use std::path::Path;

    pub fn load(_dir: &Path, _name: &str) -> Option<Vec<u8>> {
        None
    }

    pub fn store(_dir: &Path, _name: &str, _bytes: &[u8]) -> bool {
        false
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::{PermissionsExt, symlink};
    use std::path::PathBuf;

    use super::*;

    /// A fresh cache root (0755) under the system's temporary folder.
    fn root(tag: &str) -> PathBuf {
        let root = std::env::temp_dir().join(format!("kiln-cache-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        root
    }

    fn mode(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_stored_file_loads_from_a_private_folder() {
        let root = root("ok");
        let dir = root.join("kiln");
        assert!(store(&dir, "k.cwasm", b"code"));
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(
            std::fs::metadata(dir.join("k.cwasm")).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(load(&dir, "k.cwasm").as_deref(), Some(&b"code"[..]));
        assert_eq!(load(&dir, "missing.cwasm"), None);
        // Nothing temporary is left.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn files_and_folders_others_could_write_are_not_trusted() {
        let root = root("shared");
        let dir = root.join("kiln");
        assert!(store(&dir, "k.cwasm", b"code"));
        mode(&dir.join("k.cwasm"), 0o620);
        assert_eq!(load(&dir, "k.cwasm"), None, "group-writable file");
        mode(&dir.join("k.cwasm"), 0o600);
        mode(&dir, 0o777);
        assert_eq!(load(&dir, "k.cwasm"), None, "world-writable folder");
        assert!(!store(&dir, "j.cwasm", b"code"), "nothing is stored there either");
        mode(&dir, 0o700);
        mode(&root, 0o777);
        assert_eq!(load(&dir, "k.cwasm"), None, "world-writable cache root");
        mode(&root, 0o1777);
        assert_eq!(
            load(&dir, "k.cwasm").as_deref(),
            Some(&b"code"[..]),
            "a sticky root, as /tmp"
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn links_are_not_followed() {
        let root = root("links");
        let real = root.join("real");
        assert!(store(&real, "k.cwasm", b"code"));
        // The cache folder a link to a trusted folder: not used.
        symlink(&real, root.join("kiln")).unwrap();
        assert_eq!(load(&root.join("kiln"), "k.cwasm"), None, "linked folder");
        // A cached file that is a link to a trusted file: not used.
        let dir = root.join("dir");
        assert!(store(&dir, "other.cwasm", b"x"));
        symlink(real.join("k.cwasm"), dir.join("k.cwasm")).unwrap();
        assert_eq!(load(&dir, "k.cwasm"), None, "linked file");
        // A link planted at the temporary name is not written through (it is removed,
        // and the file made in the private folder).
        let victim = root.join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        symlink(&victim, dir.join(format!(".n.cwasm.{}.tmp", std::process::id()))).unwrap();
        assert!(store(&dir, "n.cwasm", b"code"));
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(load(&dir, "n.cwasm").as_deref(), Some(&b"code"[..]));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn folders_and_files_of_another_user_are_not_trusted() {
        if rustix::process::geteuid().as_raw() != 0 {
            eprintln!("skipped: giving a file to another user needs root");
            return;
        }
        let root = root("owner");
        let dir = root.join("kiln");
        assert!(store(&dir, "k.cwasm", b"code"));
        let nobody = Some(65534);
        std::os::unix::fs::chown(dir.join("k.cwasm"), nobody, nobody).unwrap();
        assert_eq!(load(&dir, "k.cwasm"), None, "a file of another user");
        std::os::unix::fs::chown(dir.join("k.cwasm"), Some(0), Some(0)).unwrap();
        std::os::unix::fs::chown(&dir, nobody, nobody).unwrap();
        assert_eq!(load(&dir, "k.cwasm"), None, "a folder of another user");
        std::os::unix::fs::chown(&dir, Some(0), Some(0)).unwrap();
        std::os::unix::fs::chown(&root, nobody, nobody).unwrap();
        assert_eq!(load(&dir, "k.cwasm"), None, "a root of another user");
        std::fs::remove_dir_all(root).unwrap();
    }
}
