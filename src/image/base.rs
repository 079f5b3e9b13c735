//! Reading a `--base` image archive: an OCI image layout in a tar
//! (`oci-layout`, `index.json`, `blobs/`; `skopeo copy ... oci-archive:`,
//! `podman save --format oci-archive`) or a `docker save` archive
//! (`manifest.json` naming the config and layer files; `podman save`'s
//! default). Its layers are reused byte for byte; they are also read, to
//! know which files the base has (whiteouts applied), for the checks and
//! for its `/etc/passwd` and `/etc/group`, and what the SBOM lists.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

use super::layer::{sha256, Blob, GZIP_LAYER};
use crate::error::{Error, IoContext, Result};
use crate::formats::oci::{self, uncompress, Change, Image};
use crate::util::view::{Kind, View};
use crate::vocab::Codec;

/// A base image, read.
#[derive(Debug)]
pub(crate) struct BaseImage {
    /// Its layers, as stored in the archive.
    pub layers: Vec<Blob>,
    /// Its image config (`config` holds `Env`, ...).
    pub config: Value,
    /// The merged file system of its layers.
    pub files: Files,
    /// The merged file system's text files relpack reads ([`KEPT`]), by
    /// path without the leading slash.
    pub texts: BTreeMap<String, String>,
}

/// The files of a base image whose contents relpack reads: the users and
/// groups the image's user joins, and the Debian packages and release
/// the SBOM lists.
const KEPT: &[&str] = &[
    "etc/passwd",
    "etc/group",
    "var/lib/dpkg/status",
    "etc/os-release",
    "usr/lib/os-release",
];

impl BaseImage {
    /// The text of `path` (no leading slash), one of [`KEPT`], if the
    /// image has it.
    pub fn text(&self, path: &str) -> Option<&str> {
        self.texts.get(path).map(String::as_str)
    }
}

/// The paths of a merged file system, without contents.
#[derive(Debug, Default)]
pub(crate) struct Files(BTreeMap<String, Kind>);

impl View for Files {
    fn kind(&self, path: &str) -> Option<Kind> {
        self.0.get(path).cloned()
    }
}

/// Reads the base image archive at `path` for an image of `architecture`
/// (OCI's name, e.g. `amd64`).
pub(crate) fn read(path: &Path, architecture: &str) -> Result<BaseImage> {
    let bad = |message: String| Error::Image {
        path: path.to_owned(),
        message,
    };
    let Image { config, layers } = oci::read(path, Some(architecture))?;
    let found = config["architecture"].as_str().unwrap_or("");
    if found != architecture {
        return Err(bad(format!(
            "the base image is for `{found}`, the release's ERTS for `{architecture}`"
        )));
    }
    let mut files = Files::default();
    let mut texts = BTreeMap::new();
    let mut blobs = Vec::new();
    for (i, (media_type, bytes)) in layers.into_iter().enumerate() {
        let tar = uncompress(&bytes).at(path, "cannot decompress a layer of the base image")?;
        apply(&tar, &mut files, &mut texts)
            .map_err(|e| bad(format!("layer {} is not a valid tar ({e})", i + 1)))?;
        let media_type = media_type.unwrap_or_else(|| match Codec::sniff(&bytes) {
            Codec::Gzip => GZIP_LAYER.into(),
            _ => "application/vnd.oci.image.layer.v1.tar".into(),
        });
        blobs.push(Blob {
            comment: format!("base image layer {}", i + 1),
            media_type,
            digest: sha256(&bytes),
            diff_id: sha256(&tar),
            tar_size: tar.len() as u64,
            bytes,
        });
    }
    Ok(BaseImage {
        layers: blobs,
        config,
        files,
        texts,
    })
}

