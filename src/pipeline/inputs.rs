//! Locating the inputs of a release: the project's compiled `_build` tree,
//! the Erlang/OTP installation (ERTS and OTP's applications) and Elixir's
//! own applications, and finding any application by name among them.
//!
//! Nothing here decides what goes into a release; it only answers where
//! things are and what their `.app` files say.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::formats::app::AppSpec;
use crate::formats::term::Term;

/// Where an application comes from; decides how the boot script names its
/// path (`$ROOT/lib/...` for OTP's own, `$RELEASE_LIB/...` otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// Compiled by the project, under `_build/<env>/lib`.
    Project,
    /// Elixir's own applications (elixir, logger, iex, eex, ...).
    Elixir,
    /// Part of the Erlang/OTP installation, under `<otp_root>/lib`.
    Otp,
}

/// An application found on disk.
#[derive(Debug, Clone)]
pub struct AppSource {
    /// The application's `.app` contents.
    pub spec: AppSpec,
    /// The application directory (holding `ebin/`, maybe `priv/`).
    pub dir: PathBuf,
    /// Whether it comes from the project, Elixir or OTP.
    pub origin: Origin,
}

/// A compiled Mix project.
#[derive(Debug, Clone)]
pub struct MixBuild {
    /// The project directory (holding `mix.exs`).
    pub root: PathBuf,
    /// `_build/<env>`.
    pub build_dir: PathBuf,
    /// Application name to its directory under `_build/<env>/lib`.
    pub apps: BTreeMap<String, PathBuf>,
    /// The project's own application, `None` for an umbrella.
    pub project_app: Option<String>,
    /// Consolidated protocols, if the project has them.
    pub consolidated: Option<PathBuf>,
    /// The Elixir version and OTP release that compiled the project, as
    /// Mix records them (`.mix/compile.elixir_scm`), when it does.
    pub compiled_with: Option<(String, String)>,
}

impl MixBuild {
    /// Opens `<root>/_build/<env>`, checking it exists and holds compiled
    /// applications, for a project whose application (`None` for an
    /// umbrella) is known from its `mix.exs`.
    pub fn open_with(root: &Path, env: &str, project_app: Option<String>) -> Result<MixBuild> {
        let build_root = root.join("_build");
        if !build_root.is_dir() {
            return Err(Error::NoBuild {
                path: build_root,
                env: env.to_owned(),
            });
        }
        let build_dir = build_root.join(env);
        let lib = build_dir.join("lib");
        if !lib.is_dir() {
            let mut found: Vec<String> = std::fs::read_dir(&build_root)
                .at(&build_root, "cannot list")?
                .filter_map(|e| e.ok())
                .filter(|e| e.path().join("lib").is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            found.sort();
            return Err(Error::EnvNotBuilt {
                path: build_root,
                env: env.to_owned(),
                found: if found.is_empty() {
                    "nothing".into()
                } else {
                    found.join(", ")
                },
            });
        }
        let mut apps = BTreeMap::new();
        for entry in std::fs::read_dir(&lib).at(&lib, "cannot list")? {
            let entry = entry.at(&lib, "cannot list")?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry
                .path()
                .join("ebin")
                .join(format!("{name}.app"))
                .is_file()
            {
                apps.insert(name, entry.path());
            }
        }
        if apps.is_empty() {
            return Err(Error::Project {
                path: lib,
                message: format!(
                    "no compiled applications (no */ebin/*.app): run `MIX_ENV={env} mix compile`"
                ),
            });
        }
        if let Some(app) = &project_app {
            if !apps.contains_key(app) {
                return Err(Error::Project {
                    path: lib.join(app),
                    message: format!(
                        "the project app `{app}` is not compiled: run `MIX_ENV={env} mix compile`"
                    ),
                });
            }
        }
        let consolidated = [
            project_app
                .as_ref()
                .map(|a| lib.join(a).join("consolidated")),
            Some(build_dir.join("consolidated")),
        ]
        .into_iter()
        .flatten()
        .find(|p| p.is_dir());
        let compiled_with = project_app
            .iter()
            .chain(apps.keys())
            .find_map(|app| read_compiled_with(&lib.join(app)));
        Ok(MixBuild {
            root: root.to_owned(),
            build_dir,
            apps,
            project_app,
            consolidated,
            compiled_with,
        })
    }
}

/// `{_, {ElixirVsn, OtpRelease}, _}` from an app's `.mix/compile.elixir_scm`.
fn read_compiled_with(app_dir: &Path) -> Option<(String, String)> {
    let bytes = std::fs::read(app_dir.join(".mix").join("compile.elixir_scm")).ok()?;
    let term = crate::formats::etf::decode(&bytes).ok()?;
    let text = |t: &Term| match t {
        Term::Binary(b) => String::from_utf8(b.clone()).ok(),
        other => other.as_string(),
    };
    let [_, Term::Tuple(versions), ..] = term.as_tuple()? else {
        return None;
    };
    Some((text(versions.first()?)?, text(versions.get(1)?)?))
}

/// An Erlang/OTP installation: the source of ERTS and OTP's applications.
#[derive(Debug, Clone)]
pub struct OtpInstall {
    /// The installation root (`code:root_dir()`, e.g. `/usr/lib/erlang`).
    pub root: PathBuf,
    /// The version of its ERTS, as in its `erts-<vsn>` directory.
    pub erts_vsn: String,
    /// The OTP major release, e.g. `25`.
    pub otp_release: u32,
    /// The full OTP version, e.g. `25.2.3`, when the install records it.
    pub otp_version: Option<String>,
    /// OTP's applications: name to `(vsn, dir)`, the newest of each.
    pub libs: BTreeMap<String, (String, PathBuf)>,
}

impl OtpInstall {
    /// Finds OTP through the `erl` on `PATH`.
    pub fn from_path_env() -> Result<OtpInstall> {
        let erl = find_on_path("erl").ok_or_else(|| {
            Error::Otp("no `erl` on PATH: install Erlang/OTP or pass --otp-root".into())
        })?;
        Self::open(&root_of_erl(&erl)?)
    }

