//! The real `elixir`, for configuration code beyond the native subset.
//!
//! Where the native evaluator meets code it does not know, the file is
//! evaluated by the `elixir` that compiled the project, with the semantics
//! its tool gives it, by a script relpack ships (`templates/fallback.exs`,
//! after `templates/project.exs`):
//! the project's `mix.exs` is loaded by Mix itself (`Mix.env()` and
//! `Mix.target()` set), so `Mix.Project.config()` answers for this project
//! as it does inside mix; then `mix.exs` gives its `project/0`, a
//! `config/*.exs` is read by `Config.Reader` as mix reads it, and a
//! `rel/config.exs` runs unmodified under relpack's own implementation of
//! Distillery's DSL. Values with no literal form (a function in `steps:`)
//! come back as [`opaque`] descriptions, never as a guess.
//!
//! Starting a BEAM costs about half a second (README, Configuration), so
//! the native path is always tried first; `--no-elixir` turns the fallback
//! off, and then the construct is reported with its `file:line`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::elixir::Context;
use crate::error::{Error, Result};
use crate::formats::term::{parse_consult, Term};

const SCRIPT: &str = concat!(
    include_str!("../../templates/project.exs"),
    include_str!("../../templates/fallback.exs")
);

/// What the fallback evaluates a file as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `mix.exs`: the keys of `project/0` relpack reads.
    Mix,
    /// A `config/*.exs` file and what it imports, through `Config.Reader`.
    Config,
    /// A Distillery `rel/config.exs`.
    Distillery,
}

impl Mode {
    fn arg(self) -> &'static str {
        match self {
            Mode::Mix => "mix",
            Mode::Config => "config",
            Mode::Distillery => "distillery",
        }
    }
}

/// Whether `elixir` is on PATH.
pub fn elixir_on_path() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("elixir").is_file()))
}

/// The one rule for falling back: `native`'s result, unless it stopped at
/// code beyond the native subset; then `elixir`'s, when `use_elixir` allows
/// it and `elixir` is installed, else the construct with what to do.
/// `elixir` gets the native evaluator's error, to say why it was needed.
pub fn native_or_elixir<T>(
    native: Result<T>,
    use_elixir: bool,
    elixir: impl FnOnce(Error) -> Result<T>,
) -> Result<T> {
    match native {
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
        Err(e @ Error::Unsupported { .. }) => elixir(e),
        other => other,
    }
}

/// Evaluates `file` as `mode` with the real `elixir`, in the project
/// directory and environment of `context`.
pub fn evaluate(mode: Mode, file: &Path, context: &Context) -> Result<Term> {
    let out = temp_path()?;
    let full = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
    let result = Command::new("elixir")
        .arg("-e")
        .arg(SCRIPT)
        .arg(mode.arg())
        .arg(&full)
        .arg(&context.env)
        .arg(&context.target)
        .arg(&out)
        .current_dir(if context.dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &context.dir
        })
        .env("MIX_ENV", &context.env)
        .env("MIX_TARGET", &context.target)
        .output()
        .map_err(|source| Error::Io {
            path: file.to_owned(),
            action: "cannot run `elixir` to evaluate",
            source,
        });
    let text = std::fs::read(&out);
    let _ = std::fs::remove_file(&out);
    let result = result?;
    let failed = |message: String| Error::Project {
        path: file.to_owned(),
        message,
    };
    let Ok(bytes) = text else {
        let stderr = String::from_utf8_lossy(&result.stderr);
        let first = stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("warning:"))
            .unwrap_or("it printed nothing");
        return Err(failed(format!("`elixir` could not evaluate it: {first}")));
    };
    let term = parse_consult(&bytes)
        .ok()
        .and_then(|mut t| t.pop())
        .ok_or_else(|| failed("cannot read what `elixir` wrote back".into()))?;
    match term.as_tuple() {
        Some([Term::Atom(ok), value]) if ok == "ok" => Ok(value.clone()),
        Some([Term::Atom(error), Term::Binary(at), Term::Integer(line), Term::Binary(message)])
            if error == "error" =>
        {
            let at = PathBuf::from(String::from_utf8_lossy(at).into_owned());
            Err(Error::Parse {
                path: user_path(&at, file, &context.dir),
                line: usize::try_from(*line).unwrap_or(0).max(1),
                message: format!(
                    "evaluated by `elixir`, it raised: {}",
                    String::from_utf8_lossy(message)
                ),
            })
        }
        _ => Err(failed("cannot read what `elixir` wrote back".into())),
    }
}

/// The file `elixir` blamed, named as the user named `file`: relative to
/// the project when `file` is.
pub(crate) fn user_path(at: &Path, file: &Path, dir: &Path) -> PathBuf {
    let full = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
    if at == full {
        return file.to_owned();
    }
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let project = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
    match (file.is_relative(), at.strip_prefix(&project)) {
        (true, Ok(rel)) => rel.to_owned(),
        _ => at.to_owned(),
    }
}

/// What the fallback wrote for a value with no literal form (a function,
/// a pid): its description, e.g. `&Nerves.Release.erts/0`.
pub fn opaque(t: &Term) -> Option<String> {
    match t.as_tuple()? {
        [Term::Atom(tag), Term::Atom(_), Term::Binary(text)] if tag == "$relpack_opaque" => {
            Some(String::from_utf8_lossy(text).into_owned())
        }
        _ => None,
    }
}

/// A fresh file name for the evaluation's output.
fn temp_path() -> Result<PathBuf> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| Error::System(format!("no OS randomness: {e}")))?;
    let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(std::env::temp_dir().join(format!("relpack-config-{name}.term")))
}
