//! File-system helpers shared by assembly and archiving: temporary paths
//! that clean up after themselves (also when the process is interrupted),
//! atomic publication by rename, and copying or listing trees with
//! symlinks dereferenced.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Temporary paths not yet published or removed, and this run's locks on
/// the directories they are in ([`owner`]). The mutex also serializes
/// publication against [`remove_pending`], so an interrupt either comes
/// before a rename or after it, never in the middle of a swap.
struct Pending {
    paths: Vec<PathBuf>,
    locks: Option<Locks>,
}

static PENDING: Mutex<Pending> = Mutex::new(Pending {
    paths: Vec::new(),
    locks: None,
});

fn pending() -> MutexGuard<'static, Pending> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

impl Pending {
    fn locks(&mut self) -> &mut Locks {
        self.locks.get_or_insert_with(Locks::default)
    }
}

/// Removes every temporary path of unfinished work (and this run's lock
/// files) and returns holding the lock, so nothing is published afterwards:
/// the last resort of a signal handler when the build does not stop by
/// itself.
pub fn remove_pending() -> impl Sized {
    let mut guard = pending();
    for path in guard.paths.drain(..) {
        let _ = remove_any(&path);
    }
    guard.locks().release_all();
    guard
}

use crate::error::{Error, IoContext, Result};
use crate::util::owner::{self, Locks};

/// A file or directory being written under a temporary name next to its
/// destination; removed on drop unless [`publish`](TempPath::publish)ed.
#[derive(Debug)]
pub struct TempPath {
    path: Option<PathBuf>,
    /// The parent directory, if this created it: removed again when left empty.
    created_parent: Option<PathBuf>,
}

impl TempPath {
    /// A fresh temporary name beside `dest` (same directory, so the final
    /// rename stays on one file system). The parent is created if needed.
    pub fn beside(dest: &Path) -> Result<TempPath> {
        let parent = dest.parent().unwrap_or(Path::new("."));
        let created_parent = (!parent.exists()).then(|| parent.to_owned());
        fs::create_dir_all(parent).at(parent, "cannot create the output directory")?;
        let base = dest
            .file_name()
            .map_or("out".into(), |n| n.to_string_lossy().into_owned());
        let mut guard = pending();
        // Sweeps what dead runs left here, the first time only.
        let n = guard
            .locks()
            .enter(parent)
            .at(dest, "cannot write the output")?;
        let path = parent.join(owner::temp_name(&base, n));
        guard.paths.push(path.clone());
        Ok(TempPath {
            path: Some(path),
            created_parent,
        })
    }

    pub fn path(&self) -> &Path {
        self.path
            .as_deref()
            .expect("a TempPath has its path until published")
    }

    /// Moves the finished file or directory to `dest`, replacing what was
    /// there in one atomic step: `dest` always holds the old or the new
    /// content, whole.
    pub fn publish(self, dest: &Path) -> Result<()> {
        let guard = pending();
        let path = self.path.as_deref().expect("published once");
        let result = if dest.is_dir() && !dest.is_symlink() {
            // The old directory ends up at `path`; dropping `self` removes it.
            exchange(path, dest)
        } else {
            fs::rename(path, dest)
        };
        drop(guard);
        result.at(dest, "cannot move the new output into place")
    }
}

/// `e`, told of `dest` where it names a path inside `tmp`, the temporary
/// that becomes `dest`: the user can act on `dest`, not on a hidden name
/// gone once the build stops.
pub(crate) fn blame_dest(e: Error, tmp: &Path, dest: &Path) -> Error {
    match e {
        Error::Io {
            path,
            action,
            source,
        } => Error::Io {
            path: match path.strip_prefix(tmp) {
                Ok(rel) => dest.join(rel),
                Err(_) => path,
            },
            action,
            source,
        },
        other => other,
    }
}

/// Swaps two directory entries atomically (`renameat2(RENAME_EXCHANGE)`).
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
    let (ca, cb) = (c(a)?, c(b)?);
    // SAFETY: both arguments are valid NUL-terminated paths for the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let mut guard = pending();
            guard.paths.retain(|q| q != &p);
            let _ = remove_any(&p);
            if let Some(parent) = p.parent() {
                guard.locks().leave(parent);
            }
        }
        if let Some(parent) = &self.created_parent {
            let _ = fs::remove_dir(parent);
        }
    }
}

fn remove_any(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(_) => Ok(()),
    }
}

/// Copies the tree at `src` to `dest`, following symlinks (a release must
/// not point outside itself) and keeping permission bits.
pub fn copy_tree(src: &Path, dest: &Path) -> Result<()> {
    for (from, to) in tree_files(src, dest)? {
        copy_file(&from, &to)?;
    }
    Ok(())
}

/// Lists the files of the tree at `src` as `(source, destination under
/// dest)` pairs and creates its directories under `dest`. Symlinks are
/// followed; one inside the tree that leads out of it (`priv/key ->
/// /etc/...`) is an error: it would ship whatever the build machine has
/// there.
pub fn tree_files(src: &Path, dest: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
    let base = fs::canonicalize(src).at(src, "cannot resolve (dangling symlink?)")?;
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(src)
        .follow_links(true)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(src).to_owned();
            let detail = e.to_string();
            Error::Io {
                path,
                action: "cannot copy (dangling or looping symlink?)",
                source: e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other(detail)),
            }
        })?;
        if entry.path_is_symlink() && entry.depth() > 0 {
            let target = fs::canonicalize(entry.path()).at(entry.path(), "cannot resolve")?;
            if !target.starts_with(&base) {
                return Err(Error::Project {
                    path: entry.path().to_owned(),
                    message: format!(
                        "symlink leads outside {} (to {}): put the file itself there",
                        src.display(),
                        target.display()
                    ),
                });
            }
        }
        let rel = entry.path().strip_prefix(src).unwrap_or(entry.path());
        let target = dest.join(rel);
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).at(&target, "cannot create directory")?;
        } else {
            files.push((entry.path().to_owned(), target));
        }
    }
    Ok(files)
}

/// Copies one file keeping its executable bits but never group or world
/// write permission: nothing in a release is writable by others.
pub fn copy_file(src: &Path, dest: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(src)
        .at(src, "cannot read")?
        .permissions()
        .mode();
    fs::copy(src, dest).at(src, "cannot copy")?;
    if shipped_mode(mode) != mode & 0o7777 {
        fs::set_permissions(dest, fs::Permissions::from_mode(shipped_mode(mode)))
            .at(dest, "cannot set permissions")?;
    }
    Ok(())
}

/// The one rule for the permission bits a file with `mode` ships with, in
/// the release directory and in the tarball alike: executable (any `x`
/// bit) or not, readable by group or others or private; never writable
/// but by its owner, no set-id bits.
pub fn shipped_mode(mode: u32) -> u32 {
    let private = mode & 0o044 == 0;
    match (mode & 0o111 != 0, private) {
        (true, false) => 0o755,
        (true, true) => 0o700,
        (false, false) => 0o644,
        (false, true) => 0o600,
    }
}

/// Writes `bytes` to `path` with Unix permission `mode`. The file is
/// created with `mode` (less the umask), so a cookie is never readable by
/// others even for a moment; the exact mode is set after.
pub fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .at(path, "cannot write")?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).at(path, "cannot set permissions")
}
