//! Planning: the project's configuration read, the inputs located, the
//! applications resolved, the release's texts rendered, and every path
//! checked, into one [`ReleasePlan`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{self, LoadOptions, ReleaseSettings};
use crate::error::{Error, Result};
use crate::formats::beam::{self, ChunkId};
use crate::formats::boot::KernelModules;
use crate::formats::term::parse_consult;
use crate::launcher;
use crate::pipeline::cookie;
use crate::pipeline::executable::PlannedExecutable;
use crate::pipeline::inputs::{ElixirInstall, Inputs, MixBuild, Origin, OtpInstall};
use crate::pipeline::options::{BuildOptions, Settled};
use crate::pipeline::plan::{PlannedApp, ReleasePlan};
use crate::pipeline::render::{plan_overlays, plan_providers, render_vm_args};
use crate::pipeline::resolve::{resolve, Request};
use crate::pipeline::steps::{self, Steps};
use crate::pipeline::sys_config;
use crate::pipeline::target;
use crate::vocab::{validate_release_name, Hook, IncludeErts, StartType, Toolchain};

/// Reads the inputs and decides the release (without an upgrade).
pub(crate) fn plan_release(options: &BuildOptions) -> Result<ReleasePlan> {
    let mut project_config = config::load(&LoadOptions {
        dir: &options.project_dir,
        env: &options.env,
        name: options.name.as_deref(),
        use_elixir: options.use_elixir,
        every_release: false,
    })?;
    let (steps, steps_ran) = match project_config.release.as_mut() {
        Some(release) if steps::has_custom(release) => {
            let (running, ran) = run_steps_before_assemble(options, release)?;
            (Some(Arc::new(running)), ran)
        }
        _ => (None, Vec::new()),
    };
    let config_warnings = project_config.check_strict(options.strict)?;
    let release = project_config.release.as_ref();
    // Locate: what the release is built from and what it is called.
    let build = MixBuild::open_with(
        &options.project_dir,
        &options.env,
        project_config.project.app.clone(),
    )?;
    let mix = project_config.kind == config::ProjectKind::Mix;
    let settled = options.settle(release, mix);
    let include_erts = settled.include_erts.clone();
    let otp = match (
        include_erts.otp_root(),
        &options.target_root,
        &options.otp_root,
    ) {
        (Some(root), ..) => OtpInstall::open(&root)?,
        (_, Some(root), _) => OtpInstall::open(&target::otp_in_root(root)?)?,
        (_, _, Some(root)) => OtpInstall::open(root)?,
        _ => OtpInstall::from_path_env()?,
    };
    let target_root = options
        .target_root
        .clone()
        .or_else(|| target::root_of_otp(&otp.root));
    let elixir = match (&options.elixir_root, mix) {
        (_, false) => None,
        (Some(root), true) => Some(ElixirInstall::open(root)?),
        (None, true) => Some(ElixirInstall::from_path_env()?),
    };

    let (name, version) = release_identity(options, &project_config, &build, mix)?;
    validate_release_name(&name)?;
    let (commands, hooks) = launcher_extras(options, release)?;
    let requested = requested_apps(options, release, build.project_app.as_deref())?;
    // Resolve: the application closure with start types.
    let inputs = Inputs { build, otp, elixir };
    let resolved = resolve(
        &inputs,
        &Request {
            apps: requested,
            elixir: mix,
        },
    )?;

    let include_erts = include_erts != IncludeErts::No;
    let toolchain = Toolchain::of_apps(
        resolved
            .iter()
            .map(|r| (r.name(), r.source.spec.vsn.as_str())),
        inputs.otp.otp_release,
    );
    let mut apps = planned_apps(resolved, include_erts, mix, &toolchain)?;
    let target = target::choose(options.target, &inputs.otp, include_erts)?;
    target::assign_target_files(&mut apps, &options.target_files)?;
    target::check_release(target, &inputs.otp, include_erts, &apps, settled.jobs)?;

    let mut warnings = config_warnings;
    warnings.extend(plan_warnings(&inputs, &apps));
    let Inputs { build, otp, .. } = inputs;
    let kernel_modules = read_kernel_modules(&otp);
    let output_dir = settled
        .output_dir
        .clone()
        .unwrap_or_else(|| build.build_dir.join("rel").join(&name));
    let dev_mode = release.is_some_and(|r| r.dev_mode);
    if dev_mode && options.tar == Some(true) {
        return Err(Error::Option(format!(
            "{}: `dev_mode: true` writes no tarball, and a tarball was asked for: drop one of them",
            release.map_or_else(Default::default, |r| r.file.display().to_string())
        )));
    }
    let tar = settled.tar && !dev_mode;
    let tarball = tar.then(|| {
        build
            .build_dir
            .join(format!("{name}-{version}.{}", options.compress.extension()))
    });
    let executable = plan_executable(&settled, release, tarball.as_deref(), &name, &version)?;
    let strip = settled
        .strip_beams
        .then(|| {
            let configured = release.map_or(&[][..], |r| &r.strip_keep[..]);
            keep_chunks(configured, &options.keep_chunks, &toolchain)
        })
        .transpose()?;
    let cookie_store = cookie::store_path(&build.build_dir);
    let cookie = cookie::choose(settled.cookie.as_deref(), &output_dir, &cookie_store)?;
    let cache_dir = options.cache.then(|| build.build_dir.join("relpack-cache"));
    // Render: the release's texts, with its variables.
    let mut vars = vec![
        ("name".to_owned(), name.clone()),
        ("release_name".to_owned(), name.clone()),
        ("version".to_owned(), version.clone()),
        ("release_version".to_owned(), version.clone()),
        ("erts_vsn".to_owned(), otp.erts_vsn.clone()),
        ("output_dir".to_owned(), output_dir.display().to_string()),
    ];
    vars.extend(release.map(|r| r.overlay_vars.clone()).unwrap_or_default());
    let vm_args = release
        .map(|r| render_vm_args(r, &vars))
        .transpose()?
        .flatten();
    let env_sh = release
        .and_then(|r| r.env_sh.as_deref())
        .map(|path| config::eex::render_file(path, &vars))
        .transpose()?;
    let overlays = release
        .map(|r| plan_overlays(r, &options.project_dir, &vars))
        .transpose()?
        .unwrap_or_default();
    let app_config = project_config.app_config;
    let providers = plan_providers(
        release,
        &app_config,
        &version,
        &overlays,
        &options.env,
        &apps,
    )?;
    let sys_config = sys_config::render(
        app_config.config,
        release.and_then(|r| r.sys_config.as_deref()),
        providers.as_ref(),
    )?;
    // Check: the output may not overlap what the build reads.
    let mut read = vec![build.build_dir.join("lib"), otp.root.clone()];
    read.extend(apps.iter().map(|a| a.source.dir.clone()));
    read.extend(build.consolidated.clone());
    check_no_overlap(&output_dir, &build.root, &read)?;
    let launcher = release.is_none_or(|r| r.launcher);
    if !launcher && executable.is_some() {
        return Err(Error::Option(format!(
            "{}: `include_executables_for` writes no bin/{name}, which a one-file executable runs: add :unix or drop the executable",
            release.map_or_else(Default::default, |r| r.file.display().to_string())
        )));
    }
    Ok(ReleasePlan {
        name,
        launcher,
        version,
        otp,
        include_erts,
        target,
        target_root,
        apps,
        consolidated: build.consolidated,
        kernel_modules,
        output_dir,
        tarball,
        strip,
        codec: options.compress,
        cookie,
        cookie_given: settled.cookie.is_some(),
        cookie_store,
        cache_dir,
        executable,
        warnings,
        sys_config,
        runtime_config: app_config.runtime,
        config_provider: providers.is_some(),
        config_reboot: providers.as_ref().is_some_and(|p| p.reboot),
        dev_mode,
        vm_args,
        env_sh,
        overlays,
        release_config: project_config.release,
        commands,
        hooks,
        upgrade: None,
        steps,
        steps_ran,
        mtime: settled.mtime,
        jobs: settled.jobs,
        cancel: options.cancel.clone(),
    })
}

