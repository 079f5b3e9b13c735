//! Configuration in the shapes real projects use (`fixtures/shapes` with
//! one of `fixtures/shapes_variants/*` laid over it): the `sys.config`
//! relpack writes equals, as Erlang terms, the one the real `mix release`
//! writes for the same project, whichever way relpack read the files
//! (natively, or through the `elixir` fallback); what relpack reads
//! natively also equals what it reads without the fallback. Providers,
//! `reboot_system_after_config` and `validate_compile_env` are observed in
//! a booted release.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

/// The build-time environment every variant is built with.
const BUILD_ENV: &[(&str, &str)] = &[("SHAPES_BUILD_USER", "builder"), ("SHAPES_PORT", "4100")];

/// A copy of `fixtures/shapes` with `variant` laid over it, released by
/// the real `mix release` (which compiles it).
fn released_variant(variant: &str) -> (Scratch, PathBuf) {
    require("mix", "apt-get install elixir (scripts/setup.sh)");
    let scratch = Scratch::new(&format!("shapes-{variant}"));
    let root = scratch.path().join("shapes");
    copy_dir(&Path::new(REPO).join("fixtures/shapes"), &root);
    let _ = std::fs::remove_dir_all(root.join("_build"));
    let overlay = Path::new(REPO)
        .join("fixtures/shapes_variants")
        .join(variant);
    run_ok(
        Command::new("cp")
            .arg("-a")
            .arg(overlay.join("."))
            .arg(&root),
    );
    let mut mix = Command::new("mix");
    mix.args(["release", "--overwrite", "--quiet"])
        .current_dir(&root)
        .env("MIX_ENV", "prod");
    for (k, v) in BUILD_ENV {
        mix.env(k, v);
    }
    run_ok(&mut mix);
    (scratch, root)
}

