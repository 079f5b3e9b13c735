//! The release plan: every decision about a release, made before anything
//! is written. [`plan`] reads the inputs and resolves the applications;
//! [`crate::assemble`] and [`crate::archive`] only carry the plan out.

use std::path::{Path, PathBuf};

use crate::archive::Codec;
use crate::beam::{self, ChunkId};
use crate::boot::{BootApp, KernelModules};
use crate::config::{self, ConfigProvider, LoadOptions, Overlay, ReleaseSettings};
use crate::cookie;
use crate::error::{Error, IoContext, Result};
use crate::executable::PlannedExecutable;
use crate::inputs::{AppSource, ElixirInstall, Inputs, MixBuild, Origin, OtpInstall};
use crate::launcher::{self, Hook};
use crate::resolve::{resolve, Request, StartType};
use crate::sys_config::{self, Providers};
use crate::term::{parse_consult, Term};

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

impl IncludeErts {
    /// The one reading of an `include_erts` value, whoever gives it (the
    /// command line, `rel/config.exs`, `mix.exs`, `relx`): `true`,
    /// `false`, or the path, relative to `dir`, of an OTP root or an
    /// `erts-<vsn>` directory.
    pub fn parse(text: &str, dir: &Path) -> IncludeErts {
        match text {
            "true" => IncludeErts::Yes,
            "false" => IncludeErts::No,
            path => IncludeErts::From(dir.join(path)),
        }
    }
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
    /// Whether to bundle ERTS, and from where; `None`: as the project's
    /// release configuration says, else [`IncludeErts::Yes`].
    pub include_erts: Option<IncludeErts>,
    /// Whether to write `_build/<env>/<name>-<vsn>.tar.gz`.
    pub tar: bool,
    /// The OTP installation to build against; defaults to the `erl` on PATH.
    pub otp_root: Option<PathBuf>,
    /// The Elixir installation; defaults to the `elixir` on PATH.
    pub elixir_root: Option<PathBuf>,
    /// Whether configuration code beyond relpack's native subset may be
    /// evaluated with the `elixir` on PATH (else it is an error).
    pub use_elixir: bool,
    /// Custom launcher commands: `bin/<name> NAME args...` runs the script.
    pub commands: Vec<(String, PathBuf)>,
    /// Hook directories whose files the launcher sources around start/stop.
    pub hooks: Vec<(Hook, PathBuf)>,
    /// Strip BEAM files to the chunks the runtime needs (`mix release`'s
    /// `strip_beams: true`).
    pub strip_beams: bool,
    /// Chunks to keep in stripped BEAM files besides [`beam::DEFAULT_KEEP`]
    /// (e.g. `Dbgi`, `Docs`).
    pub keep_chunks: Vec<String>,
    /// How the tarball is compressed.
    pub compress: Codec,
    /// The release cookie; by default the configured one, else the one
    /// already in use, else a random one remembered in
    /// `_build/<env>/relpack/COOKIE`.
    pub cookie: Option<String>,
    /// Reuse the compressed pieces of the previous tarball, indexed in
    /// `_build/<env>/relpack-cache`.
    pub cache: bool,
    /// Also write the one-file executable `_build/<env>/<name>-<vsn>.run`
    /// (else the release configuration says).
    pub executable: bool,
    /// Make the executable's runs transient by default: each removes its
    /// extraction afterwards.
    pub transient: bool,
    /// Fail on what relpack would only warn about: configuration it reads
    /// but cannot act on as mix or Distillery would (a plugin, say).
    pub strict: bool,
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
            include_erts: None,
            tar: true,
            otp_root: None,
            elixir_root: None,
            use_elixir: true,
            commands: Vec::new(),
            hooks: Vec::new(),
            strip_beams: true,
            keep_chunks: Vec::new(),
            compress: Codec::Gzip,
            cookie: None,
            cache: true,
            executable: false,
            transient: false,
            strict: false,
        }
    }
}

