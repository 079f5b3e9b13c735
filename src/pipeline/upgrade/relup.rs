//! The `relup`, computed as `systools:make_relup/4` computes it
//! (`systools_relup` collects the scripts, `systools_rc` expands and
//! orders them), from the two releases and the new release's appups.
//!
//! One choice is relpack's own: where the dependencies between the
//! changed modules of one group allow several orders, systools takes the
//! one its `digraph` tables happen to hold; relpack orders such modules by
//! their position in the appups. Every order it gives is one systools may
//! give, and a group whose dependencies form a chain has only one.

use std::collections::BTreeMap;

use crate::formats::term::Term;

/// An application of a release, as the relup needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct RelApp {
    /// The application name.
    pub name: String,
    /// Its version.
    pub vsn: String,
    /// Its start type in the `.rel` (`permanent` when the `.rel` gives none).
    pub start_type: String,
    /// The modules its `.app` lists.
    pub modules: Vec<String>,
}

/// A release: its version, ERTS and applications in `.rel` order.
#[derive(Debug, Clone, PartialEq)]
pub struct Rel {
    /// The release version.
    pub vsn: String,
    /// The ERTS version of its `.rel`.
    pub erts_vsn: String,
    /// The applications, in `.rel` order.
    pub apps: Vec<RelApp>,
}

impl Rel {
    fn app(&self, name: &str) -> Option<&RelApp> {
        self.apps.iter().find(|a| a.name == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Up,
    Down,
}

/// The relup term `{Vsn, [{From, [], Up}], [{From, [], Down}]}` for
/// upgrading each of `bases` to `top` and back (the entries last base
/// first, as systools lists them). `top_order` is the new release's
/// applications in boot order (systools' `sort_appls`), `appups` the appup
/// term of each application of `top` whose version changed. Errors are
/// systools' own reasons, as text.
pub fn relup(
    top: &Rel,
    top_order: &[String],
    bases: &[Rel],
    appups: &BTreeMap<String, Term>,
) -> Result<Term, String> {
    let (mut up, mut down) = (Vec::new(), Vec::new());
    for base in bases.iter().rev() {
        let entry = |instrs| {
            Term::tuple(vec![
                Term::string(&base.vsn),
                Term::List(Vec::new()),
                Term::List(instrs),
            ])
        };
        up.push(entry(direction(Mode::Up, top, top_order, base, appups)?));
        down.push(entry(direction(Mode::Down, top, top_order, base, appups)?));
    }
    Ok(Term::tuple(vec![
        Term::string(&top.vsn),
        Term::List(up),
        Term::List(down),
    ]))
}

fn atom(name: &str) -> Term {
    Term::atom(name)
}

fn tup(items: Vec<Term>) -> Term {
    Term::Tuple(items)
}

fn apply(m: &str, f: &str, args: Vec<Term>) -> Term {
    tup(vec![
        atom("apply"),
        tup(vec![atom(m), atom(f), Term::List(args)]),
    ])
}

/// The instructions of one direction: systools_relup's scripts, then
/// systools_rc's translation.
fn direction(
    mode: Mode,
    top: &Rel,
    top_order: &[String],
    base: &Rel,
    appups: &BTreeMap<String, Term>,
) -> Result<Vec<Term>, String> {
    let mut scripts: Vec<Vec<Term>> = Vec::new();
    // Applications in both releases whose version changed, in boot order.
    for name in top_order {
        let (Some(new), Some(old)) = (top.app(name), base.app(name)) else {
            continue;
        };
        if new.vsn == old.vsn {
            continue;
        }
        let appup = appups
            .get(name)
            .ok_or_else(|| format!("no appup for {name} {} -> {}", old.vsn, new.vsn))?;
        scripts.push(appup_script(appup, mode, &old.vsn)?.ok_or_else(|| {
            format!(
                "the appup of {name} {} has no {} instructions for version {}",
                new.vsn,
                if mode == Mode::Up {
                    "upgrade"
                } else {
                    "downgrade"
                },
                old.vsn
            )
        })?);
    }
    // Downgrading, the roles of the releases swap.
    let (from, to) = match mode {
        Mode::Up => (base, top),
        Mode::Down => (top, base),
    };
    let added: Vec<Vec<Term>> = to
        .apps
        .iter()
        .filter(|a| from.app(&a.name).is_none())
        .map(|a| {
            vec![tup(vec![
                atom("add_application"),
                atom(&a.name),
                atom(&a.start_type),
            ])]
        })
        .collect();
    let removed = from
        .apps
        .iter()
        .filter(|a| to.app(&a.name).is_none())
        .map(|a| vec![tup(vec![atom("remove_application"), atom(&a.name)])]);
    let mut all: Vec<Vec<Term>> = added;
    all.append(&mut scripts);
    all.extend(removed);
    if top.erts_vsn != base.erts_vsn {
        all.insert(0, vec![atom("restart_new_emulator")]);
    }
    // The applications the instructions refer to: those of the release
    // being moved to, and of the one being left.
    translate(mode, &all, &to.apps, &from.apps)
}

/// The up or down instructions for `from_vsn` in an appup
/// `{Vsn, [{UpFrom, Instrs}], [{DownTo, Instrs}]}`.
fn appup_script(appup: &Term, mode: Mode, from_vsn: &str) -> Result<Option<Vec<Term>>, String> {
    let list = appup
        .as_tuple()
        .and_then(|parts| parts.get(if mode == Mode::Up { 1 } else { 2 }))
        .and_then(Term::as_list)
        .unwrap_or(&[]);
    Ok(appup_entry(list, from_vsn)?.map(<[Term]>::to_vec))
}

/// The instructions of the first entry `{Vsn, Instrs}` of an appup's up or
/// down list that selects `vsn`, as systools picks it: a string equal to
/// it, or a binary holding a regular expression that matches all of it.
pub fn appup_entry<'a>(list: &'a [Term], vsn: &str) -> Result<Option<&'a [Term]>, String> {
    for entry in list {
        let Some([key, Term::List(instrs)]) = entry.as_tuple() else {
            continue;
        };
        let selected = match key {
            Term::Binary(bytes) => {
                let pattern =
                    std::str::from_utf8(bytes).map_err(|_| "a version pattern is not UTF-8")?;
                super::pattern::selects(pattern, vsn)?
            }
            other => other.as_string().as_deref() == Some(vsn),
        };
        if selected {
            return Ok(Some(instrs));
        }
    }
    Ok(None)
}

