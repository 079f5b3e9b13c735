//! The application environment: `config/config.exs` and the files it
//! imports, evaluated at build time into the term `sys.config` holds, and
//! `config/runtime.exs`, shipped to be read at boot by Elixir's
//! `Config.Reader` provider (as `mix release` does).
//!
//! Files beyond the native subset are evaluated by the real `elixir` with
//! `Config.Reader.read!/2` when it is on PATH and allowed; otherwise the
//! build stops at the construct relpack cannot evaluate.

use std::path::{Path, PathBuf};

use crate::config::elixir::{
    keyword_merge, keyword_pairs, Arg, Call, Context, Dsl, Evaluator, Source,
};
use crate::config::fallback;
use crate::error::{Error, Result};
use crate::formats::term::Term;

/// How the application config was evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evaluation {
    /// No `config/config.exs`.
    None,
    /// By relpack's own evaluator, without running Elixir.
    Native,
    /// By `elixir`, because of the construct at this place.
    Elixir,
}

/// The application environment of a release.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// `[{app, [{key, value}]}]`, merged as `Config` merges.
    pub config: Term,
    /// The files read, in order.
    pub files: Vec<PathBuf>,
    /// How the files were evaluated.
    pub evaluation: Evaluation,
    /// Why `elixir` was needed (the native evaluator's message).
    pub fallback_reason: Option<String>,
    /// `config/runtime.exs` (else the deprecated `config/releases.exs`),
    /// if the project has one: read at boot.
    pub runtime: Option<PathBuf>,
    /// The runtime file is the deprecated `config/releases.exs`, for which
    /// mix reboots the VM after configuration by default.
    pub runtime_deprecated: bool,
    /// What the files computed that is worth a word (a random value made
    /// at build time), one line each.
    pub warnings: Vec<String>,
}

impl AppConfig {
    /// Reads the configuration of the project in `context` (its
    /// directory, Mix env, target and `project/0`).
    pub fn read(context: &Context, use_elixir: bool) -> Result<AppConfig> {
        let main = context.dir.join("config").join("config.exs");
        Self::read_main(&main, context, use_elixir)
    }

    /// [`read`](Self::read) with `main` as the application config (a
    /// Distillery release's `config`); the runtime file is looked for
    /// beside it, as mix does.
    pub fn read_main(main: &Path, context: &Context, use_elixir: bool) -> Result<AppConfig> {
        let config_dir = main.parent().unwrap_or(&context.dir);
        let runtime = [("runtime.exs", false), ("releases.exs", true)]
            .into_iter()
            .map(|(name, deprecated)| (config_dir.join(name), deprecated))
            .find(|(p, _)| p.is_file());
        let mut config = if main.is_file() {
            Self::read_file(main, context, use_elixir)?
        } else {
            AppConfig {
                config: Term::List(Vec::new()),
                files: Vec::new(),
                evaluation: Evaluation::None,
                fallback_reason: None,
                runtime: None,
                runtime_deprecated: false,
                warnings: Vec::new(),
            }
        };
        if let Some((path, deprecated)) = runtime {
            config.runtime = Some(path);
            config.runtime_deprecated = deprecated;
        }
        Ok(config)
    }

    /// Evaluates one config file (and what it imports) for the project.
    pub fn read_file(main: &Path, context: &Context, use_elixir: bool) -> Result<AppConfig> {
        let main = main.to_owned();
        let mut reader = ConfigDsl {
            config: Vec::new(),
            files: Vec::new(),
            context: context.clone(),
            warnings: Vec::new(),
        };
        let native = reader.eval_file(&main).map(|()| AppConfig {
            config: Term::List(std::mem::take(&mut reader.config)),
            files: std::mem::take(&mut reader.files),
            evaluation: Evaluation::Native,
            fallback_reason: None,
            runtime: None,
            runtime_deprecated: false,
            warnings: std::mem::take(&mut reader.warnings),
        });
        fallback::native_or_elixir(native, use_elixir, |why| {
            Ok(AppConfig {
                config: read_with_elixir(&main, context)?,
                files: vec![main.clone()],
                evaluation: Evaluation::Elixir,
                fallback_reason: Some(why.to_string()),
                runtime: None,
                runtime_deprecated: false,
                warnings: Vec::new(),
            })
        })
    }
}

