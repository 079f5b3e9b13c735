//! File-system helpers shared by assembly and archiving: temporary paths
//! that clean up after themselves, atomic publication by rename, and
//! listing trees to copy with symlinks dereferenced.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// A file or directory being written under a temporary name next to its
/// destination; removed on drop unless [`publish`](TempPath::publish)ed.
#[derive(Debug)]
pub struct TempPath {
    path: Option<PathBuf>,
    /// The parent directory, if this created it: removed with the
    /// temporary path, so a failed build leaves nothing behind.
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
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = parent.join(format!(".{base}.relpack-{}-{nanos}", std::process::id()));
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
    /// there: the old content stays whole until the new one is in place.
    pub fn publish(mut self, dest: &Path) -> Result<()> {
        let path = self.path.take().expect("published once");
        if dest.is_dir() && !dest.is_symlink() {
            let old = TempPath::beside(dest)?;
            fs::rename(dest, old.path()).at(dest, "cannot move the previous output aside")?;
            if let Err(e) = fs::rename(&path, dest) {
                let _ = fs::rename(old.path(), dest);
                let _ = fs::remove_dir_all(&path);
                return Err(e).at(dest, "cannot move the new output into place");
            }
            drop(old);
            Ok(())
        } else {
            fs::rename(&path, dest).map_err(|e| {
                let _ = remove_any(&path);
                Error::Io {
                    path: dest.to_owned(),
                    action: "cannot move the new output into place",
                    source: e,
                }
            })
        }
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = remove_any(p);
            if let Some(parent) = &self.created_parent {
                // Only if empty: another build may have put files there.
                let _ = fs::remove_dir(parent);
            }
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

/// Lists the files of the tree at `src` as `(source, destination under
/// dest)` pairs and creates its directories under `dest`. Symlinks are
/// followed (a release must not point outside itself).
pub fn tree_files(src: &Path, dest: &Path) -> Result<Vec<(PathBuf, PathBuf)>> {
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

/// Writes `bytes` to `path` with Unix permission `mode`.
pub fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, bytes).at(path, "cannot write")?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).at(path, "cannot set permissions")
}
