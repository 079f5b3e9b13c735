//! The application environment: `config/config.exs` and the files it
//! imports, evaluated at build time into the term `sys.config` holds, and
//! `config/runtime.exs`, shipped to be read at boot by Elixir's
//! `Config.Reader` provider (as `mix release` does).
//!
//! Files beyond the native subset are evaluated by the real `elixir` with
//! `Config.Reader.read!/2` when it is on PATH and allowed; otherwise the
//! build stops at the construct relpack cannot evaluate.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::elixir::{
    keyword_merge, keyword_pairs, Arg, Call, Context, Dsl, Evaluator, Source,
};
use crate::error::{Error, Result};
use crate::term::{parse_consult, Term};

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
    /// `config/runtime.exs`, if the project has one.
    pub runtime: Option<PathBuf>,
}

impl AppConfig {
    /// Reads the configuration of the project at `dir` for Mix env `env`.
    pub fn read(dir: &Path, env: &str, use_elixir: bool) -> Result<AppConfig> {
        let runtime = Some(dir.join("config").join("runtime.exs")).filter(|p| p.is_file());
        let main = dir.join("config").join("config.exs");
        if !main.is_file() {
            return Ok(AppConfig {
                config: Term::List(Vec::new()),
                files: Vec::new(),
                evaluation: Evaluation::None,
                fallback_reason: None,
                runtime,
            });
        }
        let mut config = Self::read_file(&main, dir, env, use_elixir)?;
        config.runtime = runtime;
        Ok(config)
    }

    /// Evaluates one config file (and what it imports) for project `dir`.
    pub fn read_file(main: &Path, dir: &Path, env: &str, use_elixir: bool) -> Result<AppConfig> {
        let runtime = None;
        let main = main.to_owned();
        let context = Context {
            env: env.to_owned(),
            target: "host".into(),
            dir: dir.to_owned(),
            project: None,
        };
        let mut reader = ConfigDsl {
            config: Vec::new(),
            files: Vec::new(),
            context: context.clone(),
        };
        match reader.eval_file(&main) {
            Ok(()) => Ok(AppConfig {
                config: Term::List(reader.config),
                files: reader.files,
                evaluation: Evaluation::Native,
                fallback_reason: None,
                runtime,
            }),
            Err(Error::Unsupported {
                path,
                line,
                construct,
                ..
            }) if !use_elixir || !elixir_on_path() => Err(Error::Unsupported {
                path,
                line,
                construct,
                hint: if use_elixir {
                    "; install Elixir to have `elixir` evaluate it"
                } else {
                    "; without --no-elixir, `elixir` would evaluate it"
                },
            }),
            Err(e @ Error::Unsupported { .. }) => {
                let config = read_with_elixir(&main, &context)?;
                Ok(AppConfig {
                    config,
                    files: vec![main],
                    evaluation: Evaluation::Elixir,
                    fallback_reason: Some(e.to_string()),
                    runtime,
                })
            }
            Err(e) => Err(e),
        }
    }
}

fn elixir_on_path() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("elixir").is_file()))
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

/// Evaluates `path` with the real Elixir's `Config.Reader` and reads the
/// result back as Erlang terms.
pub fn read_with_elixir(path: &Path, context: &Context) -> Result<Term> {
    let out = tempfile_path()?;
    let script = "[path, env, target, out] = System.argv(); \
        Mix.start(); Mix.env(String.to_atom(env)); Mix.target(String.to_atom(target)); \
        config = Config.Reader.read!(path, env: String.to_atom(env), target: String.to_atom(target)); \
        File.write!(out, :io_lib.format(~c\"~tp.~n\", [config]))";
    let result = Command::new("elixir")
        .arg("-e")
        .arg(script)
        .arg(path)
        .arg(&context.env)
        .arg(&context.target)
        .arg(&out)
        .current_dir(&context.dir)
        .env("MIX_ENV", &context.env)
        .output()
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            action: "cannot run `elixir` to evaluate",
            source,
        });
    let text = std::fs::read(&out);
    let _ = std::fs::remove_file(&out);
    let result = result?;
    if !result.status.success() {
        let stderr = String::from_utf8_lossy(&result.stderr);
        let first = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        return Err(Error::Project {
            path: path.to_owned(),
            message: format!("`elixir` could not evaluate the config: {first}"),
        });
    }
    let bytes = text.map_err(|source| Error::Io {
        path: out.clone(),
        action: "cannot read what `elixir` wrote",
        source,
    })?;
    let mut terms = parse_consult(&bytes).map_err(|e| Error::Project {
        path: path.to_owned(),
        message: format!("cannot read `elixir`'s output: {e}"),
    })?;
    terms.pop().ok_or_else(|| Error::Project {
        path: path.to_owned(),
        message: "`elixir` printed no config".into(),
    })
}

/// A fresh file name for the evaluation's output.
fn tempfile_path() -> Result<PathBuf> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| Error::Option(format!("no OS randomness: {e}")))?;
    let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(std::env::temp_dir().join(format!("relpack-config-{name}.term")))
}