fn tag(t: &Term) -> Option<&str> {
    t.as_tuple()?.first()?.as_atom()
}

fn is(t: &Term, name: &str, size: usize) -> bool {
    tag(t) == Some(name) && t.as_tuple().map_or(0, <[Term]>::len) == size
}

fn el(t: &Term, i: usize) -> &Term {
    &t.as_tuple().expect("checked to be a tuple")[i]
}

const BP: &str = "brutal_purge";

/// systools_rc:expand_script/1: high-level abbreviations written out.
fn expand(script: &[Term]) -> Vec<Term> {
    let bp = || atom(BP);
    let mut out = Vec::new();
    for i in script {
        let items = i.as_tuple().unwrap_or(&[]);
        let list = |t: &Term| matches!(t, Term::List(_));
        let change = |t: &Term| matches!(t, Term::Tuple(_)) || t.as_atom() == Some("soft");
        let e = match (tag(i), items) {
            (Some("load_module"), [_, m]) => tup(vec![
                atom("load_module"),
                m.clone(),
                bp(),
                bp(),
                Term::List(vec![]),
            ]),
            (Some("load_module"), [_, m, mods]) if list(mods) => tup(vec![
                atom("load_module"),
                m.clone(),
                bp(),
                bp(),
                mods.clone(),
            ]),
            (Some("update"), [_, m]) => tup(vec![
                atom("update"),
                m.clone(),
                atom("soft"),
                bp(),
                bp(),
                Term::List(vec![]),
            ]),
            (Some("update"), [_, m, s]) if s.as_atom() == Some("supervisor") => tup(vec![
                atom("update"),
                m.clone(),
                atom("static"),
                atom("default"),
                tup(vec![atom("advanced"), Term::List(vec![])]),
                bp(),
                bp(),
                Term::List(vec![]),
            ]),
            (Some("update"), [_, m, c]) if change(c) => tup(vec![
                atom("update"),
                m.clone(),
                c.clone(),
                bp(),
                bp(),
                Term::List(vec![]),
            ]),
            (Some("update"), [_, m, mods]) if list(mods) => tup(vec![
                atom("update"),
                m.clone(),
                atom("soft"),
                bp(),
                bp(),
                mods.clone(),
            ]),
            (Some("update"), [_, m, c, mods]) if change(c) && list(mods) => tup(vec![
                atom("update"),
                m.clone(),
                c.clone(),
                bp(),
                bp(),
                mods.clone(),
            ]),
            (Some("add_application"), [_, a]) => {
                tup(vec![atom("add_application"), a.clone(), atom("permanent")])
            }
            _ => i.clone(),
        };
        match e {
            Term::List(items) => out.extend(items),
            e => out.push(e),
        }
    }
    out
}

