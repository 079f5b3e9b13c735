//! A small evaluator for the Elixir that configuration files are written
//! in, on top of the `tree-sitter-elixir` parser.
//!
//! Values are Erlang terms ([`Term`]): Elixir strings are binaries,
//! `nil`/`true`/`false` are atoms, keyword lists are lists of pairs. The
//! evaluator knows literals, variables, module attributes, operators,
//! pipes, `if`/`unless`/`case`/`cond`, local functions defined with
//! `def`/`defp`, and the handful of standard-library functions config
//! files call (`System.get_env`, `Path.join`, `String.trim`, ...). Calls
//! it does not know go to a [`Dsl`] (the `config` of `config/*.exs`, the
//! `environment`/`release`/`set` of Distillery); anything else stops with
//! [`Error::Unsupported`] naming the construct and its line, so that no
//! code is silently skipped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tree_sitter::{Node, Parser, Tree};

use crate::error::{Error, Result};
use crate::term::Term;

/// A parsed `.exs` file.
pub struct Source {
    pub path: PathBuf,
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

    pub fn parse(path: &Path, text: String) -> Result<Source> {
        let mut parser = Parser::new();
        parser
            .set_language(&tree_sitter_elixir::LANGUAGE.into())
            .map_err(|e| Error::Option(format!("the Elixir grammar does not load: {e}")))?;
        let tree = parser.parse(&text, None).ok_or_else(|| Error::Parse {
            path: path.to_owned(),
            line: 1,
            message: "cannot parse".into(),
        })?;
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

    pub fn root(&self) -> Node<'_> {
        self.tree.root_node()
    }

    /// `path:line` of a node, for messages and provenance.
    pub fn origin(&self, node: Node<'_>) -> String {
        format!("{}:{}", self.path.display(), line_of(node))
    }
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

pub fn line_of(node: Node<'_>) -> usize {
    node.start_position().row + 1
}

/// The named children of a node, comments left out.
pub fn children<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .filter(|c| c.kind() != "comment")
        .collect()
}

/// Receives the calls the evaluator does not know itself: the vocabulary
/// of one kind of configuration file.
pub trait Dsl {
    /// Evaluates local call `name` (already known not to be a variable or
    /// a function defined in the file); `Ok(None)` when the DSL does not
    /// know it either.
    fn call<'s>(&mut self, ev: &mut Evaluator<'s>, call: &Call<'s>) -> Result<Option<Term>>;
}

/// A DSL that knows nothing: plain expressions only.
pub struct NoDsl;

impl Dsl for NoDsl {
    fn call<'s>(&mut self, _: &mut Evaluator<'s>, _: &Call<'s>) -> Result<Option<Term>> {
        Ok(None)
    }
}

/// A call as the DSL sees it.
pub struct Call<'t> {
    pub name: String,
    pub node: Node<'t>,
    /// Positional arguments; trailing `key: value` pairs are one keyword
    /// list argument, as in Elixir.
    pub args: Vec<Arg<'t>>,
    /// The `do ... end` block, if any.
    pub do_block: Option<Node<'t>>,
}

/// An argument: either a node to evaluate or a value piped in.
#[derive(Clone)]
pub enum Arg<'t> {
    Node(Node<'t>),
    Keywords(Node<'t>),
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
}

/// Evaluates one file's expressions.
pub struct Evaluator<'s> {
    pub source: &'s Source,
    pub context: Context,
    vars: HashMap<String, Term>,
    pub attrs: HashMap<String, Term>,
    functions: HashMap<String, Vec<Node<'s>>>,
    depth: usize,
}

pub fn nil() -> Term {
    Term::atom("nil")
}

pub fn boolean(b: bool) -> Term {
    Term::atom(if b { "true" } else { "false" })
}

/// Elixir truthiness: everything but `nil` and `false`.
pub fn truthy(t: &Term) -> bool {
    !matches!(t.as_atom(), Some("nil" | "false"))
}

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

pub fn keyword(pairs: Vec<(String, Term)>) -> Term {
    Term::List(
        pairs
            .into_iter()
            .map(|(k, v)| Term::tuple(vec![Term::Atom(k), v]))
            .collect(),
    )
}