/// One application of the plan.
#[derive(Debug, Clone)]
pub struct PlannedApp {
    /// The application as found on disk.
    pub source: AppSource,
    /// Its type in the `start` boot script.
    pub start_type: StartType,
    /// Its type in the `start_clean` boot script (used by `eval`).
    pub clean_start_type: StartType,
    /// Whether its files are copied into `lib/` (OTP's applications are not
    /// when the release relies on the target's Erlang).
    pub bundled: bool,
    /// The `priv` directory to ship, if it has one.
    pub priv_dir: Option<PathBuf>,
}

impl PlannedApp {
    /// The application name.
    pub fn name(&self) -> &str {
        &self.source.spec.name
    }

    /// The application version.
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
    /// The release name.
    pub name: String,
    /// The release version.
    pub version: String,
    /// The OTP the release runs on (whose ERTS is bundled, if any).
    pub otp: OtpInstall,
    /// Whether ERTS is bundled in the release.
    pub include_erts: bool,
    /// In `.rel` order.
    pub apps: Vec<PlannedApp>,
    /// Consolidated protocols to ship in `releases/<vsn>/consolidated`.
    pub consolidated: Option<PathBuf>,
    /// The preloaded and mandatory module lists for the boot scripts.
    pub kernel_modules: KernelModules,
    /// Where the release directory is written.
    pub output_dir: PathBuf,
    /// Where the tarball is written; `None`: no tarball.
    pub tarball: Option<PathBuf>,
    /// Things worth an operator's look that do not stop the build.
    pub warnings: Vec<String>,
    /// The `sys.config` term: the application config, any release
    /// `sys_config` over it, and the config provider's settings.
    pub sys_config: Term,
    /// `config/runtime.exs`, shipped as `releases/<vsn>/runtime.exs` and
    /// read at boot.
    pub runtime_config: Option<PathBuf>,
    /// Whether Elixir's config provider runs at boot (for runtime.exs or
    /// `config_providers`).
    pub config_provider: bool,
    /// Whether the config provider reboots the VM with the new config
    /// (`reboot_system_after_config`; `RUNTIME_CONFIG=true` in sys.config).
    pub config_reboot: bool,
    /// Link the project's applications into `lib/` instead of copying
    /// them (Distillery's `dev_mode`): a recompile is seen without a rebuild.
    pub dev_mode: bool,
    /// The rendered `vm.args`, when the project has its own.
    pub vm_args: Option<String>,
    /// The rendered `rel/env.sh.eex`, shipped as `releases/<vsn>/env.sh`.
    pub env_sh: Option<String>,
    /// Files to add to the release, applied last, in order.
    pub overlays: Vec<PlannedOverlay>,
    /// The release settings read from the project, if any (commands and
    /// hooks are there for the launcher).
    pub release_config: Option<ReleaseSettings>,
    /// Custom launcher commands and hook directories, checked to exist.
    pub commands: Vec<(String, PathBuf)>,
    /// Hook directories whose files the launcher sources, each with its hook.
    pub hooks: Vec<(Hook, PathBuf)>,
    /// The chunks stripped BEAM files keep; `None` copies them as they are.
    pub strip: Option<Vec<ChunkId>>,
    /// How the tarball is compressed.
    pub codec: Codec,
    /// The node cookie written to `releases/COOKIE`.
    pub cookie: String,
    /// Where the project remembers the cookie.
    pub cookie_store: PathBuf,
    /// The archive's cache directory, if the cache is used.
    pub cache_dir: Option<PathBuf>,
    /// The one-file executable to write beside the tarball, if any.
    pub executable: Option<PlannedExecutable>,
    /// What a hot upgrade from the previous release needs
    /// ([`crate::upgrade::plan`] sets it).
    pub upgrade: Option<crate::upgrade::UpgradePlan>,
}

