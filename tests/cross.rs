//! Releases for arm64 built on this (amd64) machine with `--target` and
//! `--target-root`, never running target code in the build: the fixtures
//! compiled here with mix, packaged with the OTP of an arm64 Debian root of
//! this machine's suite (`scripts/rootfs.sh`, QEMU from `scripts/qemu.sh`),
//! then booted in that root under QEMU user emulation with its own Erlang
//! hidden: the launcher's `daemon`, `rpc`, `remote_console` and `stop`, the
//! target's libcrypto, a dependency's NIF (refused when built here, loaded
//! when the target's is given), a one-file executable, `inspect
//! --packages`; and bytecode newer than the target's OTP refused as ERTS
//! refuses it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

const AARCH64: u16 = 183;

/// `program args` in the arm64 root, its Erlang hidden, with `mnt` (the
/// release) at `/mnt`, as node `node`.
fn in_root(root: &Path, mnt: &Path, node: &str, program: &str, args: &[&str]) -> Command {
    let mut cmd = rootfs_command_with(root, Some("/usr/lib/erlang"), Some(mnt), program, args);
    cmd.env("RELEASE_NODE", node)
        .env("LANG", "C.UTF-8")
        .env("TERM", "xterm");
    cmd
}

/// Builds the compiled fixture `dir` for arm64 with `extra` arguments;
/// returns the project directory.
fn build_for_arm64(project: &Scratch, dir: &str, root: &Path, extra: &[&str]) -> PathBuf {
    let project = project.path().join(dir);
    let mut args = vec![
        "build",
        "--target",
        "aarch64-linux-gnu",
        "--target-root",
        root.to_str().unwrap(),
    ];
    args.extend_from_slice(fixture(dir).args);
    args.extend_from_slice(extra);
    relpack_ok(&project, &args);
    project
}

/// The crypto fixture for arm64: an aarch64 ERTS and crypto NIF, booted
/// under QEMU: `daemon`, `rpc` (OpenSSL of the target), `remote_console`,
/// `stop`.
#[test]
fn arm64_release_boots_under_qemu_with_the_launcher_and_the_target_s_crypto() {
    let root = arm64_root();
    let scratch = compiled_fixture("crypto");
    let project = build_for_arm64(&scratch, "crypto", &root, &[]);
    let f = fixture("crypto");
    let rel = project.join("_build/prod/rel").join(f.release);
    let erts = versioned(&rel, "erts");
    assert_eq!(elf_machine(&erts.join("bin/beam.smp")), AARCH64);
    let crypto_nif = versioned(&rel.join("lib"), "crypto").join("priv/lib/crypto.so");
    assert_eq!(elf_machine(&crypto_nif), AARCH64);

    let unpacked = scratch.path().join("unpacked");
    unpack(
        &project.join(format!("_build/prod/{}-{}.tar.gz", f.release, f.vsn)),
        &unpacked,
    );
    let node = node_name("arm64");
    let bin = format!("/mnt/bin/{}", f.release);
    let launcher = |args: &[&str]| run(&mut in_root(&root, &unpacked, &node, &bin, args));
    let started = launcher(&["daemon"]);
    assert!(
        started.status.success(),
        "daemon: {}",
        String::from_utf8_lossy(&started.stderr)
    );
    let _stop = StopOnDrop(Box::new(|| {
        let _ = launcher(&["stop"]);
    }));
    let start = Instant::now();
    let answer = loop {
        let out = launcher(&["rpc", f.eval.0]);
        if out.status.success() || start.elapsed() > Duration::from_secs(90) {
            break out;
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    assert_printed(&answer, f.eval.1);
    let version = launcher(&["rpc", ":crypto.info_lib() |> hd() |> elem(2) |> IO.puts()"]);
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(version.starts_with("OpenSSL 3"), "{version}");
    let arch = launcher(&[
        "rpc",
        ":erlang.system_info(:system_architecture) |> IO.puts()",
    ]);
    assert!(
        String::from_utf8_lossy(&arch.stdout).starts_with("aarch64"),
        "{arch:?}"
    );

    let mut console = in_root(
        &root,
        &unpacked,
        &node,
        "/usr/bin/script",
        &["-qec", &format!("{bin} remote_console"), "/dev/null"],
    );
    let mut terminal = Terminal::spawn(&mut console);
    let prompt = terminal.wait_for(&format!("iex({node}@"));
    let mut printed = false;
    if prompt {
        terminal.send(format!("{}\n", f.eval.0).as_bytes());
        printed = terminal.wait_for(f.eval.1);
    }
    terminal.send(b"\x07");
    std::thread::sleep(Duration::from_secs(2));
    terminal.send(b"q\r");
    let text = terminal.close();
    assert!(prompt && printed, "remote_console under QEMU:\n{text}");

    let stopped = launcher(&["stop"]);
    assert!(stopped.status.success(), "stop: {stopped:?}");
    let start = Instant::now();
    while launcher(&["pid"]).status.success() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the node still runs after `stop`"
        );
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// The one `<name>-<vsn>` directory in `dir` (`erts-13.1.5`, `jiffy-1.1.1`).
fn versioned(dir: &Path, name: &str) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{name}-"))
        })
        .unwrap_or_else(|| panic!("no {name}-<vsn> in {}", dir.display()))
}