    /// Opens the OTP installation at `root` (the directory holding
    /// `erts-<vsn>/`, `lib/` and `releases/`).
    pub fn open(root: &Path) -> Result<OtpInstall> {
        let not_otp = |what: &str| {
            Error::Otp(format!(
                "{}: {what}; point --otp-root (or --include-erts) at an OTP root such as /usr/lib/erlang",
                root.display()
            ))
        };
        let releases = root.join("releases");
        let start_erl = releases.join("start_erl.data");
        let (erts_vsn, otp_release) = match std::fs::read_to_string(&start_erl) {
            Ok(text) => {
                let mut fields = text.split_whitespace();
                match (fields.next(), fields.next()) {
                    (Some(e), Some(r)) => (e.to_owned(), r.to_owned()),
                    _ => return Err(not_otp("releases/start_erl.data is malformed")),
                }
            }
            Err(_) => {
                let erts = newest_by_name(root, |dir| dir.join("bin").is_dir())?
                    .remove("erts")
                    .ok_or_else(|| not_otp("no erts-<vsn> directory"))?;
                let rel = std::fs::read_dir(&releases)
                    .ok()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.parse::<u32>().is_ok())
                    .max_by_key(|n| n.parse::<u32>().unwrap_or(0))
                    .ok_or_else(|| not_otp("no releases/<major> directory"))?;
                (erts.0, rel)
            }
        };
        if !root.join(format!("erts-{erts_vsn}")).join("bin").is_dir() {
            return Err(not_otp(&format!("erts-{erts_vsn}/bin is missing")));
        }
        let otp_release: u32 = otp_release
            .parse()
            .map_err(|_| not_otp("the OTP release in releases/start_erl.data is not a number"))?;
        let otp_version =
            std::fs::read_to_string(releases.join(otp_release.to_string()).join("OTP_VERSION"))
                .ok()
                .map(|s| s.trim().to_owned());
        let lib = root.join("lib");
        let libs = newest_by_name(&lib, |dir| dir.join("ebin").is_dir())?;
        Ok(OtpInstall {
            root: root.to_owned(),
            erts_vsn,
            otp_release,
            otp_version,
            libs,
        })
    }

    /// `<root>/erts-<vsn>`.
    pub fn erts_dir(&self) -> PathBuf {
        self.root.join(format!("erts-{}", self.erts_vsn))
    }
}

/// The OTP root an `erl` script belongs to: its `ROOTDIR=` line, or the
/// directory above `bin/` for installs that compute it.
fn root_of_erl(erl: &Path) -> Result<PathBuf> {
    let real = std::fs::canonicalize(erl).at(erl, "cannot resolve")?;
    if let Ok(text) = std::fs::read_to_string(&real) {
        let fixed = text.lines().find_map(|l| {
            let v = l.trim().strip_prefix("ROOTDIR=")?.trim_matches('"');
            (!v.contains('$') && !v.is_empty()).then(|| PathBuf::from(v))
        });
        if let Some(root) = fixed.filter(|r| r.join("releases").is_dir()) {
            return Ok(root);
        }
    }
    real.parent()
        .and_then(Path::parent)
        .filter(|r| r.join("releases").is_dir())
        .map(Path::to_owned)
        .ok_or_else(|| {
            Error::Otp(format!(
                "{}: cannot tell the OTP root of this `erl`; pass --otp-root",
                real.display()
            ))
        })
}

