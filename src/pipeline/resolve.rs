//! The application closure of a release and each application's start type.
//!
//! The start list is built the way `mix release` builds it: kernel, stdlib,
//! elixir and sasl (`permanent`; relx releases of rebar3 projects: kernel
//! and stdlib only), then the applications the release names
//! with their start types, then the project's own application (`permanent`),
//! then `iex` as `none` unless something pulls it in. Every application
//! reachable through `applications` and `included_applications` follows,
//! sorted by name.
//!
//! Start types of the applications nobody named are inherited: a dependency
//! gets the strongest type among the applications that need it
//! (`permanent > transient > temporary > load > none`), and an included
//! application is at most `load` (its includer starts it). This is newer
//! Elixir's rule; Elixir 1.14 made every unnamed application `permanent`,
//! which starts the dependencies of a `load` application behind its back.

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, Result};
use crate::pipeline::inputs::{AppSource, Inputs};
use crate::vocab::StartType;

/// One application of the release with its start type.
#[derive(Debug, Clone)]
pub struct ResolvedApp {
    /// The application as found on disk.
    pub source: AppSource,
    /// How it is started at boot.
    pub start_type: StartType,
}

impl ResolvedApp {
    /// The application name.
    pub fn name(&self) -> &str {
        &self.source.spec.name
    }
}

/// What the release asks for before resolution.
#[derive(Debug, Clone)]
pub struct Request {
    /// Applications the release names, in order, with their start types.
    pub apps: Vec<(String, StartType)>,
    /// Whether this is a Mix release, whose start list has elixir, sasl
    /// and iex by default; relx's (`false`) has only kernel and stdlib.
    /// start list: true for Mix projects.
    pub elixir: bool,
}

/// Resolves the release's applications, in `.rel` order.
pub fn resolve(inputs: &Inputs, request: &Request) -> Result<Vec<ResolvedApp>> {
    let mut defaults = vec!["kernel", "stdlib"];
    if request.elixir {
        defaults.extend(["elixir", "sasl"]);
    }
    // As Keyword.merge: a default the release names again moves to its place.
    let mut named: Vec<(String, StartType)> = defaults
        .into_iter()
        .filter(|d| !request.apps.iter().any(|(n, _)| n == d))
        .map(|d| (d.to_owned(), StartType::Permanent))
        .collect();
    for (name, ty) in &request.apps {
        if !named.iter().any(|(n, _)| n == name) {
            named.push((name.clone(), *ty));
        }
    }

    let mut closure = Closure::default();
    for (name, _) in &named {
        closure.visit(inputs, name, None, false)?;
    }
    if request.elixir && !closure.apps.contains_key("iex") {
        closure.visit(inputs, "iex", None, false)?;
        named.push(("iex".into(), StartType::None));
    }

    let types = start_types(&closure, &named);
    check_modes(&closure, &types)?;
    check_cycles(&closure)?;
    check_unique(
        &closure,
        |s| &s.spec.modules,
        |module, first, second| Error::DuplicateModule {
            module,
            first,
            second,
        },
    )?;
    check_unique(
        &closure,
        |s| &s.spec.registered,
        |name, first, second| Error::DuplicateRegistered {
            name,
            first,
            second,
        },
    )?;

    let mut order: Vec<String> = named.iter().map(|(n, _)| n.clone()).collect();
    order.extend(
        closure
            .apps
            .keys()
            .filter(|n| !order.contains(n))
            .cloned()
            .collect::<Vec<_>>(),
    );
    Ok(order
        .into_iter()
        .map(|name| {
            let start_type = types[&name];
            let source = closure
                .apps
                .remove(&name)
                .expect("every named app was visited");
            ResolvedApp { source, start_type }
        })
        .collect())
}

#[derive(Default)]
struct Closure {
    apps: BTreeMap<String, AppSource>,
    /// Who includes each included application.
    includer: HashMap<String, String>,
    /// Who first needs each application through `applications`.
    user: HashMap<String, String>,
}