/// Runs its closure when dropped: a node left running by a failed assert
/// is stopped.
struct StopOnDrop<'a>(Box<dyn Fn() + 'a>);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        (self.0)();
    }
}

/// The target's build of Debian's erlang-jiffy, of the source version
/// installed here (an architecture's binary rebuild, `+b1`, aside), as a
/// user would fetch it: `apt-get download erlang-jiffy:arm64=VERSION`.
fn arm64_jiffy(scratch: &Scratch) -> PathBuf {
    let source =
        run_ok(Command::new("dpkg-query").args(["-W", "-f=${source:Version}", "erlang-jiffy"]));
    let madison = run_ok(Command::new("apt-cache").args(["madison", "erlang-jiffy:arm64"]));
    let version = madison
        .lines()
        .filter_map(|l| Some(l.split('|').nth(1)?.trim().to_owned()))
        .find(|v| v.split("+b").next() == Some(source.trim()))
        .unwrap_or_else(|| panic!("no arm64 erlang-jiffy of source {source}: {madison}"));
    let dir = scratch.path().join("arm64-jiffy");
    std::fs::create_dir_all(&dir).unwrap();
    run_ok(
        Command::new("apt-get")
            .args(["download", "-q", "-o", "APT::Sandbox::User=root"])
            .arg(format!("erlang-jiffy:arm64={version}"))
            .current_dir(&dir),
    );
    let deb = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .unwrap();
    run_ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&dir));
    let lib = dir.join("usr/lib/erlang/lib");
    let app = std::fs::read_dir(&lib)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let nif = app.join("priv/jiffy.so");
    assert_eq!(elf_machine(&nif), AARCH64);
    nif
}