/// A change to the release tree, relative to its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedOverlay {
    /// Create a directory.
    Mkdir(PathBuf),
    /// Copy a file or a directory tree.
    Copy {
        /// The source file or directory in the project.
        from: PathBuf,
        /// The destination, relative to the release root (empty: the root itself).
        to: PathBuf,
    },
    /// Create a symbolic link.
    Link {
        /// What the link points at: the project's file, absolute.
        target: PathBuf,
        /// The link's path in the release.
        link: PathBuf,
    },
    /// Write a file with the given contents (a rendered template).
    Write {
        /// The file's contents.
        text: String,
        /// The file's path in the release.
        to: PathBuf,
    },
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
    let project_config = config::load(&LoadOptions {
        dir: &options.project_dir,
        env: &options.env,
        name: options.name.as_deref(),
        use_elixir: options.use_elixir,
        every_release: false,
    })?;
    let config_warnings = project_config.check_strict(options.strict)?;
    let release = project_config.release.as_ref();
    let build = MixBuild::open_with(
        &options.project_dir,
        &options.env,
        project_config.project.app.clone(),
    )?;
    // The caller's choice, else the configuration's, else ERTS bundled.
    let include_erts = options
        .include_erts
        .clone()
        .or_else(|| release.and_then(|r| r.include_erts.clone()))
        .unwrap_or(IncludeErts::Yes);
    let otp = match (&include_erts, &options.otp_root) {
        (IncludeErts::From(path), _) => OtpInstall::open(&otp_root_of(path))?,
        (_, Some(root)) => OtpInstall::open(root)?,
        _ => OtpInstall::from_path_env()?,
    };
    let mix = project_config.kind == config::ProjectKind::Mix;
    let elixir = match (&options.elixir_root, mix) {
        (_, false) => None,
        (Some(root), true) => Some(ElixirInstall::open(root)?),
        (None, true) => Some(ElixirInstall::from_path_env()?),
    };

    let project_app = build.project_app.clone();
    let wanted_name = options.name.clone().or(release.map(|r| r.name.clone()));
    let wanted_version = match (&options.version, release) {
        (Some(v), _) => Some(v.clone()),
        (None, Some(r)) => match (&r.version, &r.version_from_app) {
            (Some(v), _) => Some(v.clone()),
            (None, Some(app)) => {
                let dir = build.apps.get(app).ok_or_else(|| Error::Project {
                    path: r.file.clone(),
                    message: format!(
                        "version: {{:from_app, :{app}}}: `{app}` is not compiled in this project"
                    ),
                })?;
                let app_file = dir.join("ebin").join(format!("{app}.app"));
                Some(crate::app::AppSpec::read(&app_file, app)?.vsn)
            }
            (None, None) => None,
        },
        (None, None) => None,
    };
    let (name, version) = match (&project_app, wanted_name, wanted_version) {
        (_, Some(n), Some(v)) => (n, v),
        (Some(app), name, version) => {
            let dir = &build.apps[app];
            let spec =
                crate::app::AppSpec::read(&dir.join("ebin").join(format!("{app}.app")), app)?;
            (name.unwrap_or_else(|| app.clone()), version.unwrap_or(spec.vsn))
        }
        (None, _, _) => {
            return Err(Error::Project {
                path: project_config.project.path.clone(),
                message: if mix {
                    "an umbrella project needs a release in mix.exs `releases:` (or --name, --release-version and --app CHILD)"
                } else {
                    "no {relx, [{release, {Name, Vsn}, Apps}]} here: add one (or pass --name, --release-version and --app)"
                }
                .into(),
            })
        }
    };
    validate_release_name(&name)?;
    let mut requested = options.apps.clone();
    for (app, ty) in release
        .map(|r| r.applications.as_slice())
        .unwrap_or_default()
    {
        if !requested.iter().any(|(n, _)| n == app) {
            requested.push((app.clone(), *ty));
        }
    }
    let (commands, hooks) = launcher_extras(options, release)?;
    if project_app.is_none() && requested.is_empty() {
        return Err(Error::Project {
            path: options.project_dir.join("mix.exs"),
            message: "an umbrella release must name the children it ships: pass --app CHILD".into(),
        });
    }

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
            elixir: mix,
        },
    )?;

    let include_erts = include_erts != IncludeErts::No;
    let apps: Vec<PlannedApp> = resolved
        .into_iter()
        .map(|r| {
            let clean_start_type = if matches!(r.name(), "kernel" | "stdlib") {
                StartType::Permanent
            } else {
                StartType::Load
            };
            Ok(PlannedApp {
                bundled: include_erts || r.source.origin != Origin::Otp,
                priv_dir: priv_dir(&r.source.dir, mix)?,
                source: r.source,
                start_type: r.start_type,
                clean_start_type,
            })
        })
        .collect::<Result<_>>()?;

    let mut warnings = config_warnings;
    warnings.extend(plan_warnings(&inputs, &apps));
    let Inputs { build, otp, .. } = inputs;
    let kernel_modules = read_kernel_modules(&otp);
    let output_dir = options
        .output_dir
        .clone()
        .or(release.and_then(|r| r.output_dir.clone()))
        .unwrap_or_else(|| build.build_dir.join("rel").join(&name));
    let dev_mode = release.is_some_and(|r| r.dev_mode);
    let tar = options.tar && !dev_mode && release.and_then(|r| r.tar).unwrap_or(true);
    let tarball = tar.then(|| {
        build
            .build_dir
            .join(format!("{name}-{version}.{}", options.compress.extension()))
    });
    let executable = plan_executable(options, release, tarball.as_deref(), &name, &version)?;
    // Unless the command line turns it off, what the release configuration
    // says (`strip_beams:`, Distillery's `strip_debug_info:`, relx's
    // `debug_info`), else each tool's default: mix release strips, relx
    // keeps debug info.
    let strip = (options.strip_beams && release.and_then(|r| r.strip_beams).unwrap_or(mix))
        .then(|| keep_chunks(options))
        .transpose()?;
    let cookie_store = cookie::store_path(&build.build_dir);
    let cookie = cookie::choose(
        options
            .cookie
            .as_deref()
            .or(release.and_then(|r| r.cookie.as_deref())),
        &output_dir,
        &cookie_store,
    )?;
    let cache_dir = options.cache.then(|| build.build_dir.join("relpack-cache"));
    let mut vars = vec![
        ("name".to_owned(), name.clone()),
        ("release_name".to_owned(), name.clone()),
        ("version".to_owned(), version.clone()),
        ("release_version".to_owned(), version.clone()),
        ("erts_vsn".to_owned(), otp.erts_vsn.clone()),
        ("output_dir".to_owned(), output_dir.display().to_string()),
    ];
    vars.extend(release.map(|r| r.overlay_vars.clone()).unwrap_or_default());
    let vm_args = release
        .map(|r| render_vm_args(r, &vars))
        .transpose()?
        .flatten();
    let env_sh = release
        .and_then(|r| r.env_sh.as_deref())
        .map(|path| config::eex::render_file(path, &vars))
        .transpose()?;
    let overlays = release
        .map(|r| plan_overlays(r, &options.project_dir, &vars))
        .transpose()?
        .unwrap_or_default();
    let app_config = project_config.app_config;
    let providers = plan_providers(
        release,
        &app_config,
        &version,
        &overlays,
        &options.env,
        &apps,
    )?;
    let sys_config = sys_config::render(
        app_config.config,
        release.and_then(|r| r.sys_config.as_deref()),
        providers.as_ref(),
    )?;
    let mut read = vec![build.build_dir.join("lib"), otp.root.clone()];
    read.extend(apps.iter().map(|a| a.source.dir.clone()));
    read.extend(build.consolidated.clone());
    check_no_overlap(&output_dir, &build.root, &read)?;
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
        executable,
        warnings,
        sys_config,
        runtime_config: app_config.runtime,
        config_provider: providers.is_some(),
        config_reboot: providers.as_ref().is_some_and(|p| p.reboot),
        dev_mode,
        vm_args,
        env_sh,
        overlays,
        release_config: project_config.release,
        commands,
        hooks,
        upgrade: None,
    })
}