/// `relpack build` of the project at `root` into `out`, with `extra` args.
fn relpack_build(root: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_relpack"));
    cmd.args(["build", "--no-tar", "--out"])
        .arg(out)
        .args(extra)
        .current_dir(root)
        .env_remove("MIX_ENV");
    for (k, v) in BUILD_ENV {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

fn config_equal(a: &Path, b: &Path) -> bool {
    require("escript", "apt-get install erlang");
    let out = run_ok(
        Command::new("escript")
            .arg(Path::new(REPO).join("tests/support/oracle.escript"))
            .arg("config_equal")
            .arg(a)
            .arg(b),
    );
    out.contains("config equal")
}

/// relpack's sys.config (and its RUNTIME_CONFIG line) equals mix
/// release's; the native reading, where it applies, gives the same.
fn check_variant(variant: &str) -> (Scratch, PathBuf, PathBuf) {
    let (scratch, root) = released_variant(variant);
    let mix_sys = root.join("_build/prod/rel/shapes/releases/0.4.0/sys.config");
    let out = scratch.path().join("relpack");
    let built = relpack_build(&root, &out, &[]);
    assert!(
        built.status.success(),
        "{variant}: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let ours = out.join("releases/0.4.0/sys.config");
    assert!(
        config_equal(&ours, &mix_sys),
        "{variant}: sys.config differs from mix release's:\nrelpack: {}\nmix:     {}",
        std::fs::read_to_string(&ours).unwrap(),
        std::fs::read_to_string(&mix_sys).unwrap()
    );
    let line = |p: &Path| {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .find(|l| l.starts_with("%% RUNTIME_CONFIG="))
            .map(str::to_owned)
    };
    assert_eq!(
        line(&ours),
        line(&mix_sys),
        "{variant}: RUNTIME_CONFIG line"
    );

    let native_out = scratch.path().join("relpack-native");
    let native = relpack_build(&root, &native_out, &["--no-elixir"]);
    let stderr = String::from_utf8_lossy(&native.stderr);
    if native.status.success() {
        assert!(
            config_equal(&native_out.join("releases/0.4.0/sys.config"), &mix_sys),
            "{variant}: the native reading differs from mix release's"
        );
    } else {
        assert!(
            stderr.contains("not in the subset relpack evaluates natively")
                && stderr.trim_end().lines().count() == 1,
            "{variant}: without the fallback, relpack must name the construct: {stderr}"
        );
    }
    (scratch, root, out)
}

#[test]
fn imports_deep_merge_as_mix_does() {
    check_variant("imports");
}

#[test]
fn mix_project_config_answers_for_the_project() {
    let (_s, _root, out) = check_variant("project_config");
    let text = std::fs::read_to_string(out.join("releases/0.4.0/sys.config")).unwrap();
    assert!(text.contains("{version,<<\"0.4.0\"/utf8>>}"), "{text}");
    assert!(text.contains("{app_name,shapes}"), "{text}");
}

#[test]
fn build_time_environment_is_read_at_build_time() {
    let (_s, _root, out) = check_variant("build_env");
    let text = std::fs::read_to_string(out.join("releases/0.4.0/sys.config")).unwrap();
    assert!(text.contains("{port,4100}"), "{text}");
}

#[test]
fn helper_modules_in_config_files() {
    check_variant("helper_module");
}

/// runtime.exs: mix's Config.Reader provider, and the compile_env the
/// .app records, validated at boot: the booted release takes a runtime
/// value, and refuses to boot when runtime.exs changes a value the code
/// was compiled with.
#[test]
fn runtime_exs_validates_compile_env() {
    let (scratch, _root, out) = check_variant("runtime");
    let text = std::fs::read_to_string(out.join("releases/0.4.0/sys.config")).unwrap();
    assert!(
        text.contains("validate_compile_env => [{shapes,[limit],{ok,7}}]"),
        "{text}"
    );
    ensure_epmd();
    let bin = out.join("bin/shapes");
    let node = node_name("shapes");
    let log = scratch.path().join("fg.log");
    let mut cmd = without_system_erlang(&bin, &["foreground"]);
    cmd.env("RELEASE_NODE", &node)
        .env("SHAPES_RUNTIME", "at-boot");
    let mut child = spawn_logged(&mut cmd, &log);
    let answer = wait_for_rpc(
        &node,
        &cookie(&out),
        "application:get_env(shapes, runtime_value)",
        Duration::from_secs(60),
    );
    terminate(&mut child);
    assert_eq!(
        answer.unwrap_or_else(|| panic!("no answer; log:\n{}", read_log(&log))),
        "{ok,<<\"at-boot\">>}"
    );

    // The refused boot leaves its crash dump in the test's own directory.
    let refused = run(without_system_erlang(&bin, &["foreground"])
        .current_dir(scratch.path())
        .env("ERL_CRASH_DUMP", scratch.path().join("erl_crash.dump"))
        .env("RELEASE_NODE", node_name("shapes"))
        .env("SHAPES_LIMIT", "9"));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&refused.stdout),
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!refused.status.success(), "{said}");
    assert!(
        said.contains("compile") && said.contains(":limit"),
        "{said}"
    );
}

#[test]
fn validate_compile_env_false_is_honoured() {
    let (_s, _root, out) = check_variant("no_validate");
    let text = std::fs::read_to_string(out.join("releases/0.4.0/sys.config")).unwrap();
    assert!(text.contains("validate_compile_env => false"), "{text}");
}

/// The deprecated config/releases.exs: read at boot as runtime.exs, and
/// the VM reboots after configuration, as mix arranges it.
#[test]
fn releases_exs_reboots_by_default() {
    let (_s, _root, out) = check_variant("releases_exs");
    let text = std::fs::read_to_string(out.join("releases/0.4.0/sys.config")).unwrap();
    assert!(
        text.starts_with("%% coding: utf-8\n%% RUNTIME_CONFIG=true\n"),
        "{text}"
    );
    assert!(out.join("releases/0.4.0/runtime.exs").is_file());
}

/// A third-party-style provider module changes a value at boot, after
/// runtime.exs; with `reboot_system_after_config` the VM restarts into
/// the new config, distribution started only then. The booted release
/// shows every value, with the system Erlang hidden.
#[test]
fn provider_module_runs_at_boot_with_reboot() {
    let (scratch, _root, out) = check_variant("provider");
    let text = std::fs::read_to_string(out.join("releases/0.4.0/sys.config")).unwrap();
    assert!(
        text.contains("{'Elixir.Shapes.Provider',<<\"etc/shapes.txt\"/utf8>>}"),
        "{text}"
    );
    assert!(
        text.contains("{kernel,[{start_distribution,false}]}"),
        "{text}"
    );

    ensure_epmd();
    let node = node_name("shapes");
    let log = scratch.path().join("fg.log");
    let tmp = scratch.path().join("release-tmp");
    let mut cmd = without_system_erlang(&out.join("bin/shapes"), &["foreground"]);
    cmd.env("RELEASE_NODE", &node)
        .env("RELEASE_TMP", &tmp)
        .env("SHAPES_RUNTIME", "at-boot");
    let mut child = spawn_logged(&mut cmd, &log);
    let answer = wait_for_rpc(
        &node,
        &cookie(&out),
        "{application:get_env(shapes, runtime_value), application:get_env(shapes, from_provider), application:get_env(shapes, limit)}",
        Duration::from_secs(60),
    );
    let status = terminate(&mut child);
    let answer = answer.unwrap_or_else(|| panic!("no answer; log:\n{}", read_log(&log)));
    assert_eq!(
        answer,
        "{{ok,<<\"at-boot\">>},{ok,<<\"from the file\">>},{ok,7}}"
    );
    assert!(status.success(), "{status:?}; log:\n{}", read_log(&log));
    // The provider rewrote the copy of sys.config the launcher made.
    let copies: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".runtime.config"))
        .collect();
    assert_eq!(copies.len(), 1, "{copies:?}");
    let rewritten = std::fs::read_to_string(copies[0].path()).unwrap();
    assert!(
        rewritten.contains("{from_provider,") && rewritten.contains("{config_provider_booted,"),
        "{rewritten}"
    );
}

/// A provider relpack cannot run as mix does is refused with its line: a
/// module no application of the release has, and one written only for
/// Distillery's provider behaviour.
#[test]
fn providers_that_cannot_run_are_refused() {
    let (scratch, root) = released_variant("provider");
    let mix_exs = root.join("mix.exs");
    let text = std::fs::read_to_string(&mix_exs).unwrap();
    for (module, expected) in [
        (
            "Missing.Provider",
            "config provider Missing.Provider: no application of the release has module Missing.Provider",
        ),
        (
            "Shapes.DistilleryProvider",
            "config provider Shapes.DistilleryProvider implements only Distillery's provider behaviour",
        ),
    ] {
        std::fs::write(&mix_exs, text.replace("Shapes.Provider", module)).unwrap();
        let out = scratch.path().join(format!("out-{module}"));
        let built = relpack_build(&root, &out, &[]);
        let stderr = String::from_utf8_lossy(&built.stderr);
        assert_eq!(built.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(stderr.contains("mix.exs:"), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(!out.exists(), "{module}: output written");
    }
}
