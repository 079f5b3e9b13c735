//! Distillery's `rel/config.exs`: `environment` and `release` blocks of
//! `set key: value` lines, the selected environment's settings over the
//! selected release's.

use std::path::Path;

use crate::config::elixir::{children, line_of, nil, Arg, Call, Context, Dsl, Evaluator, Source};
use crate::config::{Format, LoadOptions, MixProject, ReleaseSettings, Setting, Settings};
use crate::error::{Error, Result};
use crate::term::Term;

/// The options Distillery 2.x accepts in `set`.
pub const OPTIONS: &[&str] = &[
    "version",
    "applications",
    "output_dir",
    "vm_args",
    "sys_config",
    "config",
    "cookie",
    "include_erts",
    "include_src",
    "include_system_libs",
    "dev_mode",
    "strip_debug_info",
    "executable",
    "erl_opts",
    "run_erl_env",
    "no_dot_erlang",
    "config_providers",
    "included_configs",
    "plugins",
    "overlay_vars",
    "overlays",
    "overrides",
    "commands",
    "pre_configure_hooks",
    "post_configure_hooks",
    "pre_start_hooks",
    "post_start_hooks",
    "pre_stop_hooks",
    "post_stop_hooks",
    "pre_upgrade_hooks",
    "post_upgrade_hooks",
];

/// Every environment and release a `rel/config.exs` defines.
#[derive(Debug, Clone, Default)]
pub struct DistilleryConfig {
    /// `set default_release:`, if set.
    pub default_release: Option<String>,
    /// `set default_environment:`, if set.
    pub default_environment: Option<String>,
    /// Each `environment` block: its name, settings and the line it starts on.
    pub environments: Vec<(String, Settings, usize)>,
    /// Each `release` block: its name, settings and the line it starts on.
    pub releases: Vec<(String, Settings, usize)>,
}

/// Reads `path` and selects the release (`--name`, else the default) in
/// the environment named like the Mix env (else the default one).
pub fn read(path: &Path, opts: &LoadOptions<'_>) -> Result<ReleaseSettings> {
    let config = parse(path, opts.dir, opts.env)?;
    select(&config, path, opts)
}

/// Evaluates the file into its environments and releases.
pub fn parse(path: &Path, dir: &Path, env: &str) -> Result<DistilleryConfig> {
    let source = Source::read(path)?;
    let mut ev = Evaluator::new(
        &source,
        Context {
            env: env.to_owned(),
            target: "host".into(),
            dir: dir.to_owned(),
            project: None,
        },
    );
    let mut dsl = DistilleryDsl {
        config: DistilleryConfig::default(),
        scope: None,
        dir: dir.to_owned(),
        env: env.to_owned(),
        used: false,
    };
    for node in children(source.root()) {
        if is_plugin_prelude(&ev, node) {
            continue;
        }
        ev.eval(node, &mut dsl)?;
    }
    if !dsl.used {
        return Err(Error::Parse {
            path: path.to_owned(),
            line: 1,
            message: "no `use Distillery.Releases.Config`: is this a Distillery rel/config.exs?"
                .into(),
        });
    }
    Ok(dsl.config)
}

