//! Which run owns a temporary, so that the next run can remove what a
//! killed one left behind (SIGKILL, the OOM killer and a cancelled CI job
//! run no clean-up) and never what a live one is writing.
//!
//! Every temporary relpack writes beside an output is named
//! `.{name}.relpack-{owner}-{n}`, where `{owner}` is the run's token
//! (`{pid}x{start time in hex}`). Before its first temporary in a
//! directory, the run creates `.relpack-{owner}.lock` there and holds an
//! exclusive `flock(2)` on it for as long as it has temporaries there. The
//! kernel drops the lock when the process dies, however it dies, so
//! "can I take the lock?" tells a dead owner from a live one soundly,
//! whatever PIDs the system reuses. A run sweeps each directory before its
//! first temporary there: it removes the temporaries of every owner whose
//! lock it can take, then that lock file. Names from relpack before this
//! scheme (`.{name}.relpack-{pid}-{nanos}`, no lock file) are removed when
//! no process has that PID.

use std::collections::HashMap;
use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What marks a temporary's name, before its owner and number.
const MARK: &str = ".relpack-";

/// This run's token: the PID and the start time, unique among the runs
/// that share a directory.
pub(crate) fn token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{}x{nanos:x}", std::process::id())
    })
}

/// The lock file of `owner` in `dir`.
fn lock_path(dir: &Path, owner: &str) -> PathBuf {
    dir.join(format!("{MARK}{owner}.lock"))
}

/// The name of this run's temporary number `n` for `base` (a file name).
pub(crate) fn temp_name(base: &str, n: u64) -> String {
    format!(".{base}{MARK}{}-{n}", token())
}

/// This run's locks, one per directory it has temporaries in, with how
/// many it has there.
#[derive(Default)]
pub(crate) struct Locks {
    held: HashMap<PathBuf, (File, usize)>,
    next: u64,
}

impl Locks {
    /// Takes (or counts once more) this run's lock in `dir`, sweeping the
    /// directory of dead runs' temporaries first; returns a number for a
    /// new temporary's name. A directory that takes no lock file takes no
    /// temporary either: the error is the caller's to report.
    pub(crate) fn enter(&mut self, dir: &Path) -> std::io::Result<u64> {
        if let Some((_, count)) = self.held.get_mut(dir) {
            *count += 1;
        } else {
            remove_stale(dir);
            let file = File::create(lock_path(dir, token()))?;
            flock(&file, libc::LOCK_EX)?;
            self.held.insert(dir.to_owned(), (file, 1));
        }
        self.next += 1;
        Ok(self.next)
    }

    /// One temporary fewer in `dir`; the last one gone, the lock file goes.
    pub(crate) fn leave(&mut self, dir: &Path) {
        if let Some((_, count)) = self.held.get_mut(dir) {
            *count -= 1;
            if *count == 0 {
                let _ = fs::remove_file(lock_path(dir, token()));
                self.held.remove(dir);
            }
        }
    }

    /// Gives up every lock and its file (the temporaries are gone).
    pub(crate) fn release_all(&mut self) {
        for dir in self.held.keys() {
            let _ = fs::remove_file(lock_path(dir, token()));
        }
        self.held.clear();
    }
}

fn flock(file: &File, how: libc::c_int) -> std::io::Result<()> {
    // SAFETY: a valid open descriptor and a flock operation.
    if unsafe { libc::flock(file.as_raw_fd(), how) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A temporary, or a lock file, of some run in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// `.{name}.relpack-{owner}-{n}`.
    Temp { owner: String },
    /// `.relpack-{owner}.lock`.
    Lock { owner: String },
}

/// Reads an entry's file name.
fn parse(name: &str) -> Option<Entry> {
    if let Some(owner) = name
        .strip_prefix(MARK)
        .and_then(|r| r.strip_suffix(".lock"))
    {
        return Some(Entry::Lock {
            owner: owner.to_owned(),
        });
    }
    if !name.starts_with('.') {
        return None;
    }
    let (_, tail) = name.rsplit_once(MARK)?;
    let (owner, n) = tail.rsplit_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let new = owner.split_once('x').is_some_and(|(pid, t)| {
        digits(pid) && !t.is_empty() && t.bytes().all(|b| b.is_ascii_hexdigit())
    });
    (digits(n) && (new || digits(owner))).then(|| Entry::Temp {
        owner: owner.to_owned(),
    })
}

/// How a directory's entries stand.
enum Owner {
    /// Its run is alive (or is this one).
    Alive,
    /// Its run is dead; the lock (if it had one) is held here until dropped.
    Dead(Option<File>),
}

/// Whether `owner`'s run is alive; for a dead one with a lock file, the
/// lock, taken.
fn owner_state(dir: &Path, owner: &str) -> Owner {
    if owner == token() {
        return Owner::Alive;
    }
    if !owner.contains('x') {
        // An older relpack's name: its PID is all there is to go by.
        let alive = owner.parse::<libc::pid_t>().is_ok_and(|pid| {
            // SAFETY: signal 0 only checks that the process exists.
            let sent = unsafe { libc::kill(pid, 0) } == 0;
            sent || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
        });
        return if alive {
            Owner::Alive
        } else {
            Owner::Dead(None)
        };
    }
    let path = lock_path(dir, owner);
    let Ok(file) = File::open(&path) else {
        // A run makes its lock file before any temporary and removes it
        // after the last: without one, no temporary of it is being written.
        return Owner::Dead(None);
    };
    if flock(&file, libc::LOCK_EX | libc::LOCK_NB).is_err() {
        return Owner::Alive;
    }
    // The file at the path must still be the one locked: a live run may
    // have removed its lock file and made a new one since it was opened.
    match (fs::metadata(&path), file.metadata()) {
        (Ok(a), Ok(b)) if a.ino() == b.ino() && a.dev() == b.dev() => Owner::Dead(Some(file)),
        _ => Owner::Alive,
    }
}

/// A dead run's temporary: its path and size in bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stale {
    /// The temporary.
    pub path: PathBuf,
    /// What it takes on disk, in bytes (apparent sizes, summed).
    pub bytes: u64,
}