/// Starts the release's custom steps and runs those before `:assemble`;
/// `release` becomes what they made of it.
fn run_steps_before_assemble(
    options: &BuildOptions,
    release: &mut ReleaseSettings,
) -> Result<(Steps, Vec<String>)> {
    let mut overrides = Vec::new();
    if let Some(dir) = &options.output_dir {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
        overrides.push(("path", dir.display().to_string()));
    }
    if let Some(version) = &options.version {
        overrides.push(("version", version.clone()));
    }
    // What the command line sets wins over the configuration, so a step
    // may not change it: which one was meant is not for relpack to guess.
    let explicit: Vec<&str> = [
        ("path", options.output_dir.is_some()),
        ("version", options.version.is_some()),
        ("cookie", options.cookie.is_some()),
        ("strip_beams", options.strip_beams.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, set)| set.then_some(key))
    .collect();
    let (running, handover) =
        Steps::start(&options.project_dir, &options.env, release, &overrides)?;
    *release = steps::apply_before_assemble(release, &handover, &options.project_dir, &explicit)?;
    Ok((running, handover.ran))
}

/// The release's name and version: the caller's, else the release
/// configuration's (`version: {:from_app, app}` read from that `.app`),
/// else the project application's.
fn release_identity(
    options: &BuildOptions,
    project_config: &config::ProjectConfig,
    build: &MixBuild,
    mix: bool,
) -> Result<(String, String)> {
    let release = project_config.release.as_ref();
    let project_app = &build.project_app;
    let wanted_name = options.name.clone().or(release.map(|r| r.name.clone()));
    let wanted_version = match (&options.version, release) {
        (Some(v), _) => Some(v.clone()),
        (None, Some(r)) => match (&r.version, &r.version_from_app) {
            (Some(v), _) => Some(v.clone()),
            (None, Some(app)) => {
                let dir = build.apps.get(app).ok_or_else(|| Error::Project {
                    path: r.file.clone(),
                    message: format!(
                        "version: {{:from_app, :{app}}}: `{app}` is not compiled in this project"
                    ),
                })?;
                let app_file = dir.join("ebin").join(format!("{app}.app"));
                Some(crate::formats::app::AppSpec::read(&app_file, app)?.vsn)
            }
            (None, None) => None,
        },
        (None, None) => None,
    };
    Ok(match (project_app, wanted_name, wanted_version) {
        (_, Some(n), Some(v)) => (n, v),
        (Some(app), name, version) => {
            let dir = &build.apps[app];
            let spec =
                crate::formats::app::AppSpec::read(&dir.join("ebin").join(format!("{app}.app")), app)?;
            (name.unwrap_or_else(|| app.clone()), version.unwrap_or(spec.vsn))
        }
        (None, _, _) => {
            return Err(Error::Project {
                path: project_config.project.path.clone(),
                message: if mix {
                    "an umbrella project needs a release in mix.exs `releases:` (or --name, --release-version and --app CHILD)"
                } else {
                    "no {relx, [{release, {Name, Vsn}, Apps}]} here: add one (or pass --name, --release-version and --app)"
                }
                .into(),
            })
        }
    })
}