/// `Config.__merge__/2`: per application, keyword lists merged deeply.
pub fn merge_config(old: Vec<Term>, new: Vec<Term>) -> Vec<Term> {
    keyword_merge(old, new, &mut |_, a, b| match (a, b) {
        (Term::List(a), Term::List(b)) => Term::List(keyword_merge(a, b, &mut deep_merge)),
        (_, b) => b,
    })
}

fn deep_merge(_: &Term, a: Term, b: Term) -> Term {
    if keyword_pairs(&a).is_some() && keyword_pairs(&b).is_some() {
        if let (Term::List(a), Term::List(b)) = (a, b) {
            return Term::List(keyword_merge(a, b, &mut deep_merge));
        }
        unreachable!("keyword lists are lists")
    } else {
        b
    }
}

/// The vocabulary of `Config`: `config/2,3` and `import_config/1`.
struct ConfigDsl {
    config: Vec<Term>,
    files: Vec<PathBuf>,
    context: Context,
    warnings: Vec<String>,
}

impl ConfigDsl {
    fn eval_file(&mut self, path: &Path) -> Result<()> {
        if self.files.iter().any(|f| f == path) {
            return Err(Error::Project {
                path: path.to_owned(),
                message: "imported twice (an import_config cycle?)".into(),
            });
        }
        self.files.push(path.to_owned());
        let source = Source::read(path)?;
        let mut ev = Evaluator::new(&source, self.context.clone());
        ev.run(self)?;
        self.warnings.append(&mut ev.warnings);
        Ok(())
    }
}

impl Dsl for ConfigDsl {
    fn call<'s>(&mut self, ev: &mut Evaluator<'s>, call: &Call<'s>) -> Result<Option<Term>> {
        let node = call.node;
        match call.name.as_str() {
            "import" | "use" => {
                let what = match call.args.first() {
                    Some(Arg::Node(n)) => ev.text(*n),
                    _ => "",
                };
                if matches!(what, "Config" | "Mix.Config") && call.args.len() == 1 {
                    Ok(Some(crate::config::elixir::nil()))
                } else {
                    Err(ev.unsupported(node, format!("{} {what}", call.name)))
                }
            }
            "config" => {
                let args = ev.eval_args(&call.args, self)?;
                let entry = match args.as_slice() {
                    [Term::Atom(app), opts] if keyword_pairs(opts).is_some() => {
                        Term::tuple(vec![Term::Atom(app.clone()), opts.clone()])
                    }
                    // Config.config/3 takes any value, not only a keyword list.
                    [Term::Atom(app), key @ Term::Atom(_), opts] => Term::tuple(vec![
                        Term::Atom(app.clone()),
                        Term::List(vec![Term::tuple(vec![key.clone(), opts.clone()])]),
                    ]),
                    _ => {
                        return Err(ev.invalid(
                            node,
                            "config expects `config :app, key: value` or `config :app, Key, key: value`",
                        ))
                    }
                };
                let old = std::mem::take(&mut self.config);
                self.config = merge_config(old, vec![entry]);
                Ok(Some(crate::config::elixir::nil()))
            }
            "import_config" => {
                let args = ev.eval_args(&call.args, self)?;
                let [Term::Binary(name)] = args.as_slice() else {
                    return Err(ev.invalid(node, "import_config expects a file name"));
                };
                let name = String::from_utf8_lossy(name).into_owned();
                if name.contains('*') {
                    return Err(ev.unsupported(node, "import_config with a wildcard"));
                }
                let dir = ev.source.path.parent().unwrap_or(Path::new("."));
                let file = dir.join(&name);
                if !file.is_file() {
                    return Err(ev.invalid(
                        node,
                        format!("import_config: {} does not exist", file.display()),
                    ));
                }
                self.eval_file(&file)?;
                Ok(Some(crate::config::elixir::nil()))
            }
            _ => Ok(None),
        }
    }
}

/// Evaluates `path` with the real Elixir's `Config.Reader`, inside the
/// project as mix does, and reads the result back as Erlang terms.
pub fn read_with_elixir(path: &Path, context: &Context) -> Result<Term> {
    fallback::evaluate(fallback::Mode::Config, path, context)
}
