//! The evaluator proper: expressions, operators, patterns, local
//! functions and control flow.

use std::collections::HashMap;
use std::path::Path;

use tree_sitter::Node;

use super::stdlib::REMOTE_FUNCTIONS;
use super::{
    access, binary, boolean, children, line_of, nil, truthy, Arg, Call, Context, Dsl, Evaluator,
    Source,
};
use crate::error::{Error, Result};
use crate::term::Term;

impl<'s> Evaluator<'s> {
    /// An evaluator for `source` with no variables bound yet.
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

    /// The source text of `node`.
    pub fn text(&self, node: Node<'_>) -> &'s str {
        &self.source.text[node.byte_range()]
    }

    /// An [`Error::Unsupported`] for `what` at `node`.
    pub fn unsupported(&self, node: Node<'_>, what: impl Into<String>) -> Error {
        Error::Unsupported {
            path: self.source.path.clone(),
            line: line_of(node),
            construct: what.into(),
            hint: "",
        }
    }

    /// An [`Error::Parse`] with `message` at `node`.
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

    /// The name of a local call (`name(...)`), or `None` for a remote or other call.
    pub fn call_name(&self, call: Node<'_>) -> Option<String> {
        let target = call.child_by_field_name("target")?;
        (target.kind() == "identifier").then(|| self.text(target).to_owned())
    }

    /// The argument nodes of a call, in order.
    pub fn arguments(&self, call: Node<'s>) -> Vec<Node<'s>> {
        let mut cursor = call.walk();
        let args = call
            .named_children(&mut cursor)
            .find(|n| n.kind() == "arguments");
        args.map(children).unwrap_or_default()
    }

    /// The call's `do ... end` block, if it has one.
    pub fn do_block(&self, call: Node<'s>) -> Option<Node<'s>> {
        let mut cursor = call.walk();
        let found = call
            .named_children(&mut cursor)
            .find(|n| n.kind() == "do_block");
        found
    }

    pub(super) fn operator(&self, node: Node<'_>) -> &'s str {
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
