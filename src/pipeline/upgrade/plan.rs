//! Planning an upgrade: the previous release found, the appups generated
//! or read, the relup computed, and the release planned with them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::relup::{Rel, RelApp};
use super::{appup, package, relup, AppupSource, PlannedAppup, UpgradeOptions, UpgradePlan};
use crate::error::{Error, Result};
use crate::formats::app::AppSpec;
use crate::formats::term::{parse_consult, to_consult_text, Term};
use crate::pipeline::inputs::{compare_versions, Origin};
use crate::pipeline::options::BuildOptions;
use crate::pipeline::plan::{PlannedOverlay, ReleasePlan};
use crate::pipeline::planner::plan_release;
use crate::util::fs::TempPath;
use crate::vocab::StartType;

/// Plans a release (as [`plan_release()`]) that can be installed on a node
/// running the previous release. sasl is added as `load` when the release
/// does not have it (`release_handler` is part of it).
pub(crate) fn plan(options: &BuildOptions, up: &UpgradeOptions) -> Result<ReleasePlan> {
    let mut plan = plan_release(options)?;
    if !plan.apps.iter().any(|a| a.name() == "sasl") {
        let mut with_sasl = options.clone();
        with_sasl.apps.push(("sasl".into(), StartType::Load));
        plan = plan_release(&with_sasl)?;
        plan.warnings.push(
            "sasl added to the release as `load`: release_handler, which installs upgrades, is part of it".into(),
        );
    }
    if !plan.include_erts {
        return Err(Error::Option(
            "--upgrade needs ERTS and OTP's applications in the release (include_erts: false): release_handler installs from the release's own lib/, as Distillery required".into(),
        ));
    }
    if plan.dev_mode {
        return Err(Error::Option(
            "--upgrade cannot be used with dev_mode: a dev_mode release links the project's code instead of shipping it".into(),
        ));
    }
    let upgrade = plan_upgrade(options, &plan, up)?;
    let stale = stale_versions(&plan, &upgrade)?;
    plan.warnings.extend(stale);
    for (app, (term, parts)) in merged_appups(&upgrade.appups) {
        let shipped_in_ebin = parts.iter().all(|a| {
            matches!(&a.source, AppupSource::File(p) if p.parent().is_some_and(|d| d.ends_with("ebin")))
        });
        if !shipped_in_ebin {
            plan.overlays.push(PlannedOverlay::Write {
                text: to_consult_text(std::slice::from_ref(&term)),
                to: Path::new("lib")
                    .join(format!("{app}-{}", parts[0].to))
                    .join("ebin")
                    .join(format!("{app}.appup")),
            });
        }
    }
    plan.overlays.push(PlannedOverlay::Write {
        text: to_consult_text(std::slice::from_ref(&upgrade.relup)),
        to: plan.version_dir().join("relup"),
    });
    plan.upgrade = Some(upgrade);
    Ok(plan)
}