/// The applications the release names with their start types: the
/// caller's, the configuration's for the others, and the project's own
/// application as `permanent` unless named.
fn requested_apps(
    options: &BuildOptions,
    release: Option<&ReleaseSettings>,
    project_app: Option<&str>,
) -> Result<Vec<(String, StartType)>> {
    let mut requested = options.apps.clone();
    for (app, ty) in release
        .map(|r| r.applications.as_slice())
        .unwrap_or_default()
    {
        if !requested.iter().any(|(n, _)| n == app) {
            requested.push((app.clone(), *ty));
        }
    }
    if project_app.is_none() && requested.is_empty() {
        return Err(Error::Project {
            path: options.project_dir.join("mix.exs"),
            message: "an umbrella release must name the children it ships: pass --app CHILD".into(),
        });
    }

    if let Some(app) = project_app {
        if !requested.iter().any(|(n, _)| n == app) {
            requested.push((app.to_owned(), StartType::Permanent));
        }
    }
    Ok(requested)
}

/// The resolved applications as the plan ships them: bundled unless OTP's
/// and ERTS is not, with their `priv`, and their `start_clean` types.
fn planned_apps(
    resolved: Vec<crate::pipeline::resolve::ResolvedApp>,
    include_erts: bool,
    mix: bool,
    toolchain: &Toolchain,
) -> Result<Vec<PlannedApp>> {
    resolved
        .into_iter()
        .map(|r| {
            let clean_start_type = if matches!(r.name(), "kernel" | "stdlib") {
                StartType::Permanent
            } else {
                StartType::Load
            };
            Ok(PlannedApp {
                replaced: Default::default(),
                bundled: include_erts || r.source.origin != Origin::Otp,
                priv_dir: priv_dir(&r.source.dir, mix)?,
                include_dir: Some(r.source.dir.join("include"))
                    .filter(|d| toolchain.copies_include() && d.is_dir()),
                source: r.source,
                start_type: r.start_type,
                clean_start_type,
            })
        })
        .collect()
}

