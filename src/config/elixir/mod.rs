//! A small evaluator for the Elixir that configuration files are written
//! in, on top of the `tree-sitter-elixir` parser.
//!
//! Values are Erlang terms ([`Term`]): Elixir strings are binaries,
//! `nil`/`true`/`false` are atoms, keyword lists are lists of pairs. The
//! evaluator knows literals, variables, module attributes, operators
//! (also called as `Kernel.op/2`), pipes, `alias`,
//! `if`/`unless`/`case`/`cond`/`with`, local functions defined with
//! `def`/`defp` (guards, default arguments), and the handful of
//! standard-library functions config files call (`System.get_env`,
//! `Path.join`, `String.trim`, `:crypto.hash`, `Base.encode16`, ...). Calls
//! it does not know go to a `Dsl` (the `config` of `config/*.exs`, the
//! `environment`/`release`/`set` of Distillery); anything else stops with
//! [`Error::Unsupported`] naming the construct and its line, so that no
//! code is silently skipped.
//!
//! This module holds the parsed `Source`, the syntax helpers and the
//! value helpers the file readers share; `eval` evaluates expressions and
//! calls, `clauses` holds local functions, patterns and control flow, and
//! `stdlib` the standard-library functions. The parser's types stay inside
//! the crate: only [`Context`] and the [`Term`] helpers are public.

mod clauses;
mod eval;
mod stdlib;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tree_sitter::{Node, Parser, Tree};

use crate::error::{Error, Result};
use crate::formats::term::Term;

/// A parsed `.exs` file.
pub(crate) struct Source {
    /// The file the source was read from.
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
    tree: Tree,
}

impl Source {
    /// Reads and parses `path`; a syntax error is reported with its line.
    pub fn read(path: &Path) -> Result<Source> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            action: "cannot read",
            source,
        })?;
        Source::parse(path, text)
    }

    /// Parses `text` as Elixir; `path` is used in errors.
    pub fn parse(path: &Path, text: String) -> Result<Source> {
        let mut parser = Parser::new();
        parser
            .set_language(&tree_sitter_elixir::LANGUAGE.into())
            .map_err(|e| Error::System(format!("the Elixir grammar does not load: {e}")))?;
        let tree = parser.parse(&text, None).ok_or_else(|| Error::Parse {
            path: path.to_owned(),
            line: 1,
            message: "cannot parse".into(),
        })?;
        if let Some(deep) = too_deep(tree.root_node()) {
            return Err(Error::Parse {
                path: path.to_owned(),
                line: line_of(deep),
                message: format!(
                    "code nested more than {MAX_SOURCE_DEPTH} levels deep (relpack reads no deeper)"
                ),
            });
        }
        if let Some(bad) = first_error(tree.root_node()) {
            return Err(Error::Parse {
                path: path.to_owned(),
                line: line_of(bad),
                message: "syntax error: this is not valid Elixir".into(),
            });
        }
        Ok(Source {
            path: path.to_owned(),
            text,
            tree,
        })
    }

    /// The root node of the syntax tree.
    pub fn root(&self) -> Node<'_> {
        self.tree.root_node()
    }

    /// `path:line` of a node, for messages and provenance.
    pub fn origin(&self, node: Node<'_>) -> String {
        format!("{}:{}", self.path.display(), line_of(node))
    }
}

/// How deep a file's syntax tree may nest. The readers walk it
/// recursively (a file nested thousands of levels deep overflowed the
/// stack); real configuration files stay within a few dozen levels.
const MAX_SOURCE_DEPTH: usize = 256;

/// How many evaluations may run one inside another: nested expressions
/// and, through the calls among them, the bodies of the functions called.
/// Each takes up to 3 KiB of stack in a release build (about seven times
/// that in a debug build); recursion alone is also limited (to 64 calls).
const MAX_NESTING: usize = 256;

/// How deeply nested a value read from a variable or an attribute may be.
/// Values are copied, compared and dropped recursively; this bounds what
/// can be built from them (no deeper than this plus [`MAX_NESTING`]),
/// which wrapping a value in a list call after call would otherwise
/// deepen without end.
const MAX_VALUE_DEPTH: usize = 128;

/// The first node nested deeper than [`MAX_SOURCE_DEPTH`], found without
/// recursion.
fn too_deep(root: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = root.walk();
    let mut depth = 0;
    loop {
        if depth > MAX_SOURCE_DEPTH {
            return Some(cursor.node());
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return None;
            }
            depth -= 1;
        }
    }
}

/// What evaluating one file may cost, in units of about a byte of memory:
/// each evaluation costs [`EVAL_COST`], each copy of a bound value its
/// size, each result larger than its arguments its size. Calls that fan
/// out (`f(n - 1)` twice) or a string doubled again and again otherwise
/// ran until the machine ran out of time or memory; each file of the
/// fixtures and tests/config_corpus costs under a thousandth of it.
const BUDGET: usize = 1 << 24;

