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
//! All of them are evaluated by [`elixir`], a small evaluator over a real
//! Elixir parser. The result is plain data ([`ProjectConfig`]) that
//! [`crate::plan`](mod@crate::plan) reads.

pub mod app_config;
pub mod distillery;
pub mod eex;
pub mod elixir;
pub mod init;
pub mod mix_project;
pub mod rebar;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::launcher::Hook;
use crate::plan::IncludeErts;
use crate::resolve::StartType;
use crate::term::Term;

pub use app_config::AppConfig;
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
    /// Directories whose contents are copied into the release root
    /// (`mix release`'s `overlays:`, `rel/overlays` by default).
    pub overlay_dirs: Vec<PathBuf>,
    /// Distillery's `overlays:` entries, in order.
    pub overlays: Vec<Overlay>,
    /// Distillery's `overlay_vars:`, extra variables for templates and overlay paths.
    pub overlay_vars: Vec<(String, String)>,
    /// Files read at boot by Elixir's `Config.Reader` provider, relative
    /// to the release root (Distillery's `config_providers` with its Elixir
    /// provider and a `${RELEASE_ROOT_DIR}/...` path).
    pub boot_config_files: Vec<String>,
    /// Distillery `dev_mode`: the project's applications are symlinked
    /// into the release, not copied, and no tarball is written.
    pub dev_mode: bool,
    /// `strip_beams` (mix) / `strip_debug_info` (Distillery); `None`: not set.
    pub strip_beams: Option<bool>,
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
    /// The application configuration (`config/config.exs` and friends) for the environment.
    pub app_config: AppConfig,
}