impl<'s> Evaluator<'s> {
    pub fn new(source: &'s Source, context: Context) -> Evaluator<'s> {
        Evaluator {
            source,
            context,
            vars: HashMap::new(),
            attrs: HashMap::new(),
            functions: HashMap::new(),
            depth: 0,
        }
    }

    pub fn text(&self, node: Node<'_>) -> &'s str {
        &self.source.text[node.byte_range()]
    }

    pub fn unsupported(&self, node: Node<'_>, what: impl Into<String>) -> Error {
        Error::Unsupported {
            path: self.source.path.clone(),
            line: line_of(node),
            construct: what.into(),
            hint: "",
        }
    }

    pub fn invalid(&self, node: Node<'_>, message: impl Into<String>) -> Error {
        Error::Parse {
            path: self.source.path.clone(),
            line: line_of(node),
            message: message.into(),
        }
    }

    /// A short, one-line rendering of the code at `node` for messages.
    pub fn snippet(&self, node: Node<'_>) -> String {
        let text = self.text(node).lines().next().unwrap_or("").trim();
        let short: String = text.chars().take(60).collect();
        if short.len() < text.len() {
            format!("{short}...")
        } else {
            short
        }
    }

    /// Evaluates every top-level expression of the file.
    pub fn run(&mut self, dsl: &mut dyn Dsl) -> Result<Term> {
        let root = self.source.root();
        self.block(&children(root), dsl)
    }

    /// Evaluates expressions in order; the value of the last one.
    pub fn block(&mut self, nodes: &[Node<'s>], dsl: &mut dyn Dsl) -> Result<Term> {
        let mut last = nil();
        for node in nodes {
            last = self.eval(*node, dsl)?;
        }
        Ok(last)
    }

    /// Records the `def`/`defp` clauses and attributes of a module body
    /// without running anything else, so that calls can find them.
    pub fn define_module(&mut self, body: &[Node<'s>], dsl: &mut dyn Dsl) -> Result<()> {
        for node in body {
            match node.kind() {
                "call" => {
                    let name = self.call_name(*node);
                    match name.as_deref() {
                        Some("def" | "defp") => self.define_function(*node)?,
                        Some("use" | "import" | "alias" | "require" | "defmodule") => {}
                        _ => return Err(self.unsupported(*node, self.snippet(*node))),
                    }
                }
                "unary_operator" if self.operator(*node) == "@" => {
                    self.eval(*node, dsl)?;
                }
                _ => return Err(self.unsupported(*node, self.snippet(*node))),
            }
        }
        Ok(())
    }

    fn define_function(&mut self, node: Node<'s>) -> Result<()> {
        let args = self.arguments(node);
        let head = args
            .first()
            .copied()
            .ok_or_else(|| self.invalid(node, "a def without a name"))?;
        let name = match head.kind() {
            "identifier" => self.text(head).to_owned(),
            "call" => self
                .call_name(head)
                .ok_or_else(|| self.unsupported(head, self.snippet(head)))?,
            _ => return Err(self.unsupported(head, self.snippet(head))),
        };
        self.functions.entry(name).or_default().push(node);
        Ok(())
    }

    /// Calls a function defined in the file with `def`/`defp`.
    pub fn call_function(
        &mut self,
        name: &str,
        args: Vec<Term>,
        at: Node<'_>,
        dsl: &mut dyn Dsl,
    ) -> Result<Option<Term>> {
        let Some(clauses) = self.functions.get(name).cloned() else {
            return Ok(None);
        };
        self.depth += 1;
        if self.depth > 64 {
            return Err(self.unsupported(at, format!("recursion in `{name}`")));
        }
        for clause in clauses {
            let parts = self.arguments(clause);
            let head = parts[0];
            let params = if head.kind() == "call" {
                self.arguments(head)
            } else {
                Vec::new()
            };
            if params.len() != args.len() {
                continue;
            }
            let mut bindings = HashMap::new();
            let mut matched = true;
            for (p, v) in params.iter().zip(&args) {
                if !self.pattern(*p, v, &mut bindings, dsl)? {
                    matched = false;
                    break;
                }
            }
            if !matched {
                continue;
            }
            let saved = std::mem::replace(&mut self.vars, bindings);
            let body = self.function_body(clause);
            let result = match body {
                Some(b) => self.body(b, dsl),
                None => Err(self.invalid(clause, "a def without a body")),
            };
            self.vars = saved;
            self.depth -= 1;
            return result.map(Some);
        }
        self.depth -= 1;
        Err(self.invalid(at, format!("no clause of `{name}/{}` matches", args.len())))
    }

    /// A `def`'s body: its do block or its `do:` value.
    pub fn function_body(&self, clause: Node<'s>) -> Option<Node<'s>> {
        if let Some(b) = self.do_block(clause) {
            return Some(b);
        }
        let kws = self
            .arguments(clause)
            .into_iter()
            .find(|n| n.kind() == "keywords")?;
        children(kws)
            .into_iter()
            .find(|p| self.pair_key(*p).as_deref() == Some("do"))
            .and_then(|p| p.child_by_field_name("value"))
    }

    /// A `do` block's or a `do:` value's expressions.
    pub fn body(&mut self, node: Node<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        if node.kind() == "do_block" {
            let items: Vec<_> = children(node)
                .into_iter()
                .filter(|n| !matches!(n.kind(), "else_block" | "rescue_block" | "after_block"))
                .collect();
            self.block(&items, dsl)
        } else {
            self.eval(node, dsl)
        }
    }

    pub fn call_name(&self, call: Node<'_>) -> Option<String> {
        let target = call.child_by_field_name("target")?;
        (target.kind() == "identifier").then(|| self.text(target).to_owned())
    }

    pub fn arguments(&self, call: Node<'s>) -> Vec<Node<'s>> {
        let mut cursor = call.walk();
        let args = call
            .named_children(&mut cursor)
            .find(|n| n.kind() == "arguments");
        args.map(children).unwrap_or_default()
    }

    pub fn do_block(&self, call: Node<'s>) -> Option<Node<'s>> {
        let mut cursor = call.walk();
        let found = call
            .named_children(&mut cursor)
            .find(|n| n.kind() == "do_block");
        found
    }

    fn operator(&self, node: Node<'_>) -> &'s str {
        node.child_by_field_name("operator")
            .map(|o| self.text(o))
            .unwrap_or("")
    }

    /// The atom of a keyword pair's key (`key: value`).
    pub fn pair_key(&self, pair: Node<'_>) -> Option<String> {
        let key = pair.child_by_field_name("key")?;
        let text = self.text(key).trim_end();
        let text = text.strip_suffix(':').unwrap_or(text);
        Some(text.trim_matches('"').to_owned())
    }

    /// Evaluates a `keywords` node into a keyword list.
    pub fn keywords(&mut self, node: Node<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        let mut items = Vec::new();
        for pair in children(node) {
            let key = self
                .pair_key(pair)
                .ok_or_else(|| self.invalid(pair, "a keyword without a key"))?;
            let value = pair
                .child_by_field_name("value")
                .ok_or_else(|| self.invalid(pair, "a keyword without a value"))?;
            let v = self.eval(value, dsl)?;
            items.push(Term::tuple(vec![Term::Atom(key), v]));
        }
        Ok(Term::List(items))
    }

    /// Evaluates a call's arguments (keywords as one list).
    pub fn eval_args(&mut self, args: &[Arg<'s>], dsl: &mut dyn Dsl) -> Result<Vec<Term>> {
        args.iter()
            .map(|a| match a {
                Arg::Node(n) => self.eval(*n, dsl),
                Arg::Keywords(n) => self.keywords(*n, dsl),
                Arg::Value(v) => Ok(v.clone()),
            })
            .collect()
    }

    /// Evaluates one expression.
    pub fn eval(&mut self, node: Node<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        match node.kind() {
            "integer" => self.integer(node),
            "float" => self
                .text(node)
                .replace('_', "")
                .parse::<f64>()
                .map(Term::Float)
                .map_err(|_| self.invalid(node, "a malformed float")),
            "boolean" | "nil" => Ok(Term::atom(self.text(node))),
            "atom" => Ok(Term::atom(self.text(node).trim_start_matches(':'))),
            "quoted_atom" => {
                let s = self.quoted(node, true, dsl)?;
                Ok(Term::Atom(s))
            }
            "string" => Ok(binary(&self.quoted(node, true, dsl)?)),
            "charlist" => Ok(Term::string(&self.quoted(node, true, dsl)?)),
            "sigil" => self.sigil(node, dsl),
            "alias" => Ok(Term::Atom(format!("Elixir.{}", self.text(node)))),
            "list" => self.list(node, dsl),
            "tuple" => {
                let items = children(node)
                    .into_iter()
                    .map(|c| self.eval(c, dsl))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Term::Tuple(items))
            }
            "map" => self.map(node, dsl),
            "keywords" => self.keywords(node, dsl),
            "block" => self.block(&children(node), dsl),
            "identifier" => self.identifier(node, dsl),
            "unary_operator" => self.unary(node, dsl),
            "binary_operator" => self.binary_op(node, dsl),
            "call" => self.call(node, Vec::new(), dsl),
            "access_call" => {
                let target = node.child_by_field_name("target");
                let key = node.child_by_field_name("key");
                let (Some(target), Some(key)) = (target, key) else {
                    return Err(self.invalid(node, "a malformed access"));
                };
                let container = self.eval(target, dsl)?;
                let key = self.eval(key, dsl)?;
                Ok(access(&container, &key).unwrap_or_else(nil))
            }
            _ => Err(self.unsupported(node, self.snippet(node))),
        }
    }

    fn integer(&self, node: Node<'_>) -> Result<Term> {
        let text = self.text(node).replace('_', "");
        let parsed = if let Some(hex) = text.strip_prefix("0x") {
            i64::from_str_radix(hex, 16)
        } else if let Some(oct) = text.strip_prefix("0o") {
            i64::from_str_radix(oct, 8)
        } else if let Some(bin) = text.strip_prefix("0b") {
            i64::from_str_radix(bin, 2)
        } else {
            text.parse()
        };
        parsed
            .map(Term::Integer)
            .map_err(|_| self.unsupported(node, format!("the integer {text}")))
    }

    /// The text of a string, charlist, quoted atom or sigil, with escapes
    /// and (when `interpolate`) `#{}` evaluated.
    fn quoted(&mut self, node: Node<'s>, interpolate: bool, dsl: &mut dyn Dsl) -> Result<String> {
        let heredoc = self.text(node).starts_with("\"\"\"") || self.text(node).starts_with("'''");
        let mut out = String::new();
        for part in children(node) {
            match part.kind() {
                "quoted_content" => out.push_str(self.text(part)),
                "escape_sequence" if interpolate => out.push_str(&unescape(self.text(part))),
                "escape_sequence" => out.push_str(self.text(part)),
                "interpolation" if interpolate => {
                    let inner = children(part);
                    let v = self.block(&inner, dsl)?;
                    out.push_str(&self.to_string(&v, part)?);
                }
                "sigil_name" | "sigil_modifiers" => {}
                _ => return Err(self.unsupported(part, self.snippet(part))),
            }
        }
        if heredoc {
            out = dedent_heredoc(&out);
        }
        Ok(out)
    }

    /// `to_string/1` of a value, as interpolation does it.
    pub fn to_string(&self, v: &Term, at: Node<'_>) -> Result<String> {
        match v {
            Term::Binary(b) => Ok(String::from_utf8_lossy(b).into_owned()),
            Term::Atom(a) if a == "nil" => Ok(String::new()),
            Term::Atom(a) => Ok(a.strip_prefix("Elixir.").unwrap_or(a).to_owned()),
            Term::Integer(i) => Ok(i.to_string()),
            Term::Float(f) => Ok(f.to_string()),
            Term::List(_) => v
                .as_string()
                .ok_or_else(|| self.unsupported(at, "interpolating a list that is not a charlist")),
            _ => Err(self.unsupported(at, "interpolating a tuple or map")),
        }
    }

    fn sigil(&mut self, node: Node<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        let kids = children(node);
        let name = kids
            .iter()
            .find(|c| c.kind() == "sigil_name")
            .map(|c| self.text(*c))
            .unwrap_or("");
        let modifiers = kids
            .iter()
            .find(|c| c.kind() == "sigil_modifiers")
            .map(|c| self.text(*c))
            .unwrap_or("");
        let interpolate = name.chars().all(|c| c.is_ascii_lowercase());
        let text = self.quoted(node, interpolate, dsl)?;
        match name {
            "s" | "S" => Ok(binary(&text)),
            "c" | "C" => Ok(Term::string(&text)),
            "w" | "W" => {
                let words = text.split_whitespace();
                let items = match modifiers {
                    "" | "s" => words.map(binary).collect(),
                    "a" => words.map(Term::atom).collect(),
                    "c" => words.map(Term::string).collect(),
                    _ => {
                        return Err(self.invalid(node, format!("unknown ~w modifier `{modifiers}`")))
                    }
                };
                Ok(Term::List(items))
            }
            _ => Err(self.unsupported(node, format!("the ~{name} sigil"))),
        }
    }

    fn list(&mut self, node: Node<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        let mut items = Vec::new();
        for child in children(node) {
            match child.kind() {
                "keywords" => match self.keywords(child, dsl)? {
                    Term::List(kw) => items.extend(kw),
                    _ => unreachable!("keywords evaluate to a list"),
                },
                "binary_operator" if self.operator(child) == "|" => {
                    return Err(self.unsupported(child, "an improper list or list cons `[h | t]`"));
                }
                _ => items.push(self.eval(child, dsl)?),
            }
        }
        Ok(Term::List(items))
    }

    fn map(&mut self, node: Node<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        let mut entries = Vec::new();
        for child in children(node) {
            match child.kind() {
                "struct" => return Err(self.unsupported(child, "a struct literal")),
                "map_content" => {
                    for item in children(child) {
                        match item.kind() {
                            "keywords" => {
                                if let Term::List(kw) = self.keywords(item, dsl)? {
                                    for pair in kw {
                                        if let Term::Tuple(mut kv) = pair {
                                            let v = kv.pop().unwrap_or_else(nil);
                                            let k = kv.pop().unwrap_or_else(nil);
                                            entries.push((k, v));
                                        }
                                    }
                                }
                            }
                            "binary_operator" if self.operator(item) == "=>" => {
                                let k = self.field(item, "left", dsl)?;
                                let v = self.field(item, "right", dsl)?;
                                entries.push((k, v));
                            }
                            _ => return Err(self.unsupported(item, self.snippet(item))),
                        }
                    }
                }
                _ => return Err(self.unsupported(child, self.snippet(child))),
            }
        }
        // A later duplicate key wins, as in a map literal.
        let mut unique: Vec<(Term, Term)> = Vec::new();
        for (k, v) in entries {
            unique.retain(|(old, _)| old != &k);
            unique.push((k, v));
        }
        Ok(Term::Map(unique))
    }

    fn field(&mut self, node: Node<'s>, name: &str, dsl: &mut dyn Dsl) -> Result<Term> {
        let child = node
            .child_by_field_name(name)
            .ok_or_else(|| self.invalid(node, "an incomplete expression"))?;
        self.eval(child, dsl)
    }

    fn identifier(&mut self, node: Node<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        let name = self.text(node);
        if let Some(v) = self.vars.get(name) {
            return Ok(v.clone());
        }
        match name {
            "__DIR__" => {
                let dir = self.source.path.parent().unwrap_or(Path::new("."));
                let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned());
                return Ok(binary(&dir.to_string_lossy()));
            }
            "__ENV__" | "__MODULE__" | "__CALLER__" => {
                return Err(self.unsupported(node, name.to_owned()))
            }
            _ => {}
        }
        // A zero-arity call written without parentheses.
        self.call(node, Vec::new(), dsl)
    }

    fn unary(&mut self, node: Node<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        let op = self.operator(node);
        let operand = node
            .child_by_field_name("operand")
            .ok_or_else(|| self.invalid(node, "an operator without an operand"))?;
        match op {
            "@" => self.attribute(operand, dsl),
            "-" | "+" => match self.eval(operand, dsl)? {
                Term::Integer(i) => Ok(Term::Integer(if op == "-" { -i } else { i })),
                Term::Float(f) => Ok(Term::Float(if op == "-" { -f } else { f })),
                _ => Err(self.invalid(node, format!("`{op}` needs a number"))),
            },
            "not" | "!" => Ok(boolean(!truthy(&self.eval(operand, dsl)?))),
            _ => Err(self.unsupported(
                node,
                format!("the `{op}` operator ({})", self.snippet(node)),
            )),
        }
    }

    /// `@name` reads a module attribute; `@name value` sets one.
    fn attribute(&mut self, operand: Node<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        match operand.kind() {
            "identifier" => {
                let name = self.text(operand);
                self.attrs.get(name).cloned().ok_or_else(|| {
                    self.invalid(operand, format!("module attribute @{name} is not set"))
                })
            }
            "call" => {
                let name = self
                    .call_name(operand)
                    .ok_or_else(|| self.unsupported(operand, self.snippet(operand)))?;
                let args = self.arguments(operand);
                let [value] = args.as_slice() else {
                    return Err(self.unsupported(operand, self.snippet(operand)));
                };
                let v = self.eval(*value, dsl)?;
                self.attrs.insert(name, v.clone());
                Ok(v)
            }
            _ => Err(self.unsupported(operand, self.snippet(operand))),
        }
    }

    fn binary_op(&mut self, node: Node<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        let op = self.operator(node);
        let left = node
            .child_by_field_name("left")
            .ok_or_else(|| self.invalid(node, "an incomplete expression"))?;
        let right = node
            .child_by_field_name("right")
            .ok_or_else(|| self.invalid(node, "an incomplete expression"))?;
        match op {
            "=" => {
                let v = self.eval(right, dsl)?;
                let mut bindings = HashMap::new();
                if !self.pattern(left, &v, &mut bindings, dsl)? {
                    return Err(self.invalid(node, "no match of right hand side value"));
                }
                self.vars.extend(bindings);
                return Ok(v);
            }
            "|>" => {
                let piped = self.eval(left, dsl)?;
                return match right.kind() {
                    "call" => self.call(right, vec![Arg::Value(piped)], dsl),
                    _ => {
                        Err(self.unsupported(right, format!("piping into {}", self.snippet(right))))
                    }
                };
            }
            "||" | "or" => {
                let l = self.eval(left, dsl)?;
                return if truthy(&l) {
                    Ok(l)
                } else {
                    self.eval(right, dsl)
                };
            }
            "&&" | "and" => {
                let l = self.eval(left, dsl)?;
                return if truthy(&l) {
                    self.eval(right, dsl)
                } else {
                    Ok(l)
                };
            }
            _ => {}
        }
        let l = self.eval(left, dsl)?;
        let r = self.eval(right, dsl)?;
        let bad = || self.invalid(node, format!("bad arguments to `{op}`"));
        match op {
            "<>" => match (&l, &r) {
                (Term::Binary(a), Term::Binary(b)) => Ok(Term::Binary([a.as_slice(), b].concat())),
                _ => Err(bad()),
            },
            "++" => match (l, r) {
                (Term::List(mut a), Term::List(b)) => {
                    a.extend(b);
                    Ok(Term::List(a))
                }
                _ => Err(bad()),
            },
            "==" | "===" => Ok(boolean(l == r)),
            "!=" | "!==" => Ok(boolean(l != r)),
            "<" | ">" | "<=" | ">=" => {
                let ord = l.erlang_cmp(&r);
                Ok(boolean(match op {
                    "<" => ord.is_lt(),
                    ">" => ord.is_gt(),
                    "<=" => ord.is_le(),
                    _ => ord.is_ge(),
                }))
            }
            "in" => match &r {
                Term::List(items) => Ok(boolean(items.contains(&l))),
                _ => Err(bad()),
            },
            "+" | "-" | "*" => match (l, r) {
                (Term::Integer(a), Term::Integer(b)) => match op {
                    "+" => a.checked_add(b),
                    "-" => a.checked_sub(b),
                    _ => a.checked_mul(b),
                }
                .map(Term::Integer)
                .ok_or_else(|| self.unsupported(node, "integer arithmetic beyond 64 bits")),
                _ => Err(bad()),
            },
            _ => Err(self.unsupported(node, format!("the `{op}` operator"))),
        }
    }

    /// Matches `value` against a pattern: literals, `_`, variables, and
    /// lists, tuples and keyword lists of those.
    fn pattern(
        &mut self,
        pat: Node<'s>,
        value: &Term,
        bindings: &mut HashMap<String, Term>,
        dsl: &mut dyn Dsl,
    ) -> Result<bool> {
        match pat.kind() {
            "identifier" => {
                let name = self.text(pat);
                if !name.starts_with('_') {
                    if let Some(old) = bindings.get(name) {
                        return Ok(old == value);
                    }
                    bindings.insert(name.to_owned(), value.clone());
                }
                Ok(true)
            }
            "tuple" | "list" => {
                let items = children(pat);
                let values = match (pat.kind(), value) {
                    ("tuple", Term::Tuple(v)) | ("list", Term::List(v)) => v,
                    _ => return Ok(false),
                };
                if items
                    .iter()
                    .any(|i| i.kind() == "keywords" || i.kind() == "binary_operator")
                {
                    return Err(self.unsupported(pat, format!("the pattern {}", self.snippet(pat))));
                }
                if items.len() != values.len() {
                    return Ok(false);
                }
                for (p, v) in items.iter().zip(values) {
                    if !self.pattern(*p, v, bindings, dsl)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            "integer" | "float" | "atom" | "quoted_atom" | "boolean" | "nil" | "string"
            | "charlist" | "alias" => Ok(&self.eval(pat, dsl)? == value),
            "unary_operator" if self.operator(pat) == "^" => {
                let operand = pat.child_by_field_name("operand");
                match operand {
                    Some(o) => Ok(&self.eval(o, dsl)? == value),
                    None => Ok(false),
                }
            }
            _ => Err(self.unsupported(pat, format!("the pattern {}", self.snippet(pat)))),
        }
    }

    /// A call node, with `piped` values in front of its own arguments.
    fn call(&mut self, node: Node<'s>, piped: Vec<Arg<'s>>, dsl: &mut dyn Dsl) -> Result<Term> {
        let mut args = piped;
        let target = if node.kind() == "identifier" {
            node
        } else {
            node.child_by_field_name("target")
                .ok_or_else(|| self.invalid(node, "a call without a target"))?
        };
        if node.kind() == "call" {
            for a in self.arguments(node) {
                args.push(if a.kind() == "keywords" {
                    Arg::Keywords(a)
                } else {
                    Arg::Node(a)
                });
            }
        }
        let do_block = (node.kind() == "call")
            .then(|| self.do_block(node))
            .flatten();
        match target.kind() {
            "identifier" => {
                let call = Call {
                    name: self.text(target).to_owned(),
                    node,
                    args,
                    do_block,
                };
                self.local_call(&call, dsl)
            }
            "dot" => {
                let left = target.child_by_field_name("left");
                let right = target.child_by_field_name("right");
                let (Some(left), Some(right)) = (left, right) else {
                    return Err(self.unsupported(node, self.snippet(node)));
                };
                if left.kind() != "alias" || right.kind() != "identifier" {
                    return Err(self.unsupported(node, self.snippet(node)));
                }
                let module = self.text(left);
                let fun = self.text(right);
                if do_block.is_some() {
                    return Err(self.unsupported(node, format!("{module}.{fun} with a do block")));
                }
                if !REMOTE_FUNCTIONS.contains(&format!("{module}.{fun}").as_str()) {
                    return Err(
                        self.unsupported(node, format!("a call of {module}.{fun}/{}", args.len()))
                    );
                }
                let values = self.eval_args(&args, dsl)?;
                self.remote_call(module, fun, values, node)
            }
            _ => Err(self.unsupported(node, self.snippet(node))),
        }
    }

    fn local_call(&mut self, call: &Call<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        let node = call.node;
        match call.name.as_str() {
            "if" | "unless" => return self.conditional(call, dsl),
            "case" => return self.case(call, dsl),
            "cond" => return self.cond(call, dsl),
            "config_env" => return Ok(Term::atom(&self.context.env.clone())),
            "config_target" => return Ok(Term::atom(&self.context.target.clone())),
            "def" | "defp" | "defmodule" | "defmacro" | "defmacrop" | "quote" | "fn" => {
                return Err(
                    self.unsupported(node, format!("`{}` at the top of the file", call.name))
                )
            }
            _ => {}
        }
        if self.functions.contains_key(&call.name) {
            let values = self.eval_args(&call.args, dsl)?;
            if let Some(v) = self.call_function(&call.name, values, node, dsl)? {
                return Ok(v);
            }
        }
        if let Some(v) = dsl.call(self, call)? {
            return Ok(v);
        }
        let values = self.eval_args(&call.args, dsl)?;
        match (call.name.as_str(), values.as_slice()) {
            ("to_string", [v]) => Ok(binary(&self.to_string(v, node)?)),
            ("to_charlist", [v]) => Ok(Term::string(&self.to_string(v, node)?)),
            ("is_nil", [v]) => Ok(boolean(v.as_atom() == Some("nil"))),
            ("is_binary", [v]) => Ok(boolean(matches!(v, Term::Binary(_)))),
            ("is_atom", [v]) => Ok(boolean(matches!(v, Term::Atom(_)))),
            ("is_list", [v]) => Ok(boolean(matches!(v, Term::List(_)))),
            ("elem", [Term::Tuple(items), Term::Integer(i)]) => items
                .get(*i as usize)
                .cloned()
                .ok_or_else(|| self.invalid(node, "elem/2: index out of range")),
            _ => Err(self.unsupported(node, format!("a call of `{}/{}`", call.name, values.len()))),
        }
    }

    /// The `do:`/`else:` keyword values or the do/else blocks of a call.
    fn branches(&mut self, call: &Call<'s>) -> Result<(Vec<Node<'s>>, Option<Vec<Node<'s>>>)> {
        if let Some(block) = call.do_block {
            let kids = children(block);
            let then: Vec<_> = kids
                .iter()
                .copied()
                .filter(|k| k.kind() != "else_block")
                .collect();
            let otherwise = kids
                .iter()
                .find(|k| k.kind() == "else_block")
                .map(|e| children(*e));
            return Ok((then, otherwise));
        }
        let kws = call.args.iter().find_map(|a| match a {
            Arg::Keywords(k) => Some(*k),
            _ => None,
        });
        let Some(kws) = kws else {
            return Err(self.invalid(call.node, format!("`{}` without a do block", call.name)));
        };
        let mut then = Vec::new();
        let mut otherwise = None;
        for pair in children(kws) {
            let value = pair.child_by_field_name("value");
            match (self.pair_key(pair).as_deref(), value) {
                (Some("do"), Some(v)) => then.push(v),
                (Some("else"), Some(v)) => otherwise = Some(vec![v]),
                _ => return Err(self.unsupported(pair, self.snippet(pair))),
            }
        }
        Ok((then, otherwise))
    }

    fn conditional(&mut self, call: &Call<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        let condition = match call.args.first() {
            Some(Arg::Node(n)) => *n,
            _ => {
                return Err(self.invalid(call.node, format!("`{}` without a condition", call.name)))
            }
        };
        let value = truthy(&self.eval(condition, dsl)?);
        let (then, otherwise) = self.branches(call)?;
        if value == (call.name == "if") {
            self.block(&then, dsl)
        } else {
            match otherwise {
                Some(o) => self.block(&o, dsl),
                None => Ok(nil()),
            }
        }
    }

    fn clauses(&self, call: &Call<'s>) -> Result<Vec<Node<'s>>> {
        let block = call.do_block.ok_or_else(|| {
            self.invalid(call.node, format!("`{}` without a do block", call.name))
        })?;
        Ok(children(block)
            .into_iter()
            .filter(|c| c.kind() == "stab_clause")
            .collect())
    }

    fn clause_parts(&self, clause: Node<'s>) -> Result<(Vec<Node<'s>>, Vec<Node<'s>>)> {
        let left = clause
            .child_by_field_name("left")
            .map(children)
            .unwrap_or_default();
        let right = clause
            .child_by_field_name("right")
            .map(children)
            .unwrap_or_default();
        if left.len() != 1 {
            return Err(self.unsupported(clause, self.snippet(clause)));
        }
        Ok((left, right))
    }

    fn case(&mut self, call: &Call<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        let subject = match call.args.first() {
            Some(Arg::Node(n)) => self.eval(*n, dsl)?,
            Some(Arg::Value(v)) => v.clone(),
            _ => return Err(self.invalid(call.node, "`case` without a subject")),
        };
        for clause in self.clauses(call)? {
            let (left, right) = self.clause_parts(clause)?;
            if left[0].kind() == "binary_operator" && self.operator(left[0]) == "when" {
                return Err(self.unsupported(left[0], "a `when` guard"));
            }
            let mut bindings = HashMap::new();
            if self.pattern(left[0], &subject, &mut bindings, dsl)? {
                self.vars.extend(bindings);
                return self.block(&right, dsl);
            }
        }
        Err(self.invalid(call.node, "no case clause matches"))
    }

    fn cond(&mut self, call: &Call<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        for clause in self.clauses(call)? {
            let (left, right) = self.clause_parts(clause)?;
            if truthy(&self.eval(left[0], dsl)?) {
                return self.block(&right, dsl);
            }
        }
        Err(self.invalid(call.node, "no cond clause is true"))
    }

    /// The standard-library functions config files call, evaluated at
    /// build time as Elixir would evaluate them there.
    fn remote_call(
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
const REMOTE_FUNCTIONS: &[&str] = &[
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

fn unescape(seq: &str) -> String {
    match seq {
        "\\n" => "\n".into(),
        "\\t" => "\t".into(),
        "\\r" => "\r".into(),
        "\\s" => " ".into(),
        "\\e" => "\x1b".into(),
        "\\0" => "\0".into(),
        "\\a" => "\x07".into(),
        "\\b" => "\x08".into(),
        "\\f" => "\x0c".into(),
        "\\v" => "\x0b".into(),
        _ => {
            if let Some(hex) = seq.strip_prefix("\\x") {
                if let Ok(n) = u32::from_str_radix(hex.trim_matches(['{', '}']), 16) {
                    return char::from_u32(n).map(String::from).unwrap_or_default();
                }
            }
            if let Some(hex) = seq.strip_prefix("\\u") {
                if let Ok(n) = u32::from_str_radix(hex.trim_matches(['{', '}']), 16) {
                    return char::from_u32(n).map(String::from).unwrap_or_default();
                }
            }
            seq.strip_prefix('\\').unwrap_or(seq).to_owned()
        }
    }
}

/// A heredoc's text: the newline after the opening quotes dropped and the
/// closing quotes' indentation removed from every line.
fn dedent_heredoc(text: &str) -> String {
    let body = text.strip_prefix('\n').unwrap_or(text);
    let indent = body
        .rsplit_once('\n')
        .map(|(_, last)| last)
        .filter(|last| last.chars().all(|c| c == ' '))
        .map_or(0, str::len);
    body.split('\n')
        .map(|l| &l[indent.min(l.len() - l.trim_start_matches(' ').len())..])
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(code: &str) -> Result<Term> {
        let src = Source::parse(Path::new("t.exs"), code.to_owned())?;
        let mut ev = Evaluator::new(
            &src,
            Context {
                env: "prod".into(),
                target: "host".into(),
                dir: PathBuf::from("."),
            },
        );
        ev.run(&mut NoDsl)
    }

    #[test]
    fn literals() {
        let t = eval("[a: 1_000, b: {:x, \"y#{1 + 1}\\n\", 'c'}, c: %{\"k\" => 2.5}, d: ~w(p q)a, e: :\"q a\", f: 0x1f]").unwrap();
        assert_eq!(
            crate::term::to_compact(&t),
            "[{a,1000},{b,{x,<<\"y2\\n\"/utf8>>,\"c\"}},{c,#{<<\"k\"/utf8>> => 2.5}},{d,[p,q]},{e,'q a'},{f,31}]"
        );
    }

    #[test]
    fn variables_pipes_and_control_flow() {
        let code = "x = \" v \" |> String.trim()\ny = if Mix.env() == :prod, do: x <> \"!\", else: nil\ncase y do\n  nil -> :none\n  v -> {v, not false}\nend";
        assert_eq!(
            crate::term::to_compact(&eval(code).unwrap()),
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

    #[test]
    fn keyword_merge_is_elixirs() {
        let a = eval("[a: 1, b: 2, c: 3]").unwrap();
        let b = eval("[b: 20, d: 4]").unwrap();
        let (Term::List(a), Term::List(b)) = (a, b) else {
            panic!()
        };
        let merged = Term::List(keyword_merge(a, b, &mut |_, _, n| n));
        assert_eq!(
            crate::term::to_compact(&merged),
            "[{a,1},{c,3},{b,20},{d,4}]"
        );
    }
}
