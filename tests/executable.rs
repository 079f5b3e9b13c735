//! One-file executables (`relpack build --executable`): the hello
//! fixture's `.run` copied alone to a fresh directory and run with the
//! system Erlang hidden (eval, foreground, daemon/rpc/stop), arguments
//! kept intact, concurrent first runs, the per-user cache and its
//! clean-up, a read-only cache, `--transient`, the minimal Debian rootfs,
//! busybox's tools, corrupt and truncated files, reproducibility,
//! `relpack check`, and the release configuration's `executable:`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::*;

const EVAL: &str = "IO.puts(Hello.hello())";

/// A compiled copy of the hello fixture whose executable was built with
/// `extra`, and that executable copied alone into a fresh directory
/// (with a space in its path).
struct Exe {
    scratch: Scratch,
    project: PathBuf,
    run: PathBuf,
    cache: PathBuf,
    tmp: PathBuf,
}

impl Exe {
    fn build(extra: &[&str]) -> Exe {
        let scratch = compiled_fixture("hello");
        let project = scratch.path().join("hello");
        let mut args = vec!["build", "--executable"];
        args.extend(extra);
        let out = relpack_ok(&project, &args);
        assert!(out.contains("hello-0.1.0.run"), "{out}");
        let fresh = scratch.path().join("fresh dir");
        std::fs::create_dir_all(&fresh).unwrap();
        let run = fresh.join("hello.run");
        std::fs::copy(built(&project, "0.1.0"), &run).unwrap();
        let (cache, tmp) = (scratch.path().join("cache"), scratch.path().join("tmp"));
        std::fs::create_dir_all(&tmp).unwrap();
        Exe {
            scratch,
            project,
            run,
            cache,
            tmp,
        }
    }

    /// The executable run with the system Erlang hidden, its cache and
    /// `$TMPDIR` in the scratch space.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = without_system_erlang(&self.run, args);
        self.env(&mut cmd);
        cmd
    }

    fn env(&self, cmd: &mut Command) {
        cmd.env("RELPACK_EXTRACT_DIR", &self.cache)
            .env("TMPDIR", &self.tmp)
            .current_dir(self.scratch.path());
    }

    fn run(&self, args: &[&str]) -> Output {
        run(&mut self.cmd(args))
    }

    fn info(&self) -> String {
        run_ok(&mut self.cmd(&["--relpack-info"]))
    }

    /// Where this executable extracts to, as `--relpack-info` says.
    fn extraction(&self) -> PathBuf {
        let info = self.info();
        let line = info.lines().find(|l| l.starts_with("cache: ")).unwrap();
        let path = line["cache: ".len()..].rsplit_once(" (").unwrap().0;
        PathBuf::from(path)
    }
}

fn built(project: &Path, vsn: &str) -> PathBuf {
    project.join(format!("_build/prod/hello-{vsn}.run"))
}

/// The entries of `dir` (none if it does not exist), sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Requires that the command failed with exit 1 and one line on stderr
/// holding each of `parts`.
fn one_line_error(out: &Output, parts: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for part in parts {
        assert!(stderr.contains(part), "no {part:?} in {stderr}");
    }
}

fn sha256_hex(path: &Path) -> String {
    let out = run_ok(Command::new("sha256sum").arg(path));
    out.split_whitespace().next().unwrap().to_owned()
}