/// `--executable`, else the release configuration's `executable:` (or
/// `steps:` with `:executable`). The executable carries the tarball, so it
/// needs one.
fn plan_executable(
    options: &BuildOptions,
    release: Option<&ReleaseSettings>,
    tarball: Option<&Path>,
    name: &str,
    version: &str,
) -> Result<Option<PlannedExecutable>> {
    let configured = release.and_then(|r| r.executable);
    if !options.executable && !configured.is_some_and(|e| e.enabled) {
        return Ok(None);
    }
    let transient = options.transient || configured.is_some_and(|e| e.transient);
    let Some(tarball) = tarball else {
        let why = match release {
            Some(r) if r.dev_mode => {
                format!("{}: `dev_mode: true` writes no tarball", r.file.display())
            }
            Some(r) if r.tar == Some(false) => {
                format!("{}: `steps:` has no `:tar`", r.file.display())
            }
            _ => "--no-tar".to_owned(),
        };
        return Err(Error::Option(format!(
            "a one-file executable carries the release's tarball, and {why}: drop one of them"
        )));
    };
    let dir = tarball.parent().unwrap_or(Path::new("."));
    Ok(Some(PlannedExecutable {
        path: dir.join(format!("{name}-{version}.{}", crate::executable::EXTENSION)),
        transient,
    }))
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

/// Shadowed application copies and a compiler/runtime OTP mismatch.
fn plan_warnings(inputs: &Inputs, apps: &[PlannedApp]) -> Vec<String> {
    let mut out = Vec::new();
    for app in apps.iter().filter(|a| a.source.origin != Origin::Otp) {
        if let Some((vsn, dir)) = inputs.otp.libs.get(app.name()) {
            if vsn != app.vsn() {
                out.push(format!(
                    "{} {} from {} is used; the OTP installation also has {} {} ({}), which is not",
                    app.name(),
                    app.vsn(),
                    app.source.dir.display(),
                    app.name(),
                    vsn,
                    dir.display()
                ));
            }
        }
    }
    if let Some((elixir, otp)) = &inputs.build.compiled_with {
        let target = inputs.otp.otp_release.to_string();
        if *otp != target {
            out.push(format!(
                "the project was compiled by Elixir {elixir} on OTP {otp}, but the release runs on ERTS {} (OTP {target}): {}",
                inputs.otp.erts_vsn,
                if otp.parse::<u32>().unwrap_or(0) > inputs.otp.otp_release {
                    "beams from a newer OTP may fail to load; recompile with the target's OTP"
                } else {
                    "recompile with the target's OTP to be safe"
                }
            ));
        }
    }
    out
}

/// The output is replaced wholesale, so it may neither lie inside nor hold
/// a directory the build reads, nor hold the project (`--out .` would
/// otherwise swap the project away).
fn check_no_overlap(output: &Path, project: &Path, read: &[PathBuf]) -> Result<()> {
    let out = absolute(output);
    let overlap = |input: &Path, out_may_be_inside: bool| {
        let input = absolute(input);
        let bad = input.starts_with(&out) || (!out_may_be_inside && out.starts_with(&input));
        if bad {
            Err(Error::Option(format!(
                "--out {} overlaps {}, which the build reads: choose another output directory",
                output.display(),
                input.display()
            )))
        } else {
            Ok(())
        }
    };
    overlap(project, true)?;
    read.iter().try_for_each(|dir| overlap(dir, false))
}

/// An absolute path with symlinks of its existing part resolved, so that
/// overlapping spellings of one directory compare equal.
fn absolute(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => break,
        }
    }
    let mut resolved = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_owned());
    resolved.extend(rest.iter().rev());
    resolved
}

