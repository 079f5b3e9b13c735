//! A release's custom `steps:` functions, run by the real Mix around
//! relpack's own steps (fixtures/stepped: a step before :assemble that
//! changes the struct, steps after it that write and delete files, and a
//! path dependency's step that wraps the release after :tar), against
//! what the real `mix release` does with the same project.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use common::*;

const VSN: &str = "0.1.0-stepped";

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The paths a tarball holds, without `./` and trailing slashes.
fn entries(tarball: &Path) -> BTreeSet<String> {
    run_ok(Command::new("tar").arg("tzf").arg(tarball))
        .lines()
        .map(|l| l.trim_start_matches("./").trim_end_matches('/').to_owned())
        .collect()
}

/// The paths the fixture's steps write, delete or leave.
fn touched() -> Vec<String> {
    vec![
        format!("releases/{VSN}/build_info.txt"),
        "NOTES".into(),
        "scratch.txt".into(),
        "docs".into(),
        "docs/README.txt".into(),
    ]
}

/// The steps run in mix's order and their work is what `mix release`
/// leaves: the struct's new version and cookie are the release's, a file
/// in releases/VSN and an overlay the step added are packed, a file the
/// step left out of the overlays is not (with a warning), what a step
/// deleted is gone; the tarball boots and its node reads the step's file;
/// the dependency's wrapped artifact runs the release.
#[test]
fn custom_steps_run_around_relpack_s_own_as_mix_runs_them() {
    ensure_epmd();
    let project = compiled_fixture("stepped");
    let root = project.path().join("stepped");
    let out = relpack(&root, &["build", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["steps"],
        serde_json::json!([
            "&stamp/1",
            "&write_build_info/1",
            "&write_notes/1",
            "&prune_docs/1",
            "&Wrapper.wrap/1"
        ])
    );
    assert_eq!(report["version"], VSN);
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("scratch.txt") && warnings.contains("overlays"),
        "{warnings}"
    );

    let release = root.join("_build/prod/rel/stepped");
    assert_eq!(cookie(&release), "stepped_cookie_0123456789");
    assert!(release.join("scratch.txt").is_file());
    assert!(!release.join("docs").exists());
    let tarball = root.join(format!("_build/prod/stepped-{VSN}.tar.gz"));
    let packed = entries(&tarball);
    // The dependency's step wrapped the release into a file that runs it.
    let wrapped = root.join("_build/prod/wrapped/stepped");
    assert_printed(
        &run(Command::new(&wrapped).args(["eval", "IO.puts(Stepped.build_info())"])),
        &format!("stepped {VSN} assembled by steps"),
    );

    // The oracle: the same project through the real `mix release`, whose
    // steps run again.
    let mix_dir = project.path().join("mix-release");
    run_ok(
        Command::new("mix")
            .args(["release", "stepped", "--overwrite", "--quiet", "--path"])
            .arg(&mix_dir)
            .current_dir(&root)
            .env("MIX_ENV", "prod"),
    );
    let mix_packed = entries(&mix_dir.join(format!("stepped-{VSN}.tar.gz")));
    for path in touched() {
        assert_eq!(
            packed.contains(&path),
            mix_packed.contains(&path),
            "{path}: relpack's tarball {} it, mix's {}",
            if packed.contains(&path) {
                "has"
            } else {
                "lacks"
            },
            if mix_packed.contains(&path) {
                "has"
            } else {
                "lacks"
            },
        );
        assert_eq!(
            release.join(&path).exists(),
            mix_dir.join(&path).exists(),
            "{path} in the release directory"
        );
    }
    assert_eq!(cookie(&release), cookie(&mix_dir));
    assert!(packed.contains(&format!("releases/{VSN}/build_info.txt")));
    assert!(packed.contains("NOTES") && !packed.contains("scratch.txt"));

    // The tarball boots, and its node reads what the step wrote.
    let unpacked = project.path().join("unpacked");
    unpack(&tarball, &unpacked);
    let node = node_name("stepped");
    let launcher = |args: &[&str]| {
        run(Command::new(unpacked.join("bin/stepped"))
            .args(args)
            .env("RELEASE_NODE", &node))
    };
    let _guard = DaemonGuard(unpacked.join("tmp/daemon.pid"));
    let started = launcher(&["daemon"]);
    assert!(started.status.success(), "{}", stderr(&started));
    let info = wait_for_rpc(
        &node,
        &cookie(&unpacked),
        "'Elixir.Stepped':build_info()",
        std::time::Duration::from_secs(30),
    );
    assert_eq!(
        info.as_deref(),
        Some(format!("<<\"stepped {VSN} assembled by steps\">>").as_str())
    );
    assert_printed(&launcher(&["stop"]), "");
}

