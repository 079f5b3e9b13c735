//! The release plan: every decision about a release, made before anything
//! is written. [`plan`] reads the inputs and resolves the applications;
//! [`crate::assemble`] and [`crate::archive`] only carry the plan out.

use std::path::{Path, PathBuf};

use crate::archive::Codec;
use crate::beam::{self, ChunkId};
use crate::boot::{BootApp, KernelModules};
use crate::cookie;
use crate::error::{Error, Result};
use crate::inputs::{AppSource, ElixirInstall, Inputs, MixBuild, Origin, OtpInstall};
use crate::resolve::{resolve, Request, StartType};
use crate::term::parse_consult;

/// Whether and where from the release bundles ERTS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncludeErts {
    /// Bundle the ERTS (and OTP applications) of the OTP used to build.
    Yes,
    /// Rely on an Erlang installed on the target; OTP applications are not
    /// copied either (as `mix release` does).
    No,
    /// Bundle the ERTS at this path: an OTP root or an `erts-<vsn>`
    /// directory inside one (e.g. an OTP built for the target platform).
    From(PathBuf),
}

/// What the caller asks for.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The Mix project directory.
    pub project_dir: PathBuf,
    /// The Mix environment whose `_build/<env>` is packaged.
    pub env: String,
    /// Release name; defaults to the project application's name.
    pub name: Option<String>,
    /// Release version; defaults to the project application's `vsn`.
    pub version: Option<String>,
    /// Applications the release names, with start types, added to the
    /// defaults (for an umbrella: which children to ship).
    pub apps: Vec<(String, StartType)>,
    /// Release directory; defaults to `_build/<env>/rel/<name>`.
    pub output_dir: Option<PathBuf>,
    pub include_erts: IncludeErts,
    /// Whether to write `_build/<env>/<name>-<vsn>.tar.gz`.
    pub tar: bool,
    /// The OTP installation to build against; defaults to the `erl` on PATH.
    pub otp_root: Option<PathBuf>,
    /// The Elixir installation; defaults to the `elixir` on PATH.
    pub elixir_root: Option<PathBuf>,
    /// Strip BEAM files to the chunks the runtime needs (`mix release`'s
    /// `strip_beams: true`).
    pub strip_beams: bool,
    /// Chunks to keep in stripped BEAM files besides [`beam::DEFAULT_KEEP`]
    /// (e.g. `Dbgi`, `Docs`).
    pub keep_chunks: Vec<String>,
    /// How the tarball is compressed.
    pub compress: Codec,
    /// The release cookie; by default the one already in use, else a random
    /// one remembered in `_build/<env>/relpack/COOKIE`.
    pub cookie: Option<String>,
    /// Reuse the compressed pieces of the previous build kept in
    /// `_build/<env>/relpack-cache`.
    pub cache: bool,
}

impl BuildOptions {
    /// Defaults for the project at `dir`: env `prod`, ERTS bundled, a tarball.
    pub fn new(dir: impl Into<PathBuf>) -> BuildOptions {
        BuildOptions {
            project_dir: dir.into(),
            env: "prod".into(),
            name: None,
            version: None,
            apps: Vec::new(),
            output_dir: None,
            include_erts: IncludeErts::Yes,
            tar: true,
            otp_root: None,
            elixir_root: None,
            strip_beams: true,
            keep_chunks: Vec::new(),
            compress: Codec::Gzip,
            cookie: None,
            cache: true,
        }
    }
}

/// One application of the plan.
#[derive(Debug, Clone)]
pub struct PlannedApp {
    pub source: AppSource,
    /// Its type in the `start` boot script.
    pub start_type: StartType,
    /// Its type in the `start_clean` boot script (used by `eval`).
    pub clean_start_type: StartType,
    /// Whether its files are copied into `lib/` (OTP's applications are not
    /// when the release relies on the target's Erlang).
    pub bundled: bool,
}

impl PlannedApp {
    pub fn name(&self) -> &str {
        &self.source.spec.name
    }

    pub fn vsn(&self) -> &str {
        &self.source.spec.vsn
    }

    /// `<name>-<vsn>`, its directory under `lib/`.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.name(), self.vsn())
    }

    /// Its `ebin` as boot scripts name it.
    pub fn script_ebin(&self) -> String {
        let var = if self.source.origin == Origin::Otp {
            "$ROOT/lib"
        } else {
            "$RELEASE_LIB"
        };
        format!("{var}/{}/ebin", self.dir_name())
    }
}

/// Everything needed to write a release.
#[derive(Debug, Clone)]
pub struct ReleasePlan {
    pub name: String,
    pub version: String,
    /// The OTP the release runs on (whose ERTS is bundled, if any).
    pub otp: OtpInstall,
    pub include_erts: bool,
    /// In `.rel` order.
    pub apps: Vec<PlannedApp>,
    /// Consolidated protocols to ship in `releases/<vsn>/consolidated`.
    pub consolidated: Option<PathBuf>,
    pub kernel_modules: KernelModules,
    pub output_dir: PathBuf,
    pub tarball: Option<PathBuf>,
    /// The chunks stripped BEAM files keep; `None` copies them as they are.
    pub strip: Option<Vec<ChunkId>>,
    pub codec: Codec,
    pub cookie: String,
    /// Where the project remembers the cookie.
    pub cookie_store: PathBuf,
    /// The archive's cache directory, if the cache is used.
    pub cache_dir: Option<PathBuf>,
}

