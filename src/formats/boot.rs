//! Boot files: the `.rel` release resource, the `.script` boot script and
//! its binary form, the `.boot` file.
//!
//! The script is what `systools:make_script/2` (OTP 25, options `silent`,
//! `no_dot_erlang`, `no_warn_sasl`) builds from the same `.rel`: the same
//! instructions, the same application order (its `sort_appls` algorithm,
//! after reordering each application's dependencies by `.rel` position)
//! and the same application terms. `mix release` then prepends the
//! consolidated protocols directory to every path instruction holding a
//! `$RELEASE_LIB` entry, so that consolidated protocols shadow the
//! unconsolidated ones; so does relpack.
//!
//! The preloaded and mandatory module lists differ between OTP releases;
//! they are read from the target OTP's own `start_clean.script` (see
//! [`KernelModules::from_otp_script`]), falling back to OTP 25's lists.

use crate::error::{Error, Result};
use crate::formats::app::AppSpec;
use crate::formats::etf::{self, AtomEncoding};
use crate::formats::term::Term;
use crate::vocab::StartType;

/// An application as the boot script sees it.
#[derive(Debug, Clone)]
pub struct BootApp<'a> {
    /// The application's `.app` contents.
    pub spec: &'a AppSpec,
    /// How the boot script starts it.
    pub start_type: StartType,
    /// Its `ebin` as the script names it, e.g. `$ROOT/lib/kernel-8.5.3/ebin`.
    pub ebin: String,
}

impl BootApp<'_> {
    fn name(&self) -> &str {
        &self.spec.name
    }
}

/// The modules the VM has preloaded and those the script loads first.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelModules {
    /// Modules built into the VM, listed in the script's `preLoaded` instruction.
    pub preloaded: Vec<String>,
    /// Modules the script loads first (its first `primLoad`), before any application.
    pub mandatory: Vec<String>,
}

impl KernelModules {
    /// OTP 25's lists (`systools_make:preloaded/0`, `mandatory_modules/0`).
    pub fn otp25() -> KernelModules {
        let names = |s: &str| s.split_whitespace().map(str::to_owned).collect();
        KernelModules {
            preloaded: names(
                "atomics counters erl_init erl_prim_loader erl_tracer erlang erts_code_purger \
                 erts_dirty_process_signal_handler erts_internal erts_literal_area_collector \
                 init persistent_term prim_buffer prim_eval prim_file prim_inet prim_net \
                 prim_socket prim_zip socket_registry zlib",
            ),
            mandatory: names(
                "error_handler application application_controller application_master code \
                 code_server erl_eval erl_lint erl_parse error_logger ets file filename \
                 file_server file_io_server gen gen_event gen_server heart kernel logger \
                 logger_filters logger_server logger_backend logger_config logger_simple_h \
                 lists proc_lib supervisor",
            ),
        }
    }

    /// The lists in a script OTP itself generated (e.g.
    /// `<otp_root>/releases/<major>/start_clean.script`): its `preLoaded`
    /// instruction and its first `primLoad`.
    pub fn from_otp_script(script: &Term) -> Option<KernelModules> {
        let instructions = script.as_tuple()?.get(2)?.as_list()?;
        let find = |tag: &str| {
            instructions.iter().find_map(|i| match i.as_tuple()? {
                [Term::Atom(t), list] if t == tag => list.as_atom_list(),
                _ => None,
            })
        };
        Some(KernelModules {
            preloaded: find("preLoaded")?,
            mandatory: find("primLoad")?,
        })
    }
}

/// Everything a boot script is made from.
#[derive(Debug, Clone)]
pub struct ScriptInput<'a> {
    /// The release name.
    pub release_name: &'a str,
    /// The release version.
    pub release_vsn: &'a str,
    /// In `.rel` order.
    pub apps: Vec<BootApp<'a>>,
    /// The preloaded and mandatory module lists to put in the script.
    pub kernel_modules: &'a KernelModules,
    /// Directory to put in front of every `$RELEASE_LIB` path instruction.
    pub consolidated: Option<String>,
    /// Run Elixir's config providers (`config/runtime.exs`) right after
    /// stdlib starts, before any other application, as `mix release` does.
    pub config_provider: bool,
}