fn split_instrs(script: &[Term]) -> Result<(Vec<Term>, Vec<Term>), String> {
    let ponr: Vec<usize> = script
        .iter()
        .enumerate()
        .filter(|(_, t)| t.as_atom() == Some("point_of_no_return"))
        .map(|(i, _)| i)
        .collect();
    match ponr[..] {
        [] => Ok((Vec::new(), script.to_vec())),
        [i] => Ok((script[..i].to_vec(), script[i + 1..].to_vec())),
        _ => Err("too_many_point_of_no_return".into()),
    }
}

/// systools_rc:split_script/1: before the point of no return only
/// `load_object_code` and `apply`; `load_object_code` after it moves
/// before.
fn split_script(script: &[Term]) -> Result<(Vec<Term>, Vec<Term>), String> {
    let (mut before, after) = split_instrs(script)?;
    if let Some(bad) = before
        .iter()
        .find(|i| tag(i) != Some("load_object_code") && tag(i) != Some("apply"))
    {
        return Err(format!(
            "bad_op_before_point_of_no_return: {}",
            crate::formats::term::to_compact(bad)
        ));
    }
    let (found, rest): (Vec<Term>, Vec<Term>) = after
        .into_iter()
        .partition(|i| tag(i) == Some("load_object_code"));
    before.extend(found);
    Ok((before, rest))
}

fn translate(
    mode: Mode,
    scripts: &[Vec<Term>],
    appls: &[RelApp],
    pre_appls: &[RelApp],
) -> Result<Vec<Term>, String> {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for script in scripts {
        let (b, a) = split_script(&expand(script))?;
        before.extend(b);
        after.extend(a);
    }
    let mut merged = before;
    merged.push(atom("point_of_no_return"));
    merged.extend(after);
    merged.iter().try_for_each(check_op)?;
    let normalized: Vec<Term> = merged.iter().map(normalize).collect();
    let (before, after) = split_script(&normalized)?;
    check_load(&before, &after)?;
    let after = translate_application_instrs(&after, appls, pre_appls)?;
    let after: Vec<Term> = after
        .into_iter()
        .map(|i| {
            if is(&i, "add_module", 3) {
                tup(vec![
                    atom("load_module"),
                    el(&i, 1).clone(),
                    atom(BP),
                    atom(BP),
                    el(&i, 2).clone(),
                ])
            } else {
                i
            }
        })
        .collect();
    let (dep_before, after) = translate_dependent(mode, &after, appls)?;
    let mut before = before;
    before.extend(dep_before);
    let before = merge_load_object_code(&before)?;
    let (before, after) = sort_emulator_restart(mode, before, after);
    let mut out = before;
    out.push(atom("point_of_no_return"));
    out.extend(after);
    out.iter().try_for_each(check_op)?;
    Ok(out)
}

/// systools_rc:normalize_instrs/1.
fn normalize(i: &Term) -> Term {
    let items = i.as_tuple().unwrap_or(&[]);
    match (tag(i), items.len()) {
        (Some("update"), 6) => {
            let mut v = vec![
                atom("update"),
                items[1].clone(),
                atom("dynamic"),
                atom("default"),
            ];
            v.extend_from_slice(&items[2..]);
            tup(v)
        }
        (Some("update"), 7) => {
            let mut v = vec![atom("update"), items[1].clone(), atom("dynamic")];
            v.extend_from_slice(&items[2..]);
            tup(v)
        }
        (Some(t @ ("add_module" | "delete_module")), 2) => {
            tup(vec![atom(t), items[1].clone(), Term::List(vec![])])
        }
        _ => i.clone(),
    }
}

