//! What `relpack check` verifies of an upgrade: the relup of a release
//! against the release itself and the releases it upgrades from.

use std::path::Path;

use crate::formats::term::{parse_consult, to_compact, Term};

/// Problems with `releases/<vsn>/relup` of the release at `root` (none
/// when it has no relup). Every module the upgrade loads must be in
/// `apps`, the release's `(name, vsn)` applications. With `previous`
/// (a release directory, where relpack keeps the releases it upgrades
/// from) each `from` release must be there and every module the downgrade
/// loads in its applications.
pub fn relup_problems(
    root: &Path,
    name: &str,
    vsn: &str,
    apps: &[(String, String)],
    previous: bool,
) -> Vec<String> {
    let path = root.join("releases").join(vsn).join("relup");
    let Ok(bytes) = std::fs::read(&path) else {
        return Vec::new();
    };
    let at = |what: String| format!("{}: {what}", path.display());
    let terms = match parse_consult(&bytes) {
        Ok(t) => t,
        Err(e) => return vec![at(format!("does not parse: {e}"))],
    };
    let Some([top, up, down]) = terms.first().and_then(Term::as_tuple) else {
        return vec![at("not {Vsn, UpFrom, DownTo}".into())];
    };
    let mut problems = Vec::new();
    if top.as_string().as_deref() != Some(vsn) {
        problems.push(at(format!(
            "is for version {}, the release is {vsn}",
            to_compact(top)
        )));
    }
    let entries = |list: &Term| -> Vec<(String, Vec<Term>)> {
        list.as_list()
            .unwrap_or(&[])
            .iter()
            .filter_map(|e| match e.as_tuple() {
                Some([from, _, Term::List(instrs)]) => Some((from.as_string()?, instrs.clone())),
                _ => None,
            })
            .collect()
    };
    for (from, instrs) in entries(up) {
        loaded_modules(
            root,
            &instrs,
            apps,
            &format!("upgrading from {from}"),
            &mut problems,
        );
        if !previous {
            continue;
        }
        let rel = root
            .join("releases")
            .join(&from)
            .join(format!("{name}.rel"));
        let from_apps = std::fs::read(&rel)
            .ok()
            .and_then(|b| parse_consult(&b).ok())
            .and_then(|t| Some(crate::formats::boot::parse_rel(t.first()?)?.apps));
        match from_apps {
            None => problems.push(format!(
                "upgrades from {from}, but {} is missing or not a release file",
                rel.display()
            )),
            Some(from_apps) => {
                if let Some((_, instrs)) = entries(down).into_iter().find(|(v, _)| *v == from) {
                    let what = format!("downgrading to {from}");
                    loaded_modules(root, &instrs, &from_apps, &what, &mut problems);
                } else {
                    problems.push(at(format!(
                        "upgrades from {from} but has no downgrade to it"
                    )));
                }
            }
        }
    }
    problems.into_iter().map(at).collect()
}

/// Every `load_object_code` names an application of `apps` whose `ebin`
/// has the module.
fn loaded_modules(
    root: &Path,
    instrs: &[Term],
    apps: &[(String, String)],
    what: &str,
    problems: &mut Vec<String>,
) {
    for i in instrs {
        let Some([tag, spec]) = i.as_tuple() else {
            continue;
        };
        let Some([app, app_vsn, Term::List(mods)]) = spec.as_tuple() else {
            continue;
        };
        if tag.as_atom() != Some("load_object_code") {
            continue;
        }
        let (Some(app), Some(app_vsn)) = (app.as_atom(), app_vsn.as_string()) else {
            continue;
        };
        if !apps.iter().any(|(a, v)| a == app && *v == app_vsn) {
            problems.push(format!(
                "{what} loads modules of {app} {app_vsn}, which that release does not have"
            ));
            continue;
        }
        let ebin = root
            .join("lib")
            .join(format!("{app}-{app_vsn}"))
            .join("ebin");
        for m in mods.iter().filter_map(Term::as_atom) {
            if !ebin.join(format!("{m}.beam")).is_file() {
                problems.push(format!(
                    "{what} loads {m}, which is not in {}",
                    ebin.display()
                ));
            }
        }
    }
}
