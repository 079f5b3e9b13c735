//! `mix.exs`: the project's application, version, umbrella-ness and its
//! `releases:` (the `mix release` format), read without running Mix.
//!
//! Only the keys relpack needs are evaluated from `project/0`'s keyword
//! list, so a `deps: deps()` or `elixirc_paths: elixirc_paths(Mix.env())`
//! beyond the native subset does not stop the build.

use std::collections::hash_map::{Entry, HashMap};
use std::path::{Path, PathBuf};

use tree_sitter::Node;

use crate::config::elixir::{children, keyword_pairs, line_of, Context, Evaluator, NoDsl, Source};
use crate::config::fallback;
use crate::config::{Setting, Settings};
use crate::error::{Error, Result};
use crate::formats::term::Term;

/// What `mix.exs` says.
#[derive(Debug, Clone)]
pub struct MixProject {
    /// The `mix.exs` file read.
    pub path: PathBuf,
    /// `app:`; `None` for an umbrella.
    pub app: Option<String>,
    /// `version:`, if set.
    pub version: Option<String>,
    /// `apps_path:` is set.
    pub umbrella: bool,
    /// `releases:`, in order.
    pub releases: Vec<(String, Settings)>,
    /// `default_release:`.
    pub default_release: Option<String>,
    /// What was read but is ignored, one line each.
    pub warnings: Vec<String>,
    /// Why `elixir` evaluated the file (the native evaluator's message);
    /// `None`: read natively.
    pub fallback_reason: Option<String>,
    /// What `Mix.Project.config()` answers: the keys of `project/0` that
    /// were evaluated (with Mix's defaults when `elixir` evaluated it).
    pub config: Term,
}

const PROJECT_KEYS: &[&str] = &["app", "version", "apps_path", "releases", "default_release"];

/// The release options of `mix release` relpack knows.
pub const RELEASE_KEYS: &[&str] = &[
    "applications",
    "include_erts",
    "include_executables_for",
    "strip_beams",
    "cookie",
    "path",
    "version",
    "steps",
    "overlays",
    "config_providers",
    "reboot_system_after_config",
    "runtime_config_path",
    "quiet",
    "validate_compile_env",
    "prune_runtime_sys_config_after_boot",
    "start_distribution_during_config",
    "rel_templates_path",
    "skip_mode_validation_for",
];

impl MixProject {
    /// Reads `<dir>/mix.exs` for Mix environment `env`; code beyond the
    /// native subset is evaluated by `elixir` when `use_elixir` allows.
    pub fn read(dir: &Path, env: &str, use_elixir: bool) -> Result<MixProject> {
        Self::read_file(&dir.join("mix.exs"), env, use_elixir)
    }

    /// Reads the `mix.exs` at `path` for Mix environment `env`.
    pub fn read_file(path: &Path, env: &str, use_elixir: bool) -> Result<MixProject> {
        let source = Source::read(path)?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_owned();
        let context = Context {
            env: env.to_owned(),
            target: "host".into(),
            dir,
            project: None,
        };
        let native = {
            let mut ev = Evaluator::new(&source, context.clone());
            project_module(&ev)
                .and_then(|body| ev.define_module(&body, &mut NoDsl))
                .and_then(|()| evaluate_project(&mut ev))
                .and_then(|keys| build(path, &ev, keys))
                .map(|mut project| {
                    project.warnings.append(&mut ev.warnings);
                    project
                })
        };
        fallback::native_or_elixir(native, use_elixir, |why| {
            let value = fallback::evaluate(fallback::Mode::Mix, path, &context)?;
            let ev = Evaluator::new(&source, context.clone());
            let bodies = function_bodies(&ev);
            let line = bodies.get("project").map_or(1, |b| line_of(*b));
            let pairs = keyword_pairs(&value).ok_or_else(|| Error::Parse {
                path: path.to_owned(),
                line,
                message: "project/0 must return a keyword list".into(),
            })?;
            let keys = pairs
                .into_iter()
                .map(|(k, v)| {
                    let node = traced_key(&ev, &bodies, k);
                    (k.to_owned(), v.clone(), node.map_or(line, line_of), node)
                })
                .collect();
            let mut project = build(path, &ev, keys)?;
            project.fallback_reason = Some(why.to_string());
            Ok(project)
        })
    }
}

