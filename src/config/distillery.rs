//! Distillery's `rel/config.exs`: `environment` and `release` blocks of
//! `set key: value` lines, the selected environment's settings over the
//! selected release's.

use std::path::Path;

use crate::config::elixir::{
    children, keyword_pairs, line_of, nil, Arg, Call, Context, Dsl, Evaluator, Source,
};
use crate::config::fallback;
use crate::config::{text_of, Format, LoadOptions, MixProject, ReleaseSettings, Setting, Settings};
use crate::error::{Error, Result};
use crate::formats::term::Term;

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
    // Distillery 1.x: one script per hook, extra code paths, executable options.
    "pre_configure_hook",
    "pre_start_hook",
    "post_start_hook",
    "pre_stop_hook",
    "post_stop_hook",
    "pre_upgrade_hook",
    "post_upgrade_hook",
    "code_paths",
    "exec_opts",
    // Distillery 2.x.
    "appup_transforms",
];

/// Records `set key: value` (or `plugin Module, opts`, as key `plugin`)
/// at `line` into a block's settings: the key must be a Distillery option;
/// plugins accumulate, other keys replace. The native DSL and the fallback
/// both record through here.
fn record(settings: &mut Settings, path: &Path, line: usize, key: &str, value: Term) -> Result<()> {
    let origin = format!("{}:{line}", path.display());
    if key == "plugin" {
        let mut plugins = match settings.get("plugins") {
            Some(Setting {
                value: Term::List(old),
                ..
            }) => old.clone(),
            _ => Vec::new(),
        };
        plugins.push(value);
        settings.insert(
            "plugins".into(),
            Setting {
                value: Term::List(plugins),
                origin,
            },
        );
        return Ok(());
    }
    if !OPTIONS.contains(&key) {
        return Err(Error::Parse {
            path: path.to_owned(),
            line,
            message: format!(
                "unknown option `{key}` (Distillery knows: {})",
                OPTIONS.join(", ")
            ),
        });
    }
    settings.insert(key.to_owned(), Setting { value, origin });
    Ok(())
}

/// The settings of one block from the fallback's `(key, value, line)` list.
fn settings_of(path: &Path, sets: Vec<(String, Term, usize)>) -> Result<Settings> {
    let mut settings = Settings::new();
    for (key, value, line) in sets {
        record(&mut settings, path, line, &key, value)?;
    }
    Ok(settings)
}

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
    /// Why `elixir` evaluated the file; `None`: read natively.
    pub fallback_reason: Option<String>,
    /// What the file computed that is worth a word, one line each.
    pub warnings: Vec<String>,
}

/// Evaluates the file into its environments and releases: natively, else
/// (code beyond the native subset) with `elixir` when `use_elixir` allows.
pub fn parse(path: &Path, context: &Context, use_elixir: bool) -> Result<DistilleryConfig> {
    let source = Source::read(path)?;
    let mut ev = Evaluator::new(&source, context.clone());
    let mut dsl = DistilleryDsl {
        config: DistilleryConfig::default(),
        scope: None,
        dir: context.dir.clone(),
        env: context.env.clone(),
        use_elixir,
        used: false,
    };
    let native = children(source.root()).into_iter().try_for_each(|node| {
        if is_plugin_prelude(&ev, node) {
            return Ok(());
        }
        ev.eval(node, &mut dsl).map(drop)
    });
    dsl.config.warnings = std::mem::take(&mut ev.warnings);
    let config = fallback::native_or_elixir(
        native.map(|()| dsl.used.then_some(dsl.config)),
        use_elixir,
        |why| {
            let value = fallback::evaluate(fallback::Mode::Distillery, path, context)?;
            let mut config = from_elixir(path, &value)?;
            if let Some(c) = &mut config {
                c.fallback_reason = Some(why.to_string());
            }
            Ok(config)
        },
    )?;
    config.ok_or_else(|| Error::Parse {
        path: path.to_owned(),
        line: 1,
        message: "no `use Distillery.Releases.Config`: is this a Distillery rel/config.exs?".into(),
    })
}