/// A dependency whose NIF was compiled here (Debian's jiffy, copied into
/// `_build` as rebar3 would build it) stops the arm64 build with one line
/// naming the file and the way out, writing nothing; with the target's
/// NIF given by `--target-file` the release boots under QEMU and the NIF
/// loads.
#[test]
fn a_dependency_s_host_nif_is_refused_and_the_target_s_one_loads() {
    let root = arm64_root();
    let scratch = compiled_fixture("nif");
    let project = scratch.path().join("nif");
    let jiffy = installed().otp_root.join("lib");
    let host_jiffy = versioned(&jiffy, "jiffy");
    copy_dir(&host_jiffy, &project.join("_build/prod/lib/jiffy"));

    let root_arg = root.to_str().unwrap();
    let args = ["build", "--target", "arm64", "--target-root", root_arg];
    let out = relpack(&project, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    for part in [
        "_build/prod/lib/jiffy/priv/jiffy.so: built for x86-64",
        "the release is for aarch64-linux-gnu",
        "--target-file jiffy/priv/jiffy.so=FILE",
    ] {
        assert!(stderr.contains(part), "{part}: {stderr}");
    }
    assert!(!project.join("_build/prod/rel/nif_app").exists());
    assert!(!project.join("_build/prod/nif_app-0.1.0.tar.gz").exists());

    let nif = arm64_jiffy(&scratch);
    let target_file = format!("jiffy/priv/jiffy.so={}", nif.display());
    let mut with_nif = args.to_vec();
    with_nif.extend(["--target-file", &target_file]);
    relpack_ok(&project, &with_nif);
    let rel = project.join("_build/prod/rel/nif_app");
    let shipped = versioned(&rel.join("lib"), "jiffy");
    assert_eq!(elf_machine(&shipped.join("priv/jiffy.so")), AARCH64);
    let out = run(&mut in_root(
        &root,
        &rel,
        &node_name("nif"),
        "/mnt/bin/nif_app",
        &["eval", "IO.puts(NifApp.encode(%{<<\"a\">> => [1, 2]}))"],
    ));
    assert_printed(&out, "{\"a\":[1,2]}");
}

/// A one-file executable for arm64 runs in the arm64 root.
#[test]
fn an_arm64_executable_runs_in_the_arm64_root() {
    let root = arm64_root();
    let scratch = compiled_fixture("hello");
    let project = build_for_arm64(&scratch, "hello", &root, &["--executable"]);
    let f = fixture("hello");
    let exe = project.join(format!("_build/prod/{}-{}.run", f.release, f.vsn));
    let dir = scratch.path().join("exe");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&exe, dir.join("hello.run")).unwrap();
    let out = run(&mut in_root(
        &root,
        &dir,
        &node_name("exe"),
        "/mnt/hello.run",
        &["eval", f.eval.0],
    ));
    // The root has no x86-64 loader: only an aarch64 ERTS runs there.
    assert_printed(&out, f.eval.1);
}

/// `inspect --packages` for arm64 names the packages of the target root
/// that ship the libraries the arm64 release needs, each installed there
/// for arm64; `--deps --json` gives their paths in the target's library
/// directories.
#[test]
fn inspect_names_the_target_s_libraries_and_packages() {
    let root = arm64_root();
    let scratch = compiled_fixture("crypto");
    let project = scratch.path().join("crypto");
    let root_arg = root.to_str().unwrap();
    let common = ["--target", "aarch64-linux-gnu", "--target-root", root_arg];
    let mut packages = vec!["inspect", "--packages"];
    packages.extend(common);
    let listed = relpack_ok(&project, &packages);
    let names: Vec<&str> = listed.lines().collect();
    assert!(names.iter().any(|n| n.starts_with("libssl3")), "{listed}");
    for name in &names {
        let status = run_ok(
            Command::new("dpkg-query")
                .arg(format!("--root={root_arg}"))
                .args(["-W", "-f=${Architecture} ${Status}"])
                .arg(format!("{name}:arm64")),
        );
        assert!(
            status.starts_with("arm64 install ok installed"),
            "{name}: {status}"
        );
    }
    let mut deps = vec!["inspect", "--deps", "--json"];
    deps.extend(common);
    let json: serde_json::Value = serde_json::from_str(&relpack_ok(&project, &deps)).unwrap();
    let libs = json.as_array().expect("a list of libraries");
    let libcrypto = libs
        .iter()
        .find(|l| l["soname"] == "libcrypto.so.3")
        .expect("libcrypto is needed");
    let path = libcrypto["path"].as_str().unwrap();
    assert!(path.contains("aarch64-linux-gnu"), "{path}");
}