/// Every `load` after the point of no return has its object code loaded
/// before it.
fn check_load(before: &[Term], after: &[Term]) -> Result<(), String> {
    for i in after.iter().filter(|i| is(i, "load", 2)) {
        let module = el(el(i, 1), 0);
        let found = before.iter().any(|b| {
            is(b, "load_object_code", 2)
                && el(el(b, 1), 2)
                    .as_list()
                    .is_some_and(|mods| mods.contains(module))
        });
        if !found {
            return Err(format!(
                "no_object_code: {}",
                crate::formats::term::to_compact(module)
            ));
        }
    }
    Ok(())
}

fn modules_of<'a>(name: &str, apps: &'a [RelApp]) -> Option<&'a RelApp> {
    apps.iter().find(|a| a.name == name)
}

/// systools_rc:translate_application_instrs/3.
fn translate_application_instrs(
    script: &[Term],
    appls: &[RelApp],
    pre_appls: &[RelApp],
) -> Result<Vec<Term>, String> {
    let start = |name: &Term, ty: &str| -> Vec<Term> {
        match ty {
            "none" => vec![],
            "load" => vec![apply("application", "load", vec![name.clone()])],
            _ => vec![apply("application", "start", vec![name.clone(), atom(ty)])],
        }
    };
    let remove = |app: &RelApp, name: &Term| -> Vec<Term> {
        let mut v = vec![apply("application", "stop", vec![name.clone()])];
        v.extend(
            app.modules
                .iter()
                .map(|m| tup(vec![atom("remove"), tup(vec![atom(m), atom(BP), atom(BP)])])),
        );
        v.push(tup(vec![atom("purge"), Term::atoms(&app.modules)]));
        v
    };
    let no_such = |name: &Term| {
        format!(
            "no_such_application: {}",
            crate::formats::term::to_compact(name)
        )
    };
    let mut out = Vec::new();
    for i in script {
        if is(i, "add_application", 3) {
            let name = el(i, 1);
            let app =
                modules_of(name.as_atom().unwrap_or(""), appls).ok_or_else(|| no_such(name))?;
            out.extend(
                app.modules
                    .iter()
                    .map(|m| tup(vec![atom("add_module"), atom(m), Term::List(vec![])])),
            );
            out.extend(start(name, el(i, 2).as_atom().unwrap_or("")));
        } else if is(i, "remove_application", 2) {
            let name = el(i, 1);
            let n = name.as_atom().unwrap_or("");
            if modules_of(n, appls).is_some() {
                return Err(format!(
                    "removed_application_present: {}",
                    crate::formats::term::to_compact(name)
                ));
            }
            let app = modules_of(n, pre_appls).ok_or_else(|| no_such(name))?;
            out.extend(remove(app, name));
            out.push(apply("application", "unload", vec![name.clone()]));
        } else if is(i, "restart_application", 2) {
            let name = el(i, 1);
            let n = name.as_atom().unwrap_or("");
            let pre = modules_of(n, pre_appls).ok_or_else(|| no_such(name))?;
            let post = modules_of(n, appls).ok_or_else(|| no_such(name))?;
            out.extend(remove(pre, name));
            out.extend(
                post.modules
                    .iter()
                    .map(|m| tup(vec![atom("add_module"), atom(m), Term::List(vec![])])),
            );
            out.extend(start(name, &post.start_type));
        } else {
            out.push(i.clone());
        }
    }
    Ok(out)
}

const DEP_INSTRS: &[&str] = &["update", "load_module", "add_module", "delete_module"];

fn is_dep(i: &Term) -> bool {
    i.as_tuple().is_some_and(|t| t.len() > 1) && tag(i).is_some_and(|t| DEP_INSTRS.contains(&t))
}

/// A module instruction: its module, the modules it depends on, its
/// position.
struct Vertex<'a> {
    module: &'a Term,
    deps: Vec<usize>,
    instr: &'a Term,
}

