//! Hot upgrades. The `upgrader` fixture is compiled at 0.1.0; each later
//! version is made by editing its `mix.exs` version (and applications) and
//! copying modules from its `next/` directory into `lib/`, recompiled with
//! the real `mix`.
//!
//! - relpack's relup equals, as a term, what `systools:make_relup/4`
//!   builds from the same `.rel` files and relpack's appups, for each
//!   version pair, and its appups are what Distillery would generate;
//! - an upgrade installed live with `bin/upgrader upgrade` keeps the
//!   process and transforms its state (system Erlang hidden, and in the
//!   minimal Debian rootfs); `restart` boots the new version, `downgrade`
//!   brings the old code back.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use relpack::formats::term::{parse_consult, to_compact};

const NAME: &str = "upgrader";

/// The compiled fixture and how to move it to its next version.
struct Project {
    scratch: Scratch,
    root: PathBuf,
}

impl Project {
    fn new() -> Project {
        let scratch = compiled_fixture(NAME);
        let root = scratch.path().join(NAME);
        Project { scratch, root }
    }

    fn release_dir(&self) -> PathBuf {
        self.root.join("_build/prod/rel").join(NAME)
    }

    /// Replaces `from` by `to` in the project file `file`.
    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.root.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no `{from}`");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }

    /// Copies `next/<file>` over `lib/upgrader/<file>`.
    fn take(&self, file: &str) {
        std::fs::copy(
            self.root.join("next").join(file),
            self.root.join("lib").join(NAME).join(file),
        )
        .unwrap();
    }

    /// Sets the version in mix.exs, applies `change` and recompiles.
    fn next_version(&self, from: &str, to: &str, change: impl FnOnce(&Project)) {
        self.edit(
            "mix.exs",
            &format!("version: \"{from}\""),
            &format!("version: \"{to}\""),
        );
        change(self);
        self.compile();
    }

    /// `mix compile --force`: Mix goes by modification times in seconds,
    /// and an edit within the second of the last compile would go unseen.
    /// Compiling is deterministic, so unchanged modules stay the same.
    fn compile(&self) {
        run_ok(
            Command::new("mix")
                .args(["compile", "--force"])
                .current_dir(&self.root)
                .env("MIX_ENV", "prod"),
        );
    }

    /// The term in a file of the release directory.
    fn term(&self, rel: &str) -> String {
        let bytes = std::fs::read(self.release_dir().join(rel)).unwrap();
        to_compact(&parse_consult(&bytes).unwrap().remove(0))
    }

    /// The relup must equal what systools:make_relup/4 builds.
    fn assert_relup_matches_systools(&self, vsn: &str, from: &str) {
        let work = self.scratch.path().join(format!("oracle-{vsn}"));
        std::fs::create_dir_all(&work).unwrap();
        let out = run_ok(
            Command::new("escript")
                .arg(Path::new(REPO).join("tests/support/oracle.escript"))
                .args(["relup"])
                .arg(self.release_dir())
                .args([NAME, vsn, from])
                .arg(&work),
        );
        assert!(out.contains("relup equals systools"), "{vsn}: {out}");
    }