/// The cost of one evaluation, in [`BUDGET`]'s units: 256 Ki of them, a
/// fraction of a second, use it all.
const EVAL_COST: usize = 64;

/// The size of `t` in [`BUDGET`]'s units (bytes: its terms and their
/// heap), or `None` when it has elements more than `levels` lists, tuples
/// or maps deep; looking no deeper than that.
fn weigh(t: &Term, levels: usize) -> Option<usize> {
    let inner = |i: &Term| levels.checked_sub(1).and_then(|l| weigh(i, l));
    let heap = match t {
        Term::Atom(a) => a.len(),
        Term::Binary(b) => b.len(),
        Term::Integer(_) | Term::Float(_) => 0,
        Term::List(items) | Term::Tuple(items) => items.iter().map(inner).sum::<Option<usize>>()?,
        Term::Map(entries) => entries
            .iter()
            .map(|(k, v)| Some(inner(k)? + inner(v)?))
            .sum::<Option<usize>>()?,
    };
    Some(std::mem::size_of::<Term>() + heap)
}

fn first_error(node: Node<'_>) -> Option<Node<'_>> {
    if !node.has_error() {
        return None;
    }
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    let mut cursor = node.walk();
    let found = node.children(&mut cursor).find_map(first_error);
    found.or(Some(node))
}

/// The 1-based line a node starts on.
pub(crate) fn line_of(node: Node<'_>) -> usize {
    node.start_position().row + 1
}

/// The named children of a node, comments left out.
pub(crate) fn children<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .filter(|c| c.kind() != "comment")
        .collect()
}

/// Receives the calls the evaluator does not know itself: the vocabulary
/// of one kind of configuration file.
pub(crate) trait Dsl {
    /// Evaluates local call `name` (already known not to be a variable or
    /// a function defined in the file); `Ok(None)` when the DSL does not
    /// know it either.
    fn call<'s>(&mut self, ev: &mut Evaluator<'s>, call: &Call<'s>) -> Result<Option<Term>>;
}

/// A DSL that knows nothing: plain expressions only.
pub(crate) struct NoDsl;

impl Dsl for NoDsl {
    fn call<'s>(&mut self, _: &mut Evaluator<'s>, _: &Call<'s>) -> Result<Option<Term>> {
        Ok(None)
    }
}

/// A call as the DSL sees it.
pub(crate) struct Call<'t> {
    /// The name of the function called.
    pub name: String,
    /// The call's syntax node, for errors.
    pub node: Node<'t>,
    /// Positional arguments; trailing `key: value` pairs are one keyword
    /// list argument, as in Elixir.
    pub args: Vec<Arg<'t>>,
    /// The `do ... end` block, if any.
    pub do_block: Option<Node<'t>>,
}

/// An argument: either a node to evaluate or a value piped in.
#[derive(Clone)]
pub(crate) enum Arg<'t> {
    /// An expression to evaluate.
    Node(Node<'t>),
    /// Trailing `key: value` pairs, evaluated to one keyword list.
    Keywords(Node<'t>),
    /// A value already evaluated, such as the left side of `|>`.
    Value(Term),
}

/// The values the evaluator starts from.
#[derive(Debug, Clone)]
pub struct Context {
    /// `Mix.env()` and `config_env()`.
    pub env: String,
    /// `Mix.target()` and `config_target()`.
    pub target: String,
    /// The project directory: `mix` runs there, so relative paths in
    /// config files are relative to it.
    pub dir: PathBuf,
    /// The project's `project/0` keyword list, evaluated, when the caller
    /// knows it: `Mix.Project.config()[:key]` answers from it. `None`
    /// leaves `Mix.Project.config()` unsupported.
    pub project: Option<Term>,
}

impl Context {
    /// The context of project `dir` for Mix env `env`, on the host target,
    /// its `project/0` not known.
    pub fn new(dir: &Path, env: &str) -> Context {
        Context {
            env: env.to_owned(),
            target: "host".into(),
            dir: dir.to_owned(),
            project: None,
        }
    }
}

/// Evaluates one file's expressions.
pub(crate) struct Evaluator<'s> {
    /// The file being evaluated.
    pub source: &'s Source,
    /// The environment, target and directory the file sees.
    pub context: Context,
    vars: HashMap<String, Term>,
    /// Module attributes (`@name value`) set so far.
    pub attrs: HashMap<String, Term>,
    functions: HashMap<String, Vec<Node<'s>>>,
    /// `alias Foo.Bar` (`Bar` to `Foo.Bar`) and `alias Foo.Bar, as: B`.
    aliases: HashMap<String, String>,
    /// Calls of the file's functions under way, one inside another.
    depth: usize,
    /// Evaluations under way, one inside another (up to [`MAX_NESTING`]).
    nesting: usize,
    /// What the evaluation has cost so far (up to [`BUDGET`]).
    spent: usize,
    /// What the evaluation did that the user should know, one line each
    /// naming `file:line` (a value that changes on every build).
    pub warnings: Vec<String>,
    /// Environment variables `System.get_env/1` found unset (it gave
    /// `nil`), to name when that `nil` reaches a function that refuses it.
    pub unset_env: Vec<String>,
}