/// systools_rc:translate_dependent_instrs/4: the module instructions are
/// grouped into connected groups of dependencies; the first instruction
/// of a group brings the whole group, ordered by dependency, in its place.
fn translate_dependent(
    mode: Mode,
    after: &[Term],
    appls: &[RelApp],
) -> Result<(Vec<Term>, Vec<Term>), String> {
    let dep_instrs: Vec<&Term> = after.iter().filter(|i| is_dep(i)).collect();
    let mut vertices: Vec<Vertex> = Vec::new();
    for i in &dep_instrs {
        let module = el(i, 1);
        if vertices.iter().any(|v| v.module == module) {
            return Err(format!(
                "muldef_module: {}",
                crate::formats::term::to_compact(module)
            ));
        }
        vertices.push(Vertex {
            module,
            deps: Vec::new(),
            instr: i,
        });
    }
    for n in 0..vertices.len() {
        let t = vertices[n].instr.as_tuple().unwrap_or(&[]);
        let mods = t.last().and_then(Term::as_list).unwrap_or(&[]);
        for m in mods {
            let d = vertices
                .iter()
                .position(|v| v.module == m)
                .ok_or_else(|| format!("undef_module: {}", crate::formats::term::to_compact(m)))?;
            vertices[n].deps.push(d);
        }
    }
    let component = weak_components(&vertices);
    let mut done = vec![false; vertices.len()];
    let (mut before, mut out) = (Vec::new(), Vec::new());
    for i in after {
        if !is_dep(i) {
            out.push(i.clone());
            continue;
        }
        let v = vertices
            .iter()
            .position(|v| std::ptr::eq(v.instr, i))
            .expect("every module instruction is a vertex");
        if done[v] {
            continue;
        }
        let group: Vec<usize> = (0..vertices.len())
            .filter(|&u| component[u] == component[v])
            .collect();
        let ordered = dependency_order(&vertices, &group);
        for &u in &ordered {
            done[u] = true;
        }
        let instrs: Vec<&Term> = ordered.iter().map(|&u| vertices[u].instr).collect();
        let (b, a) = to_low_level(mode, &instrs, appls)?;
        before.extend(b);
        out.extend(a);
    }
    Ok((before, out))
}

/// The weakly connected component of each vertex, as a number.
fn weak_components(vertices: &[Vertex]) -> Vec<usize> {
    let mut comp: Vec<usize> = (0..vertices.len()).collect();
    fn find(comp: &mut [usize], x: usize) -> usize {
        let mut r = x;
        while comp[r] != r {
            r = comp[r];
        }
        comp[x] = r;
        r
    }
    for (v, vertex) in vertices.iter().enumerate() {
        for &d in &vertex.deps {
            let (a, b) = (find(&mut comp, v), find(&mut comp, d));
            comp[a.max(b)] = a.min(b);
        }
    }
    (0..vertices.len()).map(|v| find(&mut comp, v)).collect()
}