/// Types and checks the keys of `project/0` relpack reads.
fn build<'s>(path: &Path, ev: &Evaluator<'s>, project: Vec<ProjectKey<'s>>) -> Result<MixProject> {
    let get = |key: &str| project.iter().find(|(k, _, _, _)| k == key);
    let string = |key: &str| -> Result<Option<String>> {
        match get(key) {
            None => Ok(None),
            Some((_, v, line, _)) => match v {
                Term::Binary(b) => Ok(Some(String::from_utf8_lossy(b).into_owned())),
                Term::Atom(a) => Ok(Some(a.clone())),
                _ => Err(Error::Parse {
                    path: path.to_owned(),
                    line: *line,
                    message: format!("`{key}:` must be a string or an atom"),
                }),
            },
        }
    };
    let app = string("app")?;
    let umbrella = get("apps_path").is_some();
    if app.is_none() && !umbrella {
        return Err(Error::Project {
            path: path.to_owned(),
            message: "project/0 has neither `app:` nor `apps_path:`; add `app: :my_app`".into(),
        });
    }
    let mut releases = Vec::new();
    let mut warnings = Vec::new();
    if let Some((_, value, line, node)) = get("releases") {
        // The line of each release's options, the first of a name (as
        // keyword lookups take), read once: reading them all again for
        // each option took over a minute for 6000 options.
        let mut option_lines: HashMap<String, HashMap<String, usize>> = HashMap::new();
        let bodies = function_bodies(ev);
        let release_nodes = node.map(|n| literal_pairs(ev, &bodies, n, 8));
        for (release, options) in release_nodes.unwrap_or_default() {
            if let Entry::Vacant(e) = option_lines.entry(release) {
                let mut lines = HashMap::new();
                for (key, value) in literal_pairs(ev, &bodies, options, 8) {
                    lines.entry(key).or_insert(line_of(value));
                }
                e.insert(lines);
            }
        }
        let option_line = |release: &str, key: &str| option_lines.get(release)?.get(key).copied();
        let bad = |line: usize, message: String| Error::Parse {
            path: path.to_owned(),
            line,
            message,
        };
        let pairs = keyword_pairs(value).ok_or_else(|| {
            bad(
                *line,
                "`releases:` must be a keyword list of name: options".into(),
            )
        })?;
        for (name, options) in pairs {
            let options = keyword_pairs(options).ok_or_else(|| {
                bad(
                    *line,
                    format!("the options of release `{name}` must be a keyword list"),
                )
            })?;
            let mut settings = Settings::new();
            for (key, v) in options {
                let at_line = option_line(name, key).unwrap_or(*line);
                // mix release passes options it does not know to the steps
                // (Burrito's `burrito:`, say) and ignores them otherwise.
                if !RELEASE_KEYS.contains(&key) {
                    warnings.push(format!(
                        "{}:{at_line}: release `{name}`: option `{key}` is not one of mix release's; ignored, as mix ignores it (known: {})",
                        path.display(),
                        RELEASE_KEYS.join(", ")
                    ));
                    continue;
                }
                settings.insert(
                    key.to_owned(),
                    Setting {
                        value: v.clone(),
                        origin: format!("{}:{at_line}", path.display()),
                    },
                );
            }
            releases.push((name.to_owned(), settings));
        }
    }
    Ok(MixProject {
        path: path.to_owned(),
        app,
        version: string("version")?,
        umbrella,
        releases,
        default_release: string("default_release")?,
        warnings,
        fallback_reason: None,
        config: Term::List(
            project
                .iter()
                .map(|(k, v, _, _)| Term::tuple(vec![Term::Atom(k.clone()), v.clone()]))
                .collect(),
        ),
    })
}