/// Elixir's `nil`, the atom `nil`.
pub fn nil() -> Term {
    Term::atom("nil")
}

/// `true` or `false` as an atom.
pub fn boolean(b: bool) -> Term {
    Term::atom(if b { "true" } else { "false" })
}

/// Elixir truthiness: everything but `nil` and `false`.
pub fn truthy(t: &Term) -> bool {
    !matches!(t.as_atom(), Some("nil" | "false"))
}

/// An Elixir string: a binary holding `s` as UTF-8.
pub fn binary(s: &str) -> Term {
    Term::Binary(s.as_bytes().to_vec())
}

/// A keyword list's pairs, or `None` if `t` is not one.
pub fn keyword_pairs(t: &Term) -> Option<Vec<(&str, &Term)>> {
    t.as_list()?
        .iter()
        .map(|item| match item.as_tuple()? {
            [k, v] => Some((k.as_atom()?, v)),
            _ => None,
        })
        .collect()
}

/// `container[key]` for keyword lists and maps.
fn access(container: &Term, key: &Term) -> Option<Term> {
    match container {
        Term::List(items) => items.iter().find_map(|i| match i.as_tuple()? {
            [k, v] if k == key => Some(v.clone()),
            _ => None,
        }),
        Term::Map(entries) => entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone()),
        _ => None,
    }
}

