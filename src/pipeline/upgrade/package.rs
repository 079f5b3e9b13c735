//! The files `release_handler` reads: the upgrade package
//! `releases/<vsn>/<name>.tar.gz` (what `unpack_release("<vsn>/<name>")`
//! extracts into the release root) and `releases/RELEASES`.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::UpgradePlan;
use crate::error::{Error, IoContext, Result};
use crate::pipeline::plan::ReleasePlan;
use crate::util::cancel::Cancel;
use crate::util::fs::TempPath;

/// Unpacks a previous release's tarball into a temporary directory beside
/// the output directory (removed when the returned path is dropped).
pub fn unpack_previous(tarball: &Path, output_dir: &Path, cancel: &Cancel) -> Result<TempPath> {
    let dir = TempPath::beside(&output_dir.with_extension("upfrom"))?;
    fs::create_dir_all(dir.path()).at(dir.path(), "cannot create a scratch directory")?;
    let not_a_tarball = || Error::Upgrade {
        path: tarball.to_owned(),
        message: "not a release tarball (.tar.gz, .tar.zst or .tar)".into(),
    };
    let reader =
        crate::pipeline::archive::open(tarball, "cannot open the previous release's tarball")?
            .ok_or_else(not_a_tarball)?;
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .at(tarball, "not a release tarball (.tar.gz, .tar.zst or .tar)")?;
    for entry in entries {
        cancel.check()?;
        let mut entry = entry.at(tarball, "corrupt tarball")?;
        // unpack_in refuses entries that would land outside the directory.
        entry
            .unpack_in(dir.path())
            .at(tarball, "cannot unpack the previous release")?;
    }
    Ok(dir)
}

/// Finishes an upgrade release staged at `root`: writes the upgrade
/// package and keeps the previous releases beside the new one, as
/// Distillery's output directory kept them (so another upgrade can start
/// from any of them).
pub fn finish(plan: &ReleasePlan, upgrade: &UpgradePlan, root: &Path) -> Result<()> {
    write_package(plan, upgrade, root)?;
    let mut previous = vec![upgrade.previous_root.clone()];
    if upgrade.unpacked.is_some() && plan.output_dir.is_dir() {
        previous.push(plan.output_dir.clone());
    }
    for prev in previous {
        for sub in ["releases", "lib"] {
            let Ok(dir) = fs::read_dir(prev.join(sub)) else {
                continue;
            };
            for entry in dir.flatten() {
                let to = root.join(sub).join(entry.file_name());
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                if is_dir && !to.exists() {
                    link_tree(&entry.path(), &to, &plan.cancel)?;
                }
            }
        }
    }
    Ok(())
}

/// Hard-links (or, across file systems, copies) the tree at `src` to `dest`.
fn link_tree(src: &Path, dest: &Path, cancel: &Cancel) -> Result<()> {
    for entry in walkdir::WalkDir::new(src).sort_by_file_name() {
        cancel.check()?;
        let entry = entry
            .map_err(|e| std::io::Error::other(e.to_string()))
            .at(src, "cannot read the previous release")?;
        let to = dest.join(entry.path().strip_prefix(src).unwrap_or(entry.path()));
        let kind = entry.file_type();
        if kind.is_dir() {
            fs::create_dir_all(&to).at(&to, "cannot create directory")?;
        } else if kind.is_file() && fs::hard_link(entry.path(), &to).is_err() {
            fs::copy(entry.path(), &to).at(&to, "cannot copy the previous release")?;
        }
    }
    Ok(())
}

/// The files of the upgrade package, relative to the release root, in
/// tar order: the `lib/` directories the previous release lacks, ERTS when
/// it changed, and `releases/<vsn>/`.
fn package_files(plan: &ReleasePlan, upgrade: &UpgradePlan, root: &Path) -> Result<Vec<PathBuf>> {
    let mut tops: Vec<PathBuf> = upgrade
        .new_lib_dirs
        .iter()
        .map(|d| Path::new("lib").join(d))
        .collect();
    if upgrade.erts_changed {
        tops.push(PathBuf::from(format!("erts-{}", plan.otp.erts_vsn)));
    }
    tops.push(plan.version_dir());
    let package = plan.upgrade_package_path();
    let mut files = Vec::new();
    for top in tops {
        for entry in walkdir::WalkDir::new(root.join(&top))
            .follow_links(true)
            .sort_by_file_name()
        {
            let entry = entry
                .map_err(|e| std::io::Error::other(e.to_string()))
                .at(root.join(&top), "cannot read the release")?;
            let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
            if rel != package {
                files.push(rel.to_owned());
            }
        }
    }
    Ok(files)
}

/// Writes `releases/<vsn>/<name>.tar.gz` into the staged release: one
/// gzip stream (OTP's `erl_tar` reads no other), entries owned by root
/// with the build's fixed modification time, as the release tarball's.
fn write_package(plan: &ReleasePlan, upgrade: &UpgradePlan, root: &Path) -> Result<()> {
    let dest = root.join(plan.upgrade_package_path());
    let mtime = plan.mtime;
    let file = fs::File::create(&dest).at(&dest, "cannot write the upgrade package")?;
    let gz =
        flate2::write::GzEncoder::new(std::io::BufWriter::new(file), flate2::Compression::new(6));
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for rel in package_files(plan, upgrade, root)? {
        plan.cancel.check()?;
        let path = root.join(&rel);
        let meta = fs::metadata(&path).at(&path, "cannot read")?;
        let mut header = tar::Header::new_ustar();
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        let exec = meta.permissions().mode() & 0o111 != 0;
        if meta.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            tar.append_data(&mut header, &rel, std::io::empty())
        } else {
            header.set_mode(if exec { 0o755 } else { 0o644 });
            header.set_size(meta.len());
            let f = fs::File::open(&path).at(&path, "cannot read")?;
            tar.append_data(&mut header, &rel, f)
        }
        .at(&dest, "cannot write the upgrade package")?;
    }
    let gz = tar
        .into_inner()
        .at(&dest, "cannot write the upgrade package")?;
    let mut out = gz.finish().at(&dest, "cannot write the upgrade package")?;
    out.flush().at(&dest, "cannot write the upgrade package")?;
    Ok(())
}