fn plan_upgrade(
    options: &BuildOptions,
    plan: &ReleasePlan,
    up: &UpgradeOptions,
) -> Result<UpgradePlan> {
    let (root, unpacked) = match &up.upfrom_tarball {
        Some(tarball) => {
            let dir = package::unpack_previous(tarball, &plan.output_dir, &plan.cancel)?;
            (dir.path().to_owned(), Some(Arc::new(dir)))
        }
        None => (plan.output_dir.clone(), None),
    };
    let shown = up.upfrom_tarball.clone().unwrap_or_else(|| root.clone());
    let from_vsns = previous_versions(&root, &shown, &plan.name, &plan.version, up)?;
    let mut bases = Vec::new();
    for from_vsn in &from_vsns {
        let rel_path = root
            .join("releases")
            .join(from_vsn)
            .join(format!("{}.rel", plan.name));
        let base = read_rel(&rel_path, &root)?;
        if !base.apps.iter().any(|a| a.name == "sasl") {
            return Err(Error::Upgrade {
                path: rel_path,
                message: format!(
                    "the previous release {from_vsn} has no sasl, so it cannot install an upgrade live: deploy this version by a restart, and upgrade from it next time"
                ),
            });
        }
        bases.push(base);
    }
    let top = Rel {
        vsn: plan.version.clone(),
        erts_vsn: plan.otp.erts_vsn.clone(),
        apps: plan
            .apps
            .iter()
            .map(|a| RelApp {
                name: a.name().to_owned(),
                vsn: a.vsn().to_owned(),
                start_type: a.start_type.as_str().to_owned(),
                modules: a.source.spec.modules.clone(),
            })
            .collect(),
    };
    let mut appups: Vec<PlannedAppup> = Vec::new();
    let app_versions = |app: &str| -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for base in &bases {
            if let Some(old) = base.apps.iter().find(|o| o.name == app) {
                if !v.contains(&old.vsn) {
                    v.push(old.vsn.clone());
                }
            }
        }
        v
    };
    for app in &plan.apps {
        for from in app_versions(app.name()) {
            if from == app.vsn() {
                continue;
            }
            let to = app.vsn().to_owned();
            let written = appup::handwritten_candidates(
                &options.project_dir,
                &app.source.dir,
                app.name(),
                &from,
                &to,
            )
            .into_iter()
            .find(|p| p.is_file());
            let (term, source) = match written {
                Some(path) => (
                    appup::read_handwritten(&path, &from, &to)?,
                    AppupSource::File(path),
                ),
                None => {
                    let old_ebin = root
                        .join("lib")
                        .join(format!("{}-{from}", app.name()))
                        .join("ebin");
                    let old_mods = appup::read_ebin(&old_ebin)?;
                    let new_mods = appup::read_ebin(&app.source.dir.join("ebin"))?;
                    (
                        appup::generate(&from, &to, &old_mods, &new_mods),
                        AppupSource::Generated,
                    )
                }
            };
            appups.push(PlannedAppup {
                app: app.name().to_owned(),
                from,
                to,
                term,
                source,
            });
        }
    }
    let order: Vec<String> = crate::formats::boot::boot_order(&plan.boot_apps(false))?
        .into_iter()
        .map(str::to_owned)
        .collect();
    let terms: BTreeMap<String, Term> = merged_appups(&appups)
        .into_iter()
        .map(|(app, (term, _))| (app, term))
        .collect();
    let relup = relup::relup(&top, &order, &bases, &terms).map_err(|reason| {
        let written: Vec<String> = appups
            .iter()
            .filter_map(|a| match &a.source {
                AppupSource::File(p) => Some(p.display().to_string()),
                AppupSource::Generated => None,
            })
            .collect();
        Error::Upgrade {
            path: options.project_dir.clone(),
            message: format!(
                "cannot compute the relup from {}: {reason}{}",
                from_vsns.join(", "),
                if written.is_empty() {
                    String::new()
                } else {
                    format!(" (hand-written appups: {})", written.join(", "))
                }
            ),
        }
    })?;
    let new_lib_dirs = plan
        .apps
        .iter()
        .filter(|a| {
            bases.iter().any(|b| {
                !b.apps
                    .iter()
                    .any(|o| o.name == a.name() && o.vsn == a.vsn())
            })
        })
        .map(|a| a.dir_name())
        .collect();
    Ok(UpgradePlan {
        erts_changed: bases.iter().any(|b| b.erts_vsn != plan.otp.erts_vsn),
        from_vsns,
        previous_root: root,
        unpacked,
        appups,
        relup,
        new_lib_dirs,
    })
}