/// `Keyword.merge/3`: the entries of `a` whose keys `b` lacks, then `b`'s
/// entries (merged with `a`'s value by `fun` where both have the key).
pub fn keyword_merge(
    a: Vec<Term>,
    b: Vec<Term>,
    fun: &mut dyn FnMut(&Term, Term, Term) -> Term,
) -> Vec<Term> {
    let key = |t: &Term| t.as_tuple().and_then(|p| p.first().cloned());
    let mut rest = a;
    let mut merged = Vec::new();
    for item in b {
        let Some(k) = key(&item) else {
            merged.push(item);
            continue;
        };
        let new = match item {
            Term::Tuple(mut kv) => kv.pop().unwrap_or_else(nil),
            other => other,
        };
        match rest.iter().position(|i| key(i).as_ref() == Some(&k)) {
            Some(pos) => {
                let old = match rest.remove(pos) {
                    Term::Tuple(mut kv) => kv.pop().unwrap_or_else(nil),
                    other => other,
                };
                rest.retain(|i| key(i).as_ref() != Some(&k));
                merged.push(Term::tuple(vec![k.clone(), fun(&k, old, new)]));
            }
            None => merged.push(Term::tuple(vec![k, new])),
        }
    }
    rest.extend(merged);
    rest
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Evaluates `code` in a file `t.exs` with `project` as project/0's
    /// keyword list; a `defmodule` in it is defined, not run, as in a
    /// mix.exs. The value of the last expression, and the warnings.
    pub(in crate::config::elixir) fn eval_with(
        code: &str,
        project: Option<Term>,
    ) -> Result<(Term, Vec<String>)> {
        let src = Source::parse(Path::new("t.exs"), code.to_owned())?;
        let mut ev = Evaluator::new(
            &src,
            Context {
                env: "prod".into(),
                target: "host".into(),
                dir: PathBuf::from("."),
                project,
            },
        );
        let mut last = nil();
        for node in children(src.root()) {
            last = match (ev.call_name(node).as_deref(), ev.do_block(node)) {
                (Some("defmodule"), Some(body)) => {
                    ev.define_module(&children(body), &mut NoDsl)?;
                    nil()
                }
                _ => ev.eval(node, &mut NoDsl)?,
            };
        }
        Ok((last, ev.warnings))
    }

    /// `code`'s value, compact (`[{a,1}]`), or its error as a message.
    pub(in crate::config::elixir) fn eval_text(code: &str) -> String {
        match eval_with(code, None) {
            Ok((t, _)) => crate::formats::term::to_compact(&t),
            Err(e) => e.to_string(),
        }
    }

    fn eval(code: &str) -> Result<Term> {
        eval_with(code, None).map(|(t, _)| t)
    }

    #[test]
    fn literals() {
        let t = eval("[a: 1_000, b: {:x, \"y#{1 + 1}\\n\", 'c'}, c: %{\"k\" => 2.5}, d: ~w(p q)a, e: :\"q a\", f: 0x1f]").unwrap();
        assert_eq!(
            crate::formats::term::to_compact(&t),
            "[{a,1000},{b,{x,<<\"y2\\n\"/utf8>>,\"c\"}},{c,#{<<\"k\"/utf8>> => 2.5}},{d,[p,q]},{e,'q a'},{f,31}]"
        );
    }

    #[test]
    fn variables_pipes_and_control_flow() {
        let code = "x = \" v \" |> String.trim()\ny = if Mix.env() == :prod, do: x <> \"!\", else: nil\ncase y do\n  nil -> :none\n  v -> {v, not false}\nend";
        assert_eq!(
            crate::formats::term::to_compact(&eval(code).unwrap()),
            "{<<\"v!\"/utf8>>,true}"
        );
    }

    #[test]
    fn beyond_the_subset_names_construct_and_line() {
        let err = eval("a = 1\nEnum.map([1], fn x -> x end)")
            .unwrap_err()
            .to_string();
        assert!(err.contains("t.exs:2") && err.contains("Enum.map"), "{err}");
        let err = eval("x = [1,\n").unwrap_err().to_string();
        assert!(err.contains("t.exs:"), "{err}");
    }

    /// Nesting is refused with an error before it overflows the stack
    /// (3000 brackets did, in the reader and in the evaluator). Run on a
    /// stack of 16 MiB: a debug build takes several times the stack per
    /// level that the release build does (within 1 MiB at the limits).
    #[test]
    fn deep_nesting_is_an_error() {
        let eval = |code: String| {
            std::thread::scope(|s| {
                let run = move || eval(&code).map_err(|e| e.to_string());
                let thread = std::thread::Builder::new().stack_size(16 << 20);
                thread.spawn_scoped(s, run).unwrap().join().unwrap()
            })
        };
        let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        assert!(eval(nested(200)).is_ok());
        assert_eq!(
            eval(format!("x = 1\n{}", nested(3000))).unwrap_err(),
            "t.exs:2: code nested more than 256 levels deep (relpack reads no deeper)"
        );
        // Calls nest evaluations without nesting the source.
        let calls = |n: usize| {
            format!(
                "defmodule M do\n  defp f(0), do: :a\n  defp f(n), do: [[[[[[[[f(n - 1)]]]]]]]]\nend\nf({n})"
            )
        };
        assert!(eval(calls(20)).is_ok());
        let err = eval(calls(30)).unwrap_err();
        assert!(
            err.starts_with("t.exs:3: expressions nested more than 256 levels deep")
                && err.contains("not in the subset"),
            "{err}"
        );
        // A value wrapped again by every call: its depth grows without
        // the nesting, and is checked where it is read.
        let wraps = |n: usize| {
            format!(
                "defmodule M do\n  defp f(0, a), do: a\n  defp f(n, a), do: f(n - 1, [[[a]]])\nend\nf({n}, :x)"
            )
        };
        assert!(eval(wraps(40)).is_ok());
        let err = eval(wraps(50)).unwrap_err();
        assert!(
            err.starts_with("t.exs:3: a value nested more than 128 levels deep"),
            "{err}"
        );
    }

    /// Evaluations that would run for hours or take all memory stop at
    /// the budget with an error naming the file.
    #[test]
    fn runaway_evaluation_is_an_error() {
        let over = "an evaluation costing more than 16 MiB of steps and copies";
        for code in [
            // Calls fanning out: 2^40 of them.
            "defmodule M do\n  defp f(0), do: 0\n  defp f(n) do\n    f(n - 1)\n    f(n - 1)\n  end\nend\nf(40)",
            // A string doubled by each call.
            "defmodule M do\n  defp f(s), do: f(s <> s)\nend\nf(\"ab\")",
            // Squared by each call.
            "defmodule M do\n  defp f(s), do: f(String.replace(s, \"\", s))\nend\nf(\"abcd\")",
            // A device that never ends.
            "File.read!(\"/dev/zero\")",
        ] {
            let err = eval(code).unwrap_err().to_string();
            assert!(err.starts_with("t.exs:") && err.contains(over), "{code}: {err}");
        }
    }

    #[test]
    fn keyword_merge_is_elixirs() {
        let a = eval("[a: 1, b: 2, c: 3]").unwrap();
        let b = eval("[b: 20, d: 4]").unwrap();
        let (Term::List(a), Term::List(b)) = (a, b) else {
            panic!()
        };
        let merged = Term::List(keyword_merge(a, b, &mut |_, _, n| n));
        assert_eq!(
            crate::formats::term::to_compact(&merged),
            "[{a,1},{c,3},{b,20},{d,4}]"
        );
    }
}