/// A group's vertices as systools orders them: strongly connected parts
/// in topological order of their dependencies (a module before those it
/// depends on), the vertices of each part in instruction order.
fn dependency_order(vertices: &[Vertex], group: &[usize]) -> Vec<usize> {
    let reach = |from: usize| -> Vec<bool> {
        let mut seen = vec![false; vertices.len()];
        let mut stack = vec![from];
        while let Some(v) = stack.pop() {
            for &d in &vertices[v].deps {
                if !seen[d] {
                    seen[d] = true;
                    stack.push(d);
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<usize, Vec<bool>> = group.iter().map(|&v| (v, reach(v))).collect();
    // Strong components: vertices that reach each other (or a lone vertex).
    let mut parts: Vec<Vec<usize>> = Vec::new();
    for &v in group {
        if parts.iter().any(|p| p.contains(&v)) {
            continue;
        }
        let part: Vec<usize> = group
            .iter()
            .copied()
            .filter(|&u| u == v || (reaches[&v][u] && reaches[&u][v]))
            .collect();
        parts.push(part);
    }
    // Kahn's algorithm on the parts; ties go to the earliest instruction.
    let mut placed = vec![false; parts.len()];
    let mut out = Vec::new();
    for _ in 0..parts.len() {
        let ready = (0..parts.len())
            .filter(|&p| !placed[p])
            .filter(|&p| {
                !(0..parts.len())
                    .any(|q| q != p && !placed[q] && reaches[&parts[q][0]][parts[p][0]])
            })
            .min_by_key(|&p| parts[p][0])
            .expect("the parts form a DAG");
        placed[ready] = true;
        out.extend(parts[ready].iter().copied());
    }
    out
}

/// systools_rc:translate_dep_to_low/3.
fn to_low_level(
    mode: Mode,
    instrs: &[&Term],
    appls: &[RelApp],
) -> Result<(Vec<Term>, Vec<Term>), String> {
    let updates: Vec<&&Term> = instrs.iter().filter(|i| is(i, "update", 8)).collect();
    let update_mods: Vec<Term> = updates
        .iter()
        .map(|i| match el(i, 3).as_atom() {
            Some("default") => el(i, 1).clone(),
            _ => tup(vec![el(i, 1).clone(), el(i, 3).clone()]),
        })
        .collect();
    let suspend = (!update_mods.is_empty())
        .then(|| tup(vec![atom("suspend"), Term::List(update_mods.clone())]));
    let resume = (!update_mods.is_empty()).then(|| {
        let mods = updates.iter().rev().map(|i| el(i, 1).clone()).collect();
        tup(vec![atom("resume"), Term::List(mods)])
    });
    let load = |m: &Term, pre: &Term, post: &Term| {
        tup(vec![
            atom("load"),
            tup(vec![m.clone(), pre.clone(), post.clone()]),
        ])
    };
    let per_instr: Vec<Vec<Term>> = instrs
        .iter()
        .filter_map(|i| {
            if is(i, "update", 8) {
                Some(vec![load(el(i, 1), el(i, 5), el(i, 6))])
            } else if is(i, "load_module", 5) {
                Some(vec![load(el(i, 1), el(i, 2), el(i, 3))])
            } else if is(i, "delete_module", 3) {
                Some(vec![
                    tup(vec![
                        atom("remove"),
                        tup(vec![el(i, 1).clone(), atom(BP), atom(BP)]),
                    ]),
                    tup(vec![atom("purge"), Term::List(vec![el(i, 1).clone()])]),
                ])
            } else {
                None
            }
        })
        .collect();
    let load_remove: Vec<Term> = per_instr.iter().flatten().cloned().collect();
    let rev_load_remove: Vec<Term> = per_instr.iter().rev().flatten().cloned().collect();
    let mut object_code = Vec::new();
    for i in load_remove.iter().filter(|i| is(i, "load", 2)) {
        let module = el(el(i, 1), 0);
        let name = module.as_atom().unwrap_or("");
        let app = appls
            .iter()
            .find(|a| a.modules.iter().any(|m| m == name))
            .ok_or_else(|| {
                format!(
                    "no_such_module: {}",
                    crate::formats::term::to_compact(module)
                )
            })?;
        object_code.push(tup(vec![
            atom("load_object_code"),
            tup(vec![
                atom(&app.name),
                Term::string(&app.vsn),
                Term::List(vec![module.clone()]),
            ]),
        ]));
    }
    let advanced = |i: &Term| {
        let change = el(i, 4);
        is(change, "advanced", 2).then(|| tup(vec![el(i, 1).clone(), el(change, 1).clone()]))
    };
    let code_change = |dir: &str, mods: Vec<Term>| {
        (!mods.is_empty()).then(|| tup(vec![atom("code_change"), atom(dir), Term::List(mods)]))
    };
    let mut after = Vec::new();
    after.extend(suspend);
    match mode {
        Mode::Up => {
            let mods = updates.iter().filter_map(|i| advanced(i)).collect();
            after.extend(rev_load_remove);
            after.extend(code_change("up", mods));
        }
        Mode::Down => {
            let of_type = |ty: &str| {
                updates
                    .iter()
                    .filter(|i| el(i, 2).as_atom() == Some(ty))
                    .filter_map(|i| advanced(i))
                    .collect()
            };
            after.extend(code_change("down", of_type("dynamic")));
            after.extend(load_remove);
            after.extend(code_change("down", of_type("static")));
        }
    }
    after.extend(resume);
    Ok((object_code, after))
}

/// Erlang's `union/2` of systools_rc: the elements of `a` not in `l`, then `l`.
fn union(a: &[Term], l: &[Term]) -> Vec<Term> {
    let mut out: Vec<Term> = a.iter().filter(|x| !l.contains(x)).cloned().collect();
    out.extend_from_slice(l);
    out
}

/// systools_rc:merge_load_object_code/1: one `load_object_code` per
/// application, first, then the `apply`s.
fn merge_load_object_code(before: &[Term]) -> Result<Vec<Term>, String> {
    let (mut found, rest): (Vec<Term>, Vec<Term>) = before
        .iter()
        .cloned()
        .partition(|i| tag(i) == Some("load_object_code"));
    let mut out = Vec::new();
    while !found.is_empty() {
        let first = found.remove(0);
        let spec = el(&first, 1);
        let (lib, vsn) = (el(spec, 0), el(spec, 1));
        let mut same = Vec::new();
        let mut other = Vec::new();
        for i in found {
            let s = el(&i, 1);
            if el(s, 0) == lib && el(s, 1) == vsn {
                same.push(i);
            } else if el(s, 0) == lib {
                return Err(format!(
                    "conflicting_versions: {} {} {}",
                    crate::formats::term::to_compact(lib),
                    crate::formats::term::to_compact(vsn),
                    crate::formats::term::to_compact(el(s, 1))
                ));
            } else {
                other.push(i);
            }
        }
        let merged = same.iter().rev().fold(Vec::new(), |acc, i| {
            union(el(el(i, 1), 2).as_list().unwrap_or(&[]), &acc)
        });
        let mods = union(el(spec, 2).as_list().unwrap_or(&[]), &merged);
        out.push(tup(vec![
            atom("load_object_code"),
            tup(vec![lib.clone(), vsn.clone(), Term::List(mods)]),
        ]));
        found = other;
    }
    out.extend(rest);
    Ok(out)
}

/// systools_rc:sort_emulator_restart/3: upgrading, a new emulator starts
/// before anything else; downgrading, the emulator restarts at the end.
fn sort_emulator_restart(
    mode: Mode,
    mut before: Vec<Term>,
    after: Vec<Term>,
) -> (Vec<Term>, Vec<Term>) {
    let is_atom = |t: &Term, a: &str| t.as_atom() == Some(a);
    let mut after1: Vec<Term> = after
        .iter()
        .filter(|t| !is_atom(t, "restart_new_emulator"))
        .cloned()
        .collect();
    if after1.len() != after.len() {
        match mode {
            Mode::Up => before.insert(0, atom("restart_new_emulator")),
            Mode::Down => after1.push(atom("restart_emulator")),
        }
    }
    let after2: Vec<Term> = after1
        .iter()
        .filter(|t| !is_atom(t, "restart_emulator"))
        .cloned()
        .collect();
    if after2.len() != after1.len() {
        let mut a = after2;
        a.push(atom("restart_emulator"));
        return (before, a);
    }
    (before, after1)
}

/// systools_rc:check_op/1, in short: a known instruction of the right shape.
fn check_op(i: &Term) -> Result<(), String> {
    let bad = || format!("bad_instruction: {}", crate::formats::term::to_compact(i));
    if let Some(a) = i.as_atom() {
        return match a {
            "point_of_no_return"
            | "restart_new_emulator"
            | "restart_emulator"
            | "restart"
            | "reboot" => Ok(()),
            _ => Err(bad()),
        };
    }
    let items = i.as_tuple().ok_or_else(bad)?;
    let is_atom = |t: &Term| matches!(t, Term::Atom(_));
    let is_list = |t: &Term| matches!(t, Term::List(_));
    let purge = |t: &Term| matches!(t.as_atom(), Some("soft_purge" | "brutal_purge"));
    let ok = match (tag(i).ok_or_else(bad)?, items) {
        ("update", [_, m, rest @ ..]) if (4..=6).contains(&rest.len()) => {
            let n = rest.len();
            is_atom(m)
                && purge(&rest[n - 3])
                && purge(&rest[n - 2])
                && is_list(&rest[n - 1])
                && (matches!(rest[n - 4], Term::Tuple(_)) || rest[n - 4].as_atom() == Some("soft"))
        }
        ("load_module", [_, m, pre, post, mods]) => {
            is_atom(m) && purge(pre) && purge(post) && is_list(mods)
        }
        ("add_module" | "delete_module", [_, m]) => is_atom(m),
        ("add_module" | "delete_module", [_, m, mods]) => is_atom(m) && is_list(mods),
        ("remove_application" | "restart_application", [_, a]) => is_atom(a),
        ("add_application", [_, a, t]) => {
            is_atom(a)
                && matches!(
                    t.as_atom(),
                    Some("none" | "load" | "temporary" | "transient" | "permanent")
                )
        }
        ("load_object_code", [_, spec]) => {
            matches!(spec.as_tuple(), Some([l, v, m]) if is_atom(l) && is_list(v) && is_list(m))
        }
        ("load" | "remove", [_, spec]) => {
            matches!(spec.as_tuple(), Some([m, a, b]) if is_atom(m) && purge(a) && purge(b))
        }
        ("purge" | "suspend" | "resume" | "stop" | "start", [_, mods]) => is_list(mods),
        ("code_change", [_, mods]) => is_list(mods),
        ("code_change", [_, mode, mods]) => {
            matches!(mode.as_atom(), Some("up" | "down")) && is_list(mods)
        }
        ("apply", [_, mfa]) => {
            matches!(mfa.as_tuple(), Some([m, f, a]) if is_atom(m) && is_atom(f) && is_list(a))
        }
        ("sync_nodes", [_, _, _]) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::term::{parse_consult, to_compact};

    fn t(text: &str) -> Term {
        parse_consult(format!("{text}.").as_bytes())
            .unwrap()
            .remove(0)
    }

    fn app(name: &str, vsn: &str, mods: &[&str]) -> RelApp {
        RelApp {
            name: name.into(),
            vsn: vsn.into(),
            start_type: "permanent".into(),
            modules: mods.iter().map(|m| m.to_string()).collect(),
        }
    }

    fn rels() -> (Rel, Rel) {
        let base = Rel {
            vsn: "1".into(),
            erts_vsn: "13".into(),
            apps: vec![app("kernel", "8", &["k"]), app("a", "1", &["x", "y", "z"])],
        };
        let top = Rel {
            vsn: "2".into(),
            erts_vsn: "13".into(),
            apps: vec![app("kernel", "8", &["k"]), app("a", "2", &["x", "y", "n"])],
        };
        (top, base)
    }

    /// The expected relup is what systools:make_relup/4 wrote for the same
    /// .rel and .appup files (with kernel, stdlib and sasl added).
    #[test]
    fn a_dependency_chain_loads_callees_first_upgrading() {
        let (top, base) = rels();
        let appup = t(
            r#"{"2", [{"1", [{add_module, n}, {load_module, x, [y]}, {update, y, {advanced, []}, [n]}, {delete_module, z}]}],
                               [{"1", [{add_module, z}, {load_module, x, [y]}, {update, y, {advanced, []}, [n]}, {delete_module, n}]}]}"#,
        );
        let appups = BTreeMap::from([("a".to_string(), appup)]);
        let order = vec!["kernel".to_string(), "a".to_string()];
        let relup = relup(&top, &order, std::slice::from_ref(&base), &appups).unwrap();
        assert_eq!(
            to_compact(&relup),
            to_compact(&t(r#"{"2",
              [{"1", [], [{load_object_code, {a, "2", [x, y, n]}}, point_of_no_return,
                          {suspend, [y]}, {load, {n, brutal_purge, brutal_purge}},
                          {load, {y, brutal_purge, brutal_purge}}, {load, {x, brutal_purge, brutal_purge}},
                          {code_change, up, [{y, []}]}, {resume, [y]},
                          {remove, {z, brutal_purge, brutal_purge}}, {purge, [z]}]}],
              [{"1", [], [{load_object_code, {a, "1", [z, x, y]}}, point_of_no_return,
                          {load, {z, brutal_purge, brutal_purge}},
                          {suspend, [y]}, {code_change, down, [{y, []}]},
                          {load, {x, brutal_purge, brutal_purge}}, {load, {y, brutal_purge, brutal_purge}},
                          {remove, {n, brutal_purge, brutal_purge}}, {purge, [n]},
                          {resume, [y]}]}]}"#))
        );
    }

    #[test]
    fn unknown_dependencies_and_instructions_are_systools_errors() {
        let (top, base) = rels();
        let order = vec!["kernel".to_string(), "a".to_string()];
        let with = |up: &str| {
            let appup = t(&format!(r#"{{"2", [{{"1", {up}}}], [{{"1", []}}]}}"#));
            relup(
                &top,
                &order,
                std::slice::from_ref(&base),
                &BTreeMap::from([("a".to_string(), appup)]),
            )
        };
        assert!(with("[{load_module, x, [nope]}]")
            .unwrap_err()
            .starts_with("undef_module"));
        assert!(with("[{frobnicate, x}]")
            .unwrap_err()
            .starts_with("bad_instruction"));
        assert!(with("[{load_module, x}, {load_module, x}]")
            .unwrap_err()
            .starts_with("muldef_module"));
        let none = relup(&top, &order, std::slice::from_ref(&base), &BTreeMap::new()).unwrap_err();
        assert!(none.contains("no appup for a"), "{none}");
    }
}