/// Elixir's installation: `<root>/lib/<app>/ebin` for elixir, logger, ...
#[derive(Debug, Clone)]
pub struct ElixirInstall {
    /// Its `lib` directory, holding one directory per application.
    pub lib: PathBuf,
}

impl ElixirInstall {
    /// Finds Elixir through the `elixir` on `PATH`.
    pub fn from_path_env() -> Result<ElixirInstall> {
        let elixir = find_on_path("elixir").ok_or_else(|| {
            Error::Elixir("no `elixir` on PATH: install Elixir or pass --elixir-root".into())
        })?;
        let real = std::fs::canonicalize(&elixir).at(&elixir, "cannot resolve")?;
        let root = real
            .parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("/"));
        Self::open(root)
    }

    /// Opens the Elixir installation at `root` (holding `lib/elixir/ebin`).
    pub fn open(root: &Path) -> Result<ElixirInstall> {
        let lib = root.join("lib");
        if lib.join("elixir").join("ebin").join("elixir.app").is_file() {
            Ok(ElixirInstall { lib })
        } else {
            Err(Error::Elixir(format!(
                "{}: no lib/elixir/ebin/elixir.app; pass --elixir-root pointing at an Elixir install",
                root.display()
            )))
        }
    }
}

/// Every place an application may come from, searched in order: the
/// project's build, Elixir, then OTP. (`mix release` looks in OTP first;
/// preferring what the project compiled means a path dependency that
/// shares a name with an OTP-installed app is the one that ships.)
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The project's compiled applications.
    pub build: MixBuild,
    /// The Erlang/OTP installation.
    pub otp: OtpInstall,
    /// Elixir's installation; `None` for a rebar3 project, which needs none.
    pub elixir: Option<ElixirInstall>,
}

impl Inputs {
    /// Finds and reads application `name`; `Ok(None)` when it is nowhere.
    pub fn find_app(&self, name: &str) -> Result<Option<AppSource>> {
        let candidates = [
            self.build
                .apps
                .get(name)
                .map(|d| (d.clone(), Origin::Project)),
            self.elixir
                .as_ref()
                .map(|e| e.lib.join(name))
                .filter(|d| d.join("ebin").join(format!("{name}.app")).is_file())
                .map(|d| (d, Origin::Elixir)),
            self.otp
                .libs
                .get(name)
                .map(|(_, d)| (d.clone(), Origin::Otp)),
        ];
        match candidates.into_iter().flatten().next() {
            None => Ok(None),
            Some((dir, origin)) => {
                let spec = AppSpec::read(&dir.join("ebin").join(format!("{name}.app")), name)?;
                Ok(Some(AppSource { spec, dir, origin }))
            }
        }
    }

    /// Where [`find_app`](Self::find_app) looks, for error messages.
    pub fn search_path(&self) -> String {
        let mut places = vec![self.build.build_dir.join("lib").display().to_string()];
        if let Some(e) = &self.elixir {
            places.push(e.lib.display().to_string());
        }
        places.push(self.otp.root.join("lib").display().to_string());
        places.join(", ")
    }
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The `<name>-<vsn>` directories in `dir` for which `usable` holds,
/// indexed by name: the newest version of each.
fn newest_by_name(
    dir: &Path,
    usable: impl Fn(&Path) -> bool,
) -> Result<BTreeMap<String, (String, PathBuf)>> {
    let mut newest: BTreeMap<String, (String, PathBuf)> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).at(dir, "cannot list")? {
        let entry = entry.at(dir, "cannot list")?;
        let dir_name = entry.file_name().to_string_lossy().into_owned();
        let Some((name, vsn)) = dir_name.rsplit_once('-') else {
            continue;
        };
        let newer = newest
            .get(name)
            .is_none_or(|(old, _)| compare_versions(vsn, old).is_gt());
        if newer && usable(&entry.path()) {
            newest.insert(name.to_owned(), (vsn.to_owned(), entry.path()));
        }
    }
    Ok(newest)
}

/// Compares dotted versions numerically where both parts are numbers.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |s: &str| -> Vec<(u64, String)> {
        s.split(['.', '-', '+'])
            .map(|p| (p.parse().unwrap_or(0), p.to_owned()))
            .collect()
    };
    parts(a).cmp(&parts(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(compare_versions("1.10.0", "1.9.3").is_gt());
        assert!(compare_versions("13.1.5", "13.1.5").is_eq());
    }
}