    /// The files of the upgrade package of `vsn`.
    fn package_listing(&self, vsn: &str) -> Vec<String> {
        let package = self
            .release_dir()
            .join("releases")
            .join(vsn)
            .join(format!("{NAME}.tar.gz"));
        run_ok(Command::new("tar").arg("tzf").arg(package))
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// `{To, [{From, Up}], [{From, Down}]}` in compact form.
fn appup(to: &str, from: &str, up: &str, down: &str) -> String {
    let text = format!("{{\"{to}\", [{{\"{from}\", [{up}]}}], [{{\"{from}\", [{down}]}}]}}.");
    to_compact(&parse_consult(text.as_bytes()).unwrap().remove(0))
}

fn appup_path(vsn: &str) -> String {
    format!("lib/{NAME}-{vsn}/ebin/{NAME}.appup")
}

#[test]
fn relups_equal_systools_make_relup() {
    require("escript", "apt-get install erlang");
    let p = Project::new();
    relpack_ok(&p.root, &["build", "--no-tar"]);

    // A changed module.
    p.next_version("0.1.0", "0.2.0", |p| p.take("util.ex"));
    relpack_ok(&p.root, &["build", "--no-tar", "--upgrade"]);
    p.assert_relup_matches_systools("0.2.0", "0.1.0");
    assert_eq!(
        p.term(&appup_path("0.2.0")),
        appup(
            "0.2.0",
            "0.1.0",
            "{load_module, 'Elixir.Upgrader.Util', []}",
            "{load_module, 'Elixir.Upgrader.Util', []}"
        )
    );
    // Only what the previous release lacks: the new version of the app.
    let listing = p.package_listing("0.2.0");
    assert!(listing
        .iter()
        .all(|f| f.starts_with("lib/upgrader-0.2.0") || f.starts_with("releases/0.2.0")));
    for file in [
        "releases/0.2.0/upgrader.rel",
        "releases/0.2.0/relup",
        "releases/0.2.0/start.boot",
        "releases/0.2.0/sys.config",
        "releases/0.2.0/vm.args",
        "lib/upgrader-0.2.0/ebin/Elixir.Upgrader.Util.beam",
        "lib/upgrader-0.2.0/ebin/upgrader.appup",
    ] {
        assert!(
            listing.iter().any(|f| f == file),
            "{file} not in {listing:?}"
        );
    }

    // An added and a deleted module.
    p.next_version("0.2.0", "0.3.0", |p| {
        std::fs::remove_file(p.root.join("lib/upgrader/old.ex")).unwrap();
        p.take("fresh.ex");
    });
    relpack_ok(&p.root, &["build", "--no-tar", "--upgrade"]);
    p.assert_relup_matches_systools("0.3.0", "0.2.0");
    assert_eq!(
        p.term(&appup_path("0.3.0")),
        appup(
            "0.3.0",
            "0.2.0",
            "{add_module, 'Elixir.Upgrader.Fresh'}, {delete_module, 'Elixir.Upgrader.Old'}",
            "{add_module, 'Elixir.Upgrader.Old'}, {delete_module, 'Elixir.Upgrader.Fresh'}"
        )
    );

    // A changed GenServer and a changed supervisor; the GenServer calls a
    // changed module, so it loads after it.
    p.next_version("0.3.0", "0.4.0", |p| {
        p.take("counter.ex");
        p.take("sup.ex");
        p.edit("lib/upgrader/util.ex", ":v2", ":v3");
    });
    relpack_ok(&p.root, &["build", "--no-tar", "--upgrade"]);
    p.assert_relup_matches_systools("0.4.0", "0.3.0");
    let changed = [
        "{update, 'Elixir.Upgrader.Sup', supervisor}",
        "{load_module, 'Elixir.Upgrader.Util', []}",
        "{update, 'Elixir.Upgrader.Counter', {advanced, []}, ['Elixir.Upgrader.Util']}",
    ];
    let reversed: Vec<&str> = changed.iter().rev().copied().collect();
    assert_eq!(
        p.term(&appup_path("0.4.0")),
        appup("0.4.0", "0.3.0", &changed.join(", "), &reversed.join(", "))
    );

    // An application added (tools) and one removed (runtime_tools).
    p.next_version("0.4.0", "0.5.0", |p| {
        p.edit("mix.exs", ":runtime_tools", ":tools")
    });
    relpack_ok(&p.root, &["build", "--no-tar", "--upgrade"]);
    p.assert_relup_matches_systools("0.5.0", "0.4.0");
    let relup = p.term("releases/0.5.0/relup");
    assert!(
        relup.contains("{apply,{application,start,[tools,permanent]}}"),
        "{relup}"
    );
    assert!(
        relup.contains("{apply,{application,stop,[runtime_tools]}}"),
        "{relup}"
    );
    let listing = p.package_listing("0.5.0");
    let tools = format!("lib/tools-{}/ebin/tools.app", installed().app_vsn("tools"));
    assert!(listing.contains(&tools), "{listing:?}");

    // An ERTS change, simulated in the previous release's .rel.
    let old_rel = p.release_dir().join("releases/0.5.0/upgrader.rel");
    let text = std::fs::read_to_string(&old_rel).unwrap();
    let erts = format!("{{erts,\"{}\"}}", installed().erts);
    assert!(text.contains(&erts), "{text}");
    std::fs::write(&old_rel, text.replace(&erts, "{erts,\"12.0\"}")).unwrap();
    p.next_version("0.5.0", "0.6.0", |p| {
        p.edit("lib/upgrader/util.ex", ":v3", ":v4")
    });
    relpack_ok(&p.root, &["build", "--no-tar", "--upgrade"]);
    p.assert_relup_matches_systools("0.6.0", "0.5.0");
    let relup = p.term("releases/0.6.0/relup");
    assert!(
        relup.contains("[{\"0.5.0\",[],[restart_new_emulator,"),
        "{relup}"
    );
    assert!(relup.ends_with(",restart_emulator]}]}"), "{relup}");
    let beam = format!("{}/bin/beam.smp", installed().erts_dir());
    assert!(p.package_listing("0.6.0").contains(&beam));

    // From two versions at once: one relup entry (and one appup entry)
    // each, so nodes on either can be upgraded.
    p.next_version("0.6.0", "0.7.0", |p| {
        p.edit("lib/upgrader/util.ex", ":v4", ":v5")
    });
    relpack_ok(
        &p.root,
        &[
            "build",
            "--no-tar",
            "--upgrade",
            "--upfrom",
            "0.6.0",
            "--upfrom",
            "0.4.0",
        ],
    );
    p.assert_relup_matches_systools("0.7.0", "0.6.0,0.4.0");
    let appup = p.term(&appup_path("0.7.0"));
    assert!(
        appup.contains("[{\"0.6.0\",") && appup.contains("{\"0.4.0\","),
        "{appup}"
    );
    // The package has what either release lacks: tools for 0.4.0.
    assert!(p.package_listing("0.7.0").contains(&tools));

    // Every previous release is kept in the output directory, and the
    // newest one checks.
    for vsn in ["0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0", "0.6.0"] {
        assert!(p
            .release_dir()
            .join("releases")
            .join(vsn)
            .join("upgrader.rel")
            .is_file());
        assert!(p
            .release_dir()
            .join(format!("lib/upgrader-{vsn}/ebin"))
            .is_dir());
    }
    let out = relpack_ok(&p.root, &["check", p.release_dir().to_str().unwrap()]);
    assert!(out.contains("ok: upgrader 0.7.0"), "{out}");

    // check: a module the upgrade loads, a module the downgrade loads and
    // the release upgraded from, each missing.
    let broken = p.scratch.path().join("broken");
    copy_dir(&p.release_dir(), &broken);
    for gone in [
        "lib/upgrader-0.7.0/ebin/Elixir.Upgrader.Util.beam",
        "lib/upgrader-0.6.0/ebin/Elixir.Upgrader.Util.beam",
    ] {
        std::fs::remove_file(broken.join(gone)).unwrap();
    }
    let out = relpack(&p.root, &["check", broken.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    let relup = broken.join("releases/0.7.0/relup");
    for expected in [
        format!(
            "problem: {}: upgrading from 0.6.0 loads Elixir.Upgrader.Util, which is not in {}",
            relup.display(),
            broken.join("lib/upgrader-0.7.0/ebin").display()
        ),
        format!(
            "problem: {}: downgrading to 0.6.0 loads Elixir.Upgrader.Util, which is not in {}",
            relup.display(),
            broken.join("lib/upgrader-0.6.0/ebin").display()
        ),
    ] {
        assert!(text.contains(&expected), "{expected} not in {text}");
    }
    std::fs::remove_dir_all(broken.join("releases/0.6.0")).unwrap();
    let out = relpack(&p.root, &["check", broken.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("upgrades from 0.6.0, but"), "{text}");
}

/// Each bad input is one line naming what to fix, exit 1, and nothing
/// written; a hand-written appup wins, and `relpack appup` writes one.
#[test]
fn bad_upgrade_inputs_fail_cleanly_and_hand_written_appups_win() {
    let p = Project::new();
    let out_dir = p.release_dir();
    let tarball = |vsn: &str| p.root.join(format!("_build/prod/upgrader-{vsn}.tar.gz"));
    let fails = |args: &[&str], expected: &str| {
        let before = listing(&p.root.join("_build/prod"));
        let out = relpack(&p.root, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains(expected),
            "{args:?}: `{expected}` not in {err}"
        );
        let after = listing(&p.root.join("_build/prod"));
        let changed: Vec<_> = after.iter().filter(|e| !before.contains(e)).collect();
        let gone: Vec<_> = before.iter().filter(|e| !after.contains(e)).collect();
        assert!(
            changed.is_empty() && gone.is_empty(),
            "{args:?} wrote {changed:?}, removed {gone:?}"
        );
    };
    fails(
        &["build", "--upgrade"],
        "_build/prod/rel/upgrader: no previous release of upgrader here to upgrade from",
    );
    assert!(!out_dir.exists() && !tarball("0.1.0").exists());
    relpack_ok(&p.root, &["build"]);
    fails(
        &["build", "--upgrade"],
        "the previous release has the same version 0.1.0 as this one: bump the version",
    );
    p.next_version("0.1.0", "0.2.0", |p| p.take("util.ex"));
    fails(
        &["build", "--upgrade", "--upfrom", "0.0.9"],
        "--upfrom 0.0.9: no release upgrader 0.0.9 here (found: 0.1.0)",
    );
    fails(
        &["build", "--upgrade", "--include-erts", "false"],
        "--upgrade needs ERTS and OTP's applications in the release (include_erts: false)",
    );
    fails(
        &["build", "--upfrom", "0.1.0"],
        "--upfrom and --upfrom-tarball need --upgrade",
    );
    fails(
        &["build", "--upgrade", "--upfrom-tarball", "/no/such.tar.gz"],
        "/no/such.tar.gz: cannot open the previous release's tarball",
    );

    // `relpack appup` writes the generated appup where the build finds it.
    let appup_file = "rel/appups/upgrader/0.1.0_to_0.2.0.appup";
    let written = p.root.join(appup_file);
    let out = relpack_ok(&p.root, &["appup", "--app", "upgrader"]);
    assert!(out.contains(appup_file), "{out}");
    let generated = std::fs::read_to_string(&written).unwrap();
    assert!(
        generated.contains("{load_module,'Elixir.Upgrader.Util',[]}"),
        "{generated}"
    );
    fails(
        &["appup", "--app", "upgrader"],
        &format!("{appup_file}: upgrader already has a hand-written appup here: edit it"),
    );
    fails(
        &["appup", "--app", "kernel"],
        &format!(
            "kernel {} is in the previous release 0.1.0 with the same version",
            installed().app_vsn("kernel")
        ),
    );

    // An appup for another version is refused, naming it; an edited one
    // wins (here: the application restarted instead of its modules
    // reloaded), also with the previous release from its tarball.
    std::fs::write(&written, "{\"0.2.0\", [], [{\"0.1.0\", []}]}.\n").unwrap();
    fails(
        &["build", "--upgrade"],
        &format!("{appup_file}: no instructions to upgrade from 0.1.0: add an entry {{\"0.1.0\", [...]}}, or a rel/appups/<app>/0.1.0_to_0.2.0.appup"),
    );
    std::fs::write(
        &written,
        "{\"0.2.1\", [{\"0.1.0\", []}], [{\"0.1.0\", []}]}.\n",
    )
    .unwrap();
    fails(
        &["build", "--upgrade"],
        &format!(
            "{appup_file}: this appup is for version \"0.2.1\", the application's version is 0.2.0"
        ),
    );
    // Its versions are patterns, as in OTP's own appups.
    let hand = r#"{"0.2.0", [{<<"^0\\.1\\.[0-9]+$">>, [{restart_application, upgrader}]}],
                              [{<<"0\\.1\\..*">>, [{restart_application, upgrader}]}]}."#;
    std::fs::write(&written, hand).unwrap();
    relpack_ok(
        &p.root,
        &[
            "build",
            "--upgrade",
            "--upfrom-tarball",
            tarball("0.1.0").to_str().unwrap(),
        ],
    );
    assert_eq!(
        p.term(&appup_path("0.2.0")),
        to_compact(&parse_consult(hand.as_bytes()).unwrap()[0])
    );
    let relup = p.term("releases/0.2.0/relup");
    assert!(
        relup.contains("{apply,{application,stop,[upgrader]}}"),
        "{relup}"
    );
    p.assert_relup_matches_systools("0.2.0", "0.1.0");

    // Changed code under an unchanged application version is not
    // upgraded: said, not silent.
    p.edit("lib/upgrader/util.ex", ":v2", ":v9");
    p.compile();
    let out = relpack(
        &p.root,
        &["build", "--upgrade", "--release-version", "0.2.1"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("relpack: warning: upgrader 0.2.0 changed (Elixir.Upgrader.Util) but kept its version, so the upgrade does not load it: bump its version"),
        "{err}"
    );
}

/// Every path under `dir`, with size and modification time for files
/// (a directory's time changes when a temporary entry comes and goes).
fn listing(dir: &Path) -> Vec<(PathBuf, Option<(u64, std::time::SystemTime)>)> {
    if !dir.exists() {
        return Vec::new();
    }
    let mut out: Vec<_> = walkdir(dir)
        .into_iter()
        .map(|p| {
            let m = std::fs::symlink_metadata(&p).unwrap();
            let file = (!m.is_dir()).then(|| (m.len(), m.modified().unwrap()));
            (p, file)
        })
        .collect();
    out.sort();
    out
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_owned()];
    if dir.is_dir() && !dir.is_symlink() {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            out.extend(walkdir(&e.path()));
        }
    }
    out
}

/// The launcher of an unpacked release, run with the system Erlang hidden.
struct Node {
    root: PathBuf,
    node: String,
    log: PathBuf,
}

impl Node {
    fn run(&self, args: &[&str]) -> Output {
        run(
            without_system_erlang(&self.root.join("bin").join(NAME), args)
                .env("RELEASE_NODE", &self.node)
                .env("UPGRADE_LOG", &self.log),
        )
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

/// Hook scripts that log their hook and the release version.
fn upgrade_hooks(dir: &Path) -> Vec<String> {
    let mut args = Vec::new();
    for hook in ["pre_upgrade", "post_upgrade"] {
        std::fs::create_dir_all(dir.join(hook)).unwrap();
        std::fs::write(
            dir.join(hook).join("10-log.sh"),
            format!("echo \"{hook} $RELEASE_VSN\" >>\"$UPGRADE_LOG\"\n"),
        )
        .unwrap();
        args.push(format!("--hook={hook}={}", dir.join(hook).display()));
    }
    args
}

#[test]
fn live_upgrade_keeps_the_process_and_transforms_its_state() {
    ensure_epmd();
    let p = Project::new();
    let hooks = upgrade_hooks(&p.scratch.path().join("hooks"));
    let mut args = vec!["build"];
    args.extend(hooks.iter().map(String::as_str));
    relpack_ok(&p.root, &args);
    let node = Node {
        root: p.scratch.path().join("tar get").join(NAME),
        node: node_name(NAME),
        log: p.scratch.path().join("upgrade.log"),
    };
    unpack(
        &p.root.join("_build/prod/upgrader-0.1.0.tar.gz"),
        &node.root,
    );
    let _guard = DaemonGuard(node.root.join("tmp/daemon.pid"));
    node.ok(&["daemon"]);
    node.ok(&["rpc", "Upgrader.Counter.set(42)"]);
    assert_eq!(
        node.ok(&["rpc", "Upgrader.Counter.describe()"]),
        "{:v1, 42}"
    );
    let pid = node.ok(&["pid"]);
    assert_eq!(node.ok(&["releases"]), "upgrader 0.1.0 permanent");

    p.next_version("0.1.0", "0.2.0", |p| {
        for file in ["counter.ex", "sup.ex", "util.ex"] {
            p.take(file);
        }
    });
    args.push("--upgrade");
    relpack_ok(&p.root, &args);
    let package = format!("releases/0.2.0/{NAME}.tar.gz");
    std::fs::create_dir_all(node.root.join("releases/0.2.0")).unwrap();
    std::fs::copy(p.release_dir().join(&package), node.root.join(&package)).unwrap();

    let out = node.ok(&["upgrade", "0.2.0"]);
    assert!(out.ends_with("upgrader 0.2.0 is permanent"), "{out}");
    assert_eq!(node.ok(&["pid"]), pid, "the VM was restarted");
    assert_eq!(
        node.ok(&["rpc", "Upgrader.Counter.describe()"]),
        "{:v2, %{count: 42, upgraded_from: 42}}"
    );
    assert_eq!(
        node.ok(&["releases"]),
        "upgrader 0.2.0 permanent\nupgrader 0.1.0 old"
    );
    assert_eq!(
        read_log(&node.log),
        "pre_upgrade 0.1.0\npost_upgrade 0.2.0\n"
    );
    // The launcher reads the new release's files.
    assert_eq!(node.ok(&["version"]), "upgrader 0.2.0");
    assert!(node.root.join("releases/0.2.0/upgrader.rel").is_file());

    // A restart boots the new version.
    node.ok(&["restart"]);
    assert_eq!(
        node.ok(&["rpc", "Upgrader.Counter.describe()"]),
        "{:v2, %{count: 0}}"
    );
    assert_eq!(
        node.ok(&["rpc", "IO.puts(Application.spec(:upgrader, :vsn))"]),
        "0.2.0"
    );

    // Downgrading transforms the state back and runs the old code.
    node.ok(&["rpc", "Upgrader.Counter.set(7)"]);
    let out = node.ok(&["downgrade", "0.1.0"]);
    assert!(out.ends_with("upgrader 0.1.0 is permanent"), "{out}");
    assert_eq!(node.ok(&["rpc", "Upgrader.Counter.describe()"]), "{:v1, 7}");
    assert_eq!(
        node.ok(&["releases"]),
        "upgrader 0.2.0 old\nupgrader 0.1.0 permanent"
    );

    // Failures are release_handler's answer, on one line: a version with
    // no package, and one whose relup does not start from the running
    // release (0.3.0 upgrades 0.2.0, the node runs 0.1.0).
    let fails = |args: &[&str], start: &str| {
        let out = node.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(start), "{args:?}: {err}");
    };
    fails(
        &["upgrade", "0.4.0"],
        "upgrade 0.4.0 failed: unpack: {no_upgrade_package,",
    );
    p.next_version("0.2.0", "0.3.0", |p| {
        p.edit("lib/upgrader/util.ex", ":v2", ":v3")
    });
    let mut from_two = args.clone();
    from_two.extend(["--upfrom", "0.2.0"]);
    relpack_ok(&p.root, &from_two);
    let package3 = format!("releases/0.3.0/{NAME}.tar.gz");
    std::fs::create_dir_all(node.root.join("releases/0.3.0")).unwrap();
    std::fs::copy(p.release_dir().join(&package3), node.root.join(&package3)).unwrap();
    fails(
        &["upgrade", "0.3.0"],
        "upgrade 0.3.0 failed: check_install_release: {no_matching_relup,",
    );
    assert_eq!(node.ok(&["rpc", "Upgrader.Counter.describe()"]), "{:v1, 7}");

    // A fresh start boots the permanent release.
    node.ok(&["stop"]);
    node.ok(&["daemon"]);
    assert_eq!(node.ok(&["rpc", "Upgrader.Counter.describe()"]), "{:v1, 0}");
    node.ok(&["stop"]);

    // The same upgrade in the minimal Debian rootfs, which has no Erlang.
    let rootfs = rootfs();
    assert!(!rootfs.join("usr/lib/erlang").exists());
    let opt = format!("opt/relpack upgrade-{}", std::process::id());
    let dest = rootfs.join(&opt);
    let _cleanup = Scratch(dest.clone());
    unpack(&p.root.join("_build/prod/upgrader-0.1.0.tar.gz"), &dest);
    let _guard = DaemonGuard(dest.join("tmp/daemon.pid"));
    let launcher = format!("/{opt}/bin/{NAME}");
    let in_rootfs = |args: &[&str]| {
        let out = run(rootfs_command(&rootfs, &launcher, args)
            .env("UPGRADE_LOG", "/dev/null")
            .env("RELEASE_NODE", &node.node));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    in_rootfs(&["daemon"]);
    in_rootfs(&["rpc", "Upgrader.Counter.set(42)"]);
    let pid = in_rootfs(&["pid"]);
    std::fs::create_dir_all(dest.join("releases/0.2.0")).unwrap();
    std::fs::copy(p.release_dir().join(&package), dest.join(&package)).unwrap();
    in_rootfs(&["upgrade", "0.2.0"]);
    assert_eq!(in_rootfs(&["pid"]), pid);
    assert_eq!(
        in_rootfs(&["rpc", "Upgrader.Counter.describe()"]),
        "{:v2, %{count: 42, upgraded_from: 42}}"
    );
    assert_eq!(
        in_rootfs(&["releases"]),
        "upgrader 0.2.0 permanent\nupgrader 0.1.0 old"
    );
    // Upgrading again is harmless; a fresh start boots the new version.
    assert_eq!(
        in_rootfs(&["upgrade", "0.2.0"]),
        "upgrader 0.2.0 is permanent"
    );
    in_rootfs(&["stop"]);
    in_rootfs(&["daemon"]);
    assert_eq!(
        in_rootfs(&["rpc", "Upgrader.Counter.describe()"]),
        "{:v2, %{count: 0}}"
    );
    in_rootfs(&["stop"]);
}

/// A relx release has no sasl unless listed (the fixture's is edited out):
/// the previous release must have it (release_handler is part of it), and
/// an upgrade adds it as `load` when the configuration leaves it out, as
/// Distillery did.
#[test]
fn sasl_is_needed_by_the_previous_release_and_added_to_the_new_one() {
    let project = compiled_fixture("rebar_hello");
    let root = project.path().join("rebar_hello");
    let rel_dir = root.join("_build/default/rel/rebar_hello/releases");
    let f = fixture("rebar_hello");
    let config = root.join("rebar.config");
    let text = std::fs::read_to_string(&config).unwrap();
    let listed = "[rebar_hello, sasl, {runtime_tools, load}]";
    assert!(text.contains(listed), "{text}");
    std::fs::write(
        &config,
        text.replace(listed, "[rebar_hello, {runtime_tools, load}]"),
    )
    .unwrap();
    relpack_ok(&root, &["build", "--no-tar"]);
    let next = [
        "build",
        "--no-tar",
        "--upgrade",
        "--release-version",
        "9.9.9",
    ];
    let out = relpack(&root, &next);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let old_rel = rel_dir.join(f.vsn).join("rebar_hello.rel");
    assert_eq!(
        err.trim(),
        format!("relpack: error: {}: the previous release {} has no sasl, so it cannot install an upgrade live: deploy this version by a restart, and upgrade from it next time", old_rel.display(), f.vsn)
            .replace(&format!("{}/", root.display()), "./")
    );
    relpack_ok(&root, &["build", "--no-tar", "--app", "sasl=load"]);
    let out = relpack(&root, &next);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("relpack: warning: sasl added to the release as `load`"),
        "{err}"
    );
    let rel = std::fs::read_to_string(rel_dir.join("9.9.9/rebar_hello.rel")).unwrap();
    let sasl = format!("{{sasl,\"{}\",load}}", installed().app_vsn("sasl"));
    assert!(rel.replace([' ', '\n'], "").contains(&sasl), "{rel}");
    assert!(rel_dir.join("9.9.9/relup").is_file());
}

/// The Erlang launcher (a rebar3 release, no Elixir) upgrades live too.
#[test]
fn erlang_release_upgrades_live() {
    ensure_epmd();
    let project = compiled_fixture("rebar_hello");
    let root = project.path().join("rebar_hello");
    let f = fixture("rebar_hello");
    relpack_ok(&root, &["build"]);
    let node = Node {
        root: project.path().join("target").join("rebar_hello"),
        node: node_name("rebar_hello"),
        log: project.path().join("upgrade.log"),
    };
    unpack(&f.tarball(&root), &node.root);
    let _guard = DaemonGuard(node.root.join("tmp/daemon.pid"));
    let bin = |args: &[&str]| {
        let out = run(
            without_system_erlang(&node.root.join("bin/rebar_hello"), args)
                .env("RELEASE_NODE", &node.node),
        );
        let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(
            out.status.success(),
            "{args:?}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    bin(&["daemon"]);
    assert_eq!(bin(&["rpc", "rebar_hello_worker:ping()"]), "pong");
    let pid = bin(&["pid"]);
    // rebar3 goes by modification times too: the edited files are dated
    // later than anything compiled.
    let edit = |file: &str, from: &str, to: &str| {
        let path = root.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file}: {from}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
        run_ok(
            Command::new("touch")
                .args(["-d", "now + 5 seconds"])
                .arg(&path),
        );
    };
    edit(
        "src/rebar_hello.app.src",
        "{vsn, \"0.3.0\"}",
        "{vsn, \"0.3.1\"}",
    );
    edit(
        "rebar.config",
        "{rebar_hello, \"0.3.0\"}",
        "{rebar_hello, \"0.3.1\"}",
    );
    edit(
        "src/rebar_hello_worker.erl",
        "{reply, pong, State}",
        "{reply, pong_again, State}",
    );
    run_ok(Command::new("rebar3").arg("compile").current_dir(&root));
    relpack_ok(&root, &["build", "--upgrade"]);
    let package = "releases/0.3.1/rebar_hello.tar.gz";
    std::fs::create_dir_all(node.root.join("releases/0.3.1")).unwrap();
    let built = f.build_dir(&root).join("rel/rebar_hello").join(package);
    std::fs::copy(built, node.root.join(package)).unwrap();
    assert!(bin(&["upgrade", "0.3.1"]).ends_with("rebar_hello 0.3.1 is permanent"));
    assert_eq!(bin(&["pid"]), pid);
    assert_eq!(bin(&["rpc", "rebar_hello_worker:ping()"]), "pong_again");
    assert_eq!(
        bin(&["releases"]),
        "rebar_hello 0.3.1 permanent\nrebar_hello 0.3.0 old"
    );
    bin(&["stop"]);
}