/// `--executable`, else the release configuration's `executable:` (or
/// `steps:` with `:executable`). The executable carries the tarball, so it
/// needs one.
fn plan_executable(
    settled: &Settled,
    release: Option<&ReleaseSettings>,
    tarball: Option<&Path>,
    name: &str,
    version: &str,
) -> Result<Option<PlannedExecutable>> {
    if !settled.executable {
        return Ok(None);
    }
    let Some(tarball) = tarball else {
        let why = match release {
            Some(r) if r.dev_mode => {
                format!("{}: `dev_mode: true` writes no tarball", r.file.display())
            }
            Some(r) if r.tar == Some(false) => {
                format!("{}: `steps:` has no `:tar`", r.file.display())
            }
            _ => "--no-tar".to_owned(),
        };
        return Err(Error::Option(format!(
            "a one-file executable carries the release's tarball, and {why}: drop one of them"
        )));
    };
    let dir = tarball.parent().unwrap_or(Path::new("."));
    Ok(Some(PlannedExecutable {
        path: dir.join(format!(
            "{name}-{version}.{}",
            crate::pipeline::executable::EXTENSION
        )),
        transient: settled.transient,
    }))
}

/// The chunks stripped BEAMs keep: the bundled Elixir's `mix release`
/// set, then those the configuration (`strip_beams: [keep: ...]`) and the
/// command line (`--keep-chunk`) add, in order, as mix appends them.
fn keep_chunks(
    configured: &[String],
    given: &[String],
    toolchain: &Toolchain,
) -> Result<Vec<ChunkId>> {
    let mut keep = toolchain.kept_chunks();
    for text in configured.iter().chain(given) {
        let id = beam::parse_chunk_id(text).ok_or_else(|| {
            Error::Option(format!(
                "invalid BEAM chunk name `{text}`: a chunk name is 4 characters, such as Dbgi or Docs"
            ))
        })?;
        if !keep.contains(&id) {
            keep.push(id);
        }
    }
    Ok(keep)
}

/// Shadowed application copies and a compiler/runtime OTP mismatch.
fn plan_warnings(inputs: &Inputs, apps: &[PlannedApp]) -> Vec<String> {
    let mut out = Vec::new();
    for app in apps.iter().filter(|a| a.source.origin != Origin::Otp) {
        if let Some((vsn, dir)) = inputs.otp.libs.get(app.name()) {
            if vsn != app.vsn() {
                out.push(format!(
                    "{} {} from {} is used; the OTP installation also has {} {} ({}), which is not",
                    app.name(),
                    app.vsn(),
                    app.source.dir.display(),
                    app.name(),
                    vsn,
                    dir.display()
                ));
            }
        }
    }
    if let Some((elixir, otp)) = &inputs.build.compiled_with {
        let target = inputs.otp.otp_release.to_string();
        if *otp != target {
            out.push(format!(
                "the project was compiled by Elixir {elixir} on OTP {otp}, but the release runs on ERTS {} (OTP {target}): {}",
                inputs.otp.erts_vsn,
                if otp.parse::<u32>().unwrap_or(0) > inputs.otp.otp_release {
                    "beams from a newer OTP may fail to load; recompile with the target's OTP"
                } else {
                    "recompile with the target's OTP to be safe"
                }
            ));
        }
    }
    out
}

