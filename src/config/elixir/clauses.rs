//! Local functions (`def`/`defp` clauses), patterns and control flow
//! (`if`/`unless`, `case`, `cond`).

use std::collections::HashMap;

use tree_sitter::Node;

use super::{children, nil, truthy, Arg, Call, Dsl, Evaluator};
use crate::error::Result;
use crate::term::Term;

impl<'s> Evaluator<'s> {
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

    pub(super) fn case(&mut self, call: &Call<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
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

    pub(super) fn cond(&mut self, call: &Call<'s>, dsl: &mut dyn Dsl) -> Result<Term> {
        for clause in self.clauses(call)? {
            let (left, right) = self.clause_parts(clause)?;
            if truthy(&self.eval(left[0], dsl)?) {
                return self.block(&right, dsl);
            }
        }
        Err(self.invalid(call.node, "no cond clause is true"))
    }
}
