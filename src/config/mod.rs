//! The configuration a project already has, read without starting a BEAM:
//!
//! - [`mix_project`]: `mix.exs` (application, version, `releases:`);
//! - [`distillery`]: Distillery's `rel/config.exs`, which wins over
//!   `mix.exs` `releases:` when present;
//! - [`rebar`]: the `relx` section of a rebar3 project's `rebar.config`;
//! - [`app_config`]: `config/config.exs` and what it imports, the
//!   application environment that becomes `sys.config`, and
//!   `config/runtime.exs`, shipped to run at boot.
//!
//! All of them are evaluated by `elixir/`, a small evaluator over a real
//! Elixir parser (its types stay inside the crate), or, for code beyond
//! it, by the real `elixir` (`fallback.rs`). The result is plain data
//! ([`ProjectConfig`]) that the planner reads.

pub mod app_config;
pub mod distillery;
pub(crate) mod eex;
pub(crate) mod elixir;
pub(crate) mod fallback;
pub mod mix_lock;
pub mod mix_project;
pub mod rebar;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::formats::term::Term;
use crate::vocab::Hook;
use crate::vocab::IncludeErts;
use crate::vocab::StartType;

pub use app_config::AppConfig;
pub use elixir::Context;
pub use mix_project::MixProject;

/// One setting and where it was set (`file:line`).
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// The value, as an Erlang term.
    pub value: Term,
    /// Where it was set, as `file:line`.
    pub origin: String,
}

/// Settings in the order they were first set; setting a key again
/// replaces its value in place.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings(pub Vec<(String, Setting)>);

impl Settings {
    /// An empty set of settings.
    pub fn new() -> Settings {
        Settings::default()
    }

    /// Sets `key`, replacing an earlier value in place or appending a new key.
    pub fn insert(&mut self, key: String, setting: Setting) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, old)) => *old = setting,
            None => self.0.push((key, setting)),
        }
    }

    /// The setting for `key`, if it was set.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, s)| s)
    }

    /// `other`'s settings over these.
    pub fn overlay(&mut self, other: &Settings) {
        for (k, s) in &other.0 {
            self.insert(k.clone(), s.clone());
        }
    }
}

/// Which file a release's settings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `mix.exs` `releases:`.
    Mix,
    /// Distillery's `rel/config.exs`.
    Distillery,
    /// The `relx` section of a rebar3 `rebar.config`.
    Relx,
}

/// What built the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectKind {
    /// An Elixir project built by Mix.
    Mix,
    /// An Erlang project built by rebar3: no Elixir in its releases.
    Rebar3,
}

/// An overlay of Distillery (`overlays:`), paths as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    /// `{:mkdir, path}`: create a directory in the release.
    Mkdir(String),
    /// `{:copy, from, to}`: copy a project file or directory into the release.
    Copy(String, String),
    /// `{:link, from, to}`: symlink a project file into the release.
    Link(String, String),
    /// `{:template, from, to}`: render an EEx template from the project into the release.
    Template(String, String),
}

/// Distillery's `executable: true` or `executable: [enabled: true,
/// transient: false]`; `mix.exs` `steps: [..., :tar, :executable]` enables
/// it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExecutableSetting {
    /// Whether to write the one-file executable.
    pub enabled: bool,
    /// Whether its runs remove their extraction afterwards.
    pub transient: bool,
}

/// A step of `mix release`'s `steps:`, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `:assemble`: the release directory.
    Assemble,
    /// `:tar`: the tarball.
    Tar,
    /// relpack's `:executable`: the one-file executable, right after `:tar`.
    Executable,
    /// A function of the project's or a dependency's, which Mix runs
    /// (the build has the real `elixir` do it): as written,
    /// e.g. `&Burrito.wrap/1`.
    Custom(String),
}

/// A config provider the release runs at boot.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigProvider {
    /// Elixir's `Config.Reader` on a file: Distillery's own Elixir
    /// provider.
    Reader(ReaderPath),
    /// Another provider module and its argument, e.g. `Toml.Provider`.
    Module {
        /// The module, as an atom (`Elixir.Toml.Provider`).
        module: String,
        /// The argument its `init/1` gets.
        arg: Term,
        /// Where it was configured, as `file:line`.
        origin: String,
    },
}

/// Where Distillery's Elixir provider reads its file, as the release
/// finds it at boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderPath {
    /// `${RELEASE_ROOT_DIR}/etc/config.exs`: a file of the release,
    /// relative to its root (`/etc/config.exs`), put there by an overlay.
    InRelease(String),
    /// `/etc/my_app/config.exs`: outside the release (a mounted volume,
    /// say).
    Absolute(String),
    /// `${VAR}/config.exs`: below the directory an environment variable
    /// names at boot; the variable and the rest (`/config.exs`).
    Env {
        /// The variable.
        var: String,
        /// What follows it, from its `/`.
        rest: String,
    },
}

impl ReaderPath {
    /// Reads Distillery's path, `${VAR}` only at its start (where
    /// `Config.Provider` resolves `{:system, VAR, rest}`).
    fn parse(path: &str) -> Option<ReaderPath> {
        if let Some(rest) = path.strip_prefix("${") {
            let (var, rest) = rest.split_once('}')?;
            let valid = !var.is_empty()
                && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && rest.starts_with('/')
                && !rest.contains("${");
            return valid.then(|| {
                if var == "RELEASE_ROOT_DIR" {
                    ReaderPath::InRelease(rest.to_owned())
                } else {
                    ReaderPath::Env {
                        var: var.to_owned(),
                        rest: rest.to_owned(),
                    }
                }
            });
        }
        (path.starts_with('/') && !path.contains("${"))
            .then(|| ReaderPath::Absolute(path.to_owned()))
    }
}