/// The temporaries and lock files of dead runs in `dir`, by owner.
fn dead_entries(dir: &Path) -> Vec<(Vec<PathBuf>, Option<File>)> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut by_owner: HashMap<String, Vec<PathBuf>> = HashMap::new();
    for entry in read.flatten() {
        let name = entry.file_name();
        match name.to_str().and_then(parse) {
            Some(Entry::Temp { owner } | Entry::Lock { owner }) => {
                by_owner.entry(owner).or_default().push(entry.path())
            }
            None => {}
        }
    }
    let mut owners: Vec<_> = by_owner.into_iter().collect();
    owners.sort();
    owners
        .into_iter()
        .filter_map(|(owner, mut paths)| match owner_state(dir, &owner) {
            Owner::Alive => None,
            Owner::Dead(lock) => {
                // The lock file last: it guards the others until they are gone.
                paths.sort_by_key(|p| p.extension().is_some_and(|e| e == "lock"));
                Some((paths, lock))
            }
        })
        .collect()
}

/// Removes what dead runs left in `dir`; returns what was removed.
pub(crate) fn remove_stale(dir: &Path) -> Vec<Stale> {
    let mut removed = Vec::new();
    for (paths, _lock) in dead_entries(dir) {
        for path in paths {
            let bytes = size(&path);
            let gone = match fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => fs::remove_dir_all(&path),
                Ok(_) => fs::remove_file(&path),
                Err(_) => Ok(()),
            };
            if gone.is_ok() {
                removed.push(Stale { path, bytes });
            }
        }
    }
    removed
}

/// What dead runs left in `dir`, without removing it.
pub(crate) fn list_stale(dir: &Path) -> Vec<Stale> {
    dead_entries(dir)
        .into_iter()
        .flat_map(|(paths, _lock)| paths)
        .map(|path| Stale {
            bytes: size(&path),
            path,
        })
        .collect()
}

/// The bytes of the files below `path` (or of `path`).
fn size(path: &Path) -> u64 {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::read_dir(path)
            .map(|d| d.flatten().map(|e| size(&e.path())).sum())
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_back() {
        let name = temp_name("shop-0.1.0.tar.gz", 7);
        assert_eq!(
            parse(&name),
            Some(Entry::Temp {
                owner: token().to_owned()
            })
        );
        assert_eq!(
            parse(".shop.relpack-4242-123456789"),
            Some(Entry::Temp {
                owner: "4242".into()
            })
        );
        assert_eq!(
            parse(".relpack-12x1f.lock"),
            Some(Entry::Lock {
                owner: "12x1f".into()
            })
        );
        for other in [
            "shop-0.1.0.tar.gz",
            ".relpack-x",
            ".a.relpack-12xzz-1",
            ".a.relpack-1-",
        ] {
            assert_eq!(parse(other), None, "{other}");
        }
    }

    #[test]
    fn dead_runs_are_swept_and_live_ones_kept() {
        let dir = std::env::temp_dir().join(format!("relpack-owner-{}", token()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        // A dead run: its lock file, nobody holding it; a file and a tree.
        let dead = "1x1";
        File::create(lock_path(&dir, dead)).unwrap();
        fs::write(dir.join(format!(".out.tar.gz{MARK}{dead}-1")), b"partial").unwrap();
        fs::create_dir_all(dir.join(format!(".rel{MARK}{dead}-2/lib"))).unwrap();
        // A live one: its lock held through another open file.
        let live = "2x2";
        let held = File::create(lock_path(&dir, live)).unwrap();
        flock(&held, libc::LOCK_EX).unwrap();
        fs::write(dir.join(format!(".out.tar.gz{MARK}{live}-1")), b"writing").unwrap();
        // Not relpack's.
        fs::write(dir.join("out.tar.gz"), b"done").unwrap();

        let listed = list_stale(&dir);
        assert_eq!(listed.len(), 3, "{listed:?}");
        assert_eq!(listed.iter().map(|s| s.bytes).sum::<u64>(), 7);
        let removed = remove_stale(&dir);
        assert_eq!(removed.len(), 3);
        let mut left: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                format!(".out.tar.gz{MARK}{live}-1"),
                format!("{MARK}{live}.lock"),
                "out.tar.gz".into()
            ]
        );
        drop(held);
        fs::remove_dir_all(&dir).unwrap();
    }
}
