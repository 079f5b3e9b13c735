//! `sys.config`: the application environment evaluated at build time, a
//! release's own `sys_config` merged over it, and, when config providers
//! run at boot, the settings of Elixir's `Config.Provider` exactly as
//! `mix release` (Elixir 1.14's `Mix.Release`) writes them.
//!
//! mix's rules, all here: `config/runtime.exs` (or the deprecated
//! `config/releases.exs`, or `runtime_config_path:`) is read first by
//! `Config.Reader`, then the configured providers in order;
//! `reboot_system_after_config` defaults to true only for `releases.exs`;
//! a rebooting release starts distribution only after configuration
//! (unless `start_distribution_during_config`); `validate_compile_env`
//! (default true) lists every `compile_env` triple the applications'
//! `.app` files record, or is `false` when there are none.

use std::path::Path;

use crate::config::app_config::merge_config;
use crate::config::elixir::binary;
use crate::error::{Error, IoContext, Result};
use crate::formats::term::{parse_consult, Term};

/// What the config providers do at boot.
#[derive(Debug, Clone, PartialEq)]
pub struct Providers {
    /// `{Module, Arg}` each, in the order they run.
    pub list: Vec<Term>,
    /// `reboot_system_after_config`: the VM restarts with the new config.
    pub reboot: bool,
    /// `prune_runtime_sys_config_after_boot`.
    pub prune_after_boot: bool,
    /// `start_distribution_during_config`.
    pub start_distribution_during_config: bool,
    /// The `compile_env` triples to check at boot; `None`: no check.
    pub validate_compile_env: Option<Vec<Term>>,
}

impl Providers {
    /// Elixir's `Config.Reader` on `file` of the release (relative to its
    /// root, `/releases/<vsn>/runtime.exs`) for Mix env `env`.
    pub fn reader(file: &str, env: &str) -> Term {
        Self::reader_at(system("RELEASE_ROOT", file), env)
    }

    /// `Config.Reader` on the file at `path`, a `Config.Provider` config
    /// path: a binary, or `{:system, VAR, rest}` resolved at boot.
    pub fn reader_at(path: Term, env: &str) -> Term {
        Term::tuple(vec![
            Term::atom("Elixir.Config.Reader"),
            Term::tuple(vec![
                path,
                Term::List(vec![
                    kw("env", Term::atom(env)),
                    kw("target", Term::atom("host")),
                    kw("imports", Term::atom("disabled")),
                ]),
            ]),
        ])
    }
}

/// The `sys.config` term: `app_config`, then the entries of the `extra`
/// sys.config file merged over it, then the providers' settings.
pub fn render(
    app_config: Term,
    extra: Option<&Path>,
    providers: Option<&Providers>,
) -> Result<Term> {
    let mut entries = match app_config {
        Term::List(items) => items,
        other => vec![other],
    };
    if let Some(path) = extra {
        let bytes = std::fs::read(path).at(path, "cannot read the release's sys_config")?;
        let terms = parse_consult(&bytes).map_err(|e| Error::Parse {
            path: path.to_owned(),
            line: e.line,
            message: e.message,
        })?;
        match terms.as_slice() {
            [Term::List(items)] => entries = merge_config(entries, items.clone()),
            _ => {
                return Err(Error::Project {
                    path: path.to_owned(),
                    message:
                        "a sys.config holds one list of {app, [{key, value}]} followed by a dot"
                            .into(),
                })
            }
        }
    }
    let Some(p) = providers else {
        return Ok(Term::List(entries));
    };
    // Distribution starts once configured: off in sys.config, on in the
    // config the provider reboots with.
    let late_distribution = p.reboot && !p.start_distribution_during_config;
    let distribution = |on: bool| {
        Term::List(vec![Term::tuple(vec![
            Term::atom("kernel"),
            Term::List(vec![kw("start_distribution", boolean(on))]),
        ])])
    };
    let init = Term::Map(vec![
        (
            Term::atom("__struct__"),
            Term::atom("Elixir.Config.Provider"),
        ),
        (
            Term::atom("config_path"),
            system("RELEASE_SYS_CONFIG", ".config"),
        ),
        (
            Term::atom("extra_config"),
            if late_distribution {
                distribution(true)
            } else {
                Term::List(Vec::new())
            },
        ),
        (Term::atom("providers"), Term::List(p.list.clone())),
        (
            Term::atom("prune_runtime_sys_config_after_boot"),
            boolean(p.prune_after_boot),
        ),
        (Term::atom("reboot_system_after_config"), boolean(p.reboot)),
        (
            Term::atom("validate_compile_env"),
            match &p.validate_compile_env {
                Some(triples) => Term::List(triples.clone()),
                None => boolean(false),
            },
        ),
    ]);
    let mut added = vec![Term::tuple(vec![
        Term::atom("elixir"),
        Term::List(vec![kw("config_provider_init", init)]),
    ])];
    if late_distribution {
        added.extend(distribution(false).as_list().unwrap_or_default().to_vec());
    }
    Ok(Term::List(merge_config(entries, added)))
}

/// Checks that provider `module` is in one of `ebin_dirs` and implements
/// Elixir's `Config.Provider` behaviour, which is how `mix release` runs it.
pub fn check_provider_module(module: &str, origin: &str, ebin_dirs: &[&Path]) -> Result<()> {
    let name = module.strip_prefix("Elixir.").unwrap_or(module);
    let fail = |message: String| {
        let (path, line) = origin.rsplit_once(':').unwrap_or((origin, "0"));
        Error::Parse {
            path: path.into(),
            line: line.parse().unwrap_or(0),
            message,
        }
    };
    let file = format!("{module}.beam");
    let Some(beam) = ebin_dirs
        .iter()
        .map(|d| d.join(&file))
        .find(|p| p.is_file())
    else {
        return Err(fail(format!(
            "config provider {name}: no application of the release has module {name}; add the application that defines it to the release"
        )));
    };
    let bytes = std::fs::read(&beam).at(&beam, "cannot read")?;
    let attributes = crate::formats::beam::attributes(&bytes).map_err(|e| Error::BadBeam {
        path: beam.clone(),
        message: e.to_string(),
    })?;
    let behaviours: Vec<&str> = attributes
        .iter()
        .filter(|(k, _)| k == "behaviour" || k == "behavior")
        .flat_map(|(_, v)| v.as_list().unwrap_or_default())
        .filter_map(Term::as_atom)
        .collect();
    if behaviours.contains(&"Elixir.Config.Provider") {
        return Ok(());
    }
    let distillery_only = behaviours.iter().any(|b| {
        matches!(
            *b,
            "Elixir.Mix.Releases.Config.Provider" | "Elixir.Distillery.Releases.Config.Provider"
        )
    });
    Err(fail(if distillery_only {
        format!("config provider {name} implements only Distillery's provider behaviour, which Elixir's Config.Provider cannot run; use a version of it that implements Config.Provider, or config/runtime.exs")
    } else {
        format!("config provider {name} does not implement Config.Provider (no `@behaviour Config.Provider`), so it cannot run at boot")
    }))
}

fn kw(k: &str, v: Term) -> Term {
    Term::tuple(vec![Term::atom(k), v])
}

fn boolean(b: bool) -> Term {
    Term::atom(if b { "true" } else { "false" })
}

pub(crate) fn system(var: &str, suffix: &str) -> Term {
    Term::tuple(vec![Term::atom("system"), binary(var), binary(suffix)])
}