/// Builds release `name` of the fixture, which must fail; returns its one
/// line of error and checks that nothing was published.
fn fails(name: &str, extra: &[&str]) -> String {
    let project = compiled_fixture("stepped");
    let root = project.path().join("stepped");
    let mut args = vec!["build", "--name", name];
    args.extend(extra);
    let out = relpack(&root, &args);
    assert!(!out.status.success(), "{name} built");
    let rel = root.join("_build/prod/rel");
    let left: Vec<_> = std::fs::read_dir(&rel)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "{name}: {left:?} left in {}",
        rel.display()
    );
    let tarballs: Vec<_> = std::fs::read_dir(root.join("_build/prod"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tar"))
        .collect();
    assert!(tarballs.is_empty(), "{name}: {tarballs:?}");
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    err
}

#[test]
fn a_step_that_raises_stops_the_build_naming_it_and_its_line() {
    let err = fails("raising", &[]);
    assert!(
        err.contains("mix.exs:")
            && err.contains("step &raise_in_step/1: raised: the step's own failure"),
        "{err}"
    );
}

#[test]
fn a_change_before_assemble_relpack_cannot_apply_names_the_step_and_field() {
    let err = fails("unapplied", &[]);
    assert!(
        err.contains("step &drop_iex/1: changes `applications`"),
        "{err}"
    );
}

#[test]
fn a_change_after_assemble_that_the_tarball_would_miss_is_refused() {
    let err = fails("late", &[]);
    assert!(
        err.contains("step &late_version/1: changes the release's `version` after :assemble"),
        "{err}"
    );
    // mix's :tar fails on an overlay a step deleted but left listed.
    let err = fails("pruned", &[]);
    assert!(
        err.contains("removed docs") && err.contains("`overlays`"),
        "{err}"
    );
}

#[test]
fn a_step_may_not_change_what_the_command_line_sets() {
    let err = fails("stepped", &["--cookie", "from_the_command_line"]);
    assert!(
        err.contains(
            "step &stamp/1: changes `options[:cookie]`: the command line sets `cookie` too"
        ),
        "{err}"
    );
}

#[test]
fn without_elixir_custom_steps_are_refused_in_one_line() {
    let err = fails("stepped", &["--no-elixir"]);
    assert!(
        err.contains("the `&` operator (&stamp/1)") && err.contains("--no-elixir"),
        "{err}"
    );
}

/// An image holds the release directory as the steps left it, as a
/// Dockerfile's `COPY _build/prod/rel/NAME` after `mix release` does.
#[test]
fn an_image_holds_the_release_the_steps_made() {
    let project = compiled_fixture("stepped");
    let root = project.path().join("stepped");
    let layout = project.path().join("layout");
    relpack_ok(
        &root,
        &[
            "image",
            "--format",
            "oci-dir",
            "--out",
            layout.to_str().unwrap(),
        ],
    );
    let mut files = BTreeSet::new();
    for blob in std::fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        let blob = blob.unwrap().path();
        let listed = run(Command::new("tar").arg("tzf").arg(&blob));
        if listed.status.success() {
            files.extend(
                String::from_utf8_lossy(&listed.stdout)
                    .lines()
                    .map(str::to_owned),
            );
        }
    }
    let release = "opt/app";
    for (path, present) in [
        (format!("{release}/releases/{VSN}/build_info.txt"), true),
        (format!("{release}/NOTES"), true),
        (format!("{release}/scratch.txt"), true),
        (format!("{release}/docs/README.txt"), false),
    ] {
        assert_eq!(files.contains(&path), present, "{path} in {files:?}");
    }
}