/// How to read the configuration.
#[derive(Debug, Clone)]
pub struct LoadOptions<'a> {
    /// The project directory.
    pub dir: &'a Path,
    /// The build environment, e.g. `prod`.
    pub env: &'a str,
    /// The release to select (`--name`).
    pub name: Option<&'a str>,
    /// Whether code beyond the native subset may be run with `elixir`.
    pub use_elixir: bool,
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
            },
            release: rebar::read(opts.dir, opts.env, opts.name)?,
            app_config: AppConfig::read(opts.dir, opts.env, false)?,
        });
    }
    let project = MixProject::read(opts.dir, opts.env)?;
    let distillery_file = opts.dir.join("rel").join("config.exs");
    let release = if distillery_file.is_file() {
        Some(distillery::read(&distillery_file, opts)?)
    } else {
        select_mix_release(&project, opts)?
    };
    let app_config = AppConfig::read(opts.dir, opts.env, opts.use_elixir)?;
    Ok(ProjectConfig {
        kind: ProjectKind::Mix,
        project,
        release,
        app_config,
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

fn text_of(t: &Term) -> Option<String> {
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
            applications: Vec::new(),
            include_erts: None,
            cookie: None,
            vm_args: None,
            env_sh: None,
            sys_config: None,
            output_dir: None,
            tar: None,
            overlay_dirs: Vec::new(),
            overlays: Vec::new(),
            overlay_vars: Vec::new(),
            erl_opts: None,
            dev_mode: false,
            strip_beams: None,
            boot_config_files: Vec::new(),
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
            match key {
                "version" => {
                    r.version = Some(
                        text_of(&s.value)
                            .ok_or_else(|| at(s, "`version` must be a string".into()))?,
                    )
                }
                "applications" => r.applications = applications(s)?,
                "include_erts" => {
                    r.include_erts = Some(match s.value.as_atom() {
                        Some("true") => IncludeErts::Yes,
                        Some("false") => IncludeErts::No,
                        _ => IncludeErts::From(path_of(s, key)?),
                    })
                }
                "cookie" => {
                    let c = text_of(&s.value)
                        .ok_or_else(|| at(s, "`cookie` must be an atom or a string".into()))?;
                    if c.is_empty() || !c.bytes().all(|b| b.is_ascii_graphic()) {
                        return Err(at(
                            s,
                            "`cookie` must be printable ASCII without spaces".into(),
                        ));
                    }
                    r.cookie = Some(c);
                }
                "vm_args" => r.vm_args = Some(path_of(s, key)?),
                "sys_config" => r.sys_config = Some(path_of(s, key)?),
                "output_dir" | "path" => r.output_dir = Some(path_of(s, key)?),
                "steps" => {
                    let steps = s.value.as_atom_list().ok_or_else(|| {
                        at(s, "`steps` must be a list of :assemble and :tar".into())
                    })?;
                    if let Some(bad) = steps
                        .iter()
                        .find(|s| !matches!(s.as_str(), "assemble" | "tar"))
                    {
                        return Err(at(s, format!("step `{bad}`: relpack knows :assemble and :tar (functions are Mix code)")));
                    }
                    r.tar = Some(steps.iter().any(|s| s == "tar"));
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
                "config_providers" if format == Format::Distillery => {
                    r.boot_config_files = boot_config_files(s)?
                }
                "erl_opts" => {
                    r.erl_opts = Some(
                        text_of(&s.value)
                            .ok_or_else(|| at(s, "`erl_opts` must be a string".into()))?,
                    )
                }
                // The application config relpack reads is always this one.
                "config" if text_of(&s.value).as_deref() == Some("config/config.exs") => {}
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
                k if k.ends_with("_hooks") => {
                    let name = k.trim_end_matches("_hooks");
                    let hook = name.parse::<Hook>().map_err(|_| {
                        at(s, format!("`{k}` is not supported: the launcher runs pre_start, post_start, pre_stop, post_stop, pre_upgrade and post_upgrade hooks"))
                    })?;
                    r.hooks.push((hook, path_of(s, key)?));
                }
                "dev_mode" => r.dev_mode = flag(s, key)?,
                "strip_beams" | "strip_debug_info" => r.strip_beams = Some(flag(s, key)?),
                "include_system_libs" => system_libs = Some((flag(s, key)?, s)),
                // Accepted with the value relpack always produces.
                "include_src"
                | "no_dot_erlang"
                | "quiet"
                | "reboot_system_after_config"
                | "validate_compile_env" => {
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
                "include_executables_for"
                    if s.value.as_atom_list().as_deref() == Some(&["unix".to_owned()]) => {}
                _ => {
                    return Err(at(
                        s,
                        format!("`{key}` is not supported by relpack yet; remove it"),
                    ));
                }
            }
        }
        // OTP's applications ship exactly when ERTS does.
        if let Some((wanted, s)) = system_libs {
            let relpack_does = r.include_erts != Some(IncludeErts::No);
            if wanted != relpack_does {
                return Err(at(s, format!("`include_system_libs: {wanted}` with `include_erts: {}` is not supported: OTP's applications ship exactly when ERTS does", !wanted)));
            }
        }
        if format == Format::Mix {
            let rel = dir.join("rel");
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

/// Distillery's Elixir config provider, `{Providers.Elixir,
/// ["${RELEASE_ROOT_DIR}/etc/config.exs"]}`, is what Elixir's own
/// `Config.Reader` provider does; other providers are Elixir code relpack
/// cannot run.
fn boot_config_files(s: &Setting) -> Result<Vec<String>> {
    const ELIXIR_PROVIDERS: &[&str] = &[
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
            let (module, args) = match item.as_tuple() {
                Some([Term::Atom(m), args]) => (m.as_str(), args),
                _ => return Err(at(s, "config providers are {Module, [args]}".into())),
            };
            if !ELIXIR_PROVIDERS.contains(&module) {
                let name = module.strip_prefix("Elixir.").unwrap_or(module);
                return Err(at(
                    s,
                    format!("config provider {name} is not supported: relpack supports Distillery's Elixir provider (or use config/runtime.exs)"),
                ));
            }
            args.as_list()
                .and_then(|a| match a {
                    [path] => text_of(path),
                    _ => None,
                })
                .and_then(|p| p.strip_prefix("${RELEASE_ROOT_DIR}").map(str::to_owned))
                .filter(|p| p.starts_with('/'))
                .ok_or_else(|| at(s, "the Elixir config provider takes one path, \"${RELEASE_ROOT_DIR}/...\"".into()))
        })
        .collect()
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
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The setting's name.
    pub key: String,
    /// The value as an Erlang term (`~w`-like text).
    pub value: String,
    /// Where it was set, as `file:line`, or where the default comes from.
    pub origin: String,
}

fn entry(key: impl Into<String>, value: String, origin: impl Into<String>) -> Entry {
    Entry {
        key: key.into(),
        value,
        origin: origin.into(),
    }
}

fn settings_entries(prefix: &str, settings: &Settings) -> Vec<Entry> {
    settings
        .0
        .iter()
        .map(|(k, s)| {
            entry(
                format!("{prefix}{k}"),
                crate::term::to_compact(&s.value),
                &s.origin,
            )
        })
        .collect()
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
        entry(
            "app_config",
            crate::term::to_compact(&c.config),
            files.join(", "),
        ),
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
        if let Some(r) = &self.release {
            out.push(entry(
                "release.name",
                r.name.clone(),
                r.file.display().to_string(),
            ));
            out.extend(settings_entries("release.", &r.settings));
        }
        out.extend(app_config_entries(&self.app_config));
        out
    }
}

/// Reads one file on its own: a `config/*.exs` (it imports `Config` or
/// calls `config`), a Distillery `rel/config.exs` (it uses
/// `Distillery.Releases.Config`), else a `mix.exs`.
pub fn describe_file(path: &Path, env: &str, use_elixir: bool) -> Result<Vec<Entry>> {
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
    let app_config = is("import", &["Config"]) || is("use", &["Mix.Config"]) || is("config", &[]);
    if app_config {
        Ok(app_config_entries(&AppConfig::read_file(
            path, &dir, env, use_elixir,
        )?))
    } else if is(
        "use",
        &["Distillery.Releases.Config", "Mix.Releases.Config"],
    ) {
        let config = distillery::parse(path, &dir, env)?;
        let mut out = Vec::new();
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
        Ok(out)
    } else {
        let project = MixProject::read_file(path, env)?;
        let mix = path.display().to_string();
        let mut out = Vec::new();
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
        Ok(out)
    }
}
