//! rebar3 projects: the `relx` section of `rebar.config`, with the
//! selected profile's `relx` options over it, read with the Erlang term
//! reader into the same [`ReleaseSettings`] as Mix and Distillery
//! configurations.
//!
//! Understood: `{release, {Name, Vsn}, Apps}` (apps as `App`,
//! `{App, Type}` or `{App, Vsn}`), `sys_config`/`sys_config_src`,
//! `vm_args`/`vm_args_src` (`${VAR}` in the `_src` files is replaced at
//! start with `REPLACE_OS_VARS=true`), `include_erts`, `dev_mode`,
//! `{debug_info, strip | keep}` (BEAM stripping), and `overlay` with
//! `mkdir` and `copy`. Accepted and without effect:
//! `extended_start_script`, `include_src`, `generate_start_script`, `mode`,
//! `system_libs`. Anything else is an error.

use std::path::Path;

use super::{Format, Overlay, ReleaseSettings, Setting, Settings};
use crate::error::{Error, IoContext, Result};
use crate::formats::term::{parse_consult, to_compact, Term};
use crate::vocab::IncludeErts;
use crate::vocab::StartType;

const NO_EFFECT: &[&str] = &[
    "extended_start_script",
    "include_src",
    "generate_start_script",
    "mode",
    "system_libs",
];

/// The `{release, {Name, Vsn}, Apps}` entry chosen.
struct RelxRelease {
    name: String,
    vsn: String,
    apps: Vec<(String, StartType)>,
}

/// Whether `dir` is a rebar3 project (a `rebar.config`, no `mix.exs`).
pub fn is_rebar3(dir: &Path) -> bool {
    dir.join("rebar.config").is_file() && !dir.join("mix.exs").is_file()
}