fn select(
    config: &DistilleryConfig,
    path: &Path,
    opts: &LoadOptions<'_>,
) -> Result<ReleaseSettings> {
    let fail = |line: usize, message: String| Error::Parse {
        path: path.to_owned(),
        line,
        message,
    };
    let names = |items: &[(String, Settings, usize)]| {
        items
            .iter()
            .map(|(n, _, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let release = match opts
        .name
        .map(str::to_owned)
        .or(config.default_release.clone())
    {
        Some(n) if n != "default" => config
            .releases
            .iter()
            .find(|(name, _, _)| *name == n)
            .ok_or_else(|| {
                fail(
                    1,
                    format!("no release `{n}` (defined: {})", names(&config.releases)),
                )
            })?,
        _ => config
            .releases
            .first()
            .ok_or_else(|| fail(1, "no `release NAME do ... end` block".into()))?,
    };
    let wanted_env = opts.env.to_owned();
    let environment = config
        .environments
        .iter()
        .find(|(n, _, _)| *n == wanted_env)
        .or_else(|| match config.default_environment.as_deref() {
            Some("default") | None => config.environments.first(),
            Some(d) => config.environments.iter().find(|(n, _, _)| n == d),
        });
    if environment.is_none() && !config.environments.is_empty() {
        return Err(fail(
            1,
            format!(
                "no environment `{wanted_env}` (defined: {})",
                names(&config.environments)
            ),
        ));
    }
    let mut settings = release.1.clone();
    if let Some((_, env_settings, _)) = environment {
        settings.overlay(env_settings);
    }
    ReleaseSettings::from_settings(&release.0, Format::Distillery, path, &settings, opts.dir)
}

/// `Path.join(["rel", "plugins", "*.exs"]) |> Path.wildcard() |>
/// Enum.map(&Code.eval_file(&1))`: Distillery plugins load themselves at
/// build time; relpack runs none, and says so if a release uses one.
fn is_plugin_prelude(ev: &Evaluator<'_>, node: tree_sitter::Node<'_>) -> bool {
    let text: String = ev.text(node).split_whitespace().collect();
    text.contains("Code.eval_file") && text.contains("plugins") && text.contains("Path.wildcard")
}

struct DistilleryDsl {
    config: DistilleryConfig,
    /// `(is_release, index)` of the block being evaluated.
    scope: Option<(bool, usize)>,
    dir: std::path::PathBuf,
    env: String,
    used: bool,
}

impl DistilleryDsl {
    fn name_arg<'s>(&mut self, ev: &mut Evaluator<'s>, call: &Call<'s>) -> Result<String> {
        let args = ev.eval_args(&call.args, self)?;
        match args.as_slice() {
            [Term::Atom(n)] => Ok(n.clone()),
            [Term::Binary(b)] => Ok(String::from_utf8_lossy(b).into_owned()),
            _ => Err(ev.invalid(
                call.node,
                format!(
                    "`{}` expects a name, e.g. `{} :prod do`",
                    call.name, call.name
                ),
            )),
        }
    }

    fn current_version(&self, app: &str) -> Option<String> {
        let app_file = self
            .dir
            .join("_build")
            .join(&self.env)
            .join("lib")
            .join(app)
            .join("ebin")
            .join(format!("{app}.app"));
        if let Ok(spec) = crate::app::AppSpec::read(&app_file, app) {
            return Some(spec.vsn);
        }
        [self.dir.clone(), self.dir.join("apps").join(app)]
            .iter()
            .filter_map(|d| MixProject::read(d, &self.env).ok())
            .find(|p| p.app.as_deref() == Some(app))
            .and_then(|p| p.version)
    }
}

impl Dsl for DistilleryDsl {
    fn call<'s>(&mut self, ev: &mut Evaluator<'s>, call: &Call<'s>) -> Result<Option<Term>> {
        let node = call.node;
        match call.name.as_str() {
            "use" => {
                let module = match call.args.first() {
                    Some(Arg::Node(n)) => ev.text(*n),
                    _ => "",
                };
                if !matches!(module, "Distillery.Releases.Config" | "Mix.Releases.Config") {
                    return Err(ev.unsupported(node, format!("use {module}")));
                }
                self.used = true;
                let args = ev.eval_args(&call.args[1..], self)?;
                for kw in &args {
                    for (k, v) in crate::config::elixir::keyword_pairs(kw).unwrap_or_default() {
                        let value = v.as_atom().map(str::to_owned);
                        match k {
                            "default_release" => self.config.default_release = value,
                            "default_environment" => self.config.default_environment = value,
                            _ => {
                                return Err(ev.invalid(node, format!("unknown `use` option `{k}`")))
                            }
                        }
                    }
                }
                Ok(Some(nil()))
            }
            "environment" | "release" => {
                if self.scope.is_some() {
                    return Err(ev.invalid(node, format!("`{}` inside another block", call.name)));
                }
                let name = self.name_arg(ev, call)?;
                let block = call.do_block.ok_or_else(|| {
                    ev.invalid(node, format!("`{}` without a do block", call.name))
                })?;
                let is_release = call.name == "release";
                let list = if is_release {
                    &mut self.config.releases
                } else {
                    &mut self.config.environments
                };
                let index = match list.iter().position(|(n, _, _)| *n == name) {
                    Some(i) => i,
                    None => {
                        list.push((name, Settings::new(), line_of(node)));
                        list.len() - 1
                    }
                };
                self.scope = Some((is_release, index));
                let result = ev.body(block, self);
                self.scope = None;
                result.map(Some)
            }
            "set" | "plugin" => {
                let Some((is_release, index)) = self.scope else {
                    return Err(ev.invalid(
                        node,
                        format!("`{}` outside an environment or release block", call.name),
                    ));
                };
                let args = ev.eval_args(&call.args, self)?;
                let origin = ev.source.origin(node);
                let mut updates = Vec::new();
                if call.name == "plugin" {
                    let plugin = args.first().cloned().unwrap_or_else(nil);
                    updates.push(("plugins".to_owned(), Term::List(vec![plugin])));
                } else {
                    let [kw] = args.as_slice() else {
                        return Err(ev.invalid(node, "`set` expects key: value pairs"));
                    };
                    let pairs = crate::config::elixir::keyword_pairs(kw)
                        .ok_or_else(|| ev.invalid(node, "`set` expects key: value pairs"))?;
                    for (k, v) in pairs {
                        if !OPTIONS.contains(&k) {
                            return Err(ev.invalid(
                                node,
                                format!(
                                    "unknown option `{k}` (Distillery knows: {})",
                                    OPTIONS.join(", ")
                                ),
                            ));
                        }
                        updates.push((k.to_owned(), v.clone()));
                    }
                }
                let list = if is_release {
                    &mut self.config.releases
                } else {
                    &mut self.config.environments
                };
                let settings = &mut list[index].1;
                for (k, v) in updates {
                    let value = match (k.as_str(), settings.get(&k)) {
                        (
                            "plugins",
                            Some(Setting {
                                value: Term::List(old),
                                ..
                            }),
                        ) => {
                            let mut all = old.clone();
                            all.extend(v.as_list().unwrap_or_default().iter().cloned());
                            Term::List(all)
                        }
                        _ => v,
                    };
                    settings.insert(
                        k,
                        Setting {
                            value,
                            origin: origin.clone(),
                        },
                    );
                }
                Ok(Some(nil()))
            }
            "current_version" => {
                let args = ev.eval_args(&call.args, self)?;
                let [Term::Atom(app)] = args.as_slice() else {
                    return Err(ev.invalid(node, "current_version expects an application name"));
                };
                let vsn = self.current_version(app).ok_or_else(|| {
                    ev.invalid(
                        node,
                        format!(
                            "current_version(:{app}): no compiled or mix.exs version of `{app}`"
                        ),
                    )
                })?;
                Ok(Some(crate::config::elixir::binary(&vsn)))
            }
            _ => Ok(None),
        }
    }
}
