//! Application resource files (`ebin/<app>.app`) read into [`AppSpec`].
//!
//! Validation follows what `systools` demands of a `.app` when it builds a
//! boot script: `vsn`, `description`, `modules`, `registered` and
//! `applications` must be present; the rest have the defaults systools
//! gives them.

use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::formats::term::{parse_consult, Term};

/// One application as its `.app` file describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct AppSpec {
    /// The application name (the atom in the `.app` file).
    pub name: String,
    /// The application version (`vsn`).
    pub vsn: String,
    /// The modules the application lists under `modules`.
    pub modules: Vec<String>,
    /// The process names it registers (`registered`).
    pub registered: Vec<String>,
    /// Applications that must be started before this one (`applications`).
    pub applications: Vec<String>,
    /// Dependencies that may be absent from the release (`optional_applications`).
    pub optional_applications: Vec<String>,
    /// Applications this one includes and starts under its own supervision tree (`included_applications`).
    pub included_applications: Vec<String>,
    /// The compile-time configuration Mix recorded (`compile_env`):
    /// `{App, KeyPath, {ok, Value} | error}` triples, checked at boot.
    pub compile_env: Vec<Term>,
    /// The values systools passes through unchanged into the boot script's
    /// application term.
    pub raw: RawProps,
    /// The `.app` file this came from.
    pub path: PathBuf,
}

/// `.app` properties carried verbatim into boot scripts.
#[derive(Debug, Clone, PartialEq)]
pub struct RawProps {
    /// `description`, as written.
    pub description: Term,
    /// `vsn`, as written.
    pub vsn: Term,
    /// `id`, or the empty string if absent.
    pub id: Term,
    /// `env`, the application's default environment (`[]` if absent).
    pub env: Term,
    /// `maxT`, or `infinity` if absent.
    pub max_t: Term,
    /// `maxP`, or `infinity` if absent.
    pub max_p: Term,
    /// `modules`, as written.
    pub modules: Term,
    /// `registered`, as written.
    pub registered: Term,
    /// `start_phases`, if present.
    pub start_phases: Option<Term>,
    /// `mod`, the application callback module and its argument, if present.
    pub mod_: Option<Term>,
}

impl AppSpec {
    /// Reads `path`, which must hold `{application, Name, Props}.` for
    /// `expected` (the name the file is named after).
    pub fn read(path: &Path, expected: &str) -> Result<AppSpec> {
        let bytes = std::fs::read(path).at(path, "cannot read application file")?;
        Self::parse(&bytes, path, expected)
    }