/// The executable is the tarball behind a header, mode 0755, carrying the
/// tarball's digest; copied alone anywhere, its first run extracts into
/// `<cache>/hello-0.1.0-<digest>` and evaluates, later runs reuse it;
/// arguments arrive byte for byte; `relpack check` accepts it; and a
/// rebuild from a clean output gives the same bytes.
#[test]
fn runs_alone_with_arguments_intact_and_is_reproducible() {
    use std::os::unix::fs::PermissionsExt;
    let exe = Exe::build(&[]);
    let bytes = std::fs::read(&exe.run).unwrap();
    let tarball = std::fs::read(exe.project.join("_build/prod/hello-0.1.0.tar.gz")).unwrap();
    assert!(bytes.ends_with(&tarball));
    let mode = std::fs::metadata(built(&exe.project, "0.1.0"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o755);
    let digest = sha256_hex(&exe.project.join("_build/prod/hello-0.1.0.tar.gz"));

    let info = exe.info();
    assert!(info.contains("name: hello\nversion: 0.1.0\n"), "{info}");
    assert!(info.contains(&format!("digest: sha256:{digest}")), "{info}");
    let extraction = exe.cache.join(format!("hello-0.1.0-{digest}"));
    assert!(
        info.contains(&format!("cache: {} (not extracted)", extraction.display())),
        "{info}"
    );
    assert!(!exe.cache.exists(), "--relpack-info extracted");

    assert_printed(&exe.run(&["eval", EVAL]), "world");
    assert_eq!(listing(&exe.cache), [format!("hello-0.1.0-{digest}")]);
    assert!(extraction.join("bin/hello").is_file());
    // Spaces, both quotes, $, a glob, a backslash and a newline.
    let tricky = "a  b 'c' \"d\" $HOME * \\n\nend";
    let expr = format!("IO.puts({})", elixir_string(tricky));
    assert_printed(&exe.run(&["eval", &expr]), tricky);
    assert!(exe.info().contains("(extracted)"));
    let out = exe.run(&["--relpack-extract-only"]);
    assert_printed(&out, extraction.to_str().unwrap());

    let check = relpack_ok(&exe.project, &["check", exe.run.to_str().unwrap()]);
    assert!(check.starts_with("ok: hello 0.1.0"), "{check}");

    std::fs::remove_dir_all(exe.project.join("_build/prod/rel")).unwrap();
    std::fs::remove_file(built(&exe.project, "0.1.0")).unwrap();
    let json = relpack_ok(
        &exe.project,
        &["build", "--executable", "--no-cache", "--json"],
    );
    assert!(std::fs::read(built(&exe.project, "0.1.0")).unwrap() == bytes);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["executable"]["size"], bytes.len());
    let path = json["executable"]["path"].as_str().unwrap();
    assert!(path.ends_with("_build/prod/hello-0.1.0.run"), "{path}");
    assert!(json["phases"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["phase"] == "executable"));
}

/// An Elixir string literal for `text`.
fn elixir_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Without RELPACK_EXTRACT_DIR or XDG_CACHE_HOME the cache is
/// `$HOME/.cache/relpack`, created (parents too) when missing, 0700;
/// without HOME, runs are transient.
#[test]
fn default_cache_is_created_under_home() {
    use std::os::unix::fs::PermissionsExt;
    let exe = Exe::build(&[]);
    let home = exe.scratch.path().join("no such home");
    let mut cmd = without_system_erlang(&exe.run, &["eval", EVAL]);
    cmd.env_remove("RELPACK_EXTRACT_DIR")
        .env_remove("XDG_CACHE_HOME")
        .env("HOME", &home)
        .env("TMPDIR", &exe.tmp);
    assert_printed(&run(&mut cmd), "world");
    let cache = home.join(".cache/relpack");
    assert_eq!(listing(&cache).len(), 1);
    let mode = std::fs::metadata(&cache).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);

    // With no HOME either, runs are transient: never a shared directory
    // such as /tmp/relpack-<uid>, which another user could fill first.
    let mut cmd = without_system_erlang(&exe.run, &["eval", EVAL]);
    cmd.env_remove("RELPACK_EXTRACT_DIR")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("HOME")
        .env("TMPDIR", &exe.tmp);
    let out = run(&mut cmd);
    assert_printed(&out, "world");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no RELPACK_EXTRACT_DIR, XDG_CACHE_HOME or HOME"),
        "{stderr}"
    );
    assert_eq!(listing(&exe.tmp), Vec::<String>::new());
}