/// The release `name` (else the first) of `<dir>/rebar.config` for
/// profile `profile`; `None` when it has no `relx` release.
pub fn read(dir: &Path, profile: &str, name: Option<&str>) -> Result<Option<ReleaseSettings>> {
    let path = dir.join("rebar.config");
    let bytes = std::fs::read(&path).at(&path, "cannot read the rebar3 configuration")?;
    let terms = parse_consult(&bytes).map_err(|e| Error::Parse {
        path: path.clone(),
        line: e.line,
        message: e.message,
    })?;
    let bad = |message: String| Error::Project {
        path: path.clone(),
        message,
    };
    let section = |terms: &[Term]| -> Vec<Term> {
        terms
            .iter()
            .find_map(|t| match t.as_tuple() {
                Some([Term::Atom(k), Term::List(opts)]) if k == "relx" => Some(opts.clone()),
                _ => None,
            })
            .unwrap_or_default()
    };
    let mut relx = section(&terms);
    let profile_relx = terms
        .iter()
        .find_map(|t| match t.as_tuple() {
            Some([Term::Atom(k), profiles]) if k == "profiles" => profiles.get(profile).cloned(),
            _ => None,
        })
        .and_then(|p| p.as_list().map(section));
    // A profile's option replaces the base option of the same key (and,
    // for releases, of the same name).
    for opt in profile_relx.unwrap_or_default() {
        let same = |old: &Term| match (old.as_tuple(), opt.as_tuple()) {
            (Some([Term::Atom(a), ra, ..]), Some([Term::Atom(b), rb, ..])) if a == b => {
                // `{}` as a release id has no name: never the same release.
                let name = |r: &Term| r.as_tuple().and_then(|t| t.first()).cloned();
                a != "release" || (name(ra).is_some() && name(ra) == name(rb))
            }
            _ => false,
        };
        relx.retain(|old| !same(old));
        relx.push(opt);
    }

    let mut release: Option<RelxRelease> = None;
    let mut settings = Settings::new();
    let origin = path.display().to_string();
    let mut r = ReleaseSettings::new("", Format::Relx, &path, Settings::new());
    let text = |t: &Term, what: &str| {
        t.as_string().ok_or_else(|| {
            bad(format!(
                "relx `{what}` must be a string, got {}",
                to_compact(t)
            ))
        })
    };
    for opt in &relx {
        let Some([Term::Atom(key), rest @ ..]) = opt.as_tuple() else {
            return Err(bad(format!("unexpected relx entry {}", to_compact(opt))));
        };
        settings.insert(
            format!("relx.{key}"),
            Setting {
                value: Term::List(rest.to_vec()),
                origin: origin.clone(),
            },
        );
        match (key.as_str(), rest) {
            ("release", [Term::Tuple(id), Term::List(apps), ..]) => {
                let (rel_name, vsn) = match id.as_slice() {
                    [Term::Atom(n), v] => (n.clone(), v),
                    _ => {
                        return Err(bad(format!(
                            "relx release id must be {{Name, Vsn}}, got {}",
                            to_compact(&Term::Tuple(id.clone()))
                        )))
                    }
                };
                if name.is_some_and(|n| n != rel_name) || (name.is_none() && release.is_some()) {
                    continue;
                }
                let vsn = vsn.as_string().ok_or_else(|| {
                    bad(format!(
                        "release {rel_name}: only a literal version string is supported, got {} (set it, or pass --release-version)",
                        to_compact(vsn)
                    ))
                })?;
                let apps = apps
                    .iter()
                    .map(|a| match a {
                        Term::Atom(app) => Ok((app.clone(), StartType::Permanent)),
                        Term::Tuple(t) => match t.as_slice() {
                            [Term::Atom(app), Term::Atom(ty)] => {
                                // The start type's own message, naming the file.
                                let ty = ty.parse().map_err(|e| match e {
                                    Error::Option(why) => bad(format!(
                                        "relx application entry {}: {why}",
                                        to_compact(a)
                                    )),
                                    other => other,
                                })?;
                                Ok((app.clone(), ty))
                            }
                            [Term::Atom(app), v] if v.as_string().is_some() => {
                                Ok((app.clone(), StartType::Permanent))
                            }
                            _ => Err(bad(format!(
                                "unsupported relx application entry {}",
                                to_compact(a)
                            ))),
                        },
                        _ => Err(bad(format!(
                            "unsupported relx application entry {}",
                            to_compact(a)
                        ))),
                    })
                    .collect::<Result<Vec<_>>>()?;
                release = Some(RelxRelease {
                    name: rel_name,
                    vsn,
                    apps,
                });
            }
            ("sys_config" | "sys_config_src", [file]) => {
                r.sys_config = Some(dir.join(text(file, key)?))
            }
            ("vm_args" | "vm_args_src", [file]) => r.vm_args = Some(dir.join(text(file, key)?)),
            ("include_erts", [Term::Atom(b)]) if b == "true" || b == "false" => {
                r.include_erts = Some(IncludeErts::parse(b, dir));
            }
            ("include_erts", [p]) => r.include_erts = Some(IncludeErts::parse(&text(p, key)?, dir)),
            ("overlay", [Term::List(items)]) => {
                for item in items {
                    r.overlays.push(match item.as_tuple() {
                        Some([Term::Atom(k), d]) if k == "mkdir" => {
                            Overlay::Mkdir(text(d, "mkdir")?)
                        }
                        Some([Term::Atom(k), a, b]) if k == "copy" => {
                            Overlay::Copy(text(a, "copy")?, text(b, "copy")?)
                        }
                        _ => {
                            return Err(bad(format!(
                                "unsupported relx overlay {} (mkdir and copy are supported)",
                                to_compact(item)
                            )))
                        }
                    });
                }
            }
            ("dev_mode", [Term::Atom(b)]) if b == "true" || b == "false" => {
                r.dev_mode = b == "true"
            }
            ("debug_info", [Term::Atom(d)]) if d == "strip" || d == "keep" => {
                r.strip_beams = Some(d == "strip")
            }
            (k, _) if NO_EFFECT.contains(&k) => {}
            (k, _) => return Err(bad(format!("unknown or unsupported relx option `{k}`"))),
        }
    }
    let Some(RelxRelease {
        name: rel_name,
        vsn,
        apps,
    }) = release
    else {
        return match name {
            Some(n) => Err(bad(format!("no relx release named `{n}`"))),
            None => Ok(None),
        };
    };
    r.name = rel_name;
    r.version = Some(vsn);
    r.applications = apps;
    r.settings = settings;
    Ok(Some(r))
}

#[cfg(test)]
mod tests {
    /// The error reading a `rebar.config` holding `text` gives.
    fn read_error(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rebar.config"), text).unwrap();
        super::read(dir.path(), "default", None)
            .unwrap_err()
            .to_string()
    }

    /// A release id with no name, in the base and in the profile (which
    /// are matched by name), is an error naming the file, not a panic.
    #[test]
    fn a_release_id_without_a_name_is_an_error() {
        let err = read_error(
            "{relx, [{release, {}, [a]}]}.\n{profiles, [{default, [{relx, [{release, {}, [a]}]}]}]}.\n",
        );
        assert!(err.contains("rebar.config"), "{err}");
        assert!(err.contains("relx release id must be {Name, Vsn}"), "{err}");
    }

    /// An unknown start type is an error naming the file and the entry.
    #[test]
    fn an_unknown_start_type_names_the_file() {
        let err = read_error("{relx, [{release, {r, \"1\"}, [{a, bogus}]}]}.\n");
        assert!(
            err.contains(
                "rebar.config: relx application entry {a,bogus}: unknown start type `bogus`"
            ),
            "{err}"
        );
    }
}