impl ReleasePlan {
    /// The applications with the given start types, for a boot script.
    pub fn boot_apps(&self, clean: bool) -> Vec<BootApp<'_>> {
        self.apps
            .iter()
            .map(|a| BootApp {
                spec: &a.source.spec,
                start_type: if clean {
                    a.clean_start_type
                } else {
                    a.start_type
                },
                ebin: a.script_ebin(),
            })
            .collect()
    }

    /// `releases/<vsn>` relative to the release root.
    pub fn version_dir(&self) -> PathBuf {
        Path::new("releases").join(&self.version)
    }
}

/// Reads the inputs and decides the release.
pub fn plan(options: &BuildOptions) -> Result<ReleasePlan> {
    let build = MixBuild::open(&options.project_dir, &options.env)?;
    let otp = match (&options.include_erts, &options.otp_root) {
        (IncludeErts::From(path), _) => OtpInstall::open(&otp_root_of(path))?,
        (_, Some(root)) => OtpInstall::open(root)?,
        _ => OtpInstall::from_path_env()?,
    };
    let elixir = Some(match &options.elixir_root {
        Some(root) => ElixirInstall::open(root)?,
        None => ElixirInstall::from_path_env()?,
    });

    let project_app = build.project_app.clone();
    let (name, version) = match (&project_app, &options.name, &options.version) {
        (_, Some(n), Some(v)) => (n.clone(), v.clone()),
        (Some(app), name, version) => {
            let dir = &build.apps[app];
            let spec =
                crate::app::AppSpec::read(&dir.join("ebin").join(format!("{app}.app")), app)?;
            (
                name.clone().unwrap_or_else(|| app.clone()),
                version.clone().unwrap_or(spec.vsn),
            )
        }
        (None, _, _) => return Err(Error::Project {
            path: options.project_dir.join("mix.exs"),
            message:
                "an umbrella project needs --name, --version and the children to ship (--app CHILD)"
                    .into(),
        }),
    };
    validate_release_name(&name)?;
    if project_app.is_none() && options.apps.is_empty() {
        return Err(Error::Project {
            path: options.project_dir.join("mix.exs"),
            message: "an umbrella release must name the children it ships: pass --app CHILD".into(),
        });
    }

    let mut requested = options.apps.clone();
    if let Some(app) = &project_app {
        if !requested.iter().any(|(n, _)| n == app) {
            requested.push((app.clone(), StartType::Permanent));
        }
    }
    let inputs = Inputs { build, otp, elixir };
    let resolved = resolve(
        &inputs,
        &Request {
            apps: requested,
            elixir: true,
        },
    )?;

    let include_erts = options.include_erts != IncludeErts::No;
    let apps = resolved
        .into_iter()
        .map(|r| {
            let clean_start_type = if matches!(r.name(), "kernel" | "stdlib") {
                StartType::Permanent
            } else {
                StartType::Load
            };
            PlannedApp {
                bundled: include_erts || r.source.origin != Origin::Otp,
                source: r.source,
                start_type: r.start_type,
                clean_start_type,
            }
        })
        .collect();

    let Inputs { build, otp, .. } = inputs;
    let kernel_modules = read_kernel_modules(&otp);
    let output_dir = options
        .output_dir
        .clone()
        .unwrap_or_else(|| build.build_dir.join("rel").join(&name));
    let tarball = options.tar.then(|| {
        build
            .build_dir
            .join(format!("{name}-{version}.{}", options.compress.extension()))
    });
    let strip = options
        .strip_beams
        .then(|| keep_chunks(options))
        .transpose()?;
    let cookie_store = cookie::store_path(&build.build_dir);
    let cookie = cookie::choose(options.cookie.as_deref(), &output_dir, &cookie_store)?;
    let cache_dir = options.cache.then(|| build.build_dir.join("relpack-cache"));
    Ok(ReleasePlan {
        name,
        version,
        otp,
        include_erts,
        apps,
        consolidated: build.consolidated,
        kernel_modules,
        output_dir,
        tarball,
        strip,
        codec: options.compress,
        cookie,
        cookie_store,
        cache_dir,
    })
}

/// The default chunks and the extra ones asked for.
fn keep_chunks(options: &BuildOptions) -> Result<Vec<ChunkId>> {
    let mut keep = beam::DEFAULT_KEEP.to_vec();
    for text in &options.keep_chunks {
        let id = beam::parse_chunk_id(text).ok_or_else(|| {
            Error::Option(format!(
                "invalid BEAM chunk name `{text}`: a chunk name is 4 characters, such as Dbgi or Docs"
            ))
        })?;
        if !keep.contains(&id) {
            keep.push(id);
        }
    }
    Ok(keep)
}

/// An `erts-<vsn>` directory stands for the OTP root holding it.
fn otp_root_of(path: &Path) -> PathBuf {
    let is_erts = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("erts-"));
    match path.parent() {
        Some(parent) if is_erts => parent.to_owned(),
        _ => path.to_owned(),
    }
}

/// The target OTP's preloaded and mandatory modules, from the boot script
/// it ships; OTP 25's lists when it ships none.
fn read_kernel_modules(otp: &OtpInstall) -> KernelModules {
    let script = otp
        .root
        .join("releases")
        .join(otp.otp_release.to_string())
        .join("start_clean.script");
    std::fs::read(script)
        .ok()
        .and_then(|bytes| parse_consult(&bytes).ok())
        .and_then(|terms| terms.first().and_then(KernelModules::from_otp_script))
        .unwrap_or_else(KernelModules::otp25)
}

/// Release names become file names, node names and atoms: the same rule
/// as `mix release`.
pub fn validate_release_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::Option(format!(
            "invalid release name `{name}`: use a lowercase ASCII letter followed by lowercase letters, digits or underscores"
        )))
    }
}