/// The project's applications whose code changed while their version did
/// not: release_handler goes by versions, so the upgrade leaves them as
/// they are on the node (the release's own lib/ has the new code).
fn stale_versions(plan: &ReleasePlan, upgrade: &UpgradePlan) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for app in &plan.apps {
        if app.source.origin != Origin::Project || upgrade.new_lib_dirs.contains(&app.dir_name()) {
            continue;
        }
        let old_ebin = upgrade
            .previous_root
            .join("lib")
            .join(app.dir_name())
            .join("ebin");
        let old = appup::read_ebin(&old_ebin)?;
        let new = appup::read_ebin(&app.source.dir.join("ebin"))?;
        let changed: Vec<&str> = new
            .iter()
            .filter(|(m, f)| old.get(*m).is_none_or(|o| o.code_digest != f.code_digest))
            .map(|(m, _)| m.as_str())
            .chain(
                old.keys()
                    .filter(|m| !new.contains_key(*m))
                    .map(String::as_str),
            )
            .collect();
        if let Some(first) = changed.first() {
            out.push(format!(
                "{} {} changed ({first}{}) but kept its version, so the upgrade does not load it: bump its version",
                app.name(),
                app.vsn(),
                match changed.len() {
                    1 => String::new(),
                    n => format!(" and {} more modules", n - 1),
                }
            ));
        }
    }
    Ok(out)
}

/// Each application's appups merged into one appup: one part as it is,
/// several (one per previous version) as one entry each way per version.
fn merged_appups(appups: &[PlannedAppup]) -> BTreeMap<String, (Term, Vec<&PlannedAppup>)> {
    let mut by_app: BTreeMap<String, Vec<&PlannedAppup>> = BTreeMap::new();
    for a in appups {
        by_app.entry(a.app.clone()).or_default().push(a);
    }
    by_app
        .into_iter()
        .map(|(app, parts)| {
            let same = parts
                .iter()
                .all(|p| p.source == parts[0].source && p.term == parts[0].term);
            let term = if parts.len() == 1 || same {
                parts[0].term.clone()
            } else {
                let side = |i: usize| {
                    let entries = parts
                        .iter()
                        .map(|p| {
                            let list = p
                                .term
                                .as_tuple()
                                .and_then(|t| t[i].as_list())
                                .unwrap_or(&[]);
                            let instrs = relup::appup_entry(list, &p.from)
                                .ok()
                                .flatten()
                                .unwrap_or(&[]);
                            Term::tuple(vec![Term::string(&p.from), Term::List(instrs.to_vec())])
                        })
                        .collect();
                    Term::List(entries)
                };
                Term::tuple(vec![Term::string(&parts[0].to), side(1), side(2)])
            };
            (app, (term, parts))
        })
        .collect()
}

/// The versions to upgrade from: `--upfrom`, else the newest version under
/// `root/releases` other than the one being built.
fn previous_versions(
    root: &Path,
    shown: &Path,
    name: &str,
    building: &str,
    up: &UpgradeOptions,
) -> Result<Vec<String>> {
    let releases = root.join("releases");
    let mut found: Vec<String> = std::fs::read_dir(&releases)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().join(format!("{name}.rel")).is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    found.sort_by(|a, b| compare_versions(b, a));
    let fail = |message: String| Error::Upgrade {
        path: shown.to_owned(),
        message,
    };
    let mut chosen: Vec<String> = Vec::new();
    for v in &up.upfrom {
        if v == building {
            return Err(fail(format!(
                "--upfrom {v} is the version being built: bump the version (mix.exs `version:`) first"
            )));
        }
        if !found.contains(v) {
            return Err(fail(format!(
                "--upfrom {v}: no release {name} {v} here (found: {})",
                if found.is_empty() {
                    "none".into()
                } else {
                    found.join(", ")
                }
            )));
        }
        if !chosen.contains(v) {
            chosen.push(v.clone());
        }
    }
    if !chosen.is_empty() {
        return Ok(chosen);
    }
    match found.iter().find(|v| *v != building) {
        Some(v) => Ok(vec![v.clone()]),
        None if found.iter().any(|v| v == building) => Err(fail(format!(
            "the previous release has the same version {building} as this one: bump the version (mix.exs `version:`) to build an upgrade"
        ))),
        None => Err(fail(format!(
            "no previous release of {name} here to upgrade from: build the old version into this output directory first, or pass --upfrom-tarball"
        ))),
    }
}