/// With no command it runs `foreground` (the VM exec'd: SIGTERM stops it
/// and the run exits 0); `daemon`, then `rpc`, `remote` (on a terminal)
/// and `stop` from the same executable reach that node.
#[test]
fn foreground_by_default_then_daemon_rpc_stop() {
    ensure_epmd();
    let exe = Exe::build(&[]);
    let extracted = run_ok(&mut exe.cmd(&["--relpack-extract-only"]));
    let cookie = cookie(Path::new(extracted.trim()));

    answers_then_stops_on_sigterm(&exe, &[], "hello_exe", || Some(cookie.clone()));

    let node = node_name("hello_exe_d");
    let with_node = |args: &[&str]| {
        let mut cmd = exe.cmd(args);
        cmd.env("RELEASE_NODE", &node);
        run(&mut cmd)
    };
    let _guard = DaemonGuard(exe.extraction().join("tmp/daemon.pid"));
    let started = with_node(&["daemon"]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    assert_printed(&with_node(&["rpc", "IO.puts(Hello.hello())"]), "world");
    // `remote` on a terminal (through `script`): an IEx shell on the node.
    require("script", "apt-get install bsdutils");
    let inner = format!("'{}' remote", exe.run.display());
    let mut cmd = without_system_erlang(Path::new("script"), &["-qec", &inner, "/dev/null"]);
    exe.env(&mut cmd);
    cmd.env("RELEASE_NODE", &node);
    let log = exe.scratch.path().join("remote.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut terminal = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let shown = |text: &str| {
        (0..300).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            read_log(&log).contains(text)
        })
    };
    let prompt = shown(&format!("iex({node}@"));
    use std::io::Write;
    let mut input = terminal.stdin.take().unwrap();
    input
        .write_all(b"IO.puts(Hello.hello() |> inspect() |> String.upcase())\n")
        .unwrap();
    let answered = shown(":WORLD");
    // Ctrl-G opens the job menu of the local (hidden) node; q quits it.
    input.write_all(b"\x07").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    input.write_all(b"q\r").unwrap();
    drop(input);
    let quit = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        terminal.try_wait().unwrap().is_some()
    });
    let _ = terminal.kill();
    let _ = terminal.wait();
    assert!(
        prompt && answered,
        "remote shell output:\n{}",
        read_log(&log)
    );
    assert!(quit, "the remote shell did not quit:\n{}", read_log(&log));
    assert_printed(&with_node(&["stop"]), "");
    let ping = with_node(&["ping"]);
    assert!(!ping.status.success());
    assert_eq!(String::from_utf8_lossy(&ping.stdout).trim(), "pang");
}

/// Starts the run `args` with a node name of its own, waits until the
/// node answers (with the cookie `cookie` finds once there is one), then
/// sends the run SIGTERM: it must have answered and exited 0.
fn answers_then_stops_on_sigterm(
    exe: &Exe,
    args: &[&str],
    label: &str,
    cookie: impl Fn() -> Option<String>,
) {
    let node = node_name(label);
    let log = exe.scratch.path().join(format!("{label}.log"));
    let mut cmd = exe.cmd(args);
    cmd.env("RELEASE_NODE", &node);
    let mut child = spawn_logged(&mut cmd, &log);
    let found = (0..300).find_map(|_| {
        let found = cookie();
        if found.is_none() {
            std::thread::sleep(Duration::from_millis(100));
        }
        found
    });
    let answer = found.and_then(|cookie| {
        wait_for_rpc(
            &node,
            &cookie,
            "'Elixir.Hello':hello()",
            Duration::from_secs(60),
        )
    });
    let status = terminate(&mut child);
    assert_eq!(answer.as_deref(), Some("world"), "{}", read_log(&log));
    assert!(status.success(), "{status}: {}", read_log(&log));
}