/// Applies one layer's tar to the merged file system: whiteouts
/// (`.wh.NAME`, `.wh..wh..opq`) remove what lower layers had.
fn apply(
    tar: &[u8],
    files: &mut Files,
    texts: &mut BTreeMap<String, String>,
) -> std::io::Result<()> {
    let remove_under = |files: &mut Files, dir: &str, keep_dir: bool| {
        let prefix = format!("{dir}/");
        files
            .0
            .retain(|p, _| !(p.starts_with(&prefix) || (!keep_dir && p == dir)));
    };
    oci::changes(tar, |change| {
        let (name, mut entry) = match change {
            Change::Opaque(dir) => {
                remove_under(files, &dir, true);
                return Ok(());
            }
            Change::Whiteout(hidden) => {
                remove_under(files, &hidden, false);
                return Ok(());
            }
            Change::Add(name, entry) => (name, entry),
        };
        let kind = match entry.header().entry_type() {
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => Kind::Link(
                entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default(),
            ),
            _ => Kind::File,
        };
        if kind != Kind::Dir {
            remove_under(files, &name, true);
        }
        if KEPT.contains(&name.as_str()) {
            let mut text = String::new();
            if kind == Kind::File {
                entry.read_to_string(&mut text)?;
                texts.insert(name.clone(), text);
            } else {
                texts.remove(&name);
            }
        }
        if !name.is_empty() {
            files.0.insert(name, kind);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::view::resolve;
    use std::path::PathBuf;

    /// A tar of `(path, Some(contents) | None for a directory, link)`.
    fn tar_of(entries: &[(&str, Option<&str>, Option<&str>)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data, link) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            match (data, link) {
                (_, Some(target)) => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_size(0);
                    b.append_link(&mut h, path, target).unwrap();
                }
                (Some(text), None) => {
                    h.set_size(text.len() as u64);
                    b.append_data(&mut h, path, text.as_bytes()).unwrap();
                }
                (None, None) => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_size(0);
                    b.append_data(&mut h, path, std::io::empty()).unwrap();
                }
            }
        }
        b.into_inner().unwrap()
    }

    /// A `docker save`-style archive of two layers, the second gzipped.
    fn docker_archive(dir: &Path, architecture: &str) -> PathBuf {
        let lower = tar_of(&[
            ("bin", None, Some("usr/bin")),
            ("usr/", None, None),
            ("usr/bin/", None, None),
            ("usr/bin/sh", Some("#!"), None),
            ("etc/", None, None),
            ("etc/passwd", Some("root:x:0:0::/root:/bin/sh\n"), None),
            ("opt/", None, None),
            ("opt/old/", None, None),
            ("opt/old/file", Some("x"), None),
            ("opt/gone", Some("x"), None),
        ]);
        let upper = tar_of(&[
            ("opt/.wh.gone", Some(""), None),
            ("opt/old/.wh..wh..opq", Some(""), None),
            (
                "etc/passwd",
                Some("root:x:0:0::/root:/bin/sh\nbob:x:1000:1000::/:/bin/sh\n"),
                None,
            ),
        ]);
        let upper = crate::pipeline::archive::gzip(&upper, 2).unwrap();
        let config = format!(
            r#"{{"architecture":"{architecture}","os":"linux","config":{{"Env":["PATH=/bin"]}}}}"#
        );
        let manifest =
            r#"[{"Config":"c.json","RepoTags":["base:1"],"Layers":["a/layer.tar","b/layer.tar"]}]"#;
        let outer = {
            let mut b = tar::Builder::new(Vec::new());
            for (name, bytes) in [
                ("manifest.json", manifest.as_bytes()),
                ("c.json", config.as_bytes()),
                ("a/layer.tar", &lower),
                ("b/layer.tar", &upper),
            ] {
                let mut h = tar::Header::new_gnu();
                h.set_mode(0o644);
                h.set_size(bytes.len() as u64);
                b.append_data(&mut h, name, bytes).unwrap();
            }
            b.into_inner().unwrap()
        };
        let path = dir.join("base.tar");
        std::fs::write(&path, outer).unwrap();
        path
    }

    #[test]
    fn reads_a_docker_save_archive_with_whiteouts() {
        let dir = tempfile::tempdir().unwrap();
        let base = read(&docker_archive(dir.path(), "amd64"), "amd64").unwrap();
        assert_eq!(base.layers.len(), 2);
        assert_eq!(
            base.layers[0].media_type,
            "application/vnd.oci.image.layer.v1.tar"
        );
        assert_eq!(base.layers[1].media_type, GZIP_LAYER);
        assert_ne!(base.layers[1].digest, base.layers[1].diff_id);
        assert_eq!(resolve(&base.files, "/bin/sh").unwrap().path, "usr/bin/sh");
        assert!(base.files.kind("opt/gone").is_none());
        assert!(base.files.kind("opt/old/file").is_none());
        assert_eq!(base.files.kind("opt/old"), Some(Kind::Dir));
        assert!(base.text("etc/passwd").unwrap().contains("bob:x:1000"));
        assert_eq!(base.config["config"]["Env"][0], "PATH=/bin");
    }

    #[test]
    fn another_architecture_or_no_image_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(&docker_archive(dir.path(), "arm64"), "amd64").unwrap_err();
        assert!(
            err.to_string().contains("the base image is for `arm64`"),
            "{err}"
        );
        let junk = dir.path().join("junk");
        std::fs::write(&junk, tar_of(&[("hello", Some("x"), None)])).unwrap();
        let err = read(&junk, "amd64").unwrap_err().to_string();
        assert!(err.contains("junk: not an image archive"), "{err}");
    }
}
