//! End to end: compile each fixture with the real `mix`, package it with
//! relpack, unpack the tarball into a fresh directory (with a space in its
//! path) and boot it with the system's Erlang and Elixir hidden, then in a
//! minimal Debian rootfs with no Erlang at all.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

/// Builds `dir`'s release with relpack and unpacks its tarball; returns the
/// scratch space and the unpacked release root.
fn packaged(dir: &str) -> (Scratch, PathBuf) {
    let (project, unpacked) = package_with(dir, &[]);
    // What the tarball holds, and nothing else.
    let mut top: Vec<String> = std::fs::read_dir(&unpacked)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    let erts = installed().erts_dir();
    assert_eq!(top, ["bin", erts.as_str(), "lib", "releases"]);
    (project, unpacked)
}

fn launcher(release: &Path, name: &str) -> PathBuf {
    release.join("bin").join(name)
}

fn eval_hidden(release: &Path, name: &str, expr: &str) -> std::process::Output {
    run(&mut without_system_erlang(
        &launcher(release, name),
        &["eval", expr],
    ))
}

/// `eval` prints the expression's output and exits 0; the VM is the
/// bundled one (the system Erlang is hidden).
fn boots_with_eval(dir: &str) {
    let f = fixture(dir);
    let (_scratch, release) = packaged(dir);
    let out = eval_hidden(&release, f.release, f.eval.0);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if f.eval.1.starts_with("** (exit)") {
        // Included apps are not started by eval: calling into one fails.
        assert!(!out.status.success(), "{stdout}{stderr}");
        assert!(stderr.contains(f.eval.1), "{stderr}");
    } else {
        assert!(out.status.success(), "eval failed: {stdout}{stderr}");
        assert_eq!(stdout.trim(), f.eval.1, "{stderr}");
    }
}

/// `foreground` boots the whole supervision tree from the bundled ERTS,
/// answers over distribution, and stops cleanly on SIGTERM.
fn boots_in_foreground(dir: &str) {
    let f = fixture(dir);
    let (scratch, release) = packaged(dir);
    ensure_epmd();
    let node = node_name(f.release);
    let log = scratch.path().join("foreground.log");
    let mut cmd = without_system_erlang(&launcher(&release, f.release), &["foreground"]);
    cmd.env("RELEASE_NODE", &node);
    let mut child = spawn_logged(&mut cmd, &log);
    let cookie = cookie(&release);
    let answer = wait_for_rpc(&node, &cookie, f.running.0, Duration::from_secs(30));
    let root_dir = rpc(&node, &cookie, "code:root_dir()");
    let status = terminate(&mut child);
    let answer =
        answer.unwrap_or_else(|| panic!("node {node} never answered; log:\n{}", read_log(&log)));
    assert!(
        answer.contains(f.running.1),
        "{answer}\nlog:\n{}",
        read_log(&log)
    );
    let root_dir = root_dir.expect("root_dir answered");
    assert_eq!(
        root_dir.trim_matches('"'),
        release.to_str().unwrap(),
        "not the bundled ERTS"
    );
    assert!(
        status.success(),
        "foreground exited with {status} after SIGTERM:\n{}",
        read_log(&log)
    );
}

#[test]
fn system_erlang_is_really_hidden() {
    let installed = installed();
    let otp = installed.otp_root.to_string_lossy();
    let elixir = installed.elixir_root();
    let elixir = elixir.to_string_lossy();
    let out = run_ok(&mut without_system_erlang(
        Path::new("/bin/sh"),
        &[
            "-c",
            "ls -A \"$0\" \"$1\"; erl -version 2>&1 || echo no-erl",
            &otp,
            &elixir,
        ],
    ));
    assert!(out.contains("no-erl"), "{out}");
    assert!(!out.contains("erts-"), "{out}");
}

#[test]
fn hello_boots_with_eval() {
    boots_with_eval("hello");
}

#[test]
fn umbrella_boots_with_eval() {
    boots_with_eval("umbrella");
}

#[test]
fn nif_boots_with_eval() {
    boots_with_eval("nif");
}

#[test]
fn included_boots_with_eval() {
    boots_with_eval("included");
}

#[test]
fn configured_boots_with_eval() {
    boots_with_eval("configured");
}

#[test]
fn configured_boots_in_foreground() {
    boots_in_foreground("configured");
}

#[test]
fn hello_boots_in_foreground() {
    boots_in_foreground("hello");
}

#[test]
fn umbrella_boots_in_foreground() {
    boots_in_foreground("umbrella");
}

#[test]
fn nif_boots_in_foreground() {
    boots_in_foreground("nif");
}

#[test]
fn included_boots_in_foreground() {
    boots_in_foreground("included");
}

#[test]
fn eval_of_a_raising_expression_exits_non_zero() {
    let (_scratch, release) = packaged("hello");
    let out = eval_hidden(&release, "hello", "raise \"boom\"");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("boom"));
}

#[test]
fn launcher_version_and_help() {
    let (_scratch, release) = packaged("hello");
    let version = run_ok(Command::new(launcher(&release, "hello")).arg("version"));
    assert_eq!(version.trim(), "hello 0.1.0");
    let bad = run(Command::new(launcher(&release, "hello")).arg("frobnicate"));
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("foreground"));
}

#[test]
fn launcher_works_through_a_symlink_from_another_directory() {
    let (scratch, release) = packaged("hello");
    let link = scratch.path().join("hello-link");
    std::os::unix::fs::symlink(launcher(&release, "hello"), &link).unwrap();
    let out = run_ok(
        Command::new(&link)
            .args(["eval", "IO.puts(Hello.hello())"])
            .current_dir("/"),
    );
    assert_eq!(out.trim(), "world");
}

/// The stand-in for a `FROM debian:bookworm-slim` final stage: a minimal
/// Debian rootfs without Erlang, the release copied to /opt.
fn boots_in_rootfs(dir: &str) {
    let f = fixture(dir);
    let (_scratch, release) = packaged(dir);
    let rootfs = rootfs();
    assert!(
        !rootfs.join("usr/lib/erlang").exists(),
        "the rootfs must have no Erlang"
    );
    let opt = format!("opt/relpack-test-{}-{}", std::process::id(), f.release);
    let dest = rootfs.join(&opt);
    let _cleanup = Scratch(dest.clone());
    copy_dir(&release, &dest);
    let out = chroot(
        &rootfs,
        &format!("/{opt}/bin/{}", f.release),
        &["eval", f.eval.0],
    );
    assert_printed(&out, f.eval.1);
}

#[test]
fn hello_boots_in_a_minimal_debian_rootfs() {
    boots_in_rootfs("hello");
}

#[test]
fn nif_boots_in_a_minimal_debian_rootfs() {
    boots_in_rootfs("nif");
}

#[test]
fn rebar3_release_boots_with_eval() {
    boots_with_eval("rebar_hello");
}

#[test]
fn rebar3_release_boots_in_foreground() {
    boots_in_foreground("rebar_hello");
}