/// The value node of `key:` in `project/0`, when the source shows it.
fn traced_key<'s>(ev: &Evaluator<'s>, bodies: &Bodies<'s>, key: &str) -> Option<Node<'s>> {
    let body = *bodies.get("project")?;
    let body = match children(body).as_slice() {
        [single] if body.kind() == "do_block" => *single,
        _ => body,
    };
    literal_pairs(ev, bodies, body, 8)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// The body of the file's `defmodule ... do ... end`.
fn project_module<'s>(ev: &Evaluator<'s>) -> Result<Vec<Node<'s>>> {
    for node in children(ev.source.root()) {
        if node.kind() == "call" && ev.call_name(node).as_deref() == Some("defmodule") {
            let block = ev
                .do_block(node)
                .ok_or_else(|| ev.invalid(node, "defmodule without a do block"))?;
            return Ok(children(block));
        }
    }
    Err(Error::Parse {
        path: ev.source.path.clone(),
        line: 1,
        message: "no `defmodule ... do` with `use Mix.Project`: is this a mix.exs?".into(),
    })
}

/// The keys of `project/0` relpack needs, with their lines. When the body
/// is a literal keyword list only those keys are evaluated.
type ProjectKey<'s> = (String, Term, usize, Option<Node<'s>>);

fn evaluate_project<'s>(ev: &mut Evaluator<'s>) -> Result<Vec<ProjectKey<'s>>> {
    let Some(body) = function_bodies(ev).get("project").copied() else {
        return Err(Error::Parse {
            path: ev.source.path.clone(),
            line: 1,
            message: "no `def project` in the Mix project".into(),
        });
    };
    let items = if body.kind() == "do_block" {
        children(body)
    } else {
        vec![body]
    };
    if let [list] = items.as_slice() {
        if list.kind() == "list" {
            let mut out = Vec::new();
            for kws in children(*list) {
                if kws.kind() != "keywords" {
                    return Err(ev.unsupported(kws, ev.snippet(kws)));
                }
                for pair in children(kws) {
                    let key = ev.pair_key(pair).unwrap_or_default();
                    let Some(value) = pair.child_by_field_name("value") else {
                        continue;
                    };
                    // The keys relpack reads must evaluate; the others are
                    // kept when they do, for `Mix.Project.config()[:key]`
                    // in config files (a missing one sends those to elixir).
                    match ev.eval(value, &mut NoDsl) {
                        Ok(v) => out.push((key, v, line_of(pair), Some(value))),
                        Err(e) if PROJECT_KEYS.contains(&key.as_str()) => return Err(e),
                        Err(_) => {}
                    }
                }
            }
            return Ok(out);
        }
    }
    let line = line_of(body);
    let value = ev.body(body, &mut NoDsl)?;
    let pairs = keyword_pairs(&value)
        .ok_or_else(|| ev.invalid(body, "project/0 must return a keyword list"))?;
    Ok(pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.clone(), line, None))
        .collect())
}

/// The `key: value` pairs of a keyword-list literal, looking through calls
/// of the file's zero-arity functions (`releases: releases()`), so that
/// each option can be traced to its line.
fn literal_pairs<'s>(
    ev: &Evaluator<'s>,
    bodies: &Bodies<'s>,
    node: Node<'s>,
    depth: usize,
) -> Vec<(String, Node<'s>)> {
    let function = match node.kind() {
        "identifier" => Some(ev.text(node).to_owned()),
        "call" if ev.arguments(node).is_empty() => ev.call_name(node),
        _ => None,
    };
    if let Some(name) = function.filter(|_| depth > 0) {
        let body = bodies.get(&name).map(|b| match children(*b).as_slice() {
            [single] if b.kind() == "do_block" => *single,
            _ => *b,
        });
        return body
            .map(|b| literal_pairs(ev, bodies, b, depth - 1))
            .unwrap_or_default();
    }
    if node.kind() != "list" {
        return Vec::new();
    }
    children(node)
        .into_iter()
        .filter(|k| k.kind() == "keywords")
        .flat_map(children)
        .filter_map(|pair| Some((ev.pair_key(pair)?, pair.child_by_field_name("value")?)))
        .collect()
}

