//! Bad input: each case gets a one-line error naming the file or app at
//! fault, a non-zero exit, and no output written (a previous good release
//! stays as it was).

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A hand-made compiled project: `mix.exs` naming `app: :foo` and
/// `_build/prod/lib/<app>/ebin/<app>.app` for each `(name, deps, extra)`.
struct FakeProject {
    scratch: Scratch,
}

impl FakeProject {
    fn new(label: &str) -> FakeProject {
        let scratch = Scratch::new(label);
        std::fs::write(
            scratch.path().join("mix.exs"),
            "defmodule Foo.MixProject do\n  use Mix.Project\n  def project, do: [app: :foo, version: \"0.1.0\"]\nend\n",
        )
        .unwrap();
        FakeProject { scratch }
    }

    fn root(&self) -> &Path {
        self.scratch.path()
    }

    fn app_file(&self, name: &str) -> PathBuf {
        self.root()
            .join(format!("_build/prod/lib/{name}/ebin/{name}.app"))
    }

    /// Adds an application whose `.app` has `props` after the required keys.
    fn app(&self, name: &str, deps: &[&str], props: &str) -> &Self {
        let mut apps = vec!["kernel", "stdlib", "elixir"];
        apps.extend(deps);
        let text = format!(
            "{{application,{name},[{{description,\"{name}\"}},{{vsn,\"0.1.0\"}},{{modules,[]}},\
             {{registered,[]}},{{applications,[{}]}}{props}]}}.\n",
            apps.join(",")
        );
        self.raw_app(name, &text)
    }