/// Reads a previous release's `.rel` and its applications' `.app` files
/// from `root/lib`.
fn read_rel(path: &Path, root: &Path) -> Result<Rel> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        action: "cannot read the previous release",
        source,
    })?;
    let terms = parse_consult(&bytes).map_err(|e| Error::Parse {
        path: path.to_owned(),
        line: e.line,
        message: e.message,
    })?;
    let bad = || Error::Upgrade {
        path: path.to_owned(),
        message: "not a release file {release, {Name, Vsn}, {erts, Vsn}, Apps}".into(),
    };
    let [Term::Tuple(items)] = terms.as_slice() else {
        return Err(bad());
    };
    let [tag, name_vsn, erts, apps] = items.as_slice() else {
        return Err(bad());
    };
    let vsn = name_vsn
        .as_tuple()
        .and_then(|t| t.get(1))
        .and_then(Term::as_string);
    let erts_vsn = erts
        .as_tuple()
        .and_then(|t| t.get(1))
        .and_then(Term::as_string);
    let (Some("release"), Some(vsn), Some(erts_vsn), Some(apps)) =
        (tag.as_atom(), vsn, erts_vsn, apps.as_list())
    else {
        return Err(bad());
    };
    let mut out = Vec::new();
    for a in apps {
        let t = a.as_tuple().ok_or_else(bad)?;
        let (Some(name), Some(app_vsn)) = (
            t.first().and_then(Term::as_atom),
            t.get(1).and_then(Term::as_string),
        ) else {
            return Err(bad());
        };
        let start_type = t
            .get(2)
            .and_then(Term::as_atom)
            .unwrap_or("permanent")
            .to_owned();
        let app_file = root
            .join("lib")
            .join(format!("{name}-{app_vsn}"))
            .join("ebin")
            .join(format!("{name}.app"));
        if !app_file.is_file() {
            return Err(Error::Upgrade {
                path: app_file,
                message: format!(
                    "missing: the previous release {vsn} needs {name} {app_vsn} in its lib/ (a release built with include_erts: false cannot be upgraded from)"
                ),
            });
        }
        let spec = AppSpec::read(&app_file, name)?;
        out.push(RelApp {
            name: name.to_owned(),
            vsn: app_vsn,
            start_type,
            modules: spec.modules,
        });
    }
    Ok(Rel {
        vsn,
        erts_vsn,
        apps: out,
    })
}

/// Writes the appup relpack generates for `app` (Distillery's
/// `gen.appup`) to the project's `rel/appups/<app>/<from>_to_<to>.appup`,
/// where `relpack build --upgrade` then finds it; returns its path.
pub fn write_appup(options: &BuildOptions, up: &UpgradeOptions, app: &str) -> Result<PathBuf> {
    let plan = plan(options, up)?;
    let upgrade = plan.upgrade.as_ref().expect("an upgrade plan");
    let Some(found) = upgrade.appups.iter().find(|a| a.app == app) else {
        let message = match plan.apps.iter().find(|a| a.name() == app) {
            Some(a) => format!(
                "{app} {} is in the previous release {} with the same version: nothing to upgrade (bump its version)",
                a.vsn(),
                upgrade.from_vsns.join(", ")
            ),
            None => format!("{app} is not an application of this release"),
        };
        return Err(Error::Upgrade {
            path: options.project_dir.join("mix.exs"),
            message,
        });
    };
    if let AppupSource::File(path) = &found.source {
        return Err(Error::Upgrade {
            path: path.clone(),
            message: format!("{app} already has a hand-written appup here: edit it"),
        });
    }
    let dir = options.project_dir.join("rel").join("appups").join(app);
    let path = dir.join(format!("{}_to_{}.appup", found.from, found.to));
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        action: "cannot create directory",
        source,
    })?;
    let tmp = TempPath::beside(&path)?;
    let text = to_consult_text(std::slice::from_ref(&found.term));
    std::fs::write(tmp.path(), text).map_err(|source| Error::Io {
        path: path.clone(),
        action: "cannot write",
        source,
    })?;
    tmp.publish(&path)?;
    Ok(path)
}
