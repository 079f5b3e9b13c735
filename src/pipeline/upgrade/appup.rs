//! Appups: generated from the BEAM files of an application's two versions
//! (as Distillery's `appups.ex` did), or hand-written ones found where
//! Distillery looked, which win.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::module::ModuleFacts;
use crate::error::{Error, IoContext, Result};
use crate::formats::term::{parse_consult, Term};

/// The modules of an `ebin` directory, by name.
pub fn read_ebin(ebin: &Path) -> Result<BTreeMap<String, ModuleFacts>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(ebin).at(ebin, "cannot list")? {
        let path = entry.at(ebin, "cannot list")?.path();
        if path.extension().is_none_or(|e| e != "beam") {
            continue;
        }
        let bytes = std::fs::read(&path).at(&path, "cannot read")?;
        let facts = ModuleFacts::read(&bytes).map_err(|e| Error::BadBeam {
            path: path.clone(),
            message: e.to_string(),
        })?;
        out.insert(facts.name.clone(), facts);
    }
    Ok(out)
}

/// The appup `{To, [{From, Up}], [{From, Down}]}` for moving an
/// application from version `from` (modules `old`) to `to` (`new`):
///
/// - a new module: `{add_module, M}`; a removed one: `{delete_module, M}`;
/// - a module whose code changed (not only its debug info, docs or line
///   numbers): `{update, M, supervisor}` for a supervisor,
///   `{update, M, {advanced, []}, Deps}` when the old version exports
///   `code_change/3,4` or `system_code_change/4`, else
///   `{load_module, M, Deps}`, with `Deps` the added and changed modules
///   it calls;
/// - added modules first, then the changed ones with a module after those
///   it calls, then the removed ones, each by name; downgrading is the
///   mirror image: the same list reversed, adding what was deleted and
///   deleting what was added.
pub fn generate(
    from: &str,
    to: &str,
    old: &BTreeMap<String, ModuleFacts>,
    new: &BTreeMap<String, ModuleFacts>,
) -> Term {
    let added: Vec<&String> = new.keys().filter(|m| !old.contains_key(*m)).collect();
    let deleted: Vec<&String> = old.keys().filter(|m| !new.contains_key(*m)).collect();
    let changed: BTreeSet<&String> = new
        .iter()
        .filter(|(m, f)| old.get(*m).is_some_and(|o| o.code_digest != f.code_digest))
        .map(|(m, _)| m)
        .collect();
    let deps_of = |m: &str| -> Vec<String> {
        new[m]
            .imports
            .iter()
            .filter(|i| changed.contains(i) || added.contains(i))
            .filter(|i| i.as_str() != m)
            .cloned()
            .collect()
    };
    let atom = Term::atom;
    let mut up = Vec::new();
    let mut down = Vec::new();
    for m in &added {
        up.push(Term::tuple(vec![atom("add_module"), atom(m)]));
    }
    for m in callees_first(&changed, new) {
        let deps = Term::atoms(&deps_of(m));
        let instr = if new[m].is_supervisor() {
            Term::tuple(vec![atom("update"), atom(m), atom("supervisor")])
        } else if old[m].has_code_change() {
            let advanced = Term::tuple(vec![atom("advanced"), Term::List(Vec::new())]);
            Term::tuple(vec![atom("update"), atom(m), advanced, deps])
        } else {
            Term::tuple(vec![atom("load_module"), atom(m), deps])
        };
        up.push(instr);
    }
    for m in &deleted {
        up.push(Term::tuple(vec![atom("delete_module"), atom(m)]));
    }
    for i in up.iter().rev() {
        let t = i.as_tuple().expect("a tuple");
        down.push(match t[0].as_atom() {
            Some("add_module") => Term::tuple(vec![atom("delete_module"), t[1].clone()]),
            Some("delete_module") => Term::tuple(vec![atom("add_module"), t[1].clone()]),
            _ => i.clone(),
        });
    }
    Term::tuple(vec![
        Term::string(to),
        Term::List(vec![Term::tuple(vec![Term::string(from), Term::List(up)])]),
        Term::List(vec![Term::tuple(vec![
            Term::string(from),
            Term::List(down),
        ])]),
    ])
}

/// The changed modules with each after the changed modules it calls
/// (names break ties and cycles).
fn callees_first<'a>(
    changed: &BTreeSet<&'a String>,
    new: &BTreeMap<String, ModuleFacts>,
) -> Vec<&'a String> {
    let mut out: Vec<&String> = Vec::new();
    let mut left: Vec<&String> = changed.iter().copied().collect();
    while !left.is_empty() {
        let ready = left
            .iter()
            .position(|m| {
                new[m.as_str()]
                    .imports
                    .iter()
                    .all(|i| i == *m || !left.contains(&i))
            })
            .unwrap_or(0);
        out.push(left.remove(ready));
    }
    out
}

