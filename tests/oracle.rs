//! Oracle tests: relpack's boot files against what the real Erlang/OTP and
//! `mix release` produce for the same release.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// relpack's `start` and `start_clean` scripts equal, as terms, what
/// `systools:make_script/2` builds from relpack's `.rel`; its `.boot`
/// files are byte for byte `term_to_binary/1` of its scripts.
fn boot_scripts_match_systools(dir: &str) {
    require("escript", "apt-get install erlang");
    let f = fixture(dir);
    let project = compiled_fixture(dir);
    let root = project.path().join(dir);
    let mut args = vec!["build", "--no-tar"];
    args.extend(f.args);
    relpack_ok(&root, &args);
    let release = f.build_dir(&root).join("rel").join(f.release);
    let work = project.path().join("oracle");
    std::fs::create_dir_all(&work).unwrap();
    let out = run_ok(
        Command::new("escript")
            .arg(Path::new(REPO).join("tests/support/oracle.escript"))
            .arg("script")
            .arg(&release)
            .arg(f.release)
            .arg(f.vsn)
            .arg(&work),
    );
    assert_eq!(
        out.matches("script equals systools, boot is term_to_binary")
            .count(),
        2,
        "{out}"
    );
}

/// relpack's `.rel` equals the one `mix release` writes for the same
/// release (mix.exs `releases:` matches each fixture's relpack arguments).
fn rel_matches_mix_release(dir: &str) {
    let f = fixture(dir);
    let project = compiled_fixture(dir);
    let root = project.path().join(dir);
    run_ok(
        Command::new("mix")
            .args(["release", "--overwrite", "--quiet"])
            .current_dir(&root)
            .env("MIX_ENV", "prod"),
    );
    let rel_file = format!("releases/{}/{}.rel", f.vsn, f.release);
    let mix_rel = root.join("_build/prod/rel").join(f.release).join(&rel_file);
    let out_dir = project.path().join("relpack-out");
    let mut args = vec!["build", "--no-tar", "--out", out_dir.to_str().unwrap()];
    args.extend(f.args);
    relpack_ok(&root, &args);
    let out = run_ok(
        Command::new("escript")
            .arg(Path::new(REPO).join("tests/support/oracle.escript"))
            .arg("rel_equal")
            .arg(out_dir.join(&rel_file))
            .arg(&mix_rel),
    );
    assert!(out.contains("rel equal"), "{out}");
}

#[test]
fn hello_boot_scripts_match_systools() {
    boot_scripts_match_systools("hello");
}

#[test]
fn umbrella_boot_scripts_match_systools() {
    boot_scripts_match_systools("umbrella");
}

#[test]
fn nif_boot_scripts_match_systools() {
    boot_scripts_match_systools("nif");
}

#[test]
fn included_boot_scripts_match_systools() {
    boot_scripts_match_systools("included");
}

#[test]
fn hello_rel_matches_mix_release() {
    rel_matches_mix_release("hello");
}

#[test]
fn umbrella_rel_matches_mix_release() {
    rel_matches_mix_release("umbrella");
}

#[test]
fn nif_rel_matches_mix_release() {
    rel_matches_mix_release("nif");
}

#[test]
fn included_rel_matches_mix_release() {
    rel_matches_mix_release("included");
}

#[test]
fn configured_boot_scripts_match_systools() {
    boot_scripts_match_systools("configured");
}

#[test]
fn configured_rel_matches_mix_release() {
    rel_matches_mix_release("configured");
}

#[test]
fn rebar3_boot_scripts_match_systools() {
    boot_scripts_match_systools("rebar_hello");
}

#[test]
fn crypto_boot_scripts_match_systools() {
    boot_scripts_match_systools("crypto");
}