/// An application's `priv` to ship. rebar3 links `priv` into `_build` even
/// when the application has none, so a dangling link means no `priv` there;
/// Mix links only an existing one, so there it means a broken build.
fn priv_dir(app_dir: &Path, mix: bool) -> Result<Option<PathBuf>> {
    let dir = app_dir.join("priv");
    if dir.exists() {
        Ok(Some(dir))
    } else if dir.is_symlink() && mix {
        Err(Error::Project {
            path: dir,
            message: "dangling symlink: recompile the application or remove the link".into(),
        })
    } else {
        Ok(None)
    }
}

/// Custom launcher commands and hook directories.
type LauncherExtras = (Vec<(String, PathBuf)>, Vec<(Hook, PathBuf)>);

/// Custom commands and hook directories: the caller's, then the release
/// configuration's (Distillery `commands:`, `*_hooks:`) for names the
/// caller did not give; all checked.
fn launcher_extras(
    options: &BuildOptions,
    release: Option<&ReleaseSettings>,
) -> Result<LauncherExtras> {
    let mut commands = options.commands.clone();
    let mut hooks = options.hooks.clone();
    if let Some(r) = release {
        for (name, path) in &r.commands {
            if !commands.iter().any(|(n, _)| n == name) {
                commands.push((name.clone(), path.clone()));
            }
        }
        // A hook given on the command line replaces the configuration's
        // scripts for it; the configuration's own (a 2.x directory and a
        // 1.x script, say) all run.
        for (hook, dir) in &r.hooks {
            if !options.hooks.iter().any(|(h, _)| h == hook) {
                hooks.push((*hook, dir.clone()));
            }
        }
    }
    launcher::check_commands(&commands)?;
    launcher::check_hooks(&hooks)?;
    Ok((commands, hooks))
}