    /// Parses the bytes of an `.app` file; `path` is used in errors.
    pub fn parse(bytes: &[u8], path: &Path, expected: &str) -> Result<AppSpec> {
        let bad = |message: String| Error::BadApp {
            path: path.to_owned(),
            message,
        };
        let terms = parse_consult(bytes).map_err(|e| Error::Parse {
            path: path.to_owned(),
            line: e.line,
            message: format!(
                "{}: the .app file does not parse; recompile the application",
                e.message
            ),
        })?;
        let [Term::Tuple(parts)] = terms.as_slice() else {
            return Err(bad(
                "expected exactly one term `{application, Name, [...]}`".into(),
            ));
        };
        let (name, props) = match parts.as_slice() {
            [Term::Atom(tag), Term::Atom(name), props @ Term::List(_)] if tag == "application" => {
                (name, props)
            }
            _ => return Err(bad("expected `{application, Name, [...]}`".into())),
        };
        if name != expected {
            return Err(bad(format!(
                "declares application `{name}` but the file is named `{expected}.app`"
            )));
        }
        let required = |key: &str| {
            props
                .get(key)
                .cloned()
                .ok_or_else(|| bad(format!("missing `{key}` (systools requires it)")))
        };
        let atom_list = |key: &str, value: &Term| {
            value
                .as_atom_list()
                .ok_or_else(|| bad(format!("`{key}` must be a list of atoms")))
        };
        let optional_list = |key: &str| match props.get(key) {
            None => Ok(Vec::new()),
            Some(v) => atom_list(key, v),
        };
        let string = |key: &str, value: &Term| {
            value
                .as_string()
                .ok_or_else(|| bad(format!("`{key}` must be a string")))
        };

        let vsn_term = required("vsn")?;
        let vsn = string("vsn", &vsn_term)?;
        if vsn.is_empty() {
            return Err(bad("`vsn` is empty".into()));
        }
        let description = required("description")?;
        string("description", &description)?;
        let modules_term = required("modules")?;
        let registered_term = required("registered")?;
        let applications = atom_list("applications", &required("applications")?)?;
        let id = props.get("id").cloned().unwrap_or(Term::List(vec![]));
        string("id", &id)?;
        let limit = |key: &str| -> Result<Term> {
            match props.get(key) {
                None => Ok(Term::atom("infinity")),
                Some(t @ Term::Integer(i)) if *i > 0 => Ok(t.clone()),
                Some(t) if t.as_atom() == Some("infinity") => Ok(t.clone()),
                Some(_) => Err(bad(format!(
                    "`{key}` must be a positive integer or infinity"
                ))),
            }
        };
        let env = props.get("env").cloned().unwrap_or(Term::List(vec![]));
        if env.as_list().is_none() {
            return Err(bad("`env` must be a list".into()));
        }
        let mod_ = match props.get("mod") {
            None => None,
            Some(Term::List(l)) if l.is_empty() => None,
            Some(t @ Term::Tuple(mfa)) if mfa.len() == 2 && mfa[0].as_atom().is_some() => {
                Some(t.clone())
            }
            Some(_) => return Err(bad("`mod` must be `{Module, StartArgs}`".into())),
        };
        let start_phases = match props.get("start_phases") {
            None => None,
            Some(t) if t.as_atom() == Some("undefined") => None,
            Some(t @ Term::List(_)) => Some(t.clone()),
            Some(_) => return Err(bad("`start_phases` must be a list".into())),
        };

        Ok(AppSpec {
            name: name.clone(),
            vsn,
            modules: atom_list("modules", &modules_term)?,
            registered: atom_list("registered", &registered_term)?,
            applications,
            optional_applications: optional_list("optional_applications")?,
            included_applications: optional_list("included_applications")?,
            compile_env: match props.get("compile_env") {
                None => Vec::new(),
                Some(Term::List(triples)) => triples.clone(),
                Some(_) => return Err(bad("`compile_env` must be a list".into())),
            },
            raw: RawProps {
                description,
                vsn: vsn_term,
                id,
                env,
                max_t: limit("maxT")?,
                max_p: limit("maxP")?,
                modules: modules_term,
                registered: registered_term,
                start_phases,
                mod_,
            },
            path: path.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AppSpec> {
        AppSpec::parse(text.as_bytes(), Path::new("ebin/foo.app"), "foo")
    }

    #[test]
    fn reads_a_mix_app_file() {
        let app = parse(
            "{application,foo,[{optional_applications,[]},{applications,[kernel,stdlib,elixir,logger]},\
             {description,\"foo\"},{modules,['Elixir.Foo','Elixir.Foo.Application']},\
             {registered,[]},{vsn,\"0.1.0\"},{mod,{'Elixir.Foo.Application',[]}}]}.",
        )
        .unwrap();
        assert_eq!(app.vsn, "0.1.0");
        assert_eq!(app.applications, ["kernel", "stdlib", "elixir", "logger"]);
        assert_eq!(app.modules.len(), 2);
        assert!(app.included_applications.is_empty());
        assert_eq!(app.raw.max_t, Term::atom("infinity"));
        assert!(app.raw.mod_.is_some());
    }

    #[test]
    fn rejects_what_systools_rejects() {
        let err = |t: &str| parse(t).unwrap_err().to_string();
        assert!(err("{application,foo,[{description,\"\"},{modules,[]},{registered,[]},{applications,[]}]}.")
            .contains("missing `vsn`"));
        assert!(err("{application,bar,[]}.").contains("named `foo.app`"));
        assert!(err("{application,foo,[{vsn,\"1\"}").contains("ebin/foo.app:1"));
        assert!(err("{application,foo,[{vsn,1},{description,\"\"},{modules,[]},{registered,[]},{applications,[]}]}.")
            .contains("`vsn` must be a string"));
    }
}