/// A transient `foreground`: SIGTERM to the executable reaches the VM,
/// which stops cleanly; the run exits 0 and its extraction is gone.
#[test]
fn transient_foreground_stops_on_sigterm_and_cleans_up() {
    ensure_epmd();
    let exe = Exe::build(&["--transient"]);
    assert!(exe.info().contains("transient by default: true"));
    // The cookie of the extraction under TMPDIR, once it is there.
    let cookie = || {
        let dir = exe.tmp.join(listing(&exe.tmp).first()?);
        std::fs::read_to_string(dir.join("releases/COOKIE")).ok()
    };
    answers_then_stops_on_sigterm(&exe, &["foreground"], "hello_exe_t", cookie);
    assert_eq!(listing(&exe.tmp), Vec::<String>::new());
    assert!(!exe.cache.exists());
}

/// Twenty first runs at once all succeed and leave one extraction and no
/// temporary directory.
#[test]
fn concurrent_first_runs_leave_one_extraction() {
    let exe = Exe::build(&[]);
    let children: Vec<_> = (0..20)
        .map(|_| {
            exe.cmd(&["eval", EVAL])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        assert_printed(&child.wait_with_output().unwrap(), "world");
    }
    let entries = listing(&exe.cache);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].starts_with("hello-0.1.0-"), "{entries:?}");
}

/// A first run stopped by SIGTERM at any point while it checks and
/// extracts leaves either the whole extraction or nothing, never a
/// temporary directory.
#[test]
fn interrupted_first_runs_leave_no_debris() {
    let exe = Exe::build(&[]);
    for delay_ms in [20, 100, 200, 300, 450] {
        let _ = std::fs::remove_dir_all(&exe.cache);
        let mut child = exe
            .cmd(&["eval", EVAL])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        terminate(&mut child);
        let entries = listing(&exe.cache);
        assert!(
            entries.iter().all(|e| e.starts_with("hello-0.1.0-")),
            "after {delay_ms} ms: {entries:?}"
        );
        if let Some(dir) = entries.first() {
            assert!(exe.cache.join(dir).join("bin/hello").is_file());
        }
    }
}

