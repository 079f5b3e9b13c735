//! The standard-library functions configuration files call (`System`,
//! `String`, `Path`, `File`, `Keyword`, ...), evaluated at build time as
//! Elixir evaluates them there.

use std::path::{Path, PathBuf};

use tree_sitter::Node;

use super::{
    access, binary, boolean, keyword_merge, keyword_pairs, nil, weigh, Evaluator, EVAL_COST,
    MAX_NESTING, MAX_VALUE_DEPTH,
};
use crate::error::Result;
use crate::formats::term::Term;

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
        let bad = || self.bad_arguments(node, &format!("{module}.{fun}/{}", args.len()), &args);
        let text = |t: &Term| match t {
            Term::Binary(b) => String::from_utf8(b.clone()).ok(),
            _ => None,
        };
        let s0 = args.first().and_then(text);
        // mix evaluates in the project directory, as the kernel names it:
        // absolute, links resolved (what `File.cwd!/0` returns there).
        let cwd = physical(&self.context.dir);
        let v = match (module, fun, args.as_slice()) {
            ("Mix", "env", []) | ("Config", "config_env", []) => Term::atom(&self.context.env),
            ("Mix", "target", []) | ("Config", "config_target", []) => {
                Term::atom(&self.context.target)
            }
            ("System", "get_env", [_]) | ("System", "get_env", [_, _]) => {
                let name = s0.ok_or_else(bad)?;
                match std::env::var(&name) {
                    Ok(v) => binary(&v),
                    Err(_) if args.len() == 2 => args[1].clone(),
                    Err(_) => {
                        if !self.unset_env.contains(&name) {
                            self.unset_env.push(name);
                        }
                        nil()
                    }
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
            ("String", "to_charlist", [_]) => self.charlist(&s0.ok_or_else(bad)?, node)?,
            ("String", "trim", [_]) => binary(s0.ok_or_else(bad)?.trim()),
            // Up to three times as long (Unicode's expansions), so charged.
            ("String", "upcase" | "downcase", [_]) => {
                let s = s0.ok_or_else(bad)?;
                let s = match fun {
                    "upcase" => s.to_uppercase(),
                    _ => s.to_lowercase(),
                };
                self.charge(s.len(), node)?;
                binary(&s)
            }
            // A term a piece, charged before the pieces are made.
            ("String", "split", [_]) => {
                let s = s0.ok_or_else(bad)?;
                let pieces = s.split_whitespace().count();
                self.charge(pieces.saturating_mul(size_of::<Term>()), node)?;
                Term::List(s.split_whitespace().map(binary).collect())
            }
            ("String", "split", [_, sep]) => {
                let (s, sep) = (s0.ok_or_else(bad)?, text(sep).ok_or_else(bad)?);
                let pieces = s.split(sep.as_str()).count();
                self.charge(pieces.saturating_mul(size_of::<Term>()), node)?;
                Term::List(s.split(sep.as_str()).map(binary).collect())
            }
            // As long as the string and a `to` for each match (each
            // character and the end for an empty `from`), charged before
            // it is made.
            ("String", "replace", [_, from, to]) => {
                let s = s0.ok_or_else(bad)?;
                let (from, to) = (text(from).ok_or_else(bad)?, text(to).ok_or_else(bad)?);
                let matches = match from.as_str() {
                    "" => s.chars().count() + 1,
                    from => s.matches(from).count(),
                };
                self.charge(
                    s.len().saturating_add(matches.saturating_mul(to.len())),
                    node,
                )?;
                binary(&s.replace(&from, &to))
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
            ("Path", "dirname", [_]) => binary(&dirname(&s0.ok_or_else(bad)?)),
            ("Path", "basename", [_]) => binary(&basename(&s0.ok_or_else(bad)?)),
            ("Path", "wildcard", [_]) => {
                let pattern = s0.ok_or_else(bad)?;
                let mut left = self.left();
                let found = wildcard(&pattern, &cwd, &mut left);
                self.charge(self.left() - left, node)?;
                let found = found.ok_or_else(|| self.over_budget(node))?;
                Term::List(found.into_iter().map(|p| binary(&p)).collect())
            }
            ("File", "read!", [_]) => {
                let name = s0.ok_or_else(bad)?;
                let full = cwd.join(&name);
                let bytes = read_at_most(&full, self.left()).map_err(|e| {
                    self.invalid(
                        node,
                        format!("File.read!(\"{name}\"): {e} (read at build time)"),
                    )
                })?;
                let bytes = bytes.ok_or_else(|| self.over_budget(node))?;
                self.charge(bytes.len(), node)?;
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
            // Each of `b`'s keys is looked for among (copies of) `a`'s. No
            // value is deeper than the two limits together can build.
            ("Keyword", "merge", [Term::List(a), Term::List(b)]) => {
                let a_size = weigh(&args[0], MAX_VALUE_DEPTH + MAX_NESTING);
                let cost = a_size.unwrap_or(usize::MAX).saturating_mul(b.len() + 1);
                self.charge(cost, node)?;
                Term::List(keyword_merge(a.clone(), b.clone(), &mut |_, _, new| new))
            }
            ("Keyword", "fetch", [kw @ Term::List(_), k]) => match access(kw, k) {
                Some(v) => Term::tuple(vec![Term::atom("ok"), v]),
                None => Term::atom("error"),
            },
            ("Keyword", "fetch!", [kw @ Term::List(_), k]) => access(kw, k).ok_or_else(|| {
                self.invalid(
                    node,
                    format!(
                        "Keyword.fetch!: key {} not found (KeyError)",
                        crate::formats::term::to_compact(k)
                    ),
                )
            })?,
            ("File", "read", [_]) => {
                let name = s0.ok_or_else(bad)?;
                match read_at_most(&cwd.join(&name), self.left()) {
                    Ok(bytes) => {
                        let bytes = bytes.ok_or_else(|| self.over_budget(node))?;
                        self.charge(bytes.len(), node)?;
                        Term::tuple(vec![Term::atom("ok"), Term::Binary(bytes)])
                    }
                    Err(e) => {
                        let reason = posix_reason(&e).ok_or_else(|| {
                            self.unsupported(
                                node,
                                format!("File.read(\"{name}\") failing with {e}"),
                            )
                        })?;
                        Term::tuple(vec![Term::atom("error"), Term::atom(reason)])
                    }
                }
            }
            (":crypto", "hash", [Term::Atom(algorithm), data]) => {
                let data = iodata(data).ok_or_else(bad)?;
                Term::Binary(hash(algorithm, &data).ok_or_else(|| {
                    self.unsupported(node, format!(":crypto.hash(:{algorithm}, ...)"))
                })?)
            }
            (":crypto", "strong_rand_bytes", [Term::Integer(n)]) => {
                let n = usize::try_from(*n).map_err(|_| bad())?;
                if n > 1 << 20 {
                    return Err(self.unsupported(node, ":crypto.strong_rand_bytes of over 1 MiB"));
                }
                self.charge(n, node)?;
                let mut bytes = vec![0; n];
                getrandom::fill(&mut bytes).map_err(|e| {
                    self.invalid(
                        node,
                        format!(":crypto.strong_rand_bytes: no randomness: {e}"),
                    )
                })?;
                let warning = format!(
                    "{}: :crypto.strong_rand_bytes makes a new value on every build: a cookie \
                     made from it changes each build (as with Distillery), so the build is not \
                     reproducible; set a fixed value to make it so",
                    self.source.origin(node)
                );
                if !self.warnings.contains(&warning) {
                    self.warnings.push(warning);
                }
                Term::Binary(bytes)
            }
            ("Base", "encode16", [Term::Binary(b), rest @ ..]) => {
                let lower = match options(rest).ok_or_else(bad)?.as_slice() {
                    [] | [("case", "upper")] => false,
                    [("case", "lower")] => true,
                    _ => return Err(bad()),
                };
                // Twice as long as the bytes, so charged.
                self.charge(2 * b.len(), node)?;
                let hex = crate::formats::digest::hex(b);
                binary(&if lower { hex } else { hex.to_uppercase() })
            }
            ("Base", "encode64" | "url_encode64", [Term::Binary(b), rest @ ..]) => {
                let padding = match options(rest).ok_or_else(bad)?.as_slice() {
                    [] | [("padding", "true")] => true,
                    [("padding", "false")] => false,
                    _ => return Err(bad()),
                };
                // A third longer than the bytes, so charged.
                self.charge(b.len() / 3 * 4 + 4, node)?;
                binary(&base64(b, fun == "url_encode64", padding))
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
    "Keyword.fetch",
    "Keyword.fetch!",
    "File.read",
    ":crypto.hash",
    ":crypto.strong_rand_bytes",
    "Base.encode16",
    "Base.encode64",
    "Base.url_encode64",
    "Map.get",
    "Access.get",
];

/// Elixir's `Path.join/1,2` on Unix, rule for rule: a later part is made
/// relative (one leading `/` dropped, so `Path.join("a", "/b")` is
/// `"a/b"`), one trailing `/` goes from each left part and the result.
fn join_paths(parts: &[String]) -> String {
    fn remove_dir_sep(p: &str) -> &str {
        match p {
            "" | "/" => p,
            _ => p.strip_suffix('/').unwrap_or(p),
        }
    }
    fn relative(p: &str) -> &str {
        if p == "/" {
            "."
        } else {
            p.strip_prefix('/').unwrap_or(p)
        }
    }
    let Some((first, rest)) = parts.split_first() else {
        return String::new();
    };
    let mut out = first.clone();
    for right in rest {
        let joined = match (out.as_str(), right.as_str()) {
            (left, "/") => remove_dir_sep(left).to_owned(),
            ("", right) => relative(right).to_owned(),
            ("/", right) => format!("/{}", relative(right)),
            (left, right) => format!("{}/{}", remove_dir_sep(left), relative(right)),
        };
        out = remove_dir_sep(&joined).to_owned();
    }
    out
}

/// Erlang's `filename:dirname/1`, which `Path.dirname/1` calls: what comes
/// before the last `/`, without trailing slashes; `.` without one.
fn dirname(path: &str) -> String {
    match path.rfind('/') {
        None => ".".into(),
        Some(i) => {
            let dir = path[..i].trim_end_matches('/');
            if dir.is_empty() {
                "/".into()
            } else {
                dir.to_owned()
            }
        }
    }
}

/// Erlang's `filename:basename/1`: the last component, trailing slashes
/// ignored.
fn basename(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or("").to_owned()
}

/// `dir` as `getcwd(3)` names it once there: absolute, links resolved;
/// made absolute only where it cannot be resolved.
pub(crate) fn physical(dir: &Path) -> PathBuf {
    dir.canonicalize()
        .unwrap_or_else(|_| std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned()))
}

/// Elixir's `Path.expand/1,2`: absolute, `~` (alone or before `/`)
/// expanded, `.`/`..` removed.
fn expand(path: &str, base: &Path) -> String {
    let home = std::env::var("HOME").unwrap_or_default();
    let path = match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{home}{rest}"),
        _ => path.to_owned(),
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

/// The bytes of `path`, or `None` when there are more than `limit`.
fn read_at_most(path: &Path, limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    std::fs::File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// `Path.wildcard/1` for `*` and `?` within path segments, sorted. Each
/// directory entry looked at costs [`EVAL_COST`] of `allowance`; `None`
/// when it runs out (`/*/*/*/*/*` looks at much of the machine).
fn wildcard(pattern: &str, cwd: &Path, allowance: &mut usize) -> Option<Vec<String>> {
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
                    *allowance = allowance.checked_sub(EVAL_COST)?;
                    let name = e.file_name().to_string_lossy().into_owned();
                    if !name.starts_with('.') && glob_match(seg.as_bytes(), name.as_bytes()) {
                        next.push(join(&name));
                    }
                }
            } else {
                *allowance = allowance.checked_sub(EVAL_COST)?;
                if cwd.join(join(seg)).exists() {
                    next.push(join(seg));
                }
            }
        }
        found = next;
    }
    found.retain(|f| !f.is_empty());
    found.sort();
    Some(found)
}

/// Whether `name` matches `pat` (`*` any run of bytes, `?` one). Only
/// the last `*` seen is retried with a longer run, which is enough and
/// keeps the time to `pat.len() * name.len()`: trying every `*` again, as
/// a plain recursion does, is exponential in their number.
fn glob_match(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // The last `*` and the name position its run starts at.
    let mut star = None;
    while n < name.len() {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    star = Some((sp, sn + 1));
                    p = sp + 1;
                    n = sn + 1;
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// The options of `Base` functions: `[key: atom]` pairs, or none.
fn options(rest: &[Term]) -> Option<Vec<(&str, &str)>> {
    match rest {
        [] => Some(Vec::new()),
        [kw] => keyword_pairs(kw)?
            .into_iter()
            .map(|(k, v)| Some((k, v.as_atom()?)))
            .collect(),
        _ => None,
    }
}

/// The bytes of iodata: a binary, or a list of bytes, binaries and such lists.
fn iodata(t: &Term) -> Option<Vec<u8>> {
    fn add(t: &Term, out: &mut Vec<u8>) -> Option<()> {
        match t {
            Term::Binary(b) => out.extend_from_slice(b),
            Term::Integer(i) => out.push(u8::try_from(*i).ok()?),
            Term::List(items) => {
                for i in items {
                    add(i, out)?;
                }
            }
            _ => return None,
        }
        Some(())
    }
    let mut out = Vec::new();
    match t {
        Term::Integer(_) => None,
        _ => add(t, &mut out).map(|()| out),
    }
}

/// `:crypto.hash/2` for the algorithms config files use.
fn hash(algorithm: &str, data: &[u8]) -> Option<Vec<u8>> {
    use sha2::Digest;
    Some(match algorithm {
        "md5" => md5::Md5::digest(data).to_vec(),
        "sha" => sha1::Sha1::digest(data).to_vec(),
        "sha224" => sha2::Sha224::digest(data).to_vec(),
        "sha256" => sha2::Sha256::digest(data).to_vec(),
        "sha384" => sha2::Sha384::digest(data).to_vec(),
        "sha512" => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    })
}

/// `Base.encode64/2` and `Base.url_encode64/2`.
fn base64(bytes: &[u8], url: bool, padding: bool) -> String {
    let alphabet: &[u8; 64] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if padding {
            out.push_str(&"=="[..3 - chunk.len()]);
        }
    }
    out
}

/// The POSIX reason `File.read/1` gives for an error.
fn posix_reason(e: &std::io::Error) -> Option<&'static str> {
    use std::io::ErrorKind;
    Some(match e.kind() {
        ErrorKind::NotFound => "enoent",
        ErrorKind::PermissionDenied => "eacces",
        ErrorKind::IsADirectory => "eisdir",
        ErrorKind::NotADirectory => "enotdir",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{eval_text, eval_with};
    use super::{basename, dirname, expand, glob_match, join_paths};
    use std::path::Path;

    #[test]
    fn glob_patterns_match_as_path_wildcard_does() {
        for (pat, name, matches) in [
            ("*", "", true),
            ("*", "abc", true),
            ("a*c", "abc", true),
            ("a*c", "abcb", false),
            ("*.exs", "config.exs", true),
            ("*.exs", "config.ex", false),
            ("?b*", "abba", true),
            ("?", "", false),
            ("a**b*", "axxbyy", true),
            ("*a*b", "aaab", true),
            ("*a*b", "aaaa", false),
        ] {
            assert_eq!(
                glob_match(pat.as_bytes(), name.as_bytes()),
                matches,
                "{pat} {name}"
            );
        }
    }

    /// Many stars against a long name that nearly matches: the recursive
    /// matcher this replaced ran for more than 20 s (exponential in the
    /// stars).
    #[test]
    fn many_stars_match_in_linear_time() {
        let pat = format!("{}z", "*a".repeat(20));
        let name = "a".repeat(100);
        let started = std::time::Instant::now();
        assert!(!glob_match(pat.as_bytes(), name.as_bytes()));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn crypto_hash_and_base_encodings_are_erlangs() {
        // Digests of "abc" as :crypto.hash/2 gives them, iodata accepted.
        for (algorithm, hex) in [
            ("sha", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            ("sha224", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"),
            ("sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("sha384", "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"),
            ("sha512", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
            ("md5", "900150983cd24fb0d6963f7d28e17f72"),
        ] {
            let code = format!(":crypto.hash(:{algorithm}, [\"ab\", ?c]) |> Base.encode16(case: :lower)");
            assert_eq!(eval_text(&code), format!("<<\"{hex}\"/utf8>>"), "{algorithm}");
        }
        for (code, value) in [
            ("Base.encode16(<<255, 1>>)", "FF01"),
            ("Base.encode16(\"é\")", "C3A9"),
            ("Base.encode64(\"hello?>\")", "aGVsbG8/Pg=="),
            ("Base.encode64(\"a\", padding: false)", "YQ"),
            ("Base.encode64(\"\")", ""),
            ("Base.url_encode64(<<255, 254>>)", "__4="),
            ("Base.url_encode64(<<251, 255>>, padding: false)", "-_8"),
        ] {
            let expected = crate::formats::term::to_compact(&super::binary(value));
            assert_eq!(eval_text(code), expected, "{code}");
        }
        let err = eval_text(":crypto.hash(:blake2b, \"x\")");
        assert!(err.contains("t.exs:1: :crypto.hash(:blake2b"), "{err}");
        let err = eval_text(":erlang.system_info(:otp_release)");
        assert!(
            err.contains("t.exs:1: a call of :erlang.system_info/1"),
            "{err}"
        );
    }

    #[test]
    fn strong_rand_bytes_are_random_and_warned_about() {
        let code = "a = :crypto.strong_rand_bytes(32)\nb = :crypto.strong_rand_bytes(32)\n{byte_size(a), a == b}";
        let (value, warnings) = eval_with(code, None).unwrap();
        assert_eq!(crate::formats::term::to_compact(&value), "{32,false}");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0]
                .starts_with("t.exs:1: :crypto.strong_rand_bytes makes a new value on every build")
                && warnings[1].starts_with("t.exs:2: ")
                && warnings[0].contains("not reproducible"),
            "{warnings:?}"
        );
    }

    #[test]
    fn file_read_gives_ok_or_the_posix_reason() {
        assert_eq!(
            eval_text("File.read(\"/relpack-never-there\")"),
            "{error,enoent}"
        );
        let code =
            "with {:ok, v} <- File.read(\"Cargo.toml\"), do: String.split(v, \"\\n\") |> elem(0)";
        // String.split gives a list; elem/2 of a list is an error, not nil.
        assert!(eval_text(code).contains("elem/2"), "{}", eval_text(code));
    }

    /// What Elixir's `Path` functions return for each (measured with
    /// Elixir 1.14 and 1.18, whose `Path.join/2` is the same code).
    #[test]
    fn paths_as_elixir_makes_them() {
        let join = |a: &str, b: &str| join_paths(&[a.to_owned(), b.to_owned()]);
        assert_eq!(join("a", "/b"), "a/b");
        assert_eq!(join("a/", "b"), "a/b");
        assert_eq!(join("", "b"), "b");
        assert_eq!(join("a", ""), "a");
        assert_eq!(join("/", "b"), "/b");
        assert_eq!(join("a//", "//b"), "a///b");
        assert_eq!(join("a/./b", "c"), "a/./b/c");
        assert_eq!(join_paths(&["a".into(), "/b".into(), "c/".into()]), "a/b/c");
        for (path, dir, base) in [
            ("/foo/bar/", "/foo/bar", "bar"),
            ("foo/bar", "foo", "bar"),
            ("/foo", "/", "foo"),
            ("foo", ".", "foo"),
            ("/", "/", ""),
            ("", ".", ""),
            ("a/b/.", "a/b", "."),
            ("a//b", "a", "b"),
        ] {
            assert_eq!(
                (dirname(path), basename(path)),
                (dir.into(), base.into()),
                "{path}"
            );
        }
        assert_eq!(expand("~foo", Path::new("/p")), "/p/~foo");
    }
}