/// The release settings relpack acts on, typed and checked.
#[derive(Debug, Clone)]
pub struct ReleaseSettings {
    /// The release name.
    pub name: String,
    /// Which kind of configuration file the settings come from.
    pub format: Format,
    /// The file the settings come from.
    pub file: PathBuf,
    /// The configured release version; `None`: the project's version.
    pub version: Option<String>,
    /// `version: {:from_app, app}`: the version of that application.
    pub version_from_app: Option<String>,
    /// Applications to add to the release, each with its start type.
    pub applications: Vec<(String, StartType)>,
    /// Whether and from where to bundle ERTS; `None`: not set.
    pub include_erts: Option<IncludeErts>,
    /// The configured distribution cookie, if any.
    pub cookie: Option<String>,
    /// `vm.args` source: Distillery's `vm_args`, or `rel/vm.args.eex`.
    pub vm_args: Option<PathBuf>,
    /// `rel/env.sh.eex` of `mix release`.
    pub env_sh: Option<PathBuf>,
    /// A `sys.config` whose entries are merged over the application config.
    pub sys_config: Option<PathBuf>,
    /// The configured release directory; `None`: the default under `_build`.
    pub output_dir: Option<PathBuf>,
    /// Whether to write a tarball (`steps:` with `:tar`); `None`: default.
    pub tar: Option<bool>,
    /// `steps:` as given; empty when not set (mix's `[:assemble]`).
    pub steps: Vec<Step>,
    /// Whether to write a one-file executable; `None`: not set.
    pub executable: Option<ExecutableSetting>,
    /// Directories whose contents are copied into the release root
    /// (`mix release`'s `overlays:`, `rel/overlays` by default).
    pub overlay_dirs: Vec<PathBuf>,
    /// Distillery's `overlays:` entries, in order.
    pub overlays: Vec<Overlay>,
    /// Distillery's `overlay_vars:`, extra variables for templates and overlay paths.
    pub overlay_vars: Vec<(String, String)>,
    /// Config providers run at boot through Elixir's `Config.Provider`,
    /// after `config/runtime.exs` (mix's `config_providers:`, Distillery's
    /// `config_providers`), in order.
    pub config_providers: Vec<ConfigProvider>,
    /// `reboot_system_after_config`; `None`: mix's default (true only for
    /// the deprecated `config/releases.exs`).
    pub reboot_system_after_config: Option<bool>,
    /// `prune_runtime_sys_config_after_boot` (default false).
    pub prune_runtime_sys_config_after_boot: bool,
    /// `start_distribution_during_config` (default false).
    pub start_distribution_during_config: bool,
    /// `validate_compile_env` (default true, as in mix): the compile-time
    /// configuration the `.app` files record is checked at boot.
    pub validate_compile_env: bool,
    /// `runtime_config_path`: `Some(None)` for `false` (no runtime config),
    /// `Some(Some(path))` for a file other than `config/runtime.exs`.
    pub runtime_config_path: Option<Option<PathBuf>>,
    /// Distillery `run_erl_env`: `NAME=VALUE` words set in `run_erl`'s
    /// environment when the release starts as a daemon.
    pub run_erl_env: Option<String>,
    /// Distillery `config`: the application config to read instead of
    /// `config/config.exs`.
    pub config_file: Option<PathBuf>,
    /// What the tool would have done and relpack does not (a Distillery
    /// plugin's callbacks, say): one line each, errors under `--strict`.
    pub warnings: Vec<String>,
    /// Why `elixir` evaluated the settings' file; `None`: read natively.
    pub fallback_reason: Option<String>,
    /// Whether `bin/<name>` is written: mix's `include_executables_for`
    /// names `:unix` (its default); `[]` leaves the release without a
    /// launcher, for something else to start (Burrito, say).
    pub launcher: bool,
    /// Distillery `dev_mode`: the project's applications are symlinked
    /// into the release, not copied, and no tarball is written.
    pub dev_mode: bool,
    /// `strip_beams` (mix) / `strip_debug_info` (Distillery); `None`: not set.
    pub strip_beams: Option<bool>,
    /// mix's `strip_beams: [keep: [...]]`: chunks stripped BEAMs keep
    /// besides those mix always keeps.
    pub strip_keep: Vec<String>,
    /// Extra `erl` flags (Distillery `erl_opts`), appended to `vm.args`.
    pub erl_opts: Option<String>,
    /// Distillery `commands:`: name and script path.
    pub commands: Vec<(String, PathBuf)>,
    /// Distillery `pre_start_hooks:` etc.: when the launcher runs the
    /// directory's scripts, and the directory.
    pub hooks: Vec<(Hook, PathBuf)>,
    /// Every setting as read, for `relpack config`.
    pub settings: Settings,
}

/// Everything relpack read from the project's configuration files.
#[derive(Debug, Clone)]
pub struct ProjectConfig {
    /// Whether the project is built by Mix or rebar3.
    pub kind: ProjectKind,
    /// What `mix.exs` (or `rebar.config`) says about the project.
    pub project: MixProject,
    /// The selected release's settings, if the project configures one.
    pub release: Option<ReleaseSettings>,
    /// The application config (`config/config.exs` and friends) for the environment.
    pub app_config: AppConfig,
    /// With [`LoadOptions::every_release`]: every release declared, each
    /// typed and checked (Distillery's in the selected environment).
    pub releases: Vec<ReleaseSettings>,
}

/// How to read the configuration.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions<'a> {
    /// The project directory.
    pub dir: &'a Path,
    /// The build environment, e.g. `prod`.
    pub env: &'a str,
    /// The release to select (`--name`).
    pub name: Option<&'a str>,
    /// Whether code beyond the native subset may be run with `elixir`.
    pub use_elixir: bool,
    /// Read every release the files declare ([`ProjectConfig::releases`]),
    /// and select none rather than fail when several have no default.
    pub every_release: bool,
}

