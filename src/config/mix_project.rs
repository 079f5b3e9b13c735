//! `mix.exs`: the project's application, version, umbrella-ness and its
//! `releases:` (the `mix release` format), read without running Mix.
//!
//! Only the keys relpack needs are evaluated from `project/0`'s keyword
//! list, so a `deps: deps()` or `elixirc_paths: elixirc_paths(Mix.env())`
//! beyond the native subset does not stop the build.

use std::path::{Path, PathBuf};

use crate::config::elixir::{children, keyword_pairs, Context, Evaluator, NoDsl, Source};
use crate::config::{Setting, Settings};
use crate::error::{Error, Result};
use crate::term::Term;

/// What `mix.exs` says.
#[derive(Debug, Clone)]
pub struct MixProject {
    pub path: PathBuf,
    /// `app:`; `None` for an umbrella.
    pub app: Option<String>,
    pub version: Option<String>,
    /// `apps_path:` is set.
    pub umbrella: bool,
    /// `releases:`, in order.
    pub releases: Vec<(String, Settings)>,
    /// `default_release:`.
    pub default_release: Option<String>,
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
];

impl MixProject {
    /// Reads `<dir>/mix.exs` for Mix environment `env`.
    pub fn read(dir: &Path, env: &str) -> Result<MixProject> {
        Self::read_file(&dir.join("mix.exs"), env)
    }

    pub fn read_file(path: &Path, env: &str) -> Result<MixProject> {
        let source = Source::read(path)?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_owned();
        let context = Context {
            env: env.to_owned(),
            target: "host".into(),
            dir,
        };
        let mut ev = Evaluator::new(&source, context);
        let module_body = project_module(&ev)?;
        ev.define_module(&module_body, &mut NoDsl)?;
        let project = evaluate_project(&mut ev)?;
        let get = |key: &str| project.iter().find(|(k, _, _)| k == key);
        let string = |key: &str| -> Result<Option<String>> {
            match get(key) {
                None => Ok(None),
                Some((_, v, line)) => match v {
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
        if let Some((_, value, line)) = get("releases") {
            let origin = format!("{}:{line}", path.display());
            let bad = |message: String| Error::Parse {
                path: path.to_owned(),
                line: *line,
                message,
            };
            let pairs = keyword_pairs(value)
                .ok_or_else(|| bad("`releases:` must be a keyword list of name: options".into()))?;
            for (name, options) in pairs {
                let options = keyword_pairs(options).ok_or_else(|| {
                    bad(format!(
                        "the options of release `{name}` must be a keyword list"
                    ))
                })?;
                let mut settings = Settings::new();
                for (key, v) in options {
                    if !RELEASE_KEYS.contains(&key) {
                        return Err(bad(format!(
                            "release `{name}`: unknown option `{key}` (known: {})",
                            RELEASE_KEYS.join(", ")
                        )));
                    }
                    settings.insert(
                        key.to_owned(),
                        Setting {
                            value: v.clone(),
                            origin: origin.clone(),
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
        })
    }
}

/// The body of the file's `defmodule ... do ... end`.
fn project_module<'s>(ev: &Evaluator<'s>) -> Result<Vec<tree_sitter::Node<'s>>> {
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
fn evaluate_project(ev: &mut Evaluator<'_>) -> Result<Vec<(String, Term, usize)>> {
    let clause = ev.source.root();
    let Some(body) = find_def(ev, clause, "project") else {
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
                    if let (true, Some(value)) = (
                        PROJECT_KEYS.contains(&key.as_str()),
                        pair.child_by_field_name("value"),
                    ) {
                        let v = ev.eval(value, &mut NoDsl)?;
                        out.push((key, v, crate::config::elixir::line_of(pair)));
                    }
                }
            }
            return Ok(out);
        }
    }
    let line = crate::config::elixir::line_of(body);
    let value = ev.body(body, &mut NoDsl)?;
    let pairs = keyword_pairs(&value)
        .ok_or_else(|| ev.invalid(body, "project/0 must return a keyword list"))?;
    Ok(pairs
        .into_iter()
        .filter(|(k, _)| PROJECT_KEYS.contains(k))
        .map(|(k, v)| (k.to_owned(), v.clone(), line))
        .collect())
}

/// The body (do block or `do:` value) of `def name`.
fn find_def<'s>(
    ev: &Evaluator<'s>,
    root: tree_sitter::Node<'s>,
    name: &str,
) -> Option<tree_sitter::Node<'s>> {
    let module = children(root)
        .into_iter()
        .find(|n| ev.call_name(*n).as_deref() == Some("defmodule"))?;
    let block = ev.do_block(module)?;
    children(block).into_iter().find_map(|def| {
        if ev.call_name(def).as_deref() != Some("def") {
            return None;
        }
        let head = *ev.arguments(def).first()?;
        let head_name = match head.kind() {
            "identifier" => ev.text(head).to_owned(),
            "call" => ev.call_name(head)?,
            _ => return None,
        };
        if head_name != name {
            return None;
        }
        ev.do_block(def).or_else(|| {
            let kws = ev
                .arguments(def)
                .into_iter()
                .find(|n| n.kind() == "keywords")?;
            children(kws)
                .into_iter()
                .find(|p| ev.pair_key(*p).as_deref() == Some("do"))?
                .child_by_field_name("value")
        })
    })
}
