//! OCI image layouts and `docker save` archives, read: an OCI layout in a
//! directory or a tar (`oci-layout`, `index.json`, `blobs/`; `skopeo copy
//! ... oci-archive:`, `podman save --format oci-archive`) or a `docker
//! save` tar (`manifest.json` naming the config and layer files; `podman
//! save`'s default): the image config and the layers as stored.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, IoContext, Result};
use crate::vocab::Codec;

/// An image, read: its config and its layers in order, each with its
/// media type if the manifest says, as stored.
#[derive(Debug)]
pub(crate) struct Image {
    pub(crate) config: Value,
    pub(crate) layers: Vec<(Option<String>, Vec<u8>)>,
}

/// Reads the image at `path` (a directory or an archive); with an
/// `architecture` (OCI's name, e.g. `amd64`), the index's image for it.
pub(crate) fn read(path: &Path, architecture: Option<&str>) -> Result<Image> {
    let members = Members::open(path)?;
    let bad = |message: String| Error::Image {
        path: path.to_owned(),
        message,
    };
    let (config, layers) = if members.has("index.json") {
        let mut index = members.json("index.json")?;
        let manifest = loop {
            let manifests = field(&index, "manifests", path, "index.json")?
                .as_array()
                .cloned()
                .unwrap_or_default();
            let chosen = manifests
                .iter()
                .find(|m| {
                    m.pointer("/platform/architecture")
                        .and_then(Value::as_str)
                        .is_none_or(|a| architecture.is_none_or(|want| a == want))
                })
                .ok_or_else(|| {
                    bad(format!(
                        "index.json lists no image for {}",
                        architecture.unwrap_or("any architecture")
                    ))
                })?;
            let digest = chosen["digest"].as_str().unwrap_or_default();
            let value: Value = serde_json::from_slice(&members.blob(digest)?)
                .map_err(|e| bad(format!("manifest {digest} is not valid JSON ({e})")))?;
            if value.get("manifests").is_some() {
                index = value;
            } else {
                break value;
            }
        };
        let config_digest = field(&manifest, "config", path, "the manifest")?["digest"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let config = serde_json::from_slice(&members.blob(&config_digest)?)
            .map_err(|e| bad(format!("config {config_digest} is not valid JSON ({e})")))?;
        let layers = field(&manifest, "layers", path, "the manifest")?
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|l| {
                let digest = l["digest"].as_str().unwrap_or_default();
                Ok((
                    l["mediaType"].as_str().map(str::to_owned),
                    members.blob(digest)?,
                ))
            })
            .collect::<Result<_>>()?;
        (config, layers)
    } else if members.has("manifest.json") {
        let manifest = members.json("manifest.json")?;
        let image = manifest
            .get(0)
            .ok_or_else(|| bad("manifest.json lists no image".into()))?;
        let config_file = field(image, "Config", path, "manifest.json")?
            .as_str()
            .unwrap_or_default();
        let config = members.json(config_file)?;
        let layers = field(image, "Layers", path, "manifest.json")?
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|l| Ok((None, members.read(l.as_str().unwrap_or_default())?)))
            .collect::<Result<_>>()?;
        (config, layers)
    } else {
        return Err(not_an_image(path));
    };
    Ok(Image { config, layers })
}

/// An image layout's files: the members of an archive (regular files by
/// name, with where their bytes are), or a directory's files.
enum Members {
    Archive {
        file: File,
        path: PathBuf,
        entries: HashMap<String, (u64, u64)>,
        links: HashMap<String, String>,
    },
    Dir(PathBuf),
}