    fn raw_app(&self, name: &str, text: &str) -> &Self {
        let path = self.app_file(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    /// Runs `relpack build`, requires failure, returns stderr, and checks
    /// that nothing was written.
    fn fails(&self, extra: &[&str]) -> String {
        let mut args = vec!["build"];
        args.extend(extra);
        let out = relpack(self.root(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "not one line: {stderr}"
        );
        assert!(stderr.starts_with("relpack: error: "), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let rel = self.root().join("_build/prod/rel");
        let leftovers: Vec<_> = std::fs::read_dir(self.root().join("_build/prod"))
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(!rel.exists(), "release dir written despite the error");
        assert!(
            leftovers.iter().all(|n| n == "lib"),
            "output left behind: {leftovers:?}"
        );
        stderr
    }
}

#[test]
fn no_build_directory() {
    let p = FakeProject::new("no-build");
    let err = p.fails(&[]);
    assert!(err.contains("_build: no _build directory"), "{err}");
    assert!(err.contains("MIX_ENV=prod mix compile"), "{err}");
}

#[test]
fn build_for_another_env() {
    let p = FakeProject::new("other-env");
    p.app("foo", &[], "");
    let err = p.fails(&["--env", "staging"]);
    assert!(
        err.contains("not built for env `staging` (found: prod)"),
        "{err}"
    );
}

#[test]
fn mix_env_selects_the_env() {
    let p = FakeProject::new("mix-env");
    p.app("foo", &[], "");
    let out = common::run(
        std::process::Command::new(env!("CARGO_BIN_EXE_relpack"))
            .arg("build")
            .current_dir(p.root())
            .env("MIX_ENV", "dev"),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not built for env `dev`"), "{err}");
}

#[test]
fn malformed_app_file() {
    let p = FakeProject::new("malformed");
    p.raw_app(
        "foo",
        "{application,foo,[{vsn,\"0.1.0\"},\n {modules,[a,}]}.\n",
    );
    let err = p.fails(&[]);
    assert!(err.contains("foo/ebin/foo.app:2:"), "{err}");
    assert!(err.contains("recompile"), "{err}");
}

#[test]
fn app_file_without_vsn() {
    let p = FakeProject::new("no-vsn");
    p.raw_app(
        "foo",
        "{application,foo,[{description,\"\"},{modules,[]},{registered,[]},{applications,[kernel]}]}.",
    );
    let err = p.fails(&[]);
    assert!(err.contains("foo.app: missing `vsn`"), "{err}");
}

#[test]
fn missing_dependency_names_who_needs_it() {
    let p = FakeProject::new("missing-dep");
    p.app("foo", &["bar"], "")
        .app("bar", &["nowhere_to_be_found"], "");
    let err = p.fails(&[]);
    assert!(
        err.contains("application `nowhere_to_be_found` not found (needed by `bar`)"),
        "{err}"
    );
    assert!(err.contains("_build/prod/lib"), "{err}");
}

#[test]
fn missing_app_named_on_the_command_line() {
    let p = FakeProject::new("missing-named");
    p.app("foo", &[], "");
    let err = p.fails(&["--app", "ghost"]);
    assert!(
        err.contains("`ghost` not found (needed by the release)"),
        "{err}"
    );
}

#[test]
fn optional_missing_dependency_is_skipped() {
    let p = FakeProject::new("optional");
    p.app(
        "foo",
        &["maybe_there"],
        ",{optional_applications,[maybe_there]}",
    );
    relpack_ok(p.root(), &["build", "--no-tar", "--include-erts", "false"]);
    let rel = std::fs::read_to_string(p.root().join("_build/prod/rel/foo/releases/0.1.0/foo.rel"))
        .unwrap();
    assert!(!rel.contains("maybe_there"), "{rel}");
}

#[test]
fn dependency_cycle() {
    let p = FakeProject::new("cycle");
    p.app("foo", &["bar"], "")
        .app("bar", &["baz"], "")
        .app("baz", &["bar"], "");
    let err = p.fails(&[]);
    assert!(
        err.contains("dependency cycle between applications: bar -> baz -> bar"),
        "{err}"
    );
}

#[test]
fn duplicate_module() {
    let p = FakeProject::new("dup-mod");
    p.raw_app(
        "foo",
        "{application,foo,[{description,\"\"},{vsn,\"0.1.0\"},{modules,['Elixir.Same']},{registered,[]},{applications,[kernel,stdlib,elixir,bar]}]}.",
    )
    .raw_app(
        "bar",
        "{application,bar,[{description,\"\"},{vsn,\"0.1.0\"},{modules,['Elixir.Same']},{registered,[]},{applications,[kernel,stdlib]}]}.",
    );
    let err = p.fails(&[]);
    assert!(
        err.contains("module `Elixir.Same` is in two applications"),
        "{err}"
    );
}

#[test]
fn app_included_twice() {
    let p = FakeProject::new("incl-twice");
    p.app("foo", &["bar"], ",{included_applications,[inc]}")
        .app("bar", &[], ",{included_applications,[inc]}")
        .app("inc", &[], "");
    let err = p.fails(&[]);
    assert!(err.contains("`inc` is included by both"), "{err}");
}

#[test]
fn started_app_depending_on_a_load_app() {
    let p = FakeProject::new("unsafe-mode");
    p.app("foo", &["bar"], "").app("bar", &[], "");
    let err = p.fails(&["--app", "bar=load"]);
    assert!(
        err.contains("`foo` is `permanent` but depends on `bar`, which is `load`"),
        "{err}"
    );
}

#[test]
fn invalid_release_name() {
    let p = FakeProject::new("bad-name");
    p.app("foo", &[], "");
    let err = p.fails(&["--name", "Bad-Name"]);
    assert!(err.contains("invalid release name `Bad-Name`"), "{err}");
}

#[test]
fn unknown_start_type() {
    let p = FakeProject::new("bad-type");
    p.app("foo", &[], "");
    let err = p.fails(&["--app", "foo=forever"]);
    assert!(err.contains("unknown start type `forever`"), "{err}");
}

#[test]
fn include_erts_pointing_at_something_else() {
    let p = FakeProject::new("bad-erts");
    p.app("foo", &[], "");
    let err = p.fails(&["--include-erts", "/tmp"]);
    assert!(err.contains("Erlang/OTP not found: /tmp:"), "{err}");
}

/// A target this machine's ERTS is not built for, one relpack does not
/// know, a target root without OTP and a `--target-file` for no
/// application of the release: one line each, nothing written.
#[test]
fn target_errors_are_one_line() {
    let p = FakeProject::new("bad-target");
    p.app("foo", &[], "");
    let other = match std::env::consts::ARCH {
        "aarch64" => "x86_64-linux-gnu",
        _ => "aarch64-linux-gnu",
    };
    let err = p.fails(&["--target", other]);
    assert!(
        err.contains("beam.smp: built for") && err.contains("--target-root DIR"),
        "{err}"
    );
    let err = p.fails(&["--target", "riscv64-linux-gnu"]);
    assert!(err.contains("not a target relpack knows"), "{err}");
    let empty = p.root().join("empty-root");
    std::fs::create_dir_all(&empty).unwrap();
    let err = p.fails(&["--target-root", empty.to_str().unwrap()]);
    assert!(
        err.contains("no Erlang/OTP in usr/lib/erlang or usr/local/lib/erlang"),
        "{err}"
    );
    let err = p.fails(&["--target-file", "ghost/priv/x.so=/bin/sh"]);
    assert!(
        err.contains("no application `ghost` in the release"),
        "{err}"
    );
    let err = p.fails(&["--target-file", "foo/ebin/x=/bin/sh"]);
    assert!(err.contains("expected APP/priv/PATH=FILE"), "{err}");
}

/// A failing rebuild leaves the previous good release and tarball intact.
#[test]
fn failed_rebuild_keeps_the_previous_output() {
    let p = FakeProject::new("keep-previous");
    p.app("foo", &[], "");
    relpack_ok(p.root(), &["build", "--include-erts", "false"]);
    let rel_dir = p.root().join("_build/prod/rel/foo");
    let tarball = p.root().join("_build/prod/foo-0.1.0.tar.gz");
    let before = std::fs::read(&tarball).unwrap();
    let boot_before = std::fs::read(rel_dir.join("releases/0.1.0/start.boot")).unwrap();
    p.app("foo", &["ghost"], "");
    let out = relpack(p.root(), &["build", "--include-erts", "false"]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read(&tarball).unwrap(), before);
    assert_eq!(
        std::fs::read(rel_dir.join("releases/0.1.0/start.boot")).unwrap(),
        boot_before
    );
    let names: Vec<String> = std::fs::read_dir(p.root().join("_build/prod"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "temporary files left: {names:?}"
    );
}

#[test]
fn unwritable_output_directory() {
    let p = FakeProject::new("unwritable");
    p.app("foo", &[], "");
    let err = p.fails(&["--out", "/proc/relpack-cannot-write-here/foo"]);
    assert!(err.contains("/proc/relpack-cannot-write-here"), "{err}");
    // The directory exists but takes no new entries: the message names
    // the output directory, not the hidden temporary one beside it.
    let err = p.fails(&["--out", "/proc/self/relpack-out"]);
    assert!(err.contains("/proc/self/relpack-out"), "{err}");
    assert!(!err.contains(".relpack-"), "{err}");
}

#[test]
fn priv_symlink_leading_outside_priv() {
    let p = FakeProject::new("priv-escape");
    p.app("foo", &[], "");
    let private = p.root().join("_build/prod/lib/foo/priv");
    std::fs::create_dir_all(&private).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", private.join("leak")).unwrap();
    let err = p.fails(&["--include-erts", "false"]);
    assert!(err.contains("priv/leak: symlink leads outside"), "{err}");
}

#[test]
fn dangling_priv_symlink() {
    let p = FakeProject::new("priv-dangling");
    p.app("foo", &[], "");
    std::os::unix::fs::symlink(
        "../../../../nowhere",
        p.root().join("_build/prod/lib/foo/priv"),
    )
    .unwrap();
    let err = p.fails(&["--include-erts", "false"]);
    assert!(err.contains("foo/priv: dangling symlink"), "{err}");
}

#[test]
fn empty_build() {
    let p = FakeProject::new("empty-build");
    std::fs::create_dir_all(p.root().join("_build/prod/lib")).unwrap();
    let err = p.fails(&[]);
    assert!(err.contains("no compiled applications"), "{err}");
}

#[test]
fn app_file_without_applications() {
    let p = FakeProject::new("no-applications");
    p.raw_app(
        "foo",
        "{application,foo,[{description,\"\"},{vsn,\"1\"},{modules,[]},{registered,[]}]}.",
    );
    let err = p.fails(&[]);
    assert!(err.contains("foo.app: missing `applications`"), "{err}");
}

#[test]
fn duplicate_registered_name() {
    let p = FakeProject::new("dup-reg");
    p.app("foo", &["bar"], "").app("bar", &[], "");
    for app in ["foo", "bar"] {
        let text = std::fs::read_to_string(p.app_file(app)).unwrap();
        p.raw_app(
            app,
            &text.replace("{registered,[]}", "{registered,[the_server]}"),
        );
    }
    let err = p.fails(&[]);
    assert!(
        err.contains("process name `the_server` is registered by two applications"),
        "{err}"
    );
}

#[test]
fn output_overlapping_the_input() {
    let p = FakeProject::new("overlap");
    p.app("foo", &[], "");
    let err = p.fails(&["--out", "."]);
    assert!(err.contains("--out . overlaps"), "{err}");
    assert!(p.root().join("mix.exs").exists(), "the project was touched");
    let err = p.fails(&["--out", "_build/prod/lib/foo/rel"]);
    assert!(
        err.contains("overlaps") && err.contains("_build/prod/lib"),
        "{err}"
    );
    let otp = &installed().otp_root;
    let out = otp.join("rel");
    let err = p.fails(&["--out", out.to_str().unwrap(), "--include-erts", "false"]);
    assert!(
        err.contains(&format!("overlaps {}", otp.display())),
        "{err}"
    );
}

/// A full disk mid-write: a one-line error naming the path, nothing left.
#[test]
fn full_output_file_system() {
    require("mount", "apt-get install mount");
    let p = FakeProject::new("full");
    p.app("foo", &[], "");
    let small = p.root().join("small");
    std::fs::create_dir_all(&small).unwrap();
    run_ok(
        std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(&small),
    );
    let out = relpack(
        p.root(),
        &[
            "build",
            "--no-tar",
            "--out",
            small.join("rel").to_str().unwrap(),
        ],
    );
    let listing: Vec<_> = std::fs::read_dir(&small)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    run_ok(std::process::Command::new("umount").arg(&small));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(listing.is_empty(), "left on the full disk: {listing:?}");
}

#[test]
fn shadowed_otp_app_and_otp_mismatch_are_warnings() {
    let p = FakeProject::new("warnings");
    // runtime_tools ships with every OTP (erlang-base).
    let shadowed = "runtime_tools";
    p.app("foo", &[shadowed], "").app(shadowed, &[], "");
    let text = std::fs::read_to_string(p.app_file(shadowed)).unwrap();
    p.raw_app(shadowed, &text.replace("\"0.1.0\"", "\"9.9.9\""));
    let installed = installed();
    let scm = relpack::formats::term::Term::tuple(vec![
        relpack::formats::term::Term::Integer(1),
        relpack::formats::term::Term::tuple(vec![
            relpack::formats::term::Term::Binary(installed.elixir.as_bytes().to_vec()),
            relpack::formats::term::Term::string("99"),
        ]),
        relpack::formats::term::Term::atom("Elixir.Mix.SCM.Path"),
    ]);
    let mix_dir = p.root().join("_build/prod/lib/foo/.mix");
    std::fs::create_dir_all(&mix_dir).unwrap();
    std::fs::write(
        mix_dir.join("compile.elixir_scm"),
        relpack::formats::etf::encode(&scm, relpack::formats::etf::AtomEncoding::Latin1),
    )
    .unwrap();
    let out = relpack(p.root(), &["build", "--no-tar"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("relpack: warning: {shadowed} 9.9.9 from"))
            && stderr.contains(&format!(
                "also has {shadowed} {}",
                installed.app_vsn(shadowed)
            )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "compiled by Elixir {} on OTP 99, but the release runs on ERTS {} (OTP {}): beams from a newer OTP may fail to load",
            installed.elixir, installed.erts, installed.otp_release
        )),
        "{stderr}"
    );
}

/// One rule for file modes, in the release directory and the tarball
/// alike: executable or not, private or readable; never writable by
/// others.
#[test]
fn priv_modes_kept_but_never_writable_by_others() {
    use std::os::unix::fs::PermissionsExt;
    let p = FakeProject::new("modes");
    p.app("foo", &[], "");
    let private = p.root().join("_build/prod/lib/foo/priv");
    std::fs::create_dir_all(&private).unwrap();
    for (name, mode) in [
        ("port_prog", 0o777),
        ("data.txt", 0o666),
        ("tool", 0o750),
        ("secret.key", 0o640),
        ("private_tool", 0o700),
        ("private.txt", 0o600),
    ] {
        std::fs::write(private.join(name), name).unwrap();
        std::fs::set_permissions(private.join(name), std::fs::Permissions::from_mode(mode))
            .unwrap();
    }
    relpack_ok(p.root(), &["build", "--include-erts", "false"]);
    let shipped = p.root().join("_build/prod/rel/foo/lib/foo-0.1.0/priv");
    let mode = |n: &str| {
        std::fs::metadata(shipped.join(n))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    let expected = [
        ("port_prog", 0o755, "-rwxr-xr-x"),
        ("data.txt", 0o644, "-rw-r--r--"),
        ("tool", 0o755, "-rwxr-xr-x"),
        ("secret.key", 0o644, "-rw-r--r--"),
        ("private_tool", 0o700, "-rwx------"),
        ("private.txt", 0o600, "-rw-------"),
    ];
    for (name, bits, _) in expected {
        assert_eq!(mode(name), bits, "{name} in the release directory");
    }
    let listing = run_ok(
        std::process::Command::new("tar")
            .arg("tvzf")
            .arg(p.root().join("_build/prod/foo-0.1.0.tar.gz")),
    );
    let line = |n: &str| listing.lines().find(|l| l.ends_with(n)).unwrap().to_owned();
    for (name, _, shown) in expected {
        assert!(
            line(&format!("priv/{name}")).starts_with(&format!("{shown} root/root")),
            "{name} in the tarball: {listing}"
        );
    }
    assert!(
        line("releases/COOKIE").starts_with("-rw------- root/root"),
        "{listing}"
    );
}

#[test]
fn invalid_build_options_for_stripping_compression_and_cookie() {
    let p = FakeProject::new("bad-options");
    p.app("foo", &[], "");
    let err = p.fails(&["--keep-chunk", "Debug"]);
    assert!(
        err.contains("`Debug`") && err.contains("4 characters"),
        "{err}"
    );
    let err = p.fails(&["--compress", "lz4"]);
    assert!(
        err.contains("`lz4`") && err.contains("gzip, zstd or none"),
        "{err}"
    );
    for bad in [" leading-space", "tab\there", "caf\u{e9}"] {
        let err = p.fails(&["--cookie", bad]);
        assert!(err.contains("invalid cookie"), "{err}");
    }
}

#[test]
fn corrupt_beam_file_is_named() {
    let p = FakeProject::new("bad-beam");
    p.app("foo", &[], "");
    let beam = p.root().join("_build/prod/lib/foo/ebin/Elixir.Foo.beam");
    std::fs::write(&beam, b"FOR1\0\0\0\x40BEAMtruncated").unwrap();
    let err = p.fails(&["--include-erts", "false"]);
    assert!(
        err.contains("_build/prod/lib/foo/ebin/Elixir.Foo.beam: "),
        "{err}"
    );
    assert!(
        err.contains("not a valid BEAM file") && err.contains("recompile"),
        "{err}"
    );
    // Copied as it is when stripping is off.
    let out = relpack(
        p.root(),
        &["build", "--include-erts", "false", "--no-strip-beams"],
    );
    assert!(out.status.success(), "{out:?}");
}
