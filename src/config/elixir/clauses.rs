//! Local functions (`def`/`defp` clauses with guards and default
//! arguments), patterns and control flow (`if`/`unless`, `case`, `cond`,
//! `with`). As in Elixir, variables bound inside a branch do not leak out
//! of it.

use std::collections::HashMap;

use tree_sitter::Node;

use super::{children, nil, truthy, Arg, Call, Dsl, Evaluator, EVAL_COST};
use crate::error::{Error, Result};
use crate::formats::term::Term;

/// The head of a `def` clause.
struct Head<'s> {
    name: String,
    params: Vec<Node<'s>>,
    guard: Option<Node<'s>>,
}

impl<'s> Evaluator<'s> {
    /// Records the `def`/`defp` clauses, aliases and attributes of a module
    /// body without running anything else, so that calls can find them.
    pub fn define_module(&mut self, body: &[Node<'s>], dsl: &mut dyn Dsl) -> Result<()> {
        for node in body {
            match node.kind() {
                "call" => {
                    let name = self.call_name(*node);
                    match name.as_deref() {
                        Some("def" | "defp") => self.define_function(*node)?,
                        Some("alias") => {
                            self.eval(*node, dsl)?;
                        }
                        Some("use" | "import" | "require" | "defmodule") => {}
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
        let name = self.head(node)?.name;
        self.functions.entry(name).or_default().push(node);
        Ok(())
    }

    /// A `def` clause's name, parameters and `when` guard.
    fn head(&self, def: Node<'s>) -> Result<Head<'s>> {
        let head = self
            .arguments(def)
            .first()
            .copied()
            .ok_or_else(|| self.invalid(def, "a def without a name"))?;
        let (head, guard) = self.split_guard(head);
        let (name, params) = match head.kind() {
            "identifier" => (self.text(head).to_owned(), Vec::new()),
            "call" => (
                self.call_name(head)
                    .ok_or_else(|| self.unsupported(head, self.snippet(head)))?,
                self.arguments(head),
            ),
            _ => return Err(self.unsupported(head, self.snippet(head))),
        };
        Ok(Head {
            name,
            params,
            guard,
        })
    }

    /// `pattern when guard` split in two; other nodes have no guard.
    fn split_guard(&self, node: Node<'s>) -> (Node<'s>, Option<Node<'s>>) {
        if node.kind() == "binary_operator" && self.operator(node) == "when" {
            if let (Some(l), Some(r)) = (
                node.child_by_field_name("left"),
                node.child_by_field_name("right"),
            ) {
                return (l, Some(r));
            }
        }
        (node, None)
    }

    /// A parameter's default (`param \\ default`), if it has one.
    fn default_of(&self, param: Node<'s>) -> Option<(Node<'s>, Node<'s>)> {
        (param.kind() == "binary_operator" && self.operator(param) == "\\\\")
            .then(|| {
                Some((
                    param.child_by_field_name("left")?,
                    param.child_by_field_name("right")?,
                ))
            })
            .flatten()
    }

    /// Whether a guard holds with (a copy of) `vars` bound: it must be
    /// `true`, and an error inside it means the guard fails, as in Elixir.
    fn guard_holds(
        &mut self,
        guard: Option<Node<'s>>,
        vars: &HashMap<String, Term>,
        dsl: &mut dyn Dsl,
    ) -> Result<bool> {
        let Some(guard) = guard else {
            return Ok(true);
        };
        // `when a when b`: either may hold.
        let (first, rest) = self.split_guard(guard);
        if rest.is_some() {
            return Ok(
                self.guard_holds(Some(first), vars, dsl)? || self.guard_holds(rest, vars, dsl)?
            );
        }
        let vars = self.copy_vars(vars, guard)?;
        let saved = std::mem::replace(&mut self.vars, vars);
        let result = self.eval(guard, dsl);
        self.vars = saved;
        match result {
            Ok(v) => Ok(v.as_atom() == Some("true")),
            Err(Error::Parse { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Calls a function defined in the file with `def`/`defp`. As in
    /// Elixir, a function with default arguments also takes fewer
    /// arguments: the given ones fill the parameters without a default,
    /// then the defaulted ones from the left.
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
        if self.depth >= 64 {
            return Err(self.unsupported(at, format!("recursion in `{name}`")));
        }
        // Each clause's head is read again and tried.
        self.charge(clauses.len().saturating_mul(EVAL_COST), at)?;
        self.depth += 1;
        let result = self.call_clauses(name, &clauses, args, at, dsl);
        self.depth -= 1;
        result.map(Some)
    }

    fn call_clauses(
        &mut self,
        name: &str,
        clauses: &[Node<'s>],
        args: Vec<Term>,
        at: Node<'_>,
        dsl: &mut dyn Dsl,
    ) -> Result<Term> {
        let heads = clauses
            .iter()
            .map(|c| Ok((*c, self.head(*c)?)))
            .collect::<Result<Vec<_>>>()?;
        let given = args.len();
        let defaults = |h: &Head<'s>| -> Vec<Option<Node<'s>>> {
            h.params
                .iter()
                .map(|p| self.default_of(*p).map(|(_, d)| d))
                .collect()
        };
        let arity = if heads.iter().any(|(_, h)| h.params.len() == given) {
            Some(given)
        } else {
            heads.iter().map(|(_, h)| defaults(h)).find_map(|d| {
                let required = d.iter().filter(|x| x.is_none()).count();
                (required <= given && given < d.len()).then_some(d.len())
            })
        };
        let Some(arity) = arity else {
            let mut arities: Vec<String> = heads
                .iter()
                .map(|(_, h)| format!("{name}/{}", h.params.len()))
                .collect();
            arities.dedup();
            return Err(self.invalid(
                at,
                format!(
                    "undefined function {name}/{given} (the file defines {})",
                    arities.join(", ")
                ),
            ));
        };
        let args = if arity == given {
            args
        } else {
            // The defaults are those of the clause (or bodiless head) that declares them.
            let declared = heads
                .iter()
                .map(|(_, h)| defaults(h))
                .find(|d| d.len() == arity && d.iter().any(Option::is_some))
                .unwrap_or_default();
            let required = declared.iter().filter(|d| d.is_none()).count();
            let mut supplied = given - required;
            let mut values = args.into_iter();
            let mut full = Vec::with_capacity(arity);
            for default in declared {
                match default {
                    Some(expr) if supplied == 0 => {
                        let saved = std::mem::take(&mut self.vars);
                        let v = self.eval(expr, dsl);
                        self.vars = saved;
                        full.push(v?);
                    }
                    Some(_) => {
                        supplied -= 1;
                        full.extend(values.next());
                    }
                    None => full.extend(values.next()),
                }
            }
            full
        };
        for (clause, head) in heads {
            let Some(body) = self.function_body(clause) else {
                continue;
            };
            if head.params.len() != arity {
                continue;
            }
            let mut bindings = HashMap::new();
            let mut matched = true;
            for (p, v) in head.params.iter().zip(&args) {
                let pat = self.default_of(*p).map_or(*p, |(pat, _)| pat);
                if !self.pattern(pat, v, &mut bindings, dsl)? {
                    matched = false;
                    break;
                }
            }
            if !matched || !self.guard_holds(head.guard, &bindings, dsl)? {
                continue;
            }
            let saved = std::mem::replace(&mut self.vars, bindings);
            let result = self.body(body, dsl);
            self.vars = saved;
            return result;
        }
        Err(self.invalid(
            at,
            format!("no clause of `{name}/{arity}` matches (FunctionClauseError)"),
        ))
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

    /// Matches `value` against a pattern: literals, `_`, variables, and
    /// lists, tuples and keyword lists of those.
    pub(super) fn pattern(
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
                    let value = self.copy(value, pat)?;
                    bindings.insert(name.to_owned(), value);
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

    pub(super) fn conditional(&mut self, call: &Call<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        let condition = match call.args.first() {
            Some(Arg::Node(n)) => *n,
            _ => {
                return Err(self.invalid(call.node, format!("`{}` without a condition", call.name)))
            }
        };
        let value = truthy(&self.eval(condition, dsl)?);
        let (then, otherwise) = self.branches(call)?;
        if value == (call.name == "if") {
            self.scoped(&then, call.node, dsl)
        } else {
            match otherwise {
                Some(o) => self.scoped(&o, call.node, dsl),
                None => Ok(nil()),
            }
        }
    }

    /// Evaluates a branch (of the call at `at`); what it binds is dropped
    /// after it.
    fn scoped(&mut self, nodes: &[Node<'s>], at: Node<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        let saved = self.saved_vars(at)?;
        let result = self.block(nodes, dsl);
        self.vars = saved;
        result
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

    /// A `pattern [when guard] -> body` clause: its one pattern, its
    /// guard and its body.
    #[allow(clippy::type_complexity)]
    fn clause_parts(
        &self,
        clause: Node<'s>,
    ) -> Result<(Node<'s>, Option<Node<'s>>, Vec<Node<'s>>)> {
        let (left, guard) = match clause.child_by_field_name("left") {
            Some(l) => {
                let (l, guard) = self.split_guard(l);
                (children(l), guard)
            }
            None => (Vec::new(), None),
        };
        let right = clause
            .child_by_field_name("right")
            .map(children)
            .unwrap_or_default();
        match left.as_slice() {
            [pattern] => Ok((*pattern, guard, right)),
            _ => Err(self.unsupported(clause, self.snippet(clause))),
        }
    }

    pub(super) fn case(&mut self, call: &Call<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        let subject = match call.args.first() {
            Some(Arg::Node(n)) => self.eval(*n, dsl)?,
            Some(Arg::Value(v)) => v.clone(),
            _ => return Err(self.invalid(call.node, "`case` without a subject")),
        };
        let clauses = self.clauses(call)?;
        self.match_clauses(&clauses, &subject, dsl)?
            .ok_or_else(|| self.invalid(call.node, "no case clause matches (CaseClauseError)"))
    }

    /// The body's value of the first clause (`pattern [when guard] ->
    /// body`) that matches `subject`; `None` when none does.
    fn match_clauses(
        &mut self,
        clauses: &[Node<'s>],
        subject: &Term,
        dsl: &mut dyn Dsl,
    ) -> Result<Option<Term>> {
        for clause in clauses {
            self.charge(EVAL_COST, *clause)?;
            let (pat, guard, right) = self.clause_parts(*clause)?;
            let mut bindings = HashMap::new();
            if !self.pattern(pat, subject, &mut bindings, dsl)? {
                continue;
            }
            let mut scope = self.saved_vars(*clause)?;
            scope.extend(bindings);
            if !self.guard_holds(guard, &scope, dsl)? {
                continue;
            }
            let saved = std::mem::replace(&mut self.vars, scope);
            let result = self.block(&right, dsl);
            self.vars = saved;
            return result.map(Some);
        }
        Ok(None)
    }

    pub(super) fn cond(&mut self, call: &Call<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        for clause in self.clauses(call)? {
            let (condition, _, right) = self.clause_parts(clause)?;
            if truthy(&self.eval(condition, dsl)?) {
                return self.scoped(&right, clause, dsl);
            }
        }
        Err(self.invalid(call.node, "no cond clause is true (CondClauseError)"))
    }

    /// `with pattern <- expr, ..., do: body, else: clauses` (or do/else
    /// blocks): the body when every clause matches; else the first value
    /// that did not match, through the `else` clauses if there are any.
    pub(super) fn with(&mut self, call: &Call<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        let mut steps = Vec::new();
        let mut body = None;
        let mut otherwise = None;
        for arg in &call.args {
            match arg {
                Arg::Node(n) => steps.push(*n),
                Arg::Keywords(k) => {
                    for pair in children(*k) {
                        let value = pair.child_by_field_name("value");
                        match (self.pair_key(pair).as_deref(), value) {
                            (Some("do"), Some(v)) => body = Some(v),
                            (Some("else"), Some(v)) if v.kind() == "block" => {
                                otherwise = Some(stab_clauses(v));
                            }
                            _ => return Err(self.unsupported(pair, self.snippet(pair))),
                        }
                    }
                }
                Arg::Value(_) => return Err(self.unsupported(call.node, "piping into `with`")),
            }
        }
        if let Some(block) = call.do_block {
            body = Some(block);
            otherwise = children(block)
                .into_iter()
                .find(|c| c.kind() == "else_block")
                .map(stab_clauses);
        }
        let body = body.ok_or_else(|| self.invalid(call.node, "`with` without a do block"))?;
        let saved = self.saved_vars(call.node)?;
        let result = self.with_steps(&steps, body, dsl);
        self.vars = saved;
        match (result?, otherwise) {
            (Ok(v), _) | (Err((v, _)), None) => Ok(v),
            (Err((v, at)), Some(clauses)) => self
                .match_clauses(&clauses, &v, dsl)?
                .ok_or_else(|| self.invalid(at, "no `with` else clause matches (WithClauseError)")),
        }
    }

    /// The body's value, or the value (and clause) that did not match.
    #[allow(clippy::type_complexity)]
    fn with_steps(
        &mut self,
        steps: &[Node<'s>],
        body: Node<'s>,
        dsl: &mut dyn Dsl,
    ) -> Result<std::result::Result<Term, (Term, Node<'s>)>> {
        for step in steps {
            let arrow = (step.kind() == "binary_operator" && self.operator(*step) == "<-")
                .then(|| {
                    Some((
                        step.child_by_field_name("left")?,
                        step.child_by_field_name("right")?,
                    ))
                })
                .flatten();
            let Some((left, right)) = arrow else {
                // A bare expression, such as `x = y`: a failed match raises.
                self.eval(*step, dsl)?;
                continue;
            };
            let (pat, guard) = self.split_guard(left);
            let v = self.eval(right, dsl)?;
            let mut bindings = HashMap::new();
            if !self.pattern(pat, &v, &mut bindings, dsl)? {
                return Ok(Err((v, *step)));
            }
            // Bound before the guard; `with` drops them all after.
            self.vars.extend(bindings);
            let scope = std::mem::take(&mut self.vars);
            let holds = self.guard_holds(guard, &scope, dsl);
            self.vars = scope;
            if !holds? {
                return Ok(Err((v, *step)));
            }
        }
        self.body(body, dsl).map(Ok)
    }
}

/// The `pattern -> body` clauses of an `else` block or `else:` value.
fn stab_clauses(node: Node<'_>) -> Vec<Node<'_>> {
    children(node)
        .into_iter()
        .filter(|c| c.kind() == "stab_clause")
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::eval_text;

    #[test]
    fn guards_choose_def_and_case_clauses() {
        let code = r#"
defmodule M do
  def kind(x) when x in [:a, :b], do: :listed
  def kind(x) when is_binary(x) and byte_size(x) > 0, do: :text
  def kind(x) when is_integer(x) or is_float(x), do: :number
  def kind(x) when length(x) > 0, do: :list
  def kind(x) when x, do: :truthy
  def kind(_), do: :other
end
{kind(:b), kind("s"), kind(""), kind(1.5), kind([1]), kind(:c), kind(true),
 case {:ok, 3} do
   {:ok, n} when n > 5 -> :big
   {:ok, n} when n > 1 when n < -1 -> :fair
   _ -> :none
 end}"#;
        // An error in a guard (length of an atom) fails the guard; only
        // `true` passes.
        assert_eq!(
            eval_text(code),
            "{listed,text,other,number,list,other,truthy,fair}"
        );
    }

    #[test]
    fn default_arguments_fill_missing_parameters() {
        let code = r#"
defmodule M do
  @fallback "0.0.0"
  defp version(default \\ @fallback), do: System.get_env("RELPACK_NEVER_SET_VSN") || default
  def f(a, b \\ :b, c, d \\ :d), do: {a, b, c, d}
  def g(x, opts \\ [])
  def g(x, opts) when is_list(opts), do: {x, opts}
end
{version(), version("1.0"), f(1, 2), f(1, 2, 3), f(1, 2, 3, 4), g(:x), g(:x, [y: 1])}"#;
        assert_eq!(
            eval_text(code),
            r#"{<<"0.0.0"/utf8>>,<<"1.0"/utf8>>,{1,b,2,d},{1,2,3,d},{1,2,3,4},{x,[]},{x,[{y,1}]}}"#
        );
        let err = eval_text("defmodule M do\n  def f(a), do: a\nend\nf()");
        assert_eq!(
            err,
            "t.exs:4: undefined function f/0 (the file defines f/1)"
        );
        let err = eval_text("defmodule M do\n  def f(:a), do: 1\nend\nf(:b)");
        assert_eq!(
            err,
            "t.exs:4: no clause of `f/1` matches (FunctionClauseError)"
        );
    }

    #[test]
    fn with_matches_in_order_and_falls_to_else() {
        for (code, value) in [
            ("with {:ok, v} <- {:ok, 1}, y = v + 1, do: y", "2"),
            ("with {:ok, v} <- :error, do: v", "error"),
            ("with {:ok, v} <- :error, do: v, else: (:error -> :e)", "e"),
            (
                "with {:ok, v} when is_binary(v) <- {:ok, 1} do\n  v\nelse\n  {:ok, _} -> :not_text\nend",
                "not_text",
            ),
            ("with x <- 1, y = x, do: {x, y}", "{1,1}"),
            // Bindings stay inside the with.
            ("x = 0\nwith x <- 1, do: x\nx", "0"),
        ] {
            assert_eq!(eval_text(code), value, "{code}");
        }
        let err = eval_text("with {:ok, v} <- :error, do: v, else: (:other -> 1)");
        assert!(
            err.contains("t.exs:1:") && err.contains("WithClauseError"),
            "{err}"
        );
        let err = eval_text("with {:ok, v} = :error, do: v");
        assert!(err.contains("t.exs:1: no match"), "{err}");
    }

    #[test]
    fn module_aliases_reach_its_functions() {
        let code = "defmodule M do\n  alias Shop.Config.Provider\n  def providers, do: [{Provider, []}]\nend\nproviders()";
        assert_eq!(eval_text(code), "[{'Elixir.Shop.Config.Provider',[]}]");
    }

    #[test]
    fn branches_do_not_leak_bindings() {
        let code = "x = 1\ncase 2 do\n  x -> x\nend\nif true do\n  x = 3\nend\ncond do\n  true -> x = 4\nend\nx";
        assert_eq!(eval_text(code), "1");
        // The subject's and condition's bindings stay, as in Elixir.
        assert_eq!(eval_text("case y = 5 do\n  _ -> :ok\nend\ny"), "5");
    }
}