/// The output is replaced wholesale, so it may neither lie inside nor hold
/// a directory the build reads, nor hold the project (`--out .` would
/// otherwise swap the project away).
fn check_no_overlap(output: &Path, project: &Path, read: &[PathBuf]) -> Result<()> {
    let out = absolute(output);
    let overlap = |input: &Path, out_may_be_inside: bool| {
        let input = absolute(input);
        let bad = input.starts_with(&out) || (!out_may_be_inside && out.starts_with(&input));
        if bad {
            Err(Error::Option(format!(
                "--out {} overlaps {}, which the build reads: choose another output directory",
                output.display(),
                input.display()
            )))
        } else {
            Ok(())
        }
    };
    overlap(project, true)?;
    read.iter().try_for_each(|dir| overlap(dir, false))
}

/// An absolute path with symlinks of its existing part resolved, so that
/// overlapping spellings of one directory compare equal.
fn absolute(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => break,
        }
    }
    let mut resolved = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_owned());
    resolved.extend(rest.iter().rev());
    resolved
}

/// An application's `priv` to ship. rebar3 links `priv` into `_build` even
/// when the application has none, so a dangling link means no `priv` there;
/// Mix links only an existing one, so there it means a broken build.
fn priv_dir(app_dir: &Path, mix: bool) -> Result<Option<PathBuf>> {
    let dir = app_dir.join("priv");
    if dir.exists() {
        Ok(Some(dir))
    } else if dir.is_symlink() && mix {
        Err(Error::Project {
            path: dir,
            message: "dangling symlink: recompile the application or remove the link".into(),
        })
    } else {
        Ok(None)
    }
}

/// Custom launcher commands and hook directories.
type LauncherExtras = (Vec<(String, PathBuf)>, Vec<(Hook, PathBuf)>);

/// Custom commands and hook directories: the caller's, then the release
/// configuration's (Distillery `commands:`, `*_hooks:`) for names the
/// caller did not give; all checked.
fn launcher_extras(
    options: &BuildOptions,
    release: Option<&ReleaseSettings>,
) -> Result<LauncherExtras> {
    let mut commands = options.commands.clone();
    let mut hooks = options.hooks.clone();
    if let Some(r) = release {
        for (name, path) in &r.commands {
            if !commands.iter().any(|(n, _)| n == name) {
                commands.push((name.clone(), path.clone()));
            }
        }
        // A hook given on the command line replaces the configuration's
        // scripts for it; the configuration's own (a 2.x directory and a
        // 1.x script, say) all run.
        for (hook, dir) in &r.hooks {
            if !options.hooks.iter().any(|(h, _)| h == hook) {
                hooks.push((*hook, dir.clone()));
            }
        }
    }
    launcher::check_commands(&commands)?;
    launcher::check_hooks(&hooks)?;
    Ok((commands, hooks))
}

/// The target OTP's preloaded and mandatory modules, from the boot script
/// it ships; OTP 25's lists when it ships none.
fn read_kernel_modules(otp: &OtpInstall) -> KernelModules {
    let script = otp
        .root
        .join("releases")
        .join(otp.otp_release.to_string())
        .join("start_clean.script");
    std::fs::read(script)
        .ok()
        .and_then(|bytes| parse_consult(&bytes).ok())
        .and_then(|terms| terms.first().and_then(KernelModules::from_otp_script))
        .unwrap_or_else(KernelModules::otp25)
}