/// Reads `mix.exs`, `rel/config.exs` (if any) and `config/*.exs`.
pub fn load(opts: &LoadOptions<'_>) -> Result<ProjectConfig> {
    if rebar::is_rebar3(opts.dir) {
        return Ok(ProjectConfig {
            kind: ProjectKind::Rebar3,
            project: MixProject {
                path: opts.dir.join("rebar.config"),
                app: None,
                version: None,
                umbrella: false,
                releases: Vec::new(),
                default_release: None,
                warnings: Vec::new(),
                fallback_reason: None,
                config: Term::List(Vec::new()),
            },
            release: rebar::read(opts.dir, opts.env, opts.name)?,
            app_config: AppConfig::read(&Context::new(opts.dir, opts.env), false)?,
            releases: Vec::new(),
        });
    }
    let project = MixProject::read(opts.dir, opts.env, opts.use_elixir)?;
    // Config files see this project in `Mix.Project.config()`.
    let context = Context {
        project: Some(project.config.clone()),
        ..Context::new(opts.dir, opts.env)
    };
    let distillery_file = opts.dir.join("rel").join("config.exs");
    let (release, releases) = if distillery_file.is_file() {
        let config = distillery::parse(&distillery_file, &context, opts.use_elixir)?;
        let all = if opts.every_release {
            config
                .releases
                .iter()
                .map(|(name, _, _)| {
                    let one = LoadOptions {
                        name: Some(name),
                        ..*opts
                    };
                    distillery::select(&config, &distillery_file, &one)
                })
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        let several = config.releases.len() > 1
            && config
                .default_release
                .as_deref()
                .is_none_or(|d| d == "default");
        let release = if opts.every_release && opts.name.is_none() && several {
            None
        } else {
            Some(distillery::select(&config, &distillery_file, opts)?)
        };
        (release, all)
    } else {
        let all = if opts.every_release {
            project
                .releases
                .iter()
                .map(|(name, settings)| {
                    ReleaseSettings::from_settings(
                        name,
                        Format::Mix,
                        &project.path,
                        settings,
                        opts.dir,
                    )
                })
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        let several = project.releases.len() > 1 && project.default_release.is_none();
        let release = if opts.every_release && opts.name.is_none() && several {
            None
        } else {
            select_mix_release(&project, opts)?
        };
        (release, all)
    };
    let main = release
        .as_ref()
        .and_then(|r| r.config_file.clone())
        .unwrap_or_else(|| opts.dir.join("config").join("config.exs"));
    let mut app_config = AppConfig::read_main(&main, &context, opts.use_elixir)?;
    if let Some(path) = release.as_ref().and_then(|r| r.runtime_config_path.clone()) {
        app_config.runtime = path;
        app_config.runtime_deprecated = false;
    }
    Ok(ProjectConfig {
        kind: ProjectKind::Mix,
        project,
        release,
        app_config,
        releases,
    })
}

fn select_mix_release(
    project: &MixProject,
    opts: &LoadOptions<'_>,
) -> Result<Option<ReleaseSettings>> {
    let wanted = opts
        .name
        .map(str::to_owned)
        .or_else(|| project.default_release.clone());
    let chosen = match &wanted {
        Some(name) => project.releases.iter().find(|(n, _)| n == name),
        None if project.releases.len() > 1 => {
            let names: Vec<_> = project.releases.iter().map(|(n, _)| n.as_str()).collect();
            return Err(Error::Project {
                path: project.path.clone(),
                message: format!(
                    "several releases ({}): pick one with --name or set `default_release:`",
                    names.join(", ")
                ),
            });
        }
        None => project.releases.first(),
    };
    match chosen {
        Some((name, settings)) => {
            ReleaseSettings::from_settings(name, Format::Mix, &project.path, settings, opts.dir)
                .map(Some)
        }
        None => Ok(None),
    }
}

/// The build environment when none is given: rebar3's `default` profile
/// for rebar3 projects, `prod` otherwise.
pub fn default_env(dir: &Path) -> &'static str {
    if rebar::is_rebar3(dir) {
        "default"
    } else {
        "prod"
    }
}

/// A setting's error, at its origin.
pub(crate) fn at(setting: &Setting, message: String) -> Error {
    let (path, line) = setting
        .origin
        .rsplit_once(':')
        .map(|(p, l)| (PathBuf::from(p), l.parse().unwrap_or(0)))
        .unwrap_or_default();
    Error::Parse {
        path,
        line,
        message,
    }
}

pub(crate) fn text_of(t: &Term) -> Option<String> {
    match t {
        Term::Binary(b) => String::from_utf8(b.clone()).ok(),
        Term::Atom(a) => Some(a.clone()),
        Term::List(_) => t.as_string(),
        _ => None,
    }
}

fn flag(s: &Setting, key: &str) -> Result<bool> {
    match s.value.as_atom() {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        _ => Err(at(s, format!("`{key}` must be true or false"))),
    }
}

impl ReleaseSettings {
    /// Release `name` with nothing set but what `settings` records.
    pub fn new(name: &str, format: Format, file: &Path, settings: Settings) -> ReleaseSettings {
        ReleaseSettings {
            name: name.to_owned(),
            format,
            file: file.to_owned(),
            version: None,
            version_from_app: None,
            applications: Vec::new(),
            include_erts: None,
            cookie: None,
            vm_args: None,
            env_sh: None,
            sys_config: None,
            output_dir: None,
            tar: None,
            steps: Vec::new(),
            executable: None,
            overlay_dirs: Vec::new(),
            overlays: Vec::new(),
            overlay_vars: Vec::new(),
            erl_opts: None,
            launcher: true,
            dev_mode: false,
            strip_beams: None,
            strip_keep: Vec::new(),
            config_providers: Vec::new(),
            reboot_system_after_config: None,
            prune_runtime_sys_config_after_boot: false,
            start_distribution_during_config: false,
            validate_compile_env: true,
            runtime_config_path: None,
            run_erl_env: None,
            config_file: None,
            warnings: Vec::new(),
            fallback_reason: None,
            commands: Vec::new(),
            hooks: Vec::new(),
            settings,
        }
    }

    /// Types and checks the settings of release `name`.
    pub fn from_settings(
        name: &str,
        format: Format,
        file: &Path,
        settings: &Settings,
        dir: &Path,
    ) -> Result<ReleaseSettings> {
        let mut r = ReleaseSettings::new(name, format, file, settings.clone());
        let path_of = |s: &Setting, key: &str| -> Result<PathBuf> {
            text_of(&s.value)
                .map(|p| dir.join(p))
                .ok_or_else(|| at(s, format!("`{key}` must be a path string")))
        };
        let mut system_libs = None;
        for (key, s) in &settings.0 {
            let key = key.as_str();
            // A function among the steps is run by Mix; anywhere else it
            // is code relpack cannot run.
            let value = match key {
                "steps" => s.value.as_list().map_or(Term::List(Vec::new()), |l| {
                    Term::List(l.iter().filter(|t| !is_function(t)).cloned().collect())
                }),
                _ => s.value.clone(),
            };
            if let Some(code) = find_opaque(&value) {
                if code.starts_with("&Nerves.") {
                    return Err(at(s, format!("`{key}: {code}` is a Nerves firmware release: Nerves assembles its own releases for its targets (`mix firmware`); relpack packages releases that run on an OTP installation")));
                }
                return Err(at(s, format!("`{key}` holds {code}, Mix code relpack cannot run; give the value it computes instead, or keep using `mix release` for this release")));
            }
            match key {
                "version" => match s.value.as_tuple() {
                    // mix release: the version of that application.
                    Some([Term::Atom(tag), Term::Atom(app)]) if tag == "from_app" => {
                        r.version_from_app = Some(app.clone())
                    }
                    _ => {
                        r.version = Some(text_of(&s.value).ok_or_else(|| {
                            at(s, "`version` must be a string or {:from_app, app}".into())
                        })?)
                    }
                },
                "applications" => r.applications = applications(s)?,
                "include_erts" => {
                    let text = text_of(&s.value).ok_or_else(|| {
                        at(s, "`include_erts` must be true, false or a path".into())
                    })?;
                    r.include_erts = Some(IncludeErts::parse(&text, dir));
                }
                "cookie" => {
                    let c = text_of(&s.value)
                        .ok_or_else(|| at(s, "`cookie` must be an atom or a string".into()))?;
                    // A placeholder committed in place of the secret
                    // (`:""`): Distillery took it, and the node then got
                    // a cookie of its own; so does relpack's release.
                    if c.trim().is_empty() {
                        r.warnings.push(format!(
                            "{}: `cookie` is blank, so the release gets a generated cookie as if none were set; set one (or RELEASE_COOKIE at run time) for nodes that must connect",
                            s.origin
                        ));
                        continue;
                    }
                    if !crate::vocab::is_valid_cookie(&c) {
                        return Err(at(
                            s,
                            format!("`cookie` must be {}", crate::vocab::COOKIE_RULE),
                        ));
                    }
                    r.cookie = Some(c);
                }
                "vm_args" => r.vm_args = Some(path_of(s, key)?),
                "sys_config" => r.sys_config = Some(path_of(s, key)?),
                "output_dir" | "path" => r.output_dir = Some(path_of(s, key)?),
                "steps" => {
                    r.steps = steps(s)?;
                    let has = |step: Step| r.steps.iter().position(|s| *s == step);
                    if has(Step::Executable).is_some() {
                        r.executable.get_or_insert_with(Default::default).enabled = true;
                    }
                    r.tar = Some(has(Step::Tar).is_some());
                }
                "executable" => {
                    let e = executable(s)?;
                    let slot = r.executable.get_or_insert_with(Default::default);
                    slot.enabled |= e.enabled;
                    slot.transient |= e.transient;
                }
                // Distillery 1.x: `executable: true` with `exec_opts: [transient: true]`.
                "exec_opts" => {
                    let transient = match crate::config::elixir::keyword_pairs(&s.value).as_deref()
                    {
                        Some([("transient", v)]) => v.as_atom() == Some("true"),
                        Some([]) => false,
                        _ => {
                            return Err(at(
                                s,
                                "`exec_opts` must be [transient: true] or [transient: false]"
                                    .into(),
                            ))
                        }
                    };
                    r.executable.get_or_insert_with(Default::default).transient |= transient;
                }
                "overlays" if format == Format::Mix => {
                    let dirs = s
                        .value
                        .as_list()
                        .and_then(|l| l.iter().map(text_of).collect::<Option<Vec<_>>>())
                        .ok_or_else(|| at(s, "`overlays` must be a list of directories".into()))?;
                    r.overlay_dirs = dirs.into_iter().map(|d| dir.join(d)).collect();
                }
                "overlays" => r.overlays = overlays(s)?,
                "overlay_vars" => {
                    let pairs = crate::config::elixir::keyword_pairs(&s.value)
                        .ok_or_else(|| at(s, "`overlay_vars` must be a keyword list".into()))?;
                    r.overlay_vars = pairs
                        .into_iter()
                        .map(|(k, v)| {
                            Ok((
                                k.to_owned(),
                                text_of(v).ok_or_else(|| {
                                    at(s, format!("overlay var `{k}` must be a string or atom"))
                                })?,
                            ))
                        })
                        .collect::<Result<_>>()?;
                }
                "config_providers" => r.config_providers = config_providers(s, format)?,
                "reboot_system_after_config" => r.reboot_system_after_config = Some(flag(s, key)?),
                "prune_runtime_sys_config_after_boot" => {
                    r.prune_runtime_sys_config_after_boot = flag(s, key)?
                }
                "start_distribution_during_config" => {
                    r.start_distribution_during_config = flag(s, key)?
                }
                "validate_compile_env" => r.validate_compile_env = flag(s, key)?,
                "runtime_config_path" => {
                    r.runtime_config_path = Some(match s.value.as_atom() {
                        Some("false") => None,
                        _ => Some(path_of(s, key)?),
                    })
                }
                "run_erl_env" => r.run_erl_env = Some(run_erl_env(s)?),
                "plugins" => {
                    for plugin in s.value.as_list().unwrap_or_default() {
                        let module = plugin.as_tuple().and_then(|t| t.first()).unwrap_or(plugin);
                        let name = text_of(module)
                            .unwrap_or_else(|| crate::formats::term::to_compact(module));
                        let name = name.strip_prefix("Elixir.").unwrap_or(&name).to_owned();
                        r.warnings.push(format!(
                            "{}: plugin {name}: relpack does not run Distillery plugins, so its before_assembly, after_assembly, before_package and after_package callbacks do not run; do what they do another way (an overlay, a hook) or drop the plugin",
                            s.origin
                        ));
                    }
                }
                "erl_opts" => {
                    r.erl_opts = Some(
                        text_of(&s.value)
                            .ok_or_else(|| at(s, "`erl_opts` must be a string".into()))?,
                    )
                }
                // Distillery: the application config file of the release.
                "config" => r.config_file = Some(path_of(s, key)?),
                "commands" => {
                    let pairs =
                        crate::config::elixir::keyword_pairs(&s.value).ok_or_else(|| {
                            at(
                                s,
                                "`commands` must be a keyword list of name: \"path\"".into(),
                            )
                        })?;
                    for (k, v) in pairs {
                        let p = text_of(v)
                            .ok_or_else(|| at(s, format!("command `{k}` must be a path")))?;
                        r.commands.push((k.to_owned(), dir.join(p)));
                    }
                }
                // Distillery 2.x: a directory of scripts; 1.x: one script.
                k if k.ends_with("_hooks") || k.ends_with("_hook") => {
                    let name = k.trim_end_matches('s').trim_end_matches("_hook");
                    let hook = name.parse::<Hook>().map_err(|_| {
                        at(s, format!("`{k}` is not supported: the launcher runs pre_configure, post_configure, pre_start, post_start, pre_stop, post_stop, pre_upgrade and post_upgrade hooks"))
                    })?;
                    r.hooks.push((hook, path_of(s, key)?));
                }
                "dev_mode" => r.dev_mode = flag(s, key)?,
                // mix: `strip_beams: [keep: ["Docs"]]` strips, keeping
                // those chunks too.
                "strip_beams" if s.value.as_list().is_some() => {
                    r.strip_beams = Some(true);
                    r.strip_keep = strip_options(s)?;
                }
                "strip_beams" | "strip_debug_info" => r.strip_beams = Some(flag(s, key)?),
                // Distillery's cross-building form: the target OTP's lib/.
                "include_system_libs" => {
                    let libs = match text_of(&s.value).as_deref() {
                        Some("true") => Ok(true),
                        Some("false") => Ok(false),
                        Some(path) => Err(dir.join(path)),
                        None => {
                            return Err(at(
                                s,
                                "`include_system_libs` must be true, false or a path".into(),
                            ))
                        }
                    };
                    system_libs = Some((libs, s));
                }
                // Read below, with the other files of the templates directory.
                "rel_templates_path" if format == Format::Mix => {}
                // Only relaxes a check of mix's that relpack does not make.
                "skip_mode_validation_for" if format == Format::Mix => {}
                // Accepted with the value relpack always produces.
                "include_src" | "no_dot_erlang" | "quiet" => {
                    let wanted = flag(s, key)?;
                    let relpack_does = match key {
                        "no_dot_erlang" => true,
                        "quiet" => wanted,
                        _ => false,
                    };
                    if wanted != relpack_does {
                        return Err(at(s, format!("`{key}: {wanted}` is not supported by relpack yet; remove it or set it to {relpack_does}")));
                    }
                }
                // relpack's launcher is a POSIX shell script only.
                "include_executables_for" if format == Format::Mix => {
                    let targets = s
                        .value
                        .as_atom_list()
                        .filter(|t| t.iter().all(|t| t == "unix" || t == "windows"))
                        .ok_or_else(|| {
                            at(
                                s,
                                "`include_executables_for` must be a list of :unix and :windows"
                                    .into(),
                            )
                        })?;
                    r.launcher = targets.iter().any(|t| t == "unix");
                    if targets.iter().any(|t| t == "windows") {
                        r.warnings.push(format!(
                            "{}: `include_executables_for` names :windows, and relpack writes no .bat launchers: the release starts on Unix only{}",
                            s.origin,
                            if r.launcher { "" } else { " (and, without :unix, from no launcher at all)" }
                        ));
                    }
                }
                _ => {
                    return Err(at(
                        s,
                        format!("`{key}` is not supported by relpack yet; remove it"),
                    ));
                }
            }
        }
        // OTP's applications ship exactly when ERTS does, from the OTP
        // root ERTS comes from.
        match system_libs {
            Some((Ok(wanted), s)) => {
                let relpack_does = r.include_erts != Some(IncludeErts::No);
                if wanted != relpack_does {
                    return Err(at(s, format!("`include_system_libs: {wanted}` with `include_erts: {}` is not supported: OTP's applications ship exactly when ERTS does", !wanted)));
                }
            }
            Some((Err(libs), s)) => {
                let root = r.include_erts.as_ref().and_then(IncludeErts::otp_root);
                let same = root.as_ref().is_some_and(|root| {
                    let lib = root.join("lib");
                    libs.components().eq(lib.components())
                });
                if !same {
                    let from = match &root {
                        Some(root) => format!(
                            "the OTP root of `include_erts` ({})",
                            root.join("lib").display()
                        ),
                        None => "the OTP of `include_erts`, which names no path".into(),
                    };
                    return Err(at(s, format!("`include_system_libs: \"{}\"`: relpack takes OTP's applications from {from}; set include_system_libs to that, or include_erts to the OTP root holding it", libs.display())));
                }
            }
            None => {}
        }
        if format == Format::Mix {
            let rel = match settings.get("rel_templates_path") {
                Some(s) => path_of(s, "rel_templates_path")?,
                None => dir.join("rel"),
            };
            if !settings.0.iter().any(|(k, _)| k == "overlays") && rel.join("overlays").is_dir() {
                r.overlay_dirs.push(rel.join("overlays"));
            }
            for (file, slot) in [
                ("vm.args.eex", &mut r.vm_args),
                ("env.sh.eex", &mut r.env_sh),
            ] {
                if rel.join(file).is_file() {
                    *slot = Some(rel.join(file));
                }
            }
        }
        Ok(r)
    }
}

/// `true`, `false` or `[enabled: bool, transient: bool]`, as Distillery
/// reads `executable:`.
fn executable(s: &Setting) -> Result<ExecutableSetting> {
    if s.value.as_atom().is_some() {
        return Ok(ExecutableSetting {
            enabled: flag(s, "executable")?,
            transient: false,
        });
    }
    let pairs = crate::config::elixir::keyword_pairs(&s.value).ok_or_else(|| {
        at(
            s,
            "`executable` must be true, false or [enabled: true, transient: false]".into(),
        )
    })?;
    // Distillery's default for a missing `enabled:` is not documented:
    // it must be written.
    let mut e = ExecutableSetting::default();
    if !pairs.iter().any(|(k, _)| *k == "enabled") {
        return Err(at(
            s,
            "`executable: [...]` needs `enabled: true` (or false)".into(),
        ));
    }
    for (k, v) in pairs {
        let value = Setting {
            value: v.clone(),
            origin: s.origin.clone(),
        };
        match k {
            "enabled" => e.enabled = flag(&value, "executable: enabled")?,
            "transient" => e.transient = flag(&value, "executable: transient")?,
            _ => {
                return Err(at(
                    s,
                    format!("`executable` option `{k}`: relpack knows enabled and transient"),
                ))
            }
        }
    }
    Ok(e)
}

/// The first value with no literal form (a function) inside `t`, as the
/// `elixir` fallback described it.
fn find_opaque(t: &Term) -> Option<String> {
    fallback::opaque(t).or_else(|| match t {
        Term::List(items) | Term::Tuple(items) => items.iter().find_map(find_opaque),
        Term::Map(entries) => entries
            .iter()
            .find_map(|(k, v)| find_opaque(k).or_else(|| find_opaque(v))),
        _ => None,
    })
}

/// mix's `strip_beams: [keep: ["Docs", ...]]`: the chunks to keep.
fn strip_options(s: &Setting) -> Result<Vec<String>> {
    let bad = || {
        at(
            s,
            "`strip_beams` must be true, false or [keep: [\"Docs\", ...]]".into(),
        )
    };
    let mut keep = Vec::new();
    for (key, value) in crate::config::elixir::keyword_pairs(&s.value).ok_or_else(bad)? {
        match key {
            "keep" => {
                let chunks = match value {
                    Term::List(items) => items.iter().map(text_of).collect::<Option<Vec<_>>>(),
                    other => text_of(other).map(|t| vec![t]),
                };
                keep.extend(chunks.ok_or_else(bad)?);
            }
            "compress" if value.as_atom() == Some("false") => {}
            "compress" => {
                return Err(at(s, "`strip_beams: [compress: true]` (gzip-compressed BEAMs) is not supported by relpack; remove it".into()))
            }
            _ => return Err(bad()),
        }
    }
    Ok(keep)
}

/// Whether `t` is a function as the fallback describes it.
fn is_function(t: &Term) -> bool {
    matches!(t.as_tuple(), Some([Term::Atom(tag), Term::Atom(kind), _]) if tag == "$relpack_opaque" && kind == "function")
}

/// mix's `steps:`, checked as `mix release` checks them, and relpack's
/// `:executable`, which comes right after `:tar` (both are written at
/// once).
fn steps(s: &Setting) -> Result<Vec<Step>> {
    let items = s.value.as_list().ok_or_else(|| {
        at(
            s,
            "`steps` must be a list of :assemble, :tar, :executable and functions".into(),
        )
    })?;
    let steps = items
        .iter()
        .map(|t| match (t.as_atom(), fallback::opaque(t)) {
            (Some("assemble"), _) => Ok(Step::Assemble),
            (Some("tar"), _) => Ok(Step::Tar),
            (Some("executable"), _) => Ok(Step::Executable),
            (_, Some(code)) if is_function(t) => Ok(Step::Custom(code)),
            _ => Err(at(
                s,
                format!(
                    "step `{}`: a step is :assemble, :tar, :executable or a function of one argument",
                    crate::formats::term::to_compact(t)
                ),
            )),
        })
        .collect::<Result<Vec<_>>>()?;
    let count = |step: &Step| steps.iter().filter(|s| *s == step).count();
    let position = |step: &Step| steps.iter().position(|s| s == step);
    if count(&Step::Assemble) != 1 {
        return Err(at(s, "`steps` must contain :assemble once".into()));
    }
    if count(&Step::Tar) > 1 || count(&Step::Executable) > 1 {
        return Err(at(
            s,
            "`steps` may contain :tar and :executable once each".into(),
        ));
    }
    if position(&Step::Tar) < position(&Step::Assemble) && position(&Step::Tar).is_some() {
        return Err(at(s, "step `:tar` must come after :assemble".into()));
    }
    if let Some(exe) = position(&Step::Executable) {
        if position(&Step::Tar).is_none_or(|tar| tar + 1 != exe) {
            return Err(at(s, "step `:executable` must come right after `:tar`: the executable carries the tarball, and relpack writes both at once".into()));
        }
    }
    Ok(steps)
}

/// `[:app, other: :load]`: a bare name is `permanent`.
fn applications(s: &Setting) -> Result<Vec<(String, StartType)>> {
    let items = s
        .value
        .as_list()
        .ok_or_else(|| at(s, "`applications` must be a list".into()))?;
    items
        .iter()
        .map(|item| match item {
            Term::Atom(a) => Ok((a.clone(), StartType::Permanent)),
            Term::Tuple(kv) => match kv.as_slice() {
                [Term::Atom(a), Term::Atom(t)] => t
                    .parse::<StartType>()
                    .map(|ty| (a.clone(), ty))
                    .map_err(|e| at(s, format!("application `{a}`: {e}"))),
                _ => Err(at(
                    s,
                    "`applications` entries are app or app: start_type".into(),
                )),
            },
            _ => Err(at(
                s,
                "`applications` entries are app or app: start_type".into(),
            )),
        })
        .collect()
}

/// `config_providers`: `{Module, Arg}` (or a bare module, in Distillery's
/// lists). Distillery's own Elixir provider, `{Providers.Elixir,
/// ["${RELEASE_ROOT_DIR}/etc/config.exs"]}`, is what Elixir's
/// `Config.Reader` provider does on that file.
fn config_providers(s: &Setting, format: Format) -> Result<Vec<ConfigProvider>> {
    const DISTILLERY_ELIXIR: &[&str] = &[
        "Elixir.Distillery.Releases.Config.Providers.Elixir",
        "Elixir.Mix.Releases.Config.Providers.Elixir",
    ];
    let items = s
        .value
        .as_list()
        .ok_or_else(|| at(s, "`config_providers` must be a list".into()))?;
    items
        .iter()
        .map(|item| {
            let (module, arg) = match (item, item.as_tuple()) {
                (_, Some([Term::Atom(m), arg])) => (m.as_str(), arg.clone()),
                (Term::Atom(m), _) if format == Format::Distillery => {
                    (m.as_str(), Term::List(Vec::new()))
                }
                _ => return Err(at(s, "config providers are {Module, argument}".into())),
            };
            if format != Format::Distillery || !DISTILLERY_ELIXIR.contains(&module) {
                return Ok(ConfigProvider::Module {
                    module: module.to_owned(),
                    arg,
                    origin: s.origin.clone(),
                });
            }
            arg.as_list()
                .and_then(|a| match a {
                    [path] => text_of(path),
                    _ => None,
                })
                .and_then(|p| ReaderPath::parse(&p))
                .map(ConfigProvider::Reader)
                .ok_or_else(|| {
                    at(
                        s,
                        "the Elixir config provider takes one path: absolute (\"/etc/app/config.exs\"), or starting with a variable (\"${RELEASE_ROOT_DIR}/etc/config.exs\", \"${CONFIG_DIR}/app.exs\")"
                            .into(),
                    )
                })
        })
        .collect()
}

/// `run_erl_env`: `NAME=VALUE` words, as Distillery passed them to `env`
/// before `run_erl`; nothing the shell would read as code.
fn run_erl_env(s: &Setting) -> Result<String> {
    let text = text_of(&s.value).ok_or_else(|| at(s, "`run_erl_env` must be a string".into()))?;
    let valid = text.split_whitespace().all(|word| {
        word.split_once('=').is_some_and(|(name, value)| {
            !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.,:/@+%".contains(&b))
        })
    });
    if !valid {
        return Err(at(s, "`run_erl_env` must be NAME=VALUE words, e.g. \"RUN_ERL_LOG_MAXSIZE=10000000 RUN_ERL_LOG_GENERATIONS=5\"".into()));
    }
    Ok(text.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn overlays(s: &Setting) -> Result<Vec<Overlay>> {
    let items = s
        .value
        .as_list()
        .ok_or_else(|| at(s, "`overlays` must be a list".into()))?;
    items
        .iter()
        .map(|item| {
            let parts = item.as_tuple().unwrap_or_default();
            let texts: Option<Vec<String>> = parts.iter().skip(1).map(text_of).collect();
            match (parts.first().and_then(Term::as_atom), texts.as_deref()) {
                (Some("mkdir"), Some([p])) => Ok(Overlay::Mkdir(p.clone())),
                (Some("copy"), Some([a, b])) => Ok(Overlay::Copy(a.clone(), b.clone())),
                (Some("link"), Some([a, b])) => Ok(Overlay::Link(a.clone(), b.clone())),
                (Some("template"), Some([a, b])) => Ok(Overlay::Template(a.clone(), b.clone())),
                _ => Err(at(
                    s,
                    "overlays are {:mkdir, path}, {:copy, from, to}, {:link, from, to} or {:template, from, to}".into(),
                )),
            }
        })
        .collect()
}

/// One line of `relpack config`: a setting, its value and where it was set.
/// As JSON (serde), the value is a JSON value, with the Erlang term text
/// beside it (`term`) only where JSON cannot say it exactly (atoms,
/// tuples, keyword lists, charlists, maps with other keys).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The setting's name.
    pub key: String,
    /// The value as an Erlang term (`~w`-like text).
    pub value: String,
    /// Where it was set, as `file:line`, or where the default comes from.
    pub origin: String,
    /// The value as a term, where it is one (not `defined`, a path).
    pub term: Option<Term>,
}

fn entry(key: impl Into<String>, value: String, origin: impl Into<String>) -> Entry {
    Entry {
        key: key.into(),
        value,
        origin: origin.into(),
        term: None,
    }
}

/// An entry whose value is `term`; a value with no literal form (a step
/// function) shows as its description, `'&copy_files/1'`.
fn term_entry(key: impl Into<String>, term: &Term, origin: impl Into<String>) -> Entry {
    let term = described(term);
    Entry {
        value: crate::formats::term::to_compact(&term),
        term: Some(term),
        ..entry(key, String::new(), origin)
    }
}

fn described(t: &Term) -> Term {
    if let Some(code) = fallback::opaque(t) {
        return Term::Atom(code);
    }
    match t {
        Term::List(items) => Term::List(items.iter().map(described).collect()),
        Term::Tuple(items) => Term::Tuple(items.iter().map(described).collect()),
        Term::Map(pairs) => Term::Map(
            pairs
                .iter()
                .map(|(k, v)| (described(k), described(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

impl serde::Serialize for Entry {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (value, exact) = match &self.term {
            Some(term) => json_of(term),
            None => (serde_json::Value::String(self.value.clone()), true),
        };
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("key", &self.key)?;
        map.serialize_entry("value", &value)?;
        if !exact {
            map.serialize_entry("term", &self.value)?;
        }
        map.serialize_entry("origin", &self.origin)?;
        map.end()
    }
}

/// `term` as JSON, and whether JSON says it exactly: strings, numbers,
/// `true`, `false`, `nil` (null), and lists and maps of those (maps with
/// string keys) are exact; an atom is its name, a tuple an array, a map
/// with other keys an array of `[key, value]` pairs, none of them exact.
fn json_of(term: &Term) -> (serde_json::Value, bool) {
    use serde_json::Value;
    let all = |items: &[Term]| {
        let mut exact = true;
        let values = items
            .iter()
            .map(|t| {
                let (v, e) = json_of(t);
                exact &= e;
                v
            })
            .collect();
        (values, exact)
    };
    match term {
        Term::Binary(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => (Value::String(text.to_owned()), true),
            Err(_) => (Value::Null, false),
        },
        Term::Integer(i) => (Value::from(*i), true),
        Term::Float(f) => (
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            f.is_finite(),
        ),
        Term::Atom(a) => match a.as_str() {
            "true" => (Value::Bool(true), true),
            "false" => (Value::Bool(false), true),
            "nil" => (Value::Null, true),
            other => (Value::String(other.to_owned()), false),
        },
        Term::List(items) => {
            let (values, exact) = all(items);
            // A charlist reads as numbers: exact only when it is empty or
            // holds no printable text.
            let charlist = !items.is_empty()
                && items
                    .iter()
                    .all(|t| matches!(t, Term::Integer(c) if (32..127).contains(c)));
            (Value::Array(values), exact && !charlist)
        }
        Term::Tuple(items) => (Value::Array(all(items).0), false),
        Term::Map(pairs) => {
            let string_keys = pairs
                .iter()
                .all(|(k, _)| matches!(k, Term::Binary(b) if std::str::from_utf8(b).is_ok()));
            if string_keys {
                let mut exact = true;
                let mut object = serde_json::Map::new();
                for (k, v) in pairs {
                    let (v, e) = json_of(v);
                    exact &= e;
                    if let Term::Binary(b) = k {
                        object.insert(String::from_utf8_lossy(b).into_owned(), v);
                    }
                }
                (Value::Object(object), exact)
            } else {
                let values = pairs
                    .iter()
                    .map(|(k, v)| Value::Array(vec![json_of(k).0, json_of(v).0]))
                    .collect();
                (Value::Array(values), false)
            }
        }
    }
}

fn settings_entries(prefix: &str, settings: &Settings) -> Vec<Entry> {
    settings
        .0
        .iter()
        .map(|(k, s)| term_entry(format!("{prefix}{k}"), &s.value, &s.origin))
        .collect()
}

/// How `file` was read: `native`, or `elixir` with the reason.
fn evaluation(prefix: &str, file: &Path, fallback_reason: &Option<String>) -> Entry {
    match fallback_reason {
        Some(why) => entry(format!("{prefix}.evaluation"), "elixir".into(), why),
        None => entry(
            format!("{prefix}.evaluation"),
            "native".into(),
            file.display().to_string(),
        ),
    }
}

fn app_config_entries(c: &AppConfig) -> Vec<Entry> {
    let files: Vec<String> = c.files.iter().map(|f| f.display().to_string()).collect();
    let how = match c.evaluation {
        app_config::Evaluation::None => "none",
        app_config::Evaluation::Native => "native",
        app_config::Evaluation::Elixir => "elixir",
    };
    let mut out = vec![
        entry(
            "app_config.evaluation",
            how.into(),
            c.fallback_reason.clone().unwrap_or_default(),
        ),
        term_entry("app_config", &c.config, files.join(", ")),
    ];
    if let Some(r) = &c.runtime {
        out.push(entry(
            "runtime_config",
            r.display().to_string(),
            "read at boot by Config.Reader",
        ));
    }
    out
}

impl ProjectConfig {
    /// What was read but will not act as the tool would have it act, one
    /// line each: ignored `mix.exs` options, Distillery plugins, ...
    pub fn warnings(&self) -> Vec<String> {
        let mut out = self.project.warnings.clone();
        out.extend(self.app_config.warnings.iter().cloned());
        out.extend(self.release.iter().flat_map(|r| r.warnings.iter().cloned()));
        out
    }

    /// The warnings, or under `strict` the first of them as an error.
    pub fn check_strict(&self, strict: bool) -> Result<Vec<String>> {
        let warnings = self.warnings();
        match warnings.first() {
            Some(first) if strict => Err(Error::Strict(first.clone())),
            _ => Ok(warnings),
        }
    }

    /// What relpack resolved for the project, and where each came from.
    pub fn describe(&self) -> Vec<Entry> {
        let mix = self.project.path.display().to_string();
        let mut out = Vec::new();
        if let Some(app) = &self.project.app {
            out.push(entry("project.app", app.clone(), &mix));
        }
        if let Some(v) = &self.project.version {
            out.push(entry("project.version", v.clone(), &mix));
        }
        if self.project.umbrella {
            out.push(entry("project.umbrella", "true".into(), &mix));
        }
        out.push(evaluation(
            "project",
            &self.project.path,
            &self.project.fallback_reason,
        ));
        if let Some(r) = self.release.iter().chain(&self.releases).next() {
            if r.format != Format::Mix {
                out.push(evaluation("release", &r.file, &r.fallback_reason));
            }
        }
        if let Some(r) = &self.release {
            out.push(entry(
                "release.name",
                r.name.clone(),
                r.file.display().to_string(),
            ));
            out.extend(settings_entries("release.", &r.settings));
        }
        // With several releases and none selected, each of them.
        if self.release.is_none() {
            for r in &self.releases {
                out.push(entry(
                    format!("release.{}", r.name),
                    "defined".into(),
                    r.file.display().to_string(),
                ));
                out.extend(settings_entries(
                    &format!("release.{}.", r.name),
                    &r.settings,
                ));
            }
        }
        out.extend(app_config_entries(&self.app_config));
        out
    }
}

/// What `relpack config --file` shows of one file.
#[derive(Debug, Clone)]
pub struct Description {
    /// Each setting read, with its origin.
    pub entries: Vec<Entry>,
    /// What was read but is ignored, one line each.
    pub warnings: Vec<String>,
}

/// Reads one file on its own: a `config/*.exs` (it imports `Config` or
/// calls `config`), a Distillery `rel/config.exs` (it uses
/// `Distillery.Releases.Config`), else a `mix.exs`.
pub fn describe_file(path: &Path, env: &str, use_elixir: bool) -> Result<Description> {
    let source = elixir::Source::read(path)?;
    let dir = std::env::current_dir().map_err(|source| Error::Io {
        path: ".".into(),
        action: "cannot read the current directory",
        source,
    })?;
    let ev = elixir::Evaluator::new(
        &source,
        elixir::Context {
            env: env.to_owned(),
            target: "host".into(),
            dir: dir.clone(),
            project: None,
        },
    );
    let top: Vec<(String, String)> = elixir::children(source.root())
        .into_iter()
        .filter_map(|n| {
            let name = ev.call_name(n)?;
            let first = ev.arguments(n).first().map(|a| ev.text(*a).to_owned());
            Some((name, first.unwrap_or_default()))
        })
        .collect();
    let is = |name: &str, arg: &[&str]| {
        top.iter()
            .any(|(n, a)| n == name && (arg.is_empty() || arg.contains(&a.as_str())))
    };
    let distillery = is(
        "use",
        &["Distillery.Releases.Config", "Mix.Releases.Config"],
    );
    let app_config = is("import", &["Config"]) || is("use", &["Mix.Config"]) || is("config", &[]);
    if app_config && !distillery {
        let config = AppConfig::read_file(
            path,
            &Context {
                // The project around the file, for `Mix.Project.config()`.
                project: MixProject::read(&dir, env, use_elixir)
                    .ok()
                    .map(|p| p.config),
                ..Context::new(&dir, env)
            },
            use_elixir,
        )?;
        Ok(Description {
            entries: app_config_entries(&config),
            warnings: config.warnings,
        })
    } else if distillery {
        let config = distillery::parse(path, &Context::new(&dir, env), use_elixir)?;
        let mut out = vec![evaluation("file", path, &config.fallback_reason)];
        for (kind, items) in [
            ("environment", &config.environments),
            ("release", &config.releases),
        ] {
            for (name, settings, line) in items {
                out.push(entry(
                    format!("{kind}.{name}"),
                    "defined".into(),
                    format!("{}:{line}", path.display()),
                ));
                out.extend(settings_entries(&format!("{kind}.{name}."), settings));
            }
        }
        Ok(Description {
            entries: out,
            warnings: config.warnings,
        })
    } else {
        let project = MixProject::read_file(path, env, use_elixir)?;
        let mix = path.display().to_string();
        let mut out = vec![evaluation("file", path, &project.fallback_reason)];
        for (key, value) in [
            ("project.app", &project.app),
            ("project.version", &project.version),
        ] {
            if let Some(v) = value {
                out.push(entry(key, v.clone(), &mix));
            }
        }
        for (name, settings) in &project.releases {
            out.push(entry(format!("release.{name}"), "defined".into(), &mix));
            out.extend(settings_entries(&format!("release.{name}."), settings));
        }
        Ok(Description {
            entries: out,
            warnings: project.warnings,
        })
    }
}

/// A mix.exs release `app` with only `steps:` set, at `mix.exs:LINE`
/// (for tests).
#[cfg(test)]
pub(crate) fn release_with_steps(items: Vec<Term>, line: usize) -> Result<ReleaseSettings> {
    let mut settings = Settings::new();
    settings.insert(
        "steps".into(),
        Setting {
            value: Term::List(items),
            origin: format!("mix.exs:{line}"),
        },
    );
    ReleaseSettings::from_settings(
        "app",
        Format::Mix,
        Path::new("mix.exs"),
        &settings,
        Path::new("."),
    )
}

/// A function as the fallback describes it (for tests).
#[cfg(test)]
pub(crate) fn function_term(code: &str) -> Term {
    Term::tuple(vec![
        Term::atom("$relpack_opaque"),
        Term::atom("function"),
        Term::Binary(code.as_bytes().to_vec()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_as_json_values_with_the_term_where_json_falls_short() {
        let json = |t: &Term| serde_json::to_value(term_entry("k", t, "f:1")).unwrap();
        let text = |s: &str| Term::Binary(s.as_bytes().to_vec());
        let exact = json(&Term::List(vec![
            text("a"),
            Term::Integer(2),
            Term::atom("true"),
        ]));
        assert_eq!(exact["value"], serde_json::json!(["a", 2, true]));
        assert!(exact.get("term").is_none(), "{exact}");
        let map = json(&Term::Map(vec![(text("port"), Term::Integer(4000))]));
        assert_eq!(map["value"], serde_json::json!({"port": 4000}));
        assert!(map.get("term").is_none());
        let keyword = json(&Term::List(vec![Term::tuple(vec![
            Term::atom("pool_size"),
            Term::Integer(10),
        ])]));
        assert_eq!(keyword["value"], serde_json::json!([["pool_size", 10]]));
        assert_eq!(keyword["term"], "[{pool_size,10}]");
        let cookie = json(&Term::atom("store-cookie"));
        assert_eq!(cookie["value"], "store-cookie");
        assert_eq!(cookie["term"], "'store-cookie'");
        assert_eq!(json(&Term::atom("nil"))["value"], serde_json::Value::Null);
    }

    #[test]
    fn steps_as_mix_checks_them_with_functions_for_mix_to_run() {
        let function = function_term;
        let parse = |items| release_with_steps(items, 7);
        let r = parse(vec![
            function("&stamp/1"),
            Term::atom("assemble"),
            function("&Burrito.wrap/1"),
            Term::atom("tar"),
            Term::atom("executable"),
        ])
        .unwrap();
        assert_eq!(
            r.steps,
            [
                Step::Custom("&stamp/1".into()),
                Step::Assemble,
                Step::Custom("&Burrito.wrap/1".into()),
                Step::Tar,
                Step::Executable
            ]
        );
        assert_eq!(r.tar, Some(true));
        assert!(r.executable.is_some_and(|e| e.enabled));
        let error = |items| parse(items).unwrap_err().to_string();
        let a = || Term::atom("assemble");
        let t = || Term::atom("tar");
        assert!(error(vec![t(), a()]).contains("must come after :assemble"));
        assert!(error(vec![a(), a()]).contains(":assemble once"));
        assert!(error(vec![function("&f/1")]).contains(":assemble once"));
        assert!(
            error(vec![a(), t(), function("&f/1"), Term::atom("executable")])
                .contains("right after `:tar`")
        );
        assert!(error(vec![a(), Term::atom("zip")]).starts_with("mix.exs:7: step `zip`"));
        // A function elsewhere is still code relpack cannot run.
        let mut settings = Settings::new();
        settings.insert(
            "cookie".into(),
            Setting {
                value: function("&cookie/0"),
                origin: "mix.exs:9".into(),
            },
        );
        let e = ReleaseSettings::from_settings(
            "app",
            Format::Mix,
            Path::new("mix.exs"),
            &settings,
            Path::new("."),
        );
        assert!(e
            .unwrap_err()
            .to_string()
            .contains("`cookie` holds &cookie/0"));
    }

    #[test]
    fn provider_paths_as_the_release_finds_them_at_boot() {
        let p = |s| ReaderPath::parse(s);
        assert_eq!(
            p("${RELEASE_ROOT_DIR}/etc/config.exs"),
            Some(ReaderPath::InRelease("/etc/config.exs".into()))
        );
        assert_eq!(
            p("/etc/shop/config.exs"),
            Some(ReaderPath::Absolute("/etc/shop/config.exs".into()))
        );
        assert_eq!(
            p("${CONFIG_DIR}/shop.exs"),
            Some(ReaderPath::Env {
                var: "CONFIG_DIR".into(),
                rest: "/shop.exs".into()
            })
        );
        // Config.Provider resolves a variable at the start only.
        for bad in [
            "etc/config.exs",
            "/etc/${ENV}/c.exs",
            "${}/c.exs",
            "${A B}/c.exs",
            "${X}c.exs",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }
}