/// A module whose code names an instruction above every one the OTP's own
/// modules use is refused by relpack, naming it, as ERTS refuses to load
/// it; the module as compiled passes both.
#[test]
fn bytecode_newer_than_the_release_s_otp_is_refused_as_erts_refuses_it() {
    let scratch = compiled_fixture("hello");
    let project = scratch.path().join("hello");
    let ebin = project.join("_build/prod/lib/hello/ebin");
    let beam = ebin.join("Elixir.Hello.beam");
    let load = || {
        run(Command::new("erl")
            .args(["-noshell", "-pa"])
            .arg(&ebin)
            .args([
                "-eval",
                "io:format(\"~p\", [code:load_file('Elixir.Hello')]), halt().",
            ]))
    };
    assert_printed(&load(), "{module,'Elixir.Hello'}");

    let mut bytes = std::fs::read(&beam).unwrap();
    let code = bytes
        .windows(4)
        .position(|w| w == b"Code")
        .expect("a Code chunk");
    // The chunk's data: sub-size, format, highest opcode, ...
    let at = code + 8 + 8;
    bytes[at..at + 4].copy_from_slice(&1000u32.to_be_bytes());
    std::fs::write(&beam, &bytes).unwrap();
    let refused = String::from_utf8_lossy(&load().stdout).into_owned();
    assert!(refused.contains("badfile"), "ERTS loaded it: {refused}");

    let out = relpack(&project, &["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for part in [
        "Elixir.Hello.beam: compiled by a newer OTP",
        "instruction 1000",
    ] {
        assert!(stderr.contains(part), "{part}: {stderr}");
    }
    assert!(!project.join("_build/prod/rel/hello").exists());
}

/// The arm64 OTP copied away from its root (as Distillery users point
/// `include_erts` at a copied ERTS): the release is built and checked for
/// arm64, but an image's default base and the packages it needs come
/// from that machine's files, which are not here: one line each, saying
/// to give `--target-root`, nothing written.
#[test]
fn without_the_target_s_root_image_and_packages_are_refused() {
    let root = arm64_root();
    let scratch = compiled_fixture("hello");
    let project = scratch.path().join("hello");
    let otp = scratch.path().join("arm64-otp");
    copy_dir(&root.join("usr/lib/erlang"), &otp);
    let erts = ["--include-erts", otp.to_str().unwrap()];
    let mut build = vec!["build"];
    build.extend(erts);
    let out = relpack_ok(&project, &build);
    assert!(out.contains("aarch64-linux-gnu"), "{out}");
    for command in [&["image"][..], &["inspect", "--packages"][..]] {
        let mut args = command.to_vec();
        args.extend(erts);
        let out = relpack(&project, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("the release is for aarch64-linux-gnu")
                && stderr.contains("--target-root DIR"),
            "{stderr}"
        );
        assert!(String::from_utf8_lossy(&out.stdout).is_empty());
    }
    assert!(!project.join("_build/prod/hello-0.1.0-oci.tar").exists());
}

/// The module's chunks with its `Meta` chunk replaced by one saying it was
/// compiled with `maybe_expr` (`term_to_binary([{enabled_features,
/// [maybe_expr]}])`), as OTP 27's compiler writes by default.
fn with_maybe_expr(beam: &[u8]) -> Vec<u8> {
    let meta: &[u8] = &[
        131, 108, 0, 0, 0, 1, 104, 2, 119, 16, 101, 110, 97, 98, 108, 101, 100, 95, 102, 101, 97,
        116, 117, 114, 101, 115, 108, 0, 0, 0, 1, 119, 10, 109, 97, 121, 98, 101, 95, 101, 120,
        112, 114, 106, 106,
    ];
    let mut body = b"BEAM".to_vec();
    let mut pos = 12;
    while pos + 8 <= beam.len() {
        let size = u32::from_be_bytes(beam[pos + 4..pos + 8].try_into().unwrap()) as usize;
        let end = pos + 8 + size;
        if &beam[pos..pos + 4] != b"Meta" {
            body.extend_from_slice(&beam[pos..end]);
            body.resize(body.len().div_ceil(4) * 4, 0);
        }
        pos = end.div_ceil(4) * 4;
    }
    body.extend_from_slice(b"Meta");
    body.extend_from_slice(&(meta.len() as u32).to_be_bytes());
    body.extend_from_slice(meta);
    body.resize(body.len().div_ceil(4) * 4, 0);
    let mut out = b"FOR1".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend(body);
    out
}

/// A module compiled with a language feature: relpack builds exactly when
/// this OTP's code server loads it (OTP 25 refuses `maybe_expr`,
/// `features_not_allowed`; OTP 27 and later enable it), refusing it
/// naming the module and the feature.
#[test]
fn a_module_with_a_feature_builds_exactly_when_erts_loads_it() {
    let scratch = compiled_fixture("hello");
    let project = scratch.path().join("hello");
    let ebin = project.join("_build/prod/lib/hello/ebin");
    let beam = ebin.join("Elixir.Hello.beam");
    std::fs::write(&beam, with_maybe_expr(&std::fs::read(&beam).unwrap())).unwrap();
    let load = run(Command::new("erl")
        .args(["-noshell", "-pa"])
        .arg(&ebin)
        .args([
            "-eval",
            "io:format(\"~p\", [code:load_file('Elixir.Hello')]), halt().",
        ]));
    let loaded = String::from_utf8_lossy(&load.stdout).into_owned();
    let out = relpack(&project, &["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if loaded == "{module,'Elixir.Hello'}" {
        assert!(
            out.status.success(),
            "ERTS loads it, relpack refused: {stderr}"
        );
    } else {
        assert!(loaded.contains("maybe_expr"), "{loaded}");
        assert_eq!(
            out.status.code(),
            Some(1),
            "ERTS refuses it ({loaded}): {stderr}"
        );
        assert!(
            stderr.contains("Elixir.Hello.beam: compiled with the language feature `maybe_expr`"),
            "{stderr}"
        );
    }
}

/// Distillery's cross-building settings as real projects write them
/// (`include_erts: System.get_env("ERL_LIB_DIR")`, `include_system_libs:
/// System.get_env("ERL_SYSTEM_LIB_DIR")`, Nerves' template): pointed at
/// the arm64 root, an arm64 release that runs there; system libraries
/// from another OTP than ERTS's, one line naming the setting.
#[test]
fn distillery_s_cross_settings_build_for_the_target() {
    let root = arm64_root();
    let scratch = compiled_fixture("hello");
    let project = scratch.path().join("hello");
    std::fs::create_dir_all(project.join("rel")).unwrap();
    std::fs::write(
        project.join("rel/config.exs"),
        r#"use Distillery.Releases.Config, default_release: :hello, default_environment: Mix.env()

environment :prod do
  set include_erts: System.get_env("ERL_LIB_DIR")
  set include_system_libs: System.get_env("ERL_SYSTEM_LIB_DIR")
  set cookie: :"cross-cookie"
end

release :hello do
  set version: current_version(:hello)
end
"#,
    )
    .unwrap();
    let otp = root.join("usr/lib/erlang");
    let build = |libs: &Path| {
        run(Command::new(env!("CARGO_BIN_EXE_relpack"))
            .arg("build")
            .current_dir(&project)
            .env("ERL_LIB_DIR", &otp)
            .env("ERL_SYSTEM_LIB_DIR", libs))
    };
    let elsewhere = build(Path::new("/usr/lib/erlang/lib"));
    let stderr = String::from_utf8_lossy(&elsewhere.stderr);
    assert_eq!(elsewhere.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rel/config.exs:5: `include_system_libs: \"/usr/lib/erlang/lib\"`"),
        "{stderr}"
    );
    let out = build(&otp.join("lib"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rel = project.join("_build/prod/rel/hello");
    let f = fixture("hello");
    let ran = run(&mut in_root(
        &root,
        &rel,
        &node_name("distillery"),
        "/mnt/bin/hello",
        &["eval", f.eval.0],
    ));
    assert_printed(&ran, f.eval.1);
}