/// What the fallback's Distillery DSL collected: `{distillery, Use,
/// Environments, Releases}`, each block `{Name, Line, [{Key, Value, Line}]}`;
/// `Use` is `nil` when the file never said `use ...Config`.
fn from_elixir(path: &Path, value: &Term) -> Result<Option<DistilleryConfig>> {
    let malformed = || Error::Project {
        path: path.to_owned(),
        message: "cannot read what `elixir` wrote back for it".into(),
    };
    let [Term::Atom(tag), used, envs, rels] = value.as_tuple().ok_or_else(malformed)? else {
        return Err(malformed());
    };
    if tag != "distillery" {
        return Err(malformed());
    }
    let Some([opts, Term::Integer(use_line)]) = used.as_tuple() else {
        return Ok(None);
    };
    let mut config = DistilleryConfig::default();
    for (k, v) in keyword_pairs(opts).ok_or_else(malformed)? {
        let value = v.as_atom().map(str::to_owned);
        match k {
            "default_release" => config.default_release = value,
            "default_environment" => config.default_environment = value,
            _ => {
                return Err(Error::Parse {
                    path: path.to_owned(),
                    line: usize::try_from(*use_line).unwrap_or(1),
                    message: format!("unknown `use` option `{k}`"),
                })
            }
        }
    }
    let blocks = |list: &Term| -> Result<Vec<(String, Settings, usize)>> {
        let mut out = Vec::new();
        for block in list.as_list().ok_or_else(malformed)? {
            let Some([name, Term::Integer(line), sets]) = block.as_tuple() else {
                return Err(malformed());
            };
            let name = text_of(name).ok_or_else(malformed)?;
            let mut dsl = Vec::new();
            for set in sets.as_list().ok_or_else(malformed)? {
                let Some([Term::Atom(key), value, Term::Integer(at)]) = set.as_tuple() else {
                    return Err(malformed());
                };
                dsl.push((
                    key.clone(),
                    value.clone(),
                    usize::try_from(*at).unwrap_or(1),
                ));
            }
            out.push((
                name,
                settings_of(path, dsl)?,
                usize::try_from(*line).unwrap_or(1),
            ));
        }
        Ok(out)
    };
    config.environments = blocks(envs)?;
    config.releases = blocks(rels)?;
    Ok(Some(config))
}

/// The settings of the release `opts` names (else the default) in the
/// environment named like the Mix env (else the default one).
pub fn select(
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
    let mut r =
        ReleaseSettings::from_settings(&release.0, Format::Distillery, path, &settings, opts.dir)?;
    r.fallback_reason = config.fallback_reason.clone();
    r.warnings.extend(config.warnings.iter().cloned());
    Ok(r)
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
    use_elixir: bool,
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
        if let Ok(spec) = crate::formats::app::AppSpec::read(&app_file, app) {
            return Some(spec.vsn);
        }
        [self.dir.clone(), self.dir.join("apps").join(app)]
            .iter()
            .filter_map(|d| MixProject::read(d, &self.env, self.use_elixir).ok())
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
                    for (k, v) in keyword_pairs(kw).unwrap_or_default() {
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
                let mut updates = Vec::new();
                if call.name == "plugin" {
                    let mut args = args.into_iter();
                    let module = args.next().unwrap_or_else(nil);
                    let opts = args.next().unwrap_or(Term::List(Vec::new()));
                    updates.push(("plugin".to_owned(), Term::tuple(vec![module, opts])));
                } else {
                    let [kw] = args.as_slice() else {
                        return Err(ev.invalid(node, "`set` expects key: value pairs"));
                    };
                    let pairs = keyword_pairs(kw)
                        .ok_or_else(|| ev.invalid(node, "`set` expects key: value pairs"))?;
                    updates.extend(pairs.into_iter().map(|(k, v)| (k.to_owned(), v.clone())));
                }
                let list = if is_release {
                    &mut self.config.releases
                } else {
                    &mut self.config.environments
                };
                let settings = &mut list[index].1;
                for (k, v) in updates {
                    record(settings, &ev.source.path, line_of(node), &k, v)?;
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