/// The body (do block or `do:` value) of each function of the file's
/// module, by name: the first `def`/`defp` of a name that has one.
type Bodies<'s> = HashMap<String, Node<'s>>;

/// The file's [`Bodies`], found once: looking for a function again for
/// each call of it took a minute for a file of 3000 of them.
fn function_bodies<'s>(ev: &Evaluator<'s>) -> Bodies<'s> {
    let mut bodies = Bodies::new();
    let module = children(ev.source.root())
        .into_iter()
        .find(|n| ev.call_name(*n).as_deref() == Some("defmodule"));
    let Some(block) = module.and_then(|m| ev.do_block(m)) else {
        return bodies;
    };
    for def in children(block) {
        if !matches!(ev.call_name(def).as_deref(), Some("def" | "defp")) {
            continue;
        }
        let Some(head) = ev.arguments(def).first().copied() else {
            continue;
        };
        let name = match head.kind() {
            "identifier" => Some(ev.text(head).to_owned()),
            "call" => ev.call_name(head),
            _ => None,
        };
        if let (Some(name), Some(body)) = (name, ev.function_body(def)) {
            bodies.entry(name).or_insert(body);
        }
    }
    bodies
}

#[cfg(test)]
mod tests {
    use super::MixProject;

    /// Thousands of release options, one a line, are read in linear time
    /// (each took a new reading of all of them before) and keep their
    /// lines.
    #[test]
    fn many_release_options_keep_their_lines() {
        let dir = tempfile::tempdir().unwrap();
        let options: Vec<String> = (0..3000).map(|i| format!("      k{i}: {i}")).collect();
        let text = format!(
            "defmodule A.MixProject do\n  def project do\n    [app: :a, releases: [r: [\n{}\n    ]]]\n  end\nend\n",
            options.join(",\n")
        );
        std::fs::write(dir.path().join("mix.exs"), text).unwrap();
        let started = std::time::Instant::now();
        let project = MixProject::read(dir.path(), "prod", false).unwrap();
        // 0.04 s here; 8 s when each option read them all again.
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(project.warnings.len(), 3000);
        // The first option is on line 4, the last on line 3003.
        for (i, line) in [(0, 4), (2999, 3003)] {
            let w = &project.warnings[i];
            assert!(
                w.contains(&format!("mix.exs:{line}: release `r`: option `k{i}`")),
                "{w}"
            );
        }
    }

    /// Releases whose options come from a function each, thousands of
    /// them: each function is found once (a search of all of them for
    /// each took a minute for 3000), and its options keep their lines.
    #[test]
    fn many_release_functions_are_found_once() {
        let dir = tempfile::tempdir().unwrap();
        let releases: Vec<String> = (0..2000).map(|i| format!("r{i}: f{i}()")).collect();
        let functions: Vec<String> = (0..2000)
            .map(|i| format!("  defp f{i}, do: [k{i}: {i}]"))
            .collect();
        let text = format!(
            "defmodule A.MixProject do\n  def project, do: [app: :a, releases: [{}]]\n{}\nend\n",
            releases.join(", "),
            functions.join("\n")
        );
        std::fs::write(dir.path().join("mix.exs"), text).unwrap();
        let started = std::time::Instant::now();
        let project = MixProject::read(dir.path(), "prod", false).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(project.releases.len(), 2000);
        // f1999 is defined on line 2002.
        let w = project.warnings.last().unwrap();
        assert!(
            w.contains("mix.exs:2002: release `r1999`: option `k1999`"),
            "{w}"
        );
    }
}
