//! `mix.lock`: the Hex packages a Mix project locked, with the checksum
//! Hex verifies each package tarball against. The file is an Elixir map
//! literal, read by the native evaluator (no code runs).

use std::path::Path;

use crate::config::elixir::{children, Context, Evaluator, NoDsl, Source};
use crate::error::{Error, Result};
use crate::formats::term::Term;

/// A Hex package of `mix.lock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPackage {
    /// The application (the lock's key).
    pub app: String,
    /// The package's name on Hex (usually the application's).
    pub package: String,
    /// The locked version.
    pub version: String,
    /// The SHA-256 of the package tarball, lowercase hex (the "outer"
    /// checksum); `None` in locks older than Hex 0.20 that lack it.
    pub sha256: Option<String>,
    /// The Hex repository, `hexpm` for the public one.
    pub repository: String,
}

/// The Hex packages of the `mix.lock` at `path`, by application name;
/// git and path dependencies are not packages and are left out.
pub fn read(path: &Path) -> Result<Vec<LockedPackage>> {
    let source = Source::read(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut ev = Evaluator::new(&source, Context::new(dir, "prod"));
    let mut value = Term::Map(Vec::new());
    for node in children(source.root()) {
        value = ev.eval(node, &mut NoDsl)?;
    }
    let Term::Map(entries) = value else {
        return Err(Error::Parse {
            path: path.to_owned(),
            line: 1,
            message: "mix.lock is not a map of dependencies".into(),
        });
    };
    let text = crate::config::text_of;
    let mut packages: Vec<LockedPackage> = entries
        .iter()
        .filter_map(|(app, lock)| match lock.as_tuple()? {
            // {:hex, package, version, inner, managers, deps, repo, outer}
            [Term::Atom(hex), package, version, _inner, _, _, repo, rest @ ..] if hex == "hex" => {
                Some(LockedPackage {
                    app: text(app)?,
                    package: text(package)?,
                    version: text(version)?,
                    sha256: rest.first().and_then(text).map(|s| s.to_ascii_lowercase()),
                    repository: text(repo)?,
                })
            }
            // Older locks: {:hex, package, version, inner, managers, deps}.
            [Term::Atom(hex), package, version, ..] if hex == "hex" => Some(LockedPackage {
                app: text(app)?,
                package: text(package)?,
                version: text(version)?,
                sha256: None,
                repository: "hexpm".into(),
            }),
            _ => None,
        })
        .collect();
    packages.sort_by(|a, b| a.app.cmp(&b.app));
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_packages_with_their_outer_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("mix.lock");
        std::fs::write(
            &lock,
            r#"%{
  "jason": {:hex, :jason, "1.4.1", "af1504e35f629ddcdd6addb3513c3853991f694921b1b9368b0bd32beb9f1b63", [:mix], [{:decimal, "~> 1.0 or ~> 2.0", [hex: :decimal, repo: "hexpm", optional: true]}], "hexpm", "FBB01ECDFD565B56261302F7E1FCC27C4FB8F32D56EAB74DB621FC154604A7A1"},
  "plug_crypto": {:hex, :plug_crypto, "1.2.3", "8f77d13aeb32bfd9e654cb68f0af517b371fb34c56c9f2b58fe3df1235c1251a", [:mix], [], "hexpm"},
  "mylib": {:git, "https://example.org/mylib.git", "0123456789abcdef", []},
}
"#,
        )
        .unwrap();
        let packages = read(&lock).unwrap();
        assert_eq!(packages.len(), 2);
        assert_eq!(packages[0].app, "jason");
        assert_eq!(packages[0].version, "1.4.1");
        assert_eq!(
            packages[0].sha256.as_deref(),
            Some("fbb01ecdfd565b56261302f7e1fcc27c4fb8f32d56eab74db621fc154604a7a1")
        );
        assert_eq!(packages[1].sha256, None);
    }
}
