//! One image layer: a tree of directories, files and symlinks written as a
//! deterministic tar (sorted paths, a fixed mtime, normalized modes, owner
//! 0:0 unless an entry is the application user's by design), gzip-compressed
//! by the tarball's own compressor, with the digests OCI names it by.

use crate::pipeline::plan::ReleasePlan;
use crate::util::cancel::Cancel;
use std::collections::BTreeMap;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::error::{IoContext, Result};
use crate::formats::digest::hex;

/// Who owns an entry: root, or the image's application user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner {
    pub uid: u64,
    pub gid: u64,
}

impl Owner {
    pub const ROOT: Owner = Owner { uid: 0, gid: 0 };
}

/// Where a file's bytes come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A file on the build machine, read when the layer is written.
    Host(PathBuf),
    /// Generated text (`/etc/passwd`, ...).
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone)]
enum Node {
    Dir {
        mode: u32,
        owner: Owner,
    },
    File {
        source: Source,
        mode: u32,
        owner: Owner,
    },
    Link(String),
}

/// The entries of a layer, by path relative to `/` (no leading slash).
#[derive(Debug, Default)]
pub(crate) struct Tree {
    nodes: BTreeMap<String, Node>,
}

/// The mode an image file gets: 0755 if anyone may execute it, else 0644;
/// a file only its owner may read keeps 0600 (its owner is then the
/// application user, see the callers).
pub(crate) fn file_mode(host_mode: u32) -> u32 {
    if host_mode & 0o111 != 0 {
        0o755
    } else if host_mode & 0o044 == 0 {
        0o600
    } else {
        0o644
    }
}

impl Tree {
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The paths on the build machine whose files the tree copies, and
    /// the symlinks it copies too (as `/`-rooted paths).
    pub fn host_paths(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter_map(|(path, node)| match node {
                Node::File {
                    source: Source::Host(_),
                    ..
                }
                | Node::Link(_) => Some(format!("/{path}")),
                _ => None,
            })
            .collect()
    }

    /// Adds the parents of `path` that are not there yet, as root's 0755
    /// directories.
    fn parents(&mut self, path: &str) {
        let mut end = 0;
        while let Some(i) = path[end..].find('/') {
            end += i;
            self.nodes
                .entry(path[..end].to_owned())
                .or_insert(Node::Dir {
                    mode: 0o755,
                    owner: Owner::ROOT,
                });
            end += 1;
        }
    }

    pub fn dir(&mut self, path: &str, mode: u32, owner: Owner) {
        self.parents(path);
        self.nodes
            .insert(path.to_owned(), Node::Dir { mode, owner });
    }

    pub fn file(&mut self, path: &str, source: Source, mode: u32, owner: Owner) {
        self.parents(path);
        self.nodes.insert(
            path.to_owned(),
            Node::File {
                source,
                mode,
                owner,
            },
        );
    }

    pub fn link(&mut self, path: &str, target: &str) {
        self.parents(path);
        self.nodes
            .insert(path.to_owned(), Node::Link(target.to_owned()));
    }

    /// The layer's tar: entries in path order (a directory before what is
    /// in it), every header fixed but for path, type, mode, owner, size.
    pub fn tar(&self, mtime: u64, cancel: &Cancel) -> Result<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        let fail = |path: &str| PathBuf::from(format!("/{path}"));
        for (path, node) in &self.nodes {
            cancel.check()?;
            let mut header = tar::Header::new_gnu();
            header.set_mtime(mtime);
            let (uid, gid) = match node {
                Node::Dir { owner, .. } | Node::File { owner, .. } => (owner.uid, owner.gid),
                Node::Link(_) => (0, 0),
            };
            header.set_uid(uid);
            header.set_gid(gid);
            match node {
                Node::Dir { mode, .. } => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_mode(*mode);
                    header.set_size(0);
                    builder
                        .append_data(&mut header, format!("{path}/"), std::io::empty())
                        .at(fail(path), "cannot add to the image layer")?;
                }
                Node::File { source, mode, .. } => {
                    let bytes = match source {
                        Source::Host(host) => std::fs::read(host).at(host, "cannot read")?,
                        Source::Bytes(bytes) => bytes.clone(),
                    };
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_mode(*mode);
                    header.set_size(bytes.len() as u64);
                    builder
                        .append_data(&mut header, path, bytes.as_slice())
                        .at(fail(path), "cannot add to the image layer")?;
                }
                Node::Link(target) => {
                    header.set_entry_type(tar::EntryType::Symlink);
                    header.set_mode(0o777);
                    header.set_size(0);
                    builder
                        .append_link(&mut header, path, target)
                        .at(fail(path), "cannot add to the image layer")?;
                }
            }
        }
        builder
            .into_inner()
            .at(PathBuf::from("image layer"), "cannot write")
    }
}

/// A layer as the image lists it.
#[derive(Debug, Clone)]
pub(crate) struct Blob {
    /// What the layer holds, for the image history and the report.
    pub comment: String,
    /// `application/vnd.oci.image.layer.v1.tar+gzip` (or what a base
    /// image's layer is).
    pub media_type: String,
    /// The bytes stored as the blob.
    pub bytes: Vec<u8>,
    /// `sha256:<hex>` of `bytes`.
    pub digest: String,
    /// `sha256:<hex>` of the uncompressed tar (the config's diff_id).
    pub diff_id: String,
    /// Bytes of the uncompressed tar.
    pub tar_size: u64,
}

pub(crate) const GZIP_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

impl Tree {
    /// The tree as a compressed layer blob, with the plan's modification
    /// time, jobs and cancellation.
    pub fn blob(&self, comment: String, plan: &ReleasePlan) -> Result<Blob> {
        let tar = self.tar(plan.mtime, &plan.cancel)?;
        let bytes = crate::pipeline::archive::gzip(&tar, plan.jobs)
            .at(PathBuf::from("image layer"), "cannot compress")?;
        Ok(Blob {
            comment,
            media_type: GZIP_LAYER.into(),
            digest: sha256(&bytes),
            diff_id: sha256(&tar),
            tar_size: tar.len() as u64,
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_first_and_the_tar_is_stable() {
        let mut tree = Tree::default();
        tree.file(
            "opt/app/bin/x",
            Source::Bytes(b"#!/bin/sh\n".to_vec()),
            0o755,
            Owner::ROOT,
        );
        tree.link("bin", "usr/bin");
        tree.dir("tmp", 0o1777, Owner::ROOT);
        let tar = tree.tar(7, &Cancel::new()).unwrap();
        assert_eq!(tar, tree.tar(7, &Cancel::new()).unwrap());
        let mut archive = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.mtime().unwrap(),
                )
            })
            .collect();
        let paths: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            paths,
            [
                "bin",
                "opt/",
                "opt/app/",
                "opt/app/bin/",
                "opt/app/bin/x",
                "tmp/"
            ]
        );
        assert_eq!(entries[5].1, 0o1777);
        assert!(entries.iter().all(|e| e.2 == 7));
    }

    #[test]
    fn modes_are_normalized() {
        assert_eq!(file_mode(0o700), 0o755);
        assert_eq!(file_mode(0o664), 0o644);
        assert_eq!(file_mode(0o600), 0o600);
    }
}