/// The release's own `vm.args` (and Distillery `erl_opts`), rendered.
fn render_vm_args(r: &ReleaseSettings, vars: &[(String, String)]) -> Result<Option<String>> {
    let mut text = r
        .vm_args
        .as_deref()
        .map(|path| config::eex::render_file(path, vars))
        .transpose()?;
    if let Some(opts) = &r.erl_opts {
        let mut t = match text {
            Some(t) => t,
            None => crate::templates::render("vm.args", &r.name)?,
        };
        if !t.ends_with('\n') {
            t.push('\n');
        }
        t.push_str(opts);
        t.push('\n');
        text = Some(t);
    }
    Ok(text)
}

/// Distillery overlays and `mix release` overlay directories, checked:
/// sources exist, destinations stay inside the release.
fn plan_overlays(
    r: &ReleaseSettings,
    project: &Path,
    vars: &[(String, String)],
) -> Result<Vec<PlannedOverlay>> {
    let expand = |s: &str| config::eex::render(&r.file, s, vars);
    let inside = |s: &str| -> Result<PathBuf> {
        let p = PathBuf::from(expand(s)?);
        let safe = p.is_relative()
            && p.components().all(|c| {
                matches!(
                    c,
                    std::path::Component::Normal(_) | std::path::Component::CurDir
                )
            });
        if safe {
            Ok(p)
        } else {
            Err(Error::Project {
                path: r.file.clone(),
                message: format!(
                    "overlay destination `{s}` must be a relative path inside the release"
                ),
            })
        }
    };
    let source = |s: &str| -> Result<PathBuf> {
        let p = project.join(expand(s)?);
        if p.exists() {
            Ok(p)
        } else {
            Err(Error::Project {
                path: r.file.clone(),
                message: format!("overlay source {} does not exist", p.display()),
            })
        }
    };
    let mut planned = Vec::new();
    for dir in &r.overlay_dirs {
        planned.push(PlannedOverlay::Copy {
            from: dir.clone(),
            to: PathBuf::new(),
        });
    }
    for o in &r.overlays {
        planned.push(match o {
            Overlay::Mkdir(p) => PlannedOverlay::Mkdir(inside(p)?),
            Overlay::Copy(a, b) => PlannedOverlay::Copy {
                from: source(a)?,
                to: inside(b)?,
            },
            // As in Distillery, the link points at the project's file; the
            // tarball holds the file itself.
            Overlay::Link(a, b) => PlannedOverlay::Link {
                target: std::path::absolute(source(a)?).at(project, "cannot resolve")?,
                link: inside(b)?,
            },
            Overlay::Template(a, b) => {
                let from = source(a)?;
                PlannedOverlay::Write {
                    text: config::eex::render_file(&from, vars)?,
                    to: inside(b)?,
                }
            }
        });
    }
    Ok(planned)
}

