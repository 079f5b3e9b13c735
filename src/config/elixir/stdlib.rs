//! The standard-library functions configuration files call (`System`,
//! `String`, `Path`, `File`, `Keyword`, ...), evaluated at build time as
//! Elixir evaluates them there.

use std::path::{Path, PathBuf};

use tree_sitter::Node;

use super::{access, binary, boolean, keyword_merge, nil, Evaluator};
use crate::error::Result;
use crate::term::Term;

impl<'s> Evaluator<'s> {
    /// The standard-library functions config files call, evaluated at
    /// build time as Elixir would evaluate them there.
    pub(super) fn remote_call(
        &mut self,
        module: &str,
        fun: &str,
        args: Vec<Term>,
        node: Node<'_>,
    ) -> Result<Term> {
        let bad = || {
            self.invalid(
                node,
                format!("bad arguments to {module}.{fun}/{}", args.len()),
            )
        };
        let text = |t: &Term| match t {
            Term::Binary(b) => String::from_utf8(b.clone()).ok(),
            _ => None,
        };
        let s0 = args.first().and_then(text);
        let cwd = self.context.dir.clone();
        let v = match (module, fun, args.as_slice()) {
            ("Mix", "env", []) | ("Config", "config_env", []) => Term::atom(&self.context.env),
            ("Mix", "target", []) | ("Config", "config_target", []) => {
                Term::atom(&self.context.target)
            }
            ("System", "get_env", [_]) | ("System", "get_env", [_, _]) => {
                let name = s0.ok_or_else(bad)?;
                match std::env::var(&name) {
                    Ok(v) => binary(&v),
                    Err(_) => args.get(1).cloned().unwrap_or_else(nil),
                }
            }
            ("System", "fetch_env!", [_]) => {
                let name = s0.ok_or_else(bad)?;
                match std::env::var(&name) {
                    Ok(v) => binary(&v),
                    Err(_) => {
                        return Err(self.invalid(
                            node,
                            format!("System.fetch_env!: the environment variable {name} is not set (it is read at build time)"),
                        ))
                    }
                }
            }
            ("System", "fetch_env", [_]) => {
                let name = s0.ok_or_else(bad)?;
                match std::env::var(&name) {
                    Ok(v) => Term::tuple(vec![Term::atom("ok"), binary(&v)]),
                    Err(_) => Term::atom("error"),
                }
            }
            ("String", "to_atom" | "to_existing_atom", [_]) => Term::Atom(s0.ok_or_else(bad)?),
            ("String", "to_integer", [_]) => s0
                .and_then(|s| s.parse().ok())
                .map(Term::Integer)
                .ok_or_else(bad)?,
            ("String", "to_charlist", [_]) => Term::string(&s0.ok_or_else(bad)?),
            ("String", "trim", [_]) => binary(s0.ok_or_else(bad)?.trim()),
            ("String", "upcase", [_]) => binary(&s0.ok_or_else(bad)?.to_uppercase()),
            ("String", "downcase", [_]) => binary(&s0.ok_or_else(bad)?.to_lowercase()),
            ("String", "split", [_]) => {
                Term::List(s0.ok_or_else(bad)?.split_whitespace().map(binary).collect())
            }
            ("String", "split", [_, sep]) => {
                let sep = text(sep).ok_or_else(bad)?;
                Term::List(
                    s0.ok_or_else(bad)?
                        .split(sep.as_str())
                        .map(binary)
                        .collect(),
                )
            }
            ("String", "replace", [_, from, to]) => {
                let (from, to) = (text(from).ok_or_else(bad)?, text(to).ok_or_else(bad)?);
                binary(&s0.ok_or_else(bad)?.replace(&from, &to))
            }
            ("Atom", "to_string", [Term::Atom(a)]) => binary(a),
            ("Integer", "to_string", [Term::Integer(i)]) => binary(&i.to_string()),
            ("Path", "join", [Term::List(parts)]) => {
                let parts: Option<Vec<String>> = parts.iter().map(text).collect();
                binary(&join_paths(&parts.ok_or_else(bad)?))
            }
            ("Path", "join", [a, b]) => binary(&join_paths(&[
                text(a).ok_or_else(bad)?,
                text(b).ok_or_else(bad)?,
            ])),
            ("Path", "expand", [_]) => binary(&expand(&s0.ok_or_else(bad)?, &cwd)),
            ("Path", "expand", [_, rel]) => binary(&expand(
                &s0.ok_or_else(bad)?,
                &cwd.join(text(rel).ok_or_else(bad)?),
            )),
            ("Path", "dirname", [_]) => binary(
                &Path::new(&s0.ok_or_else(bad)?)
                    .parent()
                    .map(|p| p.to_string_lossy().into_owned())
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| ".".into()),
            ),
            ("Path", "basename", [_]) => binary(
                &Path::new(&s0.ok_or_else(bad)?)
                    .file_name()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
            ("Path", "wildcard", [_]) => {
                let pattern = s0.ok_or_else(bad)?;
                Term::List(
                    wildcard(&pattern, &cwd)
                        .into_iter()
                        .map(|p| binary(&p))
                        .collect(),
                )
            }
            ("File", "read!", [_]) => {
                let name = s0.ok_or_else(bad)?;
                let full = cwd.join(&name);
                let bytes = std::fs::read(&full).map_err(|e| {
                    self.invalid(
                        node,
                        format!("File.read!(\"{name}\"): {e} (read at build time)"),
                    )
                })?;
                Term::Binary(bytes)
            }
            ("File", "exists?" | "regular?", [_]) => {
                boolean(cwd.join(s0.ok_or_else(bad)?).exists())
            }
            ("File", "cwd!", []) => binary(&cwd.to_string_lossy()),
            ("Keyword" | "Map" | "Access", "get", [c, k]) => access(c, k).unwrap_or_else(nil),
            ("Keyword" | "Map", "get", [c, k, default]) => {
                access(c, k).unwrap_or_else(|| default.clone())
            }
            ("Keyword", "merge", [Term::List(a), Term::List(b)]) => {
                Term::List(keyword_merge(a.clone(), b.clone(), &mut |_, _, new| new))
            }
            _ => {
                return Err(
                    self.unsupported(node, format!("a call of {module}.{fun}/{}", args.len()))
                );
            }
        };
        Ok(v)
    }
}

