//! The evaluator proper: expressions, operators, patterns, local
//! functions and control flow.

use std::collections::HashMap;
use std::path::Path;

use tree_sitter::Node;

use super::stdlib::REMOTE_FUNCTIONS;
use super::{
    access, binary, boolean, children, line_of, nil, truthy, weigh, Arg, Call, Context, Dsl,
    Evaluator, Source, BUDGET, EVAL_COST, MAX_NESTING, MAX_VALUE_DEPTH,
};
use crate::error::{Error, Result};
use crate::formats::term::Term;

impl<'s> Evaluator<'s> {
    /// An evaluator for `source` with no variables bound yet.
    pub fn new(source: &'s Source, context: Context) -> Evaluator<'s> {
        Evaluator {
            source,
            context,
            vars: HashMap::new(),
            attrs: HashMap::new(),
            functions: HashMap::new(),
            aliases: HashMap::new(),
            depth: 0,
            nesting: 0,
            spent: 0,
            warnings: Vec::new(),
            unset_env: Vec::new(),
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

    /// `bad arguments to ...` for a call at `node` with `args`; where one
    /// of them is `nil` and `System.get_env/1` found variables unset, it
    /// names them (those the call's own code reads, else all): the usual
    /// cause is a variable the build machine lacks.
    pub fn bad_arguments(&self, node: Node<'_>, what: &str, args: &[Term]) -> Error {
        let nil = nil();
        let mut message = format!("bad arguments to {what}");
        if args.contains(&nil) && !self.unset_env.is_empty() {
            let code = self.text(node);
            let named: Vec<&String> = self
                .unset_env
                .iter()
                .filter(|v| code.contains(&format!("\"{v}\"")))
                .collect();
            let names: Vec<&String> = if named.is_empty() {
                self.unset_env.iter().collect()
            } else {
                named
            };
            let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
            message.push_str(&format!(
                ": an argument is nil, and System.get_env found {} unset; set {} for the build",
                names.join(", "),
                if names.len() == 1 { "it" } else { "them" }
            ));
        }
        self.invalid(node, message)
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
        if self.nesting == MAX_NESTING {
            return Err(self.unsupported(
                node,
                format!("expressions nested more than {MAX_NESTING} levels deep, with the calls among them"),
            ));
        }
        self.charge(EVAL_COST, node)?;
        self.nesting += 1;
        let value = self.eval_node(node, dsl);
        self.nesting -= 1;
        value
    }

    /// Charges `units` of [`BUDGET`]; past it, evaluation stops at `at`.
    pub(super) fn charge(&mut self, units: usize, at: Node<'_>) -> Result<()> {
        self.spent = self.spent.saturating_add(units);
        if self.spent > BUDGET {
            return Err(self.over_budget(at));
        }
        Ok(())
    }

    /// The error of an evaluation that went past [`BUDGET`] at `at`.
    pub(super) fn over_budget(&self, at: Node<'_>) -> Error {
        self.unsupported(
            at,
            format!(
                "an evaluation costing more than {} MiB of steps and copies",
                BUDGET >> 20
            ),
        )
    }

    /// What is left of [`BUDGET`].
    pub(super) fn left(&self) -> usize {
        BUDGET.saturating_sub(self.spent)
    }

    /// Charges a copy, at `at`, of a bound value (read, bound or saved)
    /// that weighs `weight` ([`weigh`] to [`MAX_VALUE_DEPTH`]): `None`, a
    /// value nested deeper, is not copied.
    fn charge_copy(&mut self, weight: Option<usize>, at: Node<'_>) -> Result<()> {
        let weight = weight.ok_or_else(|| {
            self.unsupported(
                at,
                format!("a value nested more than {MAX_VALUE_DEPTH} levels deep"),
            )
        })?;
        self.charge(weight, at)
    }

    /// A copy of `value`, a bound value, charged.
    pub(super) fn copy(&mut self, value: &Term, at: Node<'_>) -> Result<Term> {
        self.charge_copy(weigh(value, MAX_VALUE_DEPTH), at)?;
        Ok(value.clone())
    }

    /// A copy of the variables `vars`, charged as [`Self::copy`] charges.
    pub(super) fn copy_vars(
        &mut self,
        vars: &HashMap<String, Term>,
        at: Node<'_>,
    ) -> Result<HashMap<String, Term>> {
        vars.iter()
            .map(|(k, v)| Ok((k.clone(), self.copy(v, at)?)))
            .collect()
    }

    /// A copy of the variables bound now, for a branch to restore after it.
    pub(super) fn saved_vars(&mut self, at: Node<'_>) -> Result<HashMap<String, Term>> {
        let vars = std::mem::take(&mut self.vars);
        let saved = self.copy_vars(&vars, at);
        self.vars = vars;
        saved
    }

    /// The charlist of `text`, charged by its size: a term a character.
    pub(super) fn charlist(&mut self, text: &str, at: Node<'_>) -> Result<Term> {
        let terms = text.chars().count();
        self.charge(terms.saturating_mul(size_of::<Term>()), at)?;
        Ok(Term::string(text))
    }

    fn eval_node(&mut self, node: Node<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        match node.kind() {
            "integer" => self.integer(node),
            "float" => self
                .text(node)
                .replace('_', "")
                .parse::<f64>()
                .map(Term::Float)
                .map_err(|_| self.invalid(node, "a malformed float")),
            "boolean" | "nil" => Ok(Term::atom(self.text(node))),
            "char" => {
                let text = self.text(node).trim_start_matches('?');
                let c = if text.starts_with('\\') {
                    unescape(text).chars().next()
                } else {
                    text.chars().next()
                };
                c.map(|c| Term::Integer(i64::from(u32::from(c))))
                    .ok_or_else(|| self.invalid(node, "a malformed character literal"))
            }
            "atom" => Ok(Term::atom(self.text(node).trim_start_matches(':'))),
            "quoted_atom" => {
                let s = self.quoted(node, true, dsl)?;
                Ok(Term::Atom(s))
            }
            "string" => Ok(binary(&self.quoted(node, true, dsl)?)),
            "charlist" => {
                let text = self.quoted(node, true, dsl)?;
                self.charlist(&text, node)
            }
            "sigil" => self.sigil(node, dsl),
            "alias" => Ok(Term::Atom(format!(
                "Elixir.{}",
                self.resolve_alias(self.text(node))
            ))),
            "list" => self.list(node, dsl),
            "tuple" => {
                let items = children(node)
                    .into_iter()
                    .map(|c| self.eval(c, dsl))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Term::Tuple(items))
            }
            "map" => self.map(node, dsl),
            "bitstring" => {
                // Bytes and strings only: `<<255, 1>>`, `<<"a", 0>>`.
                let mut bytes = Vec::new();
                for segment in children(node) {
                    match (segment.kind(), self.eval(segment, dsl)?) {
                        // As Elixir: a byte segment keeps the low 8 bits.
                        ("integer" | "unary_operator" | "char", Term::Integer(i)) => {
                            bytes.push(i as u8)
                        }
                        ("string", Term::Binary(b)) => bytes.extend(b),
                        _ => return Err(self.unsupported(segment, self.snippet(node))),
                    }
                }
                Ok(Term::Binary(bytes))
            }
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
                if self.is_project_config(target) {
                    let key = self.eval(key, dsl)?;
                    return self.project_key(&key, node);
                }
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
            "c" | "C" => self.charlist(&text, node),
            "w" | "W" => {
                // A term a word, and one a character for charlists.
                let terms =
                    text.split_whitespace().count() + if modifiers == "c" { text.len() } else { 0 };
                self.charge(terms.saturating_mul(size_of::<Term>()), node)?;
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
        if let Some(weight) = self.vars.get(name).map(|v| weigh(v, MAX_VALUE_DEPTH)) {
            self.charge_copy(weight, node)?;
            return Ok(self.vars[name].clone());
        }
        match name {
            "__DIR__" => {
                // Mix reads the file by its absolute path below the
                // project's physical directory.
                let dir = self.source.path.parent().unwrap_or(Path::new("."));
                let dir = super::stdlib::physical(dir);
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
            "not" | "!" => {
                let v = self.eval(operand, dsl)?;
                self.kernel(op, &[v], node)?
                    .ok_or_else(|| self.invalid(node, "`not` expects a boolean (ArgumentError)"))
            }
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
                let value = self.attrs.get(name).ok_or_else(|| {
                    self.invalid(operand, format!("module attribute @{name} is not set"))
                })?;
                self.charge_copy(weigh(value, MAX_VALUE_DEPTH), operand)?;
                Ok(self.attrs[name].clone())
            }
            "call" => {
                let name = self
                    .call_name(operand)
                    .ok_or_else(|| self.unsupported(operand, self.snippet(operand)))?;
                if self.do_block(operand).is_some() {
                    // As Elixir: the do block binds to the attribute's name.
                    return Err(self.invalid(
                        operand,
                        format!("the do block binds to @{name}: wrap its value in parentheses"),
                    ));
                }
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
                Ok(v)
            }
            "|>" => {
                // Left unevaluated for `Mix.Project.config() |> Keyword.get(:key)`.
                let piped = if self.is_project_config(left) {
                    Arg::Node(left)
                } else {
                    Arg::Value(self.eval(left, dsl)?)
                };
                match right.kind() {
                    "call" => self.call(right, vec![piped], dsl),
                    _ => {
                        Err(self.unsupported(right, format!("piping into {}", self.snippet(right))))
                    }
                }
            }
            _ => self.apply_operator(op, &[Arg::Node(left), Arg::Node(right)], node, dsl),
        }
    }

    /// Binary operator `op` on two arguments, as an operator or as the
    /// `Kernel` function of that name: `||`, `&&`, `and`, `or` evaluate
    /// their right side only when the left does not decide.
    fn apply_operator(
        &mut self,
        op: &str,
        args: &[Arg<'s>],
        node: Node<'s>,
        dsl: &mut dyn Dsl,
    ) -> Result<Term> {
        let [left, right] = args else {
            return Err(self.unsupported(node, format!("Kernel.{op}/{}", args.len())));
        };
        let l = self.eval_args(std::slice::from_ref(left), dsl)?.remove(0);
        if matches!(op, "and" | "or") && !matches!(l.as_atom(), Some("true" | "false")) {
            return Err(self.invalid(
                node,
                format!("`{op}` expects a boolean on its left side (BadBooleanError)"),
            ));
        }
        match (op, truthy(&l)) {
            ("||" | "or", true) | ("&&" | "and", false) => return Ok(l),
            ("||" | "or" | "&&" | "and", _) => {
                return Ok(self.eval_args(std::slice::from_ref(right), dsl)?.remove(0))
            }
            _ => {}
        }
        let r = self.eval_args(std::slice::from_ref(right), dsl)?.remove(0);
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
            "==" => Ok(boolean(equal(&l, &r))),
            "!=" => Ok(boolean(!equal(&l, &r))),
            "===" => Ok(boolean(l == r)),
            "!==" => Ok(boolean(l != r)),
            "<" | ">" | "<=" | ">=" => {
                let ord = if equal(&l, &r) {
                    std::cmp::Ordering::Equal
                } else {
                    l.erlang_cmp(&r)
                };
                Ok(boolean(match op {
                    "<" => ord.is_lt(),
                    ">" => ord.is_gt(),
                    "<=" => ord.is_le(),
                    _ => ord.is_ge(),
                }))
            }
            "in" => match &r {
                Term::List(items) => Ok(boolean(items.iter().any(|i| i == &l))),
                _ => Err(self.unsupported(node, "`in` on something other than a list")),
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
                let module = match left.kind() {
                    "alias" => self.resolve_alias(self.text(left)),
                    // An Erlang module, such as `:crypto`.
                    "atom" => self.text(left).to_owned(),
                    _ => return Err(self.unsupported(node, self.snippet(node))),
                };
                if !matches!(right.kind(), "identifier" | "operator_identifier") {
                    return Err(self.unsupported(node, self.snippet(node)));
                }
                let fun = self.text(right);
                if do_block.is_some() {
                    return Err(self.unsupported(node, format!("{module}.{fun} with a do block")));
                }
                self.remote(&module, fun, &args, node, dsl)
            }
            _ => Err(self.unsupported(node, self.snippet(node))),
        }
    }

    /// `module.fun(args)`: `Kernel`'s functions and operators, keys of
    /// `Mix.Project.config()`, and the standard library.
    fn remote(
        &mut self,
        module: &str,
        fun: &str,
        args: &[Arg<'s>],
        node: Node<'s>,
        dsl: &mut dyn Dsl,
    ) -> Result<Term> {
        let unknown = || format!("a call of {module}.{fun}/{}", args.len());
        if module == "Kernel" {
            if is_operator(fun) && args.len() == 2 {
                return self.apply_operator(fun, args, node, dsl);
            }
            let values = self.eval_args(args, dsl)?;
            return self
                .kernel(fun, &values, node)?
                .ok_or_else(|| self.unsupported(node, unknown()));
        }
        if let ("Keyword", "get" | "fetch" | "fetch!", [Arg::Node(c), key, rest @ ..]) =
            (module, fun, args)
        {
            if self.is_project_config(*c) {
                let key = self.eval_args(std::slice::from_ref(key), dsl)?.remove(0);
                let v = self.project_key(&key, node)?;
                return match (fun, rest) {
                    ("get", [] | [_]) | ("fetch!", []) => Ok(v),
                    ("fetch", []) => Ok(Term::tuple(vec![Term::atom("ok"), v])),
                    _ => Err(self.unsupported(node, unknown())),
                };
            }
        }
        if (module, fun) == ("Mix.Project", "config") && self.context.project.is_some() {
            return Err(self.unsupported(
                node,
                "Mix.Project.config() as a whole (Mix adds its defaults to project/0)",
            ));
        }
        if !REMOTE_FUNCTIONS.contains(&format!("{module}.{fun}").as_str()) {
            return Err(self.unsupported(node, unknown()));
        }
        let values = self.eval_args(args, dsl)?;
        self.remote_call(module, fun, values, node)
    }

    /// Whether `node` is `Mix.Project.config()`.
    pub(super) fn is_project_config(&self, node: Node<'_>) -> bool {
        let Some(dot) = node
            .child_by_field_name("target")
            .filter(|t| node.kind() == "call" && t.kind() == "dot")
        else {
            return false;
        };
        let part = |field| dot.child_by_field_name(field).map(|n| self.text(n));
        let module = part("left").map(|m| self.resolve_alias(m));
        module.as_deref() == Some("Mix.Project")
            && part("right") == Some("config")
            && self.arguments(node).is_empty()
    }

    /// `Mix.Project.config()[key]`. Mix merges its defaults (`deps_path`,
    /// `elixirc_paths`, ...) under `project/0`, so a key `project/0` does
    /// not set is left to `elixir` rather than answered `nil`.
    fn project_key(&self, key: &Term, at: Node<'_>) -> Result<Term> {
        let Some(project) = &self.context.project else {
            return Err(self.unsupported(at, "Mix.Project.config()"));
        };
        access(project, key).ok_or_else(|| {
            let key = crate::formats::term::to_compact(key);
            self.unsupported(
                at,
                format!("Mix.Project.config()[:{key}], a key project/0 does not set"),
            )
        })
    }

    /// `Foo.Bar` with its first segment resolved through `alias`.
    pub(super) fn resolve_alias(&self, name: &str) -> String {
        let (first, rest) = name.split_once('.').map_or((name, ""), |(f, r)| (f, r));
        match self.aliases.get(first) {
            Some(full) if rest.is_empty() => full.clone(),
            Some(full) => format!("{full}.{rest}"),
            None => name.to_owned(),
        }
    }

    /// `alias Foo.Bar` or `alias Foo.Bar, as: B`.
    fn alias(&mut self, call: &Call<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        let node = call.node;
        let (module, options) = match call.args.as_slice() {
            [Arg::Node(m)] => (*m, None),
            [Arg::Node(m), Arg::Keywords(k)] => (*m, Some(*k)),
            _ => return Err(self.unsupported(node, self.snippet(node))),
        };
        if module.kind() != "alias" {
            return Err(self.unsupported(node, self.snippet(node)));
        }
        let full = self.resolve_alias(self.text(module));
        let short = match options.map(|k| self.keywords(k, dsl)).transpose()? {
            None => full.rsplit('.').next().unwrap_or(&full).to_owned(),
            Some(opts) => match super::keyword_pairs(&opts).as_deref() {
                Some([("as", Term::Atom(a))]) => match a.strip_prefix("Elixir.") {
                    Some(short) if !short.contains('.') => short.to_owned(),
                    _ => return Err(self.invalid(node, "alias: `as:` must be a simple alias")),
                },
                _ => return Err(self.unsupported(node, self.snippet(node))),
            },
        };
        self.aliases.insert(short, full.clone());
        Ok(Term::Atom(format!("Elixir.{full}")))
    }

    fn local_call(&mut self, call: &Call<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        let node = call.node;
        match call.name.as_str() {
            "if" | "unless" => return self.conditional(call, dsl),
            "case" => return self.case(call, dsl),
            "cond" => return self.cond(call, dsl),
            "with" => return self.with(call, dsl),
            "alias" => return self.alias(call, dsl),
            "config_env" => return Ok(Term::atom(&self.context.env.clone())),
            "config_target" => return Ok(Term::atom(&self.context.target.clone())),
            "def" | "defp" | "defmodule" | "defmacro" | "defmacrop" | "quote" | "fn" => {
                return Err(
                    self.unsupported(node, format!("`{}` at the top of the file", call.name))
                )
            }
            // Special forms whose arguments are not expressions to evaluate
            // first (`for x <- list`), and raising, which the real Elixir
            // reports as the project's own error.
            "for" | "try" | "receive" | "raise" | "reraise" | "throw" | "exit" => {
                return Err(self.unsupported(node, format!("`{}`", call.name)))
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
        self.kernel(&call.name, &values, node)?.ok_or_else(|| {
            if node.kind() == "identifier" {
                let name = &call.name;
                self.unsupported(node, format!("`{name}` (no variable {name} is bound here)"))
            } else {
                self.unsupported(node, format!("a call of `{}/{}`", call.name, values.len()))
            }
        })
    }

    /// The `Kernel` functions config files call (also written
    /// `Kernel.name(...)`); `None` for others.
    fn kernel(&mut self, name: &str, values: &[Term], node: Node<'_>) -> Result<Option<Term>> {
        let is = |f: fn(&Term) -> bool| match values {
            [v] => Ok(Some(boolean(f(v)))),
            _ => Ok(None),
        };
        match (name, values) {
            ("to_string", [v]) => Ok(Some(binary(&self.to_string(v, node)?))),
            ("to_charlist", [v]) => {
                let text = self.to_string(v, node)?;
                self.charlist(&text, node).map(Some)
            }
            ("is_nil", _) => is(|v| v.as_atom() == Some("nil")),
            ("is_binary", _) => is(|v| matches!(v, Term::Binary(_))),
            ("is_atom", _) => is(|v| matches!(v, Term::Atom(_))),
            ("is_boolean", _) => is(|v| matches!(v.as_atom(), Some("true" | "false"))),
            ("is_list", _) => is(|v| matches!(v, Term::List(_))),
            ("is_integer", _) => is(|v| matches!(v, Term::Integer(_))),
            ("is_float", _) => is(|v| matches!(v, Term::Float(_))),
            ("is_number", _) => is(|v| matches!(v, Term::Integer(_) | Term::Float(_))),
            ("is_tuple", _) => is(|v| matches!(v, Term::Tuple(_))),
            ("is_map", _) => is(|v| matches!(v, Term::Map(_))),
            ("elem", [Term::Tuple(items), Term::Integer(i)]) => usize::try_from(*i)
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .map(Some)
                .ok_or_else(|| self.invalid(node, "elem/2: index out of range")),
            ("length", [Term::List(items)]) => Ok(Some(Term::Integer(items.len() as i64))),
            ("byte_size", [Term::Binary(b)]) => Ok(Some(Term::Integer(b.len() as i64))),
            ("length" | "byte_size" | "elem", _) => Err(self.bad_arguments(
                node,
                &format!("{name}/{} (ArgumentError)", values.len()),
                values,
            )),
            ("!", [v]) => Ok(Some(boolean(!truthy(v)))),
            ("not", [Term::Atom(a)]) if a == "true" || a == "false" => {
                Ok(Some(boolean(a == "false")))
            }
            _ => Ok(None),
        }
    }
}

/// The binary operators `Kernel.op(a, b)` can name.
fn is_operator(name: &str) -> bool {
    matches!(
        name,
        "||" | "&&"
            | "and"
            | "or"
            | "<>"
            | "++"
            | "=="
            | "!="
            | "==="
            | "!=="
            | "<"
            | ">"
            | "<="
            | ">="
            | "in"
            | "+"
            | "-"
            | "*"
    )
}

/// Elixir's `==`: `===`, except that an integer equals a float of the
/// same value, also inside lists, tuples and maps.
fn equal(a: &Term, b: &Term) -> bool {
    let all =
        |x: &[Term], y: &[Term]| x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q));
    match (a, b) {
        (Term::Integer(i), Term::Float(f)) | (Term::Float(f), Term::Integer(i)) => *i as f64 == *f,
        (Term::List(x), Term::List(y)) | (Term::Tuple(x), Term::Tuple(y)) => all(x, y),
        (Term::Map(x), Term::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((k1, v1), (k2, v2))| k1 == k2 && equal(v1, v2))
        }
        _ => a == b,
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
    use super::super::tests::{eval_text, eval_with};
    use crate::formats::term::Term;

    const NOT_NATIVE: &str = "not in the subset relpack evaluates natively";

    #[test]
    fn operators_called_as_kernel_functions() {
        for (code, value) in [
            (r#"Kernel.||(nil, "d")"#, r#"<<"d"/utf8>>"#),
            (r#"nil |> Kernel.||("default")"#, r#"<<"default"/utf8>>"#),
            (r#""set" |> Kernel.||("default")"#, r#"<<"set"/utf8>>"#),
            (r#""a" |> Kernel.<>("b")"#, r#"<<"ab"/utf8>>"#),
            ("Kernel.++([1], [2])", "[1,2]"),
            (
                "{Kernel.==(1, 1.0), Kernel.===(1, 1.0), Kernel.!=(1, 2)}",
                "{true,false,true}",
            ),
            ("{1 < 1.0, 1 <= 1.0, [1] == [1.0]}", "{false,true,true}"),
            ("Kernel.in(:a, [:a, :b])", "true"),
            ("Kernel.+(1, 2)", "3"),
            // The right side is not evaluated when the left decides.
            ("Kernel.&&(false, Enum.count([]))", "false"),
            (
                "Kernel.to_string(:x) <> Kernel.to_string(1)",
                r#"<<"x1"/utf8>>"#,
            ),
            (
                "{Kernel.is_binary(\"\"), Kernel.length([1, 2]), Kernel.elem({:a, :b}, 1)}",
                "{true,2,b}",
            ),
        ] {
            assert_eq!(eval_text(code), value, "{code}");
        }
    }

    #[test]
    fn strict_boolean_operators_raise_on_other_values() {
        for code in ["1 or 2", "nil and true", "not 1", "Kernel.or(1, true)"] {
            let err = eval_text(code);
            assert!(
                err.starts_with("t.exs:1: ") && err.contains("boolean"),
                "{code}: {err}"
            );
        }
        assert_eq!(eval_text("true and :x"), "x");
    }

    #[test]
    fn aliases_resolve_modules_and_calls() {
        let code = "alias Foo.Bar\nalias String, as: S\n{Bar, Bar.Baz, S.upcase(\"a\")}";
        assert_eq!(
            eval_text(code),
            r#"{'Elixir.Foo.Bar','Elixir.Foo.Bar.Baz',<<"A"/utf8>>}"#
        );
        // A module the evaluator does not know stays unsupported.
        let err = eval_text("alias Foo.Bar\nBar.x()");
        assert!(
            err.contains("t.exs:2: a call of Foo.Bar.x/0") && err.contains(NOT_NATIVE),
            "{err}"
        );
        let err = eval_text("alias Foo.{A, B}");
        assert!(
            err.contains("t.exs:1:") && err.contains(NOT_NATIVE),
            "{err}"
        );
        assert!(eval_text("Code.require_file(\"x.exs\")").contains(NOT_NATIVE));
        let err = eval_text("x = 1\ny");
        assert!(
            err.starts_with("t.exs:2: `y` (no variable y is bound here)"),
            "{err}"
        );
    }

    #[test]
    fn mix_project_config_answers_keys_project_sets() {
        let project = || {
            Some(Term::List(vec![
                Term::tuple(vec![Term::atom("app"), Term::atom("shop")]),
                Term::tuple(vec![Term::atom("version"), super::binary("1.2.3")]),
            ]))
        };
        let value = |code: &str| {
            eval_with(code, project())
                .map(|(t, _)| crate::formats::term::to_compact(&t))
                .unwrap_or_else(|e| e.to_string())
        };
        for code in [
            "Mix.Project.config()[:version]",
            "Mix.Project.config[:version]",
            "Keyword.get(Mix.Project.config(), :version)",
            "Keyword.fetch!(Mix.Project.config(), :version)",
            "Mix.Project.config() |> Keyword.get(:version, \"0.0.0\")",
            "alias Mix.Project\nProject.config()[:version]",
        ] {
            assert_eq!(value(code), r#"<<"1.2.3"/utf8>>"#, "{code}");
        }
        assert_eq!(
            value("Keyword.fetch(Mix.Project.config(), :app)"),
            "{ok,shop}"
        );
        // Mix adds defaults under project/0: keys it does not set, and the
        // whole list, are left to elixir.
        for code in [
            "Mix.Project.config()[:deps_path]",
            "c = Mix.Project.config()\nc[:version]",
        ] {
            let err = value(code);
            assert!(
                err.contains("Mix.Project.config()") && err.contains(NOT_NATIVE),
                "{err}"
            );
        }
        let err = eval_text("Mix.Project.config()[:version]");
        assert!(err.starts_with("t.exs:1: Mix.Project.config():"), "{err}");
    }

    #[test]
    fn attribute_values_may_be_with_expressions() {
        let code = "defmodule M do\n  @v with {:ok, v} <- {:ok, \"1.0\"}, do: v, else: (_ -> \"0\")\n  @w (with {:ok, v} <- :error do\n    v\n  else\n    :error -> \"none\"\n  end)\nend\n{@v, @w}";
        assert_eq!(eval_text(code), r#"{<<"1.0"/utf8>>,<<"none"/utf8>>}"#);
        let err = eval_text("@w with {:ok, v} <- :error do\n  v\nend");
        assert!(err.contains("t.exs:1: the do block binds to @w"), "{err}");
    }
}