/// Where a hand-written appup for `app` going `from` → `to` is looked
/// for, in order: the project's `rel/appups/<app>/<from>_to_<to>.appup`,
/// the application's own `ebin/<app>.appup`, its
/// `priv/appups/<from>_to_<to>.appup`.
pub fn handwritten_candidates(
    project: &Path,
    app_dir: &Path,
    app: &str,
    from: &str,
    to: &str,
) -> Vec<PathBuf> {
    let file = format!("{from}_to_{to}.appup");
    vec![
        project.join("rel").join("appups").join(app).join(&file),
        app_dir.join("ebin").join(format!("{app}.appup")),
        app_dir.join("priv").join("appups").join(file),
    ]
}

/// Reads a hand-written appup and checks that it is for version `to`
/// and has instructions for `from` both ways.
pub fn read_handwritten(path: &Path, from: &str, to: &str) -> Result<Term> {
    let bytes = std::fs::read(path).at(path, "cannot read the appup")?;
    let fail = |message: String| Error::Upgrade {
        path: path.to_owned(),
        message,
    };
    let terms = parse_consult(&bytes).map_err(|e| Error::Parse {
        path: path.to_owned(),
        line: e.line,
        message: e.message,
    })?;
    let [appup] = terms.as_slice() else {
        return Err(fail("an appup holds one term {Vsn, UpFrom, DownTo}".into()));
    };
    let Some([vsn, up, down]) = appup.as_tuple() else {
        return Err(fail("an appup holds one term {Vsn, UpFrom, DownTo}".into()));
    };
    if vsn.as_string().as_deref() != Some(to) {
        return Err(fail(format!(
            "this appup is for version {}, the application's version is {to}",
            crate::formats::term::to_compact(vsn)
        )));
    }
    for (list, what) in [(up, "upgrade from"), (down, "downgrade to")] {
        let entries = list.as_list().unwrap_or(&[]);
        if super::relup::appup_entry(entries, from)
            .map_err(fail)?
            .is_none()
        {
            return Err(fail(format!(
                "no instructions to {what} {from}: add an entry {{\"{from}\", [...]}}, or a rel/appups/<app>/{from}_to_{to}.appup"
            )));
        }
    }
    Ok(appup.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::term::to_compact;

    fn module(
        name: &str,
        code: u8,
        imports: &[&str],
        exports: &[&str],
        behaviour: &str,
    ) -> ModuleFacts {
        ModuleFacts {
            name: name.into(),
            imports: imports.iter().map(|s| s.to_string()).collect(),
            exports: exports.iter().map(|s| s.to_string()).collect(),
            behaviours: (!behaviour.is_empty())
                .then(|| behaviour.to_string())
                .into_iter()
                .collect(),
            code_digest: [code; 32],
        }
    }

    fn modules(list: Vec<ModuleFacts>) -> BTreeMap<String, ModuleFacts> {
        list.into_iter().map(|m| (m.name.clone(), m)).collect()
    }

    #[test]
    fn instructions_follow_what_changed_and_how() {
        let old = modules(vec![
            module("api", 1, &["store"], &[], ""),
            module("store", 1, &[], &["code_change/3"], "gen_server"),
            module("sup", 1, &[], &["init/1"], "supervisor"),
            module("same", 1, &[], &[], ""),
            module("gone", 1, &[], &[], ""),
        ]);
        let new = modules(vec![
            module("api", 2, &["store", "fresh", "same", "lists"], &[], ""),
            module("store", 2, &[], &["code_change/3"], "gen_server"),
            module("sup", 2, &[], &["init/1"], "Elixir.Supervisor"),
            module("same", 1, &[], &[], ""),
            module("fresh", 1, &[], &[], ""),
        ]);
        let appup = generate("1", "2", &old, &new);
        assert_eq!(
            to_compact(&appup),
            concat!(
                r#"{"2",[{"1",[{add_module,fresh},{update,store,{advanced,[]},[]},{load_module,api,[fresh,store]},{update,sup,supervisor},{delete_module,gone}]}],"#,
                r#"[{"1",[{add_module,gone},{update,sup,supervisor},{load_module,api,[fresh,store]},{update,store,{advanced,[]},[]},{delete_module,fresh}]}]}"#
            )
        );
    }
}