/// The functions of other modules [`Evaluator::remote_call`] knows.
pub(super) const REMOTE_FUNCTIONS: &[&str] = &[
    "Mix.env",
    "Mix.target",
    "Config.config_env",
    "Config.config_target",
    "System.get_env",
    "System.fetch_env!",
    "System.fetch_env",
    "String.to_atom",
    "String.to_existing_atom",
    "String.to_integer",
    "String.to_charlist",
    "String.trim",
    "String.upcase",
    "String.downcase",
    "String.split",
    "String.replace",
    "Atom.to_string",
    "Integer.to_string",
    "Path.join",
    "Path.expand",
    "Path.dirname",
    "Path.basename",
    "Path.wildcard",
    "File.read!",
    "File.exists?",
    "File.regular?",
    "File.cwd!",
    "Keyword.get",
    "Keyword.merge",
    "Map.get",
    "Access.get",
];

fn join_paths(parts: &[String]) -> String {
    let mut out = PathBuf::new();
    for p in parts {
        out.push(p);
    }
    out.to_string_lossy().into_owned()
}

/// Elixir's `Path.expand/1,2`: absolute, `~` expanded, `.`/`..` removed.
fn expand(path: &str, base: &Path) -> String {
    let home = std::env::var("HOME").unwrap_or_default();
    let path = match path.strip_prefix('~') {
        Some(rest) => format!("{home}{rest}"),
        None => path.to_owned(),
    };
    let base = std::path::absolute(base).unwrap_or_else(|_| base.to_owned());
    let mut out = PathBuf::new();
    for c in base.join(path).components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.to_string_lossy().into_owned()
}

/// `Path.wildcard/1` for `*` and `?` within path segments, sorted.
fn wildcard(pattern: &str, cwd: &Path) -> Vec<String> {
    let mut found = vec![String::new()];
    let absolute = pattern.starts_with('/');
    for (i, seg) in pattern.split('/').enumerate() {
        if seg.is_empty() {
            if i == 0 && absolute {
                found = vec!["/".into()];
            }
            continue;
        }
        let mut next = Vec::new();
        for base in &found {
            let dir = cwd.join(if base.is_empty() { "." } else { base });
            let join = |name: &str| {
                if base.is_empty() {
                    name.to_owned()
                } else if base.ends_with('/') {
                    format!("{base}{name}")
                } else {
                    format!("{base}/{name}")
                }
            };
            if seg.contains(['*', '?']) {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if !name.starts_with('.') && glob_match(seg.as_bytes(), name.as_bytes()) {
                        next.push(join(&name));
                    }
                }
            } else if cwd.join(join(seg)).exists() {
                next.push(join(seg));
            }
        }
        found = next;
    }
    found.retain(|f| !f.is_empty());
    found.sort();
    found
}

fn glob_match(pat: &[u8], name: &[u8]) -> bool {
    match (pat.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob_match(&pat[1..], name) || (!name.is_empty() && glob_match(pat, &name[1..]))
        }
        (Some(b'?'), Some(_)) => glob_match(&pat[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob_match(&pat[1..], &name[1..]),
        _ => false,
    }
}