/// `{release, {Name, Vsn}, {erts, ErtsVsn}, Apps}`.
pub fn rel_term(name: &str, vsn: &str, erts_vsn: &str, apps: &[BootApp<'_>]) -> Term {
    let apps = apps
        .iter()
        .map(|a| {
            let mut t = vec![
                Term::atom(a.name()),
                Term::string(&a.spec.vsn),
                Term::atom(a.start_type.as_str()),
            ];
            if !a.spec.included_applications.is_empty() {
                t.push(Term::atoms(&a.spec.included_applications));
            }
            Term::Tuple(t)
        })
        .collect();
    Term::tuple(vec![
        Term::atom("release"),
        Term::tuple(vec![Term::string(name), Term::string(vsn)]),
        Term::tuple(vec![Term::atom("erts"), Term::string(erts_vsn)]),
        Term::List(apps),
    ])
}

/// A `.rel` file as read back: the release's name and version, its ERTS
/// version, and each application with its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rel {
    /// The release name.
    pub name: String,
    /// The release version.
    pub vsn: String,
    /// The ERTS version.
    pub erts_vsn: String,
    /// Each application and its version, in `.rel` order.
    pub apps: Vec<(String, String)>,
}

/// Reads [`rel_term`]'s shape back; `None` for any other term.
pub fn parse_rel(term: &Term) -> Option<Rel> {
    let [tag, Term::Tuple(id), Term::Tuple(erts), Term::List(apps)] = term.as_tuple()? else {
        return None;
    };
    if tag.as_atom() != Some("release") || erts.first()?.as_atom() != Some("erts") {
        return None;
    }
    let apps = apps
        .iter()
        .map(|a| {
            let t = a.as_tuple()?;
            Some((t.first()?.as_atom()?.to_owned(), t.get(1)?.as_string()?))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Rel {
        name: id.first()?.as_string()?,
        vsn: id.get(1)?.as_string()?,
        erts_vsn: erts.get(1)?.as_string()?,
        apps,
    })
}

/// An application during script generation: its dependency lists after
/// systools reorders them by `.rel` position.
struct Sorted<'a> {
    app: &'a BootApp<'a>,
    uses: Vec<String>,
    includes: Vec<String>,
}

