//! The texts a plan carries, rendered from the project's templates with
//! the release's variables: `vm.args`, overlays, and the config providers
//! `sys.config` lists.

use std::path::{Path, PathBuf};

use crate::config::{self, ConfigProvider, Overlay, ReaderPath, ReleaseSettings};
use crate::error::{Error, IoContext, Result};
use crate::formats::term::Term;
use crate::pipeline::plan::{PlannedApp, PlannedOverlay};
use crate::pipeline::sys_config::{self, Providers};

/// The release's own `vm.args` (and Distillery `erl_opts`), rendered.
pub(crate) fn render_vm_args(
    r: &ReleaseSettings,
    vars: &[(String, String)],
) -> Result<Option<String>> {
    let mut text = r
        .vm_args
        .as_deref()
        .map(|path| config::eex::render_file(path, vars))
        .transpose()?;
    if let Some(opts) = &r.erl_opts {
        let mut t = match text {
            Some(t) => t,
            None => crate::launcher::templates::render("vm.args", &r.name)?,
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
pub(crate) fn plan_overlays(
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
pub(crate) fn plan_providers(
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
            ConfigProvider::Reader(ReaderPath::Absolute(path)) => {
                list.push(Providers::reader_at(config::elixir::binary(path), env));
            }
            ConfigProvider::Reader(ReaderPath::Env { var, rest }) => {
                list.push(Providers::reader_at(sys_config::system(var, rest), env));
            }
            ConfigProvider::Reader(ReaderPath::InRelease(file)) => {
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