impl Closure {
    /// Adds `name` and what it needs; a missing `optional` application
    /// (one of its parent's `optional_applications`) is skipped.
    fn visit(
        &mut self,
        inputs: &Inputs,
        name: &str,
        parent: Option<&str>,
        optional: bool,
    ) -> Result<()> {
        if self.apps.contains_key(name) {
            return Ok(());
        }
        let Some(source) = inputs.find_app(name)? else {
            if optional {
                return Ok(());
            }
            return Err(Error::MissingApp {
                app: name.to_owned(),
                needed_by: parent.map_or("the release".to_owned(), |p| format!("`{p}`")),
                looked: inputs.search_path(),
            });
        };
        let spec = source.spec.clone();
        self.apps.insert(name.to_owned(), source);
        for dep in &spec.applications {
            if let Some(includer) = self.includer.get(dep) {
                return Err(Error::UsedAndIncluded {
                    app: dep.clone(),
                    user: name.to_owned(),
                    includer: includer.clone(),
                });
            }
            self.user
                .entry(dep.clone())
                .or_insert_with(|| name.to_owned());
            let optional = spec.optional_applications.contains(dep);
            self.visit(inputs, dep, Some(name), optional)?;
        }
        for inc in &spec.included_applications {
            if let Some(first) = self.includer.get(inc) {
                return Err(Error::IncludedTwice {
                    app: inc.clone(),
                    first: first.clone(),
                    second: name.to_owned(),
                });
            }
            // systools allows the one loop of an included app using its includer.
            if let Some(user) = self.user.get(inc).filter(|u| *u != name) {
                return Err(Error::UsedAndIncluded {
                    app: inc.clone(),
                    user: user.clone(),
                    includer: name.to_owned(),
                });
            }
            self.includer.insert(inc.clone(), name.to_owned());
            self.visit(inputs, inc, Some(name), false)?;
        }
        Ok(())
    }

    fn deps<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a String> + 'a {
        let spec = &self.apps[name].spec;
        let present = |d: &&String| self.apps.contains_key(d.as_str());
        spec.applications.iter().filter(present)
    }

    fn included<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a String> + 'a {
        self.apps[name].spec.included_applications.iter()
    }
}

/// Named applications keep their type; the others inherit (see module docs).
fn start_types(closure: &Closure, named: &[(String, StartType)]) -> HashMap<String, StartType> {
    let mut types: HashMap<String, StartType> = closure
        .apps
        .keys()
        .map(|n| (n.clone(), StartType::None))
        .collect();
    types.extend(named.iter().cloned());
    let fixed = |n: &str| named.iter().any(|(m, _)| m == n);
    loop {
        let mut changed = false;
        for name in closure.apps.keys() {
            let ty = types[name];
            let edges = closure
                .deps(name)
                .map(|d| (d, ty))
                .chain(closure.included(name).map(|d| (d, ty.min(StartType::Load))));
            for (dep, inherited) in edges.collect::<Vec<_>>() {
                if !fixed(dep) && types[dep] < inherited {
                    types.insert(dep.clone(), inherited);
                    changed = true;
                }
            }
        }
        if !changed {
            return types;
        }
    }
}

/// A started application cannot depend on one that is only loaded.
fn check_modes(closure: &Closure, types: &HashMap<String, StartType>) -> Result<()> {
    for name in closure.apps.keys() {
        let ty = types[name];
        if !ty.starts() {
            continue;
        }
        if let Some(dep) = closure.deps(name).find(|d| !types[d.as_str()].starts()) {
            return Err(Error::UnsafeMode {
                app: name.clone(),
                mode: ty.to_string(),
                dep: dep.clone(),
                dep_mode: types[dep].to_string(),
            });
        }
    }
    Ok(())
}

fn check_cycles(closure: &Closure) -> Result<()> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn walk(
        closure: &Closure,
        name: &str,
        marks: &mut HashMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Result<()> {
        match marks.get(name) {
            Some(Mark::Done) => return Ok(()),
            Some(Mark::Open) => {
                let start = stack.iter().position(|s| s == name).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(name.to_owned());
                return Err(Error::Cycle(cycle.join(" -> ")));
            }
            None => {}
        }
        marks.insert(name.to_owned(), Mark::Open);
        stack.push(name.to_owned());
        let includes_me = |dep: &str| {
            closure.apps[dep]
                .spec
                .included_applications
                .iter()
                .any(|i| i == name)
        };
        let edges: Vec<String> = closure
            .deps(name)
            .filter(|d| !includes_me(d))
            .chain(closure.included(name))
            .cloned()
            .collect();
        for dep in edges {
            walk(closure, &dep, marks, stack)?;
        }
        stack.pop();
        marks.insert(name.to_owned(), Mark::Done);
        Ok(())
    }
    let mut marks = HashMap::new();
    for name in closure.apps.keys() {
        walk(closure, name, &mut marks, &mut Vec::new())?;
    }
    Ok(())
}

/// Fails with `duplicate(item, first app, second app)` when two
/// applications list the same item.
fn check_unique(
    closure: &Closure,
    items: impl Fn(&AppSource) -> &Vec<String>,
    duplicate: fn(String, String, String) -> Error,
) -> Result<()> {
    let mut owner: HashMap<&str, &str> = HashMap::new();
    for (app, source) in &closure.apps {
        for item in items(source) {
            if let Some(first) = owner.insert(item, app) {
                return Err(duplicate(item.clone(), first.to_owned(), app.clone()));
            }
        }
    }
    Ok(())
}