/// The config providers the release runs at boot, as `mix release` lists
/// them: the runtime file's `Config.Reader` first, then the release's own,
/// each checked to be in the release (a Distillery provider file must be
/// put there by an overlay); `None` when nothing is configured at boot.
fn plan_providers(
    release: Option<&ReleaseSettings>,
    app_config: &config::AppConfig,
    version: &str,
    overlays: &[PlannedOverlay],
    env: &str,
    apps: &[PlannedApp],
) -> Result<Option<Providers>> {
    let mut list: Vec<Term> = app_config
        .runtime
        .is_some()
        .then(|| Providers::reader(&format!("/releases/{version}/runtime.exs"), env))
        .into_iter()
        .collect();
    let ebins: Vec<PathBuf> = apps.iter().map(|a| a.source.dir.join("ebin")).collect();
    let ebins: Vec<&Path> = ebins.iter().map(PathBuf::as_path).collect();
    for provider in release
        .map(|r| r.config_providers.as_slice())
        .unwrap_or_default()
    {
        match provider {
            ConfigProvider::Reader(file) => {
                let shipped = overlays.iter().any(|o| match o {
                    PlannedOverlay::Copy { to, .. } | PlannedOverlay::Write { to, .. } => {
                        Path::new("/").join(to) == Path::new(file)
                    }
                    _ => false,
                });
                if let (false, Some(r)) = (shipped, release) {
                    let setting =
                        r.settings
                            .get("config_providers")
                            .cloned()
                            .unwrap_or_else(|| config::Setting {
                                value: Term::List(Vec::new()),
                                origin: r.file.display().to_string(),
                            });
                    return Err(config::at(
                        &setting,
                        format!(
                            "config provider file ${{RELEASE_ROOT_DIR}}{file} is not put into the release: add an overlay such as {{:copy, \"rel/config/config.exs\", \"{}\"}}",
                            file.trim_start_matches('/')
                        ),
                    ));
                }
                list.push(Providers::reader(file, env));
            }
            ConfigProvider::Module {
                module,
                arg,
                origin,
            } => {
                sys_config::check_provider_module(module, origin, &ebins)?;
                list.push(Term::tuple(vec![Term::Atom(module.clone()), arg.clone()]));
            }
        }
    }
    if list.is_empty() {
        return Ok(None);
    }
    // mix walks its map of applications: in name order for up to 32 of
    // them (the same checks in another order beyond that).
    let mut by_name: Vec<&PlannedApp> = apps.iter().collect();
    by_name.sort_by(|a, b| a.name().cmp(b.name()));
    let triples: Vec<Term> = by_name
        .iter()
        .flat_map(|a| a.source.spec.compile_env.iter().cloned())
        .collect();
    let validate = release.is_none_or(|r| r.validate_compile_env) && !triples.is_empty();
    Ok(Some(Providers {
        list,
        reboot: release
            .and_then(|r| r.reboot_system_after_config)
            .unwrap_or(app_config.runtime_deprecated),
        prune_after_boot: release.is_some_and(|r| r.prune_runtime_sys_config_after_boot),
        start_distribution_during_config: release
            .is_some_and(|r| r.start_distribution_during_config),
        validate_compile_env: validate.then_some(triples),
    }))
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