/// The order in which the boot script loads and starts the applications
/// (systools' `sort_appls`).
pub fn boot_order<'a>(apps: &'a [BootApp<'a>]) -> Result<Vec<&'a str>> {
    Ok(sort_appls(prepare(apps))?
        .iter()
        .map(|s| s.app.spec.name.as_str())
        .collect())
}

/// Reorders each application's dependency lists by `.rel` position, absent
/// ones last (systools_make:sort_used_and_incl_appls).
fn prepare<'a>(apps: &'a [BootApp<'a>]) -> Vec<Sorted<'a>> {
    let rel_pos = |name: &str| apps.iter().position(|a| a.name() == name);
    let by_rel_position = |list: &[String]| {
        let mut v = list.to_vec();
        if v.len() > 1 {
            v.sort_by_key(|n| rel_pos(n).unwrap_or(usize::MAX));
        }
        v
    };
    apps.iter()
        .map(|app| Sorted {
            app,
            uses: by_rel_position(&app.spec.applications),
            includes: by_rel_position(&app.spec.included_applications),
        })
        .collect()
}

/// `{script, {Name, Vsn}, Instructions}`.
pub fn script_term(input: &ScriptInput<'_>) -> Result<Term> {
    let sorted = sort_appls(prepare(&input.apps))?;

    let km = input.kernel_modules;
    let atom_list = |names: &[String]| Term::atoms(names);
    let path = |dirs: Vec<String>| {
        let dirs: Vec<Term> = dedup(dirs).iter().map(|d| Term::string(d)).collect();
        Term::tuple(vec![Term::atom("path"), Term::List(dirs)])
    };
    let progress = |p: &str| Term::tuple(vec![Term::atom("progress"), Term::atom(p)]);
    let apply = |m: &str, f: &str, args: Vec<Term>| {
        Term::tuple(vec![
            Term::atom("apply"),
            Term::tuple(vec![Term::atom(m), Term::atom(f), Term::List(args)]),
        ])
    };

    let mut ins = vec![
        Term::tuple(vec![Term::atom("preLoaded"), atom_list(&km.preloaded)]),
        progress("preloaded"),
        path(
            sorted
                .iter()
                .filter(|s| matches!(s.app.name(), "kernel" | "stdlib"))
                .map(|s| s.app.ebin.clone())
                .collect(),
        ),
        Term::tuple(vec![Term::atom("primLoad"), atom_list(&km.mandatory)]),
        Term::tuple(vec![Term::atom("kernel_load_completed")]),
        progress("kernel_load_completed"),
    ];
    for s in &sorted {
        let mut mods: Vec<&String> = s
            .app
            .spec
            .modules
            .iter()
            .filter(|m| !km.mandatory.contains(m) && !km.preloaded.contains(m))
            .collect();
        mods.sort();
        ins.push(path(vec![s.app.ebin.clone()]));
        ins.push(Term::tuple(vec![
            Term::atom("primLoad"),
            Term::List(mods.iter().map(|m| Term::atom(m)).collect()),
        ]));
    }
    ins.push(progress("modules_loaded"));
    ins.push(path(sorted.iter().map(|s| s.app.ebin.clone()).collect()));

    let kernel = sorted
        .iter()
        .find(|s| s.app.name() == "kernel")
        .ok_or_else(|| Error::Boot("a release must contain kernel".into()))?;
    let kernel_process = |name: &str, m: &str, f: &str, args: Vec<Term>| {
        Term::tuple(vec![
            Term::atom("kernelProcess"),
            Term::atom(name),
            Term::tuple(vec![Term::atom(m), Term::atom(f), Term::List(args)]),
        ])
    };
    ins.push(kernel_process("heart", "heart", "start", vec![]));
    ins.push(kernel_process(
        "logger",
        "logger_server",
        "start_link",
        vec![],
    ));
    ins.push(kernel_process(
        "application_controller",
        "application_controller",
        "start",
        vec![app_term(kernel)],
    ));
    ins.push(progress("init_kernel_started"));
    for s in &sorted {
        if s.app.name() != "kernel" && s.app.start_type != StartType::None {
            ins.push(apply("application", "load", vec![app_term(s)]));
        }
    }
    ins.push(progress("applications_loaded"));
    let included: Vec<&String> = sorted.iter().flat_map(|s| &s.includes).collect();
    for s in &sorted {
        if s.app.start_type.starts() && !included.contains(&&s.app.spec.name) {
            ins.push(apply(
                "application",
                "start_boot",
                vec![
                    Term::atom(s.app.name()),
                    Term::atom(s.app.start_type.as_str()),
                ],
            ));
        }
    }
    ins.push(progress("started"));

    if let Some(dir) = &input.consolidated {
        prepend_to_release_lib_paths(&mut ins, dir);
    }
    if input.config_provider {
        let stdlib_started = |i: &Term| {
            matches!(i.as_tuple(), Some([op, call]) if op.as_atom() == Some("apply")
                && matches!(call.as_tuple(), Some([m, f, args]) if m.as_atom() == Some("application")
                    && f.as_atom() == Some("start_boot")
                    && args.as_list().and_then(|a| a.first()).and_then(Term::as_atom) == Some("stdlib")))
        };
        let at = ins.iter().position(stdlib_started).ok_or_else(|| {
            Error::Boot("runtime configuration needs stdlib started in the boot script".into())
        })?;
        ins.insert(at + 1, apply("Elixir.Config.Provider", "boot", Vec::new()));
    }
    Ok(Term::tuple(vec![
        Term::atom("script"),
        Term::tuple(vec![
            Term::string(input.release_name),
            Term::string(input.release_vsn),
        ]),
        Term::List(ins),
    ]))
}

/// The bytes of the `.boot` file: `term_to_binary(Script)` on the target.
pub fn boot_bytes(script: &Term, atoms: AtomEncoding) -> Vec<u8> {
    etf::encode(script, atoms)
}

fn prepend_to_release_lib_paths(instructions: &mut [Term], dir: &str) {
    for ins in instructions {
        if let Term::Tuple(parts) = ins {
            if let [Term::Atom(tag), Term::List(dirs)] = parts.as_mut_slice() {
                let has_release_lib = dirs
                    .iter()
                    .any(|d| d.as_string().is_some_and(|s| s.starts_with("$RELEASE_LIB")));
                if tag == "path" && has_release_lib {
                    dirs.insert(0, Term::string(dir));
                }
            }
        }
    }
}

/// systools' application term (`pack_app`), keys in its order.
fn app_term(s: &Sorted<'_>) -> Term {
    let spec = s.app.spec;
    let raw = &spec.raw;
    let kv = |k: &str, v: Term| Term::tuple(vec![Term::atom(k), v]);
    let mut props = vec![
        kv("description", raw.description.clone()),
        kv("vsn", raw.vsn.clone()),
        kv("id", raw.id.clone()),
        kv("modules", raw.modules.clone()),
        kv("registered", raw.registered.clone()),
        kv("applications", Term::atoms(&s.uses)),
        kv(
            "optional_applications",
            Term::atoms(&spec.optional_applications),
        ),
        kv("included_applications", Term::atoms(&s.includes)),
        kv("env", raw.env.clone()),
        kv("maxT", raw.max_t.clone()),
        kv("maxP", raw.max_p.clone()),
    ];
    if let Some(p) = &raw.start_phases {
        props.push(kv("start_phases", p.clone()));
    }
    if let Some(m) = &raw.mod_ {
        props.push(kv("mod", m.clone()));
    }
    Term::tuple(vec![
        Term::atom("application"),
        Term::atom(&spec.name),
        Term::List(props),
    ])
}

/// systools_make:sort_appls/1: walk the `.rel` order, pulling the not yet
/// placed applications an application uses (then includes) in front of it.
fn sort_appls(apps: Vec<Sorted<'_>>) -> Result<Vec<Sorted<'_>>> {
    let mut pending: Vec<Sorted<'_>> = apps;
    let mut out = Vec::new();
    let mut visited: Vec<String> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    let mut circular: Vec<String> = Vec::new();
    while !pending.is_empty() {
        let head = pending.remove(0);
        let name = head.app.spec.name.clone();
        let (uses, not_found_uses) = find_all(&name, &head.uses, &mut pending, &visited);
        let (incs, not_found_incs) = find_all(&name, &head.includes, &mut pending, &visited);
        missing.extend(
            not_found_uses
                .into_iter()
                .filter(|n| !head.app.spec.optional_applications.contains(n)),
        );
        missing.extend(not_found_incs);
        let mut pulled: Vec<Sorted<'_>> = uses.into_iter().chain(incs).collect();
        visited.push(name);
        if pulled.is_empty() {
            out.push(head);
            continue;
        }
        let new_circular: Vec<String> = pulled
            .iter()
            .map(|p| p.app.spec.name.clone())
            .filter(|n| visited.contains(n))
            .collect();
        if !new_circular.is_empty() {
            circular.push(head.app.spec.name.clone());
            circular.extend(new_circular.iter().cloned());
        }
        pulled.retain(|p| !new_circular.contains(&p.app.spec.name));
        pulled.push(head);
        pending.retain(|p| !new_circular.contains(&p.app.spec.name));
        pulled.append(&mut pending);
        pending = pulled;
    }
    if !circular.is_empty() {
        return Err(Error::Cycle(dedup(circular).join(", ")));
    }
    if !missing.is_empty() {
        return Err(Error::Boot(format!(
            "the boot script needs applications that are not in the release: {}",
            dedup(missing).join(", ")
        )));
    }
    Ok(out)
}

/// systools_make:find_all/6: takes the applications named in `wanted`
/// out of `pending`, keeping `wanted`'s order; names neither pending nor
/// visited are returned as not found. A dependency on the application's
/// own includer is allowed and skipped.
fn find_all<'a>(
    checking: &str,
    wanted: &[String],
    pending: &mut Vec<Sorted<'a>>,
    visited: &[String],
) -> (Vec<Sorted<'a>>, Vec<String>) {
    let mut found = Vec::new();
    let mut not_found = Vec::new();
    for name in wanted {
        match pending.iter().position(|p| &p.app.spec.name == name) {
            Some(i) if pending[i].includes.iter().any(|inc| inc == checking) => {
                if !visited.contains(name) {
                    not_found.push(name.clone());
                }
            }
            Some(i) => found.push(pending.remove(i)),
            None if visited.contains(name) => {}
            None => not_found.push(name.clone()),
        }
    }
    (found, not_found)
}

/// Removes repeats, keeping first occurrences (systools' make_set).
fn dedup(items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|i| !i.is_empty() && seen.insert(i.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::app::AppSpec;
    use std::path::Path;

    fn spec(name: &str, apps: &[&str], incl: &[&str]) -> AppSpec {
        let list = |l: &[&str]| l.join(",");
        let text = format!(
            "{{application,{name},[{{vsn,\"1\"}},{{description,\"d\"}},{{modules,[{name}_mod]}},\
             {{registered,[]}},{{applications,[{}]}},{{included_applications,[{}]}}]}}.",
            list(apps),
            list(incl)
        );
        AppSpec::parse(text.as_bytes(), Path::new("x.app"), name).unwrap()
    }

    fn order(specs: &[AppSpec]) -> Vec<String> {
        let apps: Vec<BootApp<'_>> = specs
            .iter()
            .map(|s| BootApp {
                spec: s,
                start_type: StartType::Permanent,
                ebin: format!("$ROOT/lib/{}-1/ebin", s.name),
            })
            .collect();
        match boot_order(&apps) {
            Ok(v) => v.into_iter().map(str::to_owned).collect(),
            Err(e) => vec![e.to_string()],
        }
    }

    #[test]
    fn dependencies_come_first() {
        let specs = [
            spec("kernel", &[], &[]),
            spec("web", &["kernel", "core", "db"], &[]),
            spec("db", &["kernel"], &[]),
            spec("core", &["kernel", "db"], &[]),
        ];
        assert_eq!(order(&specs), ["kernel", "db", "core", "web"]);
    }

    #[test]
    fn includer_may_be_used_by_its_included_app() {
        let specs = [
            spec("outer", &[], &["inner"]),
            spec("inner", &["outer"], &[]),
        ];
        assert_eq!(order(&specs), ["inner", "outer"]);
    }

    #[test]
    fn cycles_and_missing_apps_fail() {
        let cyc = [spec("a", &["b"], &[]), spec("b", &["a"], &[])];
        assert!(order(&cyc)[0].contains("cycle"));
        let missing = [spec("a", &["zz"], &[])];
        assert!(order(&missing)[0].contains("zz"));
    }

    #[test]
    fn kernel_modules_from_a_script() {
        let t = crate::formats::term::parse_consult(
            b"{script,{\"x\",\"1\"},[{preLoaded,[erlang,init]},{progress,preloaded},{path,[\"a\"]},{primLoad,[error_handler,lists]}]}.",
        )
        .unwrap();
        let km = KernelModules::from_otp_script(&t[0]).unwrap();
        assert_eq!(km.preloaded, ["erlang", "init"]);
        assert_eq!(km.mandatory, ["error_handler", "lists"]);
    }
}
