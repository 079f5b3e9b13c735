//! The release tarball: a gzip-compressed tar of the release directory,
//! with `bin/ erts-*/ lib/ releases/` at its top, as OTP's `release_handler`
//! and `mix release` expect.
//!
//! The archive is deterministic: entries in sorted order, owner 0:0, a
//! fixed modification time (`SOURCE_DATE_EPOCH` when set, else 0) and
//! normalized modes (0755 for directories and executables, 0600 for files
//! only their owner may read, such as the cookie, 0644 otherwise).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use flate2::{write::GzEncoder, Compression};

use crate::error::{IoContext, Result};
use crate::fsutil::{check_interrupted, TempPath};

/// A tarball written under a temporary name, waiting to be published.
#[derive(Debug)]
pub struct Packed {
    tmp: TempPath,
    pub size: u64,
}

impl Packed {
    /// Renames the tarball to `dest`: it appears whole or not at all.
    pub fn publish(self, dest: &Path) -> Result<()> {
        self.tmp.publish(dest)
    }
}

/// Packs the release at `release_root` into a temporary file beside `dest`.
pub fn pack(release_root: &Path, dest: &Path) -> Result<Packed> {
    let tmp = TempPath::beside(dest)?;
    let file = File::create(tmp.path()).at(dest, "cannot create the tarball")?;
    let gz = GzEncoder::new(BufWriter::new(file), Compression::new(6));
    let mut builder = tar::Builder::new(gz);
    let mtime = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0);
    for entry in walkdir::WalkDir::new(release_root)
        .min_depth(1)
        .sort_by_file_name()
    {
        check_interrupted()?;
        let entry = entry
            .map_err(|e| std::io::Error::other(e.to_string()))
            .at(release_root, "cannot read the release")?;
        let rel = entry
            .path()
            .strip_prefix(release_root)
            .unwrap_or(entry.path());
        let meta = fs::metadata(entry.path()).at(entry.path(), "cannot read")?;
        let mut header = tar::Header::new_gnu();
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header
            .set_username("root")
            .at(dest, "cannot write the tarball")?;
        header
            .set_groupname("root")
            .at(dest, "cannot write the tarball")?;
        let mode = meta.permissions().mode();
        if meta.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            builder
                .append_data(&mut header, rel, std::io::empty())
                .at(dest, "cannot write the tarball")?;
        } else {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(if mode & 0o111 != 0 {
                0o755
            } else if mode & 0o044 == 0 {
                0o600
            } else {
                0o644
            });
            header.set_size(meta.len());
            let file = File::open(entry.path()).at(entry.path(), "cannot read")?;
            builder
                .append_data(&mut header, rel, file)
                .at(dest, "cannot write the tarball")?;
        }
    }
    let gz = builder.into_inner().at(dest, "cannot write the tarball")?;
    let mut out = gz.finish().at(dest, "cannot write the tarball")?;
    out.flush().at(dest, "cannot write the tarball")?;
    let file = out
        .into_inner()
        .map_err(|e| e.into_error())
        .at(dest, "cannot write the tarball")?;
    file.sync_all().at(dest, "cannot write the tarball")?;
    let size = file.metadata().at(dest, "cannot read")?.len();
    Ok(Packed { tmp, size })
}
