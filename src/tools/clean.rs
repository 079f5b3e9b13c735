//! What killed relpack runs left behind: the temporaries of runs that no
//! longer hold their lock (`util/owner.rs` says how that is told
//! soundly), found in every directory relpack writes beside outputs under
//! a project's `_build` and in the temporary directory `check` uses.
//! Every run already removes such leftovers in the directories it writes
//! to; this finds them anywhere in a build tree (a CI cache, say), reports
//! how much room they take, and removes them unless only asked to list.

use std::path::{Path, PathBuf};

use crate::util::owner;

/// A dead run's temporary, file, directory or lock file, with its size.
pub use crate::util::owner::Stale as Leftover;

/// What was found, and whether it was removed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CleanReport {
    /// Each leftover, in directory order.
    pub leftovers: Vec<Leftover>,
    /// Their bytes, summed.
    pub bytes: u64,
    /// Whether they were removed (else only listed).
    pub removed: bool,
}

/// How deep below `_build` outputs are written: `_build/<env>` (tarballs,
/// executables, images), `_build/<env>/rel` (release directories, upgrade
/// packages), `_build/<env>/relpack` (the cookie store) and the like.
const DEPTH: usize = 3;

/// Finds the leftovers of dead runs under `project`'s `_build` (and in the
/// temporary directory) and, when `remove`, removes them.
pub fn clean(project: &Path, remove: bool) -> CleanReport {
    let mut dirs = vec![std::env::temp_dir()];
    collect_dirs(&project.join("_build"), DEPTH, &mut dirs);
    let mut report = CleanReport {
        removed: remove,
        ..CleanReport::default()
    };
    for dir in dirs {
        let found = if remove {
            owner::remove_stale(&dir)
        } else {
            owner::list_stale(&dir)
        };
        report.leftovers.extend(found);
    }
    report.bytes = report.leftovers.iter().map(|l| l.bytes).sum();
    report
}

/// `dir` and its subdirectories down to `depth` levels, links not followed
/// and relpack's own temporaries not entered.
fn collect_dirs(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if !dir.is_dir() || dir.is_symlink() {
        return;
    }
    out.push(dir.to_owned());
    if depth == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subdirs: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !e.file_name().to_string_lossy().contains(".relpack-"))
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for sub in subdirs {
        collect_dirs(&sub, depth - 1, out);
    }
}