impl Members {
    fn open(path: &Path) -> Result<Members> {
        if path.is_dir() {
            return Ok(Members::Dir(path.to_owned()));
        }
        let file = File::open(path).at(path, "cannot open the image")?;
        let mut entries = HashMap::new();
        let mut links = HashMap::new();
        let mut archive = tar::Archive::new(&file);
        let list = archive
            .entries_with_seek()
            .map_err(|_| not_an_image(path))?;
        for entry in list {
            let entry = entry.map_err(|_| not_an_image(path))?;
            let name = normalize(&entry.path_bytes());
            match entry.header().entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    entries.insert(name, (entry.raw_file_position(), entry.size()));
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    if let Some(target) = entry.link_name_bytes().map(|t| normalize(&t)) {
                        let target = match entry.header().entry_type() {
                            // A symlink is relative to its directory.
                            tar::EntryType::Symlink if !target.starts_with('/') => {
                                match name.rsplit_once('/') {
                                    Some((dir, _)) => format!("{dir}/{target}"),
                                    None => target,
                                }
                            }
                            _ => target,
                        };
                        links.insert(name, target);
                    }
                }
                _ => {}
            }
        }
        Ok(Members::Archive {
            file,
            path: path.to_owned(),
            entries,
            links,
        })
    }

    fn path(&self) -> &Path {
        match self {
            Members::Archive { path, .. } | Members::Dir(path) => path,
        }
    }

    fn has(&self, name: &str) -> bool {
        match self {
            Members::Archive { entries, .. } => entries.contains_key(name),
            Members::Dir(dir) => dir.join(name).is_file(),
        }
    }

    fn read(&self, name: &str) -> Result<Vec<u8>> {
        let name = normalize(name.as_bytes());
        let missing = || Error::Image {
            path: self.path().to_owned(),
            message: format!("the image has no {name}, which its manifest names"),
        };
        match self {
            Members::Archive {
                file,
                path,
                entries,
                links,
            } => {
                let name = links.get(&name).cloned().unwrap_or_else(|| name.clone());
                let &(offset, size) = entries.get(&name).ok_or_else(missing)?;
                let mut bytes = vec![0; size as usize];
                file.read_exact_at(&mut bytes, offset)
                    .at(path, "cannot read the image")?;
                Ok(bytes)
            }
            // Names come from the image: none may leave its directory.
            Members::Dir(dir) if name.split('/').any(|c| c == "..") => Err(missing()),
            Members::Dir(dir) => std::fs::read(dir.join(&name)).map_err(|_| missing()),
        }
    }

    fn json(&self, name: &str) -> Result<Value> {
        serde_json::from_slice(&self.read(name)?).map_err(|e| Error::Image {
            path: self.path().to_owned(),
            message: format!("{name} is not valid JSON ({e})"),
        })
    }

    fn blob(&self, digest: &str) -> Result<Vec<u8>> {
        let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
        self.read(&format!("blobs/{algorithm}/{hex}"))
    }
}

pub(crate) fn not_an_image(path: &Path) -> Error {
    Error::Image {
        path: path.to_owned(),
        message: "not an image archive (a tar with index.json or manifest.json, or an OCI layout directory): make one with `podman save` or `docker save`".into(),
    }
}

/// A member's name without `./` or `/` in front.
pub(crate) fn normalize(name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    let mut name: &str = &name;
    loop {
        if let Some(rest) = name.strip_prefix("./") {
            name = rest;
        } else if let Some(rest) = name.strip_prefix('/') {
            name = rest;
        } else {
            break;
        }
    }
    name.trim_end_matches('/').to_owned()
}

fn field<'a>(value: &'a Value, key: &str, path: &Path, what: &str) -> Result<&'a Value> {
    value.get(key).ok_or_else(|| Error::Image {
        path: path.to_owned(),
        message: format!("{what} has no `{key}`"),
    })
}

/// What one entry of a layer does to the file system below it.
pub(crate) enum Change<'e, 't> {
    /// `.wh..wh..opq`: the directory (`""`: the root) loses what lower
    /// layers put in it.
    Opaque(String),
    /// `.wh.NAME`: the path goes, with whatever is under it.
    Whiteout(String),
    /// An entry to add, under its normalized name (boxed: an entry is
    /// large beside the other changes).
    Add(String, Box<tar::Entry<'e, &'t [u8]>>),
}

/// Calls `each` with every change of the layer `tar`, in order.
pub(crate) fn changes<'t>(
    tar: &'t [u8],
    mut each: impl for<'e> FnMut(Change<'e, 't>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries()? {
        let entry = entry?;
        let name = normalize(&entry.path_bytes());
        let (dir, base) = name.rsplit_once('/').unwrap_or(("", &name));
        if base == ".wh..wh..opq" {
            each(Change::Opaque(dir.to_owned()))?;
        } else if let Some(hidden) = base.strip_prefix(".wh.") {
            each(Change::Whiteout(match dir {
                "" => hidden.to_owned(),
                _ => format!("{dir}/{hidden}"),
            }))?;
        } else {
            each(Change::Add(name, Box::new(entry)))?;
        }
    }
    Ok(())
}

/// A layer's tar, whether stored gzip-, zstd-compressed or plain.
pub(crate) fn uncompress(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    Codec::sniff(bytes).decoder(bytes)?.read_to_end(&mut out)?;
    Ok(out)
}