/// A new version's first run removes all but the two most recent
/// extractions of the release, and nothing else.
#[test]
fn new_versions_keep_the_last_two_extractions() {
    let exe = Exe::build(&[]);
    // What is not an extraction stays: other directories with a
    // bin/hello, a temporary directory of a run still extracting.
    let hex = "0".repeat(64);
    let mut others = vec![
        "hello-installed".to_owned(),
        format!("hello-0.0.1-{}", &hex[1..]),
        format!(".hello-0.0.1-{hex}.Fresh1"),
    ];
    for dir in &others {
        std::fs::create_dir_all(exe.cache.join(dir).join("bin")).unwrap();
        std::fs::write(exe.cache.join(dir).join("bin/hello"), "").unwrap();
    }
    // One an interrupted run left two hours ago goes.
    let stale = exe.cache.join(format!(".hello-0.0.1-{hex}.Stale1"));
    std::fs::create_dir_all(&stale).unwrap();
    run_ok(
        Command::new("touch")
            .args(["-d", "2 hours ago"])
            .arg(&stale),
    );
    let mut names = Vec::new();
    for vsn in ["0.1.0", "0.2.0", "0.3.0"] {
        relpack_ok(
            &exe.project,
            &["build", "--executable", "--release-version", vsn],
        );
        std::fs::copy(built(&exe.project, vsn), &exe.run).unwrap();
        assert_printed(&exe.run(&["eval", EVAL]), "world");
        names.push(
            exe.extraction()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    others.extend(names[1..].iter().cloned());
    others.sort();
    assert_eq!(listing(&exe.cache), others);
}

/// A cache that cannot be written: each run extracts under `$TMPDIR`,
/// says so on stderr, and removes it afterwards.
#[test]
fn read_only_cache_falls_back_to_tmpdir() {
    let exe = Exe::build(&[]);
    std::fs::create_dir_all(&exe.cache).unwrap();
    let script = "mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" && exec \"$@\"";
    let mut cmd = without_system_erlang(
        Path::new("sh"),
        &[
            "-c",
            script,
            exe.cache.to_str().unwrap(),
            exe.run.to_str().unwrap(),
            "eval",
            EVAL,
        ],
    );
    exe.env(&mut cmd);
    let out = run(&mut cmd);
    assert_printed(&out, "world");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not writable: extracting under"),
        "{stderr}"
    );
    assert_eq!(listing(&exe.cache), Vec::<String>::new());
    assert_eq!(listing(&exe.tmp), Vec::<String>::new());
}

/// `--transient` extracts under `$TMPDIR` and leaves nothing, in the
/// cache or there; the command keeps its standard input; it refuses
/// `daemon`, whose files it would remove.
#[test]
fn transient_leaves_nothing() {
    let exe = Exe::build(&[]);
    assert_printed(&exe.run(&["--transient", "eval", EVAL]), "world");
    assert!(!exe.cache.exists());
    // The command still reads the run's standard input.
    let mut child = exe
        .cmd(&["--transient", "eval", "IO.write(IO.read(:line))"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from stdin\n")
        .unwrap();
    assert_printed(&child.wait_with_output().unwrap(), "from stdin");
    assert_eq!(listing(&exe.tmp), Vec::<String>::new());
    let out = exe.run(&["--transient", "daemon"]);
    one_line_error(&out, &["`daemon` from a transient extraction"]);
    assert_eq!(listing(&exe.tmp), Vec::<String>::new());
}

/// Distillery's `executable: [enabled: true, transient: true]` writes the
/// executable without the flag, transient by default; `mix.exs`
/// `steps: [:assemble, :tar, :executable]` writes it too, and an
/// executable without the tarball it carries is a one-line error.
#[test]
fn configured_in_rel_config_and_mix_exs() {
    let scratch = compiled_fixture("hello");
    let project = scratch.path().join("hello");
    std::fs::create_dir_all(project.join("rel")).unwrap();
    std::fs::write(
        project.join("rel/config.exs"),
        "use Distillery.Releases.Config, default_release: :hello, default_environment: :prod\n\
         environment :prod do\n  set include_erts: true\n  set cookie: :exe_cookie\nend\n\
         release :hello do\n  set version: current_version(:hello)\n  \
         set executable: [enabled: true, transient: true]\nend\n",
    )
    .unwrap();
    relpack_ok(&project, &["build"]);
    let run = built(&project, "0.1.0");
    let (cache, tmp) = (scratch.path().join("cache"), scratch.path().join("tmp"));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut cmd = without_system_erlang(&run, &["eval", EVAL]);
    cmd.env("RELPACK_EXTRACT_DIR", &cache).env("TMPDIR", &tmp);
    assert_printed(&run_ok_output(&mut cmd), "world");
    assert!(!cache.exists());
    assert_eq!(listing(&tmp), Vec::<String>::new());

    // `executable: true`: runs keep their extraction.
    let rel_config = std::fs::read_to_string(project.join("rel/config.exs")).unwrap();
    let plain = rel_config.replace("[enabled: true, transient: true]", "true");
    std::fs::write(project.join("rel/config.exs"), plain).unwrap();
    std::fs::remove_file(&run).unwrap();
    relpack_ok(&project, &["build"]);
    let info = run_ok(Command::new(&run).arg("--relpack-info"));
    assert!(info.contains("transient by default: false"), "{info}");
    // Distillery 1.x's form of transient.
    let v1 = rel_config.replace(
        "set executable: [enabled: true, transient: true]",
        "set executable: true\n  set exec_opts: [transient: true]",
    );
    std::fs::write(project.join("rel/config.exs"), v1).unwrap();
    relpack_ok(&project, &["build"]);
    let info = run_ok(Command::new(&run).arg("--relpack-info"));
    assert!(info.contains("transient by default: true"), "{info}");

    // Configurations that cannot give an executable, each one line naming
    // the file.
    for (from, to, message) in [
        (
            "[enabled: true, transient: true]",
            "[transient: true]",
            "needs `enabled: true`",
        ),
        (
            "set executable: [enabled: true, transient: true]",
            "set executable: true\n  set dev_mode: true",
            "`dev_mode: true` writes no tarball",
        ),
    ] {
        std::fs::write(project.join("rel/config.exs"), rel_config.replace(from, to)).unwrap();
        one_line_error(&relpack(&project, &["build"]), &["rel/config.exs", message]);
    }
    std::fs::remove_file(project.join("rel/config.exs")).unwrap();
    std::fs::remove_file(&run).unwrap();
    let mix_exs = project.join("mix.exs");
    let original = std::fs::read_to_string(&mix_exs).unwrap();
    let with_steps = |steps: &str| {
        original.replace(
            "releases: [hello: []]",
            &format!("releases: [hello: [steps: {steps}]]"),
        )
    };
    std::fs::write(&mix_exs, with_steps("[:assemble, :tar, :executable]")).unwrap();
    relpack_ok(&project, &["build"]);
    assert!(run.is_file());
    let info = run_ok(Command::new(&run).arg("--relpack-info"));
    assert!(info.contains("transient by default: false"), "{info}");

    std::fs::write(&mix_exs, with_steps("[:assemble, :executable]")).unwrap();
    let out = relpack(&project, &["build"]);
    one_line_error(&out, &["mix.exs:", "must come right after `:tar`"]);
    std::fs::write(&mix_exs, &original).unwrap();
    let out = relpack(&project, &["build", "--executable", "--no-tar"]);
    assert!(!out.status.success());
}

fn run_ok_output(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The minimal Debian rootfs and a directory of its own in there holding
/// a copy of the executable as `hello.run`: the path inside, and the
/// directory outside (removed when dropped).
fn in_rootfs(exe: &Exe, label: &str) -> (PathBuf, String, Scratch) {
    let rootfs = rootfs();
    let inside = format!("/tmp/relpack-{label}-{}", std::process::id());
    let dir = Scratch(rootfs.join(inside.trim_start_matches('/')));
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::copy(&exe.run, dir.0.join("hello.run")).unwrap();
    (rootfs, inside, dir)
}

/// The executable alone in a minimal Debian rootfs (no Erlang, no
/// relpack): extracts with its coreutils, tar and gzip, and runs.
#[test]
fn runs_in_a_minimal_debian_rootfs() {
    let exe = Exe::build(&[]);
    let (rootfs, inside, dir) = in_rootfs(&exe, "exe");
    let dir = &dir.0;
    let run_in = |args: &[&str]| {
        let mut all = vec![
            format!("XDG_CACHE_HOME={inside}/xdg"),
            format!("{inside}/hello.run"),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        chroot(&rootfs, "/usr/bin/env", &all)
    };
    assert_printed(&run_in(&["eval", EVAL]), "world");
    assert_printed(&run_in(&["eval", EVAL]), "world");
    let extracted = listing(&dir.join("xdg/relpack"));
    assert_eq!(extracted.len(), 1, "{extracted:?}");
    assert!(extracted[0].starts_with("hello-0.1.0-"), "{extracted:?}");
}

/// Extraction with nothing but busybox's applets on PATH (what Alpine
/// has), under busybox sh; a corrupt copy is refused there too.
#[test]
fn extracts_with_busybox_tools_only() {
    require("busybox", "apt-get install busybox");
    let exe = Exe::build(&[]);
    let bin = exe.scratch.path().join("busybox-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let busybox = run_ok(Command::new("sh").args(["-c", "command -v busybox"]));
    for applet in [
        "sh",
        "tail",
        "sha256sum",
        "wc",
        "mktemp",
        "mkdir",
        "mv",
        "rm",
        "rmdir",
        "tar",
        "gzip",
        "ls",
        "find",
        "touch",
        "id",
        "cat",
    ] {
        std::os::unix::fs::symlink(busybox.trim(), bin.join(applet)).unwrap();
    }
    let busybox_run = |file: &Path, args: &[&str]| {
        let mut cmd = Command::new(bin.join("sh"));
        cmd.arg(file).args(args).env("PATH", &bin);
        exe.env(&mut cmd);
        run(&mut cmd)
    };
    let out = busybox_run(&exe.run, &["--relpack-extract-only"]);
    let extraction = exe.extraction();
    assert_printed(&out, extraction.to_str().unwrap());
    assert_printed(
        &run(&mut without_system_erlang(
            &extraction.join("bin/hello"),
            &["eval", EVAL],
        )),
        "world",
    );

    let corrupt = exe.scratch.path().join("corrupt.run");
    let mut bytes = std::fs::read(&exe.run).unwrap();
    let middle = bytes.len() - 1000;
    bytes[middle] ^= 0x20;
    std::fs::write(&corrupt, &bytes).unwrap();
    std::fs::remove_dir_all(&exe.cache).unwrap();
    let out = busybox_run(&corrupt, &["--relpack-extract-only"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("corrupt: the payload's SHA-256"));
    assert!(!exe.cache.exists());
}

/// A corrupt or truncated executable is refused with one line (checked
/// against the digest) before anything is extracted or run, and `relpack
/// check` reports it.
#[test]
fn corrupt_or_truncated_never_runs() {
    let exe = Exe::build(&[]);
    let bytes = std::fs::read(&exe.run).unwrap();
    let mut flipped = bytes.clone();
    let middle = bytes.len() / 2;
    flipped[middle] ^= 0x01;
    let truncated = &bytes[..bytes.len() - 4096];
    for (damaged, what) in [
        (&flipped[..], "corrupt: the payload's SHA-256"),
        (truncated, "truncated or corrupt"),
    ] {
        std::fs::write(&exe.run, damaged).unwrap();
        let out = exe.run(&["eval", "File.write!(\"ran\", \"yes\")"]);
        one_line_error(&out, &[what, "hello.run"]);
        assert!(out.stdout.is_empty());
        assert!(!exe.scratch.path().join("ran").exists());
        assert_eq!(listing(&exe.cache), Vec::<String>::new());
        assert_eq!(listing(&exe.tmp), Vec::<String>::new());
        let check = relpack(&exe.project, &["check", exe.run.to_str().unwrap()]);
        let report = String::from_utf8_lossy(&check.stdout);
        assert!(!check.status.success());
        assert!(report.contains("corrupt executable"), "{report}");
    }
}

/// The header passes `shellcheck` as POSIX sh.
#[test]
fn header_passes_shellcheck() {
    require("shellcheck", "apt-get install shellcheck");
    let exe = Exe::build(&[]);
    let info = exe.info();
    let offset: usize = info
        .split(" tar at byte ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no offset in {info}"));
    let header = exe.scratch.path().join("header.sh");
    std::fs::write(&header, &std::fs::read(&exe.run).unwrap()[..offset]).unwrap();
    run_ok(Command::new("shellcheck").args(["-s", "sh"]).arg(&header));
}

/// A zstd payload runs where `zstd` is installed, passes `relpack
/// check`, and in the minimal Debian rootfs (no zstd) is refused with one
/// line saying what to install.
#[test]
fn zstd_payload_needs_zstd_on_the_target() {
    require("zstd", "apt-get install zstd (scripts/setup.sh)");
    let exe = Exe::build(&["--compress", "zstd"]);
    assert!(exe.info().contains("zstd tar"));
    assert_printed(&exe.run(&["eval", EVAL]), "world");
    let check = relpack_ok(&exe.project, &["check", exe.run.to_str().unwrap()]);
    assert!(check.starts_with("ok: hello 0.1.0"), "{check}");

    let (rootfs, inside, dir) = in_rootfs(&exe, "exe-zstd");
    let dir = &dir.0;
    let extract_dir = format!("RELPACK_EXTRACT_DIR={inside}/cache");
    let run_file = format!("{inside}/hello.run");
    let out = chroot(
        &rootfs,
        "/usr/bin/env",
        &[&extract_dir, &run_file, "eval", EVAL],
    );
    one_line_error(&out, &["needs `zstd`"]);
    assert_eq!(listing(&dir.join("cache")), Vec::<String>::new());
}
