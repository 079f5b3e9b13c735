//! Path resolution, the way the kernel does it, over a file system that
//! is either the build machine's or a base image's merged layers: the
//! default base copies a host path together with every symlink met on the
//! way (`/lib -> usr/lib`, `/usr/bin/awk -> /etc/alternatives/awk ->
//! /usr/bin/mawk`), and the `--base` checks ask whether a path resolves to
//! a file in the base.

use std::path::Path;

/// What is at a path (symlinks not followed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
    Link(String),
}

/// A file system to resolve paths in; paths are relative to `/`, without
/// a leading slash (`usr/lib/x`).
pub(crate) trait View {
    fn kind(&self, path: &str) -> Option<Kind>;
}

/// A machine's file system as a directory holds it: the build machine's
/// (`/`) or the target's root.
pub(crate) struct Root<'a>(pub &'a Path);

impl View for Root<'_> {
    fn kind(&self, path: &str) -> Option<Kind> {
        let full = self.0.join(path);
        let meta = std::fs::symlink_metadata(&full).ok()?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&full).ok()?;
            Some(Kind::Link(target.to_string_lossy().into_owned()))
        } else if meta.is_dir() {
            Some(Kind::Dir)
        } else {
            Some(Kind::File)
        }
    }
}

/// Where a path leads.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The symlinks followed, as (path, target), in the order met.
    pub links: Vec<(String, String)>,
    /// The path reached, with no symlink in it.
    pub path: String,
    pub kind: Kind,
}

/// Whether `path` resolves to a file in `view`.
pub(crate) fn has_file(view: &dyn View, path: &str) -> bool {
    resolve(view, path).is_some_and(|r| r.kind == Kind::File)
}

/// Resolves `path` (absolute) in `view`, following symlinks in every
/// component as the kernel would (at most 40); `None` if it leads nowhere.
pub(crate) fn resolve(view: &dyn View, path: &str) -> Option<Resolved> {
    let mut links = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut rest: Vec<String> = components(path).rev().collect();
    let mut kind = Kind::Dir;
    while let Some(part) = rest.pop() {
        match part.as_str() {
            "." => continue,
            ".." => {
                current.pop();
                kind = Kind::Dir;
                continue;
            }
            _ => {}
        }
        if kind != Kind::Dir {
            return None;
        }
        let candidate = [current.join("/"), part.clone()]
            .iter()
            .filter(|s| !s.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("/");
        match view.kind(&candidate)? {
            Kind::Link(target) => {
                if links.len() >= 40 {
                    return None;
                }
                links.push((candidate, target.clone()));
                if target.starts_with('/') {
                    current.clear();
                }
                rest.extend(components(&target).rev());
                kind = Kind::Dir;
            }
            found => {
                current.push(part);
                kind = found;
            }
        }
    }
    Some(Resolved {
        links,
        path: current.join("/"),
        kind,
    })
}

fn components(path: &str) -> impl DoubleEndedIterator<Item = String> + '_ {
    path.split('/').filter(|p| !p.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Map(BTreeMap<&'static str, Kind>);

    impl View for Map {
        fn kind(&self, path: &str) -> Option<Kind> {
            self.0.get(path).cloned()
        }
    }

    #[test]
    fn follows_links_in_every_component() {
        let fs = Map(BTreeMap::from([
            ("lib", Kind::Link("usr/lib".into())),
            ("usr", Kind::Dir),
            ("usr/lib", Kind::Dir),
            ("usr/lib/libx.so.1", Kind::Link("libx.so.1.2".into())),
            ("usr/lib/libx.so.1.2", Kind::File),
            ("usr/bin", Kind::Dir),
            ("usr/bin/awk", Kind::Link("/etc/alt/awk".into())),
            ("etc", Kind::Dir),
            ("etc/alt", Kind::Dir),
            ("etc/alt/awk", Kind::Link("../../usr/bin/mawk".into())),
            ("usr/bin/mawk", Kind::File),
            ("loop", Kind::Link("loop".into())),
        ]));
        let r = resolve(&fs, "/lib/libx.so.1").unwrap();
        assert_eq!(r.path, "usr/lib/libx.so.1.2");
        assert_eq!(r.kind, Kind::File);
        assert_eq!(
            r.links,
            [
                ("lib".to_owned(), "usr/lib".to_owned()),
                ("usr/lib/libx.so.1".to_owned(), "libx.so.1.2".to_owned())
            ]
        );
        let awk = resolve(&fs, "/usr/bin/awk").unwrap();
        assert_eq!((awk.path.as_str(), awk.links.len()), ("usr/bin/mawk", 2));
        assert_eq!(resolve(&fs, "/loop"), None);
        assert_eq!(resolve(&fs, "/usr/bin/mawk/x"), None);
        assert_eq!(resolve(&fs, "/nothing"), None);
    }
}
