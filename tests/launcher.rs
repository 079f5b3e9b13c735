//! The `bin/<name>` launcher against real running nodes: compile a fixture
//! with `mix`, package it with relpack, unpack it into a path with a space
//! and drive every command with the system Erlang hidden (and in a minimal
//! Debian rootfs): daemon, ping, pid, rpc, remote_console, stop, restart,
//! hooks, custom commands, the cookie kept off command lines,
//! REPLACE_OS_VARS on a read-only release, dash and busybox sh.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;

/// One unpacked release and how its launcher is called: system Erlang
/// hidden, a node name of its own, extra environment, and optionally an
/// explicit shell (instead of the launcher's `#!/bin/sh`).
struct Release {
    scratch: Scratch,
    root: PathBuf,
    node: String,
    /// RELEASE_DISTRIBUTION: sname (the default) or name.
    dist: &'static str,
    env: Vec<(String, String)>,
    shell: Vec<String>,
    /// What is called: `bin/<name>` or a symlink to it.
    entry: PathBuf,
    /// The working directory of every call.
    cwd: PathBuf,
}

impl Release {
    fn new(dir: &str, build_args: &[&str]) -> Release {
        ensure_epmd();
        let f = fixture(dir);
        let (scratch, root) = package_with(dir, build_args);
        Release {
            entry: root.join("bin").join(f.release),
            cwd: scratch.path().to_owned(),
            scratch,
            root,
            node: node_name(f.release),
            dist: "sname",
            env: Vec::new(),
            shell: Vec::new(),
        }
    }

    fn launcher(&self) -> PathBuf {
        self.entry.clone()
    }

    fn launcher_str(&self) -> String {
        self.launcher().to_str().unwrap().to_owned()
    }

    /// The node's full name: with -sname, Erlang appends the short host
    /// name.
    fn full_node(&self) -> String {
        if self.dist == "name" {
            self.node.clone()
        } else {
            let host = run_ok(Command::new("hostname").arg("-s"));
            format!("{}@{}", self.node, host.trim())
        }
    }

    fn cookie(&self) -> String {
        cookie(&self.root)
    }

    fn pid_file(&self) -> PathBuf {
        self.root.join("tmp").join("daemon.pid")
    }

    /// `program args` with the system Erlang hidden and this release's
    /// environment.
    fn hidden(&self, program: &Path, args: &[&str]) -> Command {
        let mut cmd = without_system_erlang(program, args);
        cmd.env("RELEASE_NODE", &self.node)
            .env("RELEASE_DISTRIBUTION", self.dist)
            .current_dir(&self.cwd);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// The launcher with `args`.
    fn command(&self, args: &[&str]) -> Command {
        let launcher = self.launcher_str();
        match self.shell.split_first() {
            Some((shell, shell_args)) => {
                let mut all: Vec<&str> = shell_args.iter().map(String::as_str).collect();
                all.push(&launcher);
                all.extend(args);
                self.hidden(Path::new(shell), &all)
            }
            None => self.hidden(&self.launcher(), args),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        run(&mut self.command(args))
    }

    fn ok(&self, args: &[&str]) -> String {
        run_ok(&mut self.command(args))
    }

    /// Runs `daemon`, which must succeed; returns a guard that kills the
    /// VM if the test fails before stopping it, and what `daemon` printed.
    fn daemon(&self) -> (DaemonGuard, String) {
        let guard = DaemonGuard(self.pid_file());
        let started = self.run(&["daemon"]);
        assert!(
            started.status.success(),
            "daemon failed:\n{}{}",
            stdout(&started),
            stderr(&started)
        );
        (guard, stdout(&started))
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The VM of `pid` runs the release's bundled `beam.smp`, under `node`.
fn assert_is_release_vm(rel: &Release, pid: u32) {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("the VM is running");
    assert_eq!(
        exe,
        rel.root.join(installed().erts_dir()).join("bin/beam.smp"),
        "pid {pid} is not the release's VM"
    );
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(
        cmdline.contains(&format!("-{} {} ", rel.dist, rel.node)),
        "{cmdline}"
    );
    assert!(
        !cmdline.contains(&rel.cookie()),
        "the cookie is on the VM's command line: {cmdline}"
    );
}

/// Waits until `pid` is gone (up to 30 s).
fn assert_exits(pid: u32) {
    let start = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "pid {pid} still runs"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `rpc` with an expression that takes a while and, meanwhile, checks
/// the command line of the hidden `rpc-*` node for the cookie.
fn rpc_node_hides_the_cookie(rel: &Release) {
    let log = rel.scratch.path().join("slow-rpc.log");
    let mut child = spawn_logged(
        &mut rel.command(&["rpc", "Process.sleep(3000); :slept"]),
        &log,
    );
    let start = Instant::now();
    let mut seen = Vec::new();
    while seen.is_empty() && start.elapsed() < Duration::from_secs(3) {
        seen = beam_cmdlines("rpc-")
            .into_iter()
            .filter(|(_, line)| line.contains(&rel.node))
            .collect();
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "{}", read_log(&log));
    assert_eq!(read_log(&log).trim(), ":slept");
    assert!(!seen.is_empty(), "no rpc node seen for {}", rel.node);
    for (_, line) in seen {
        assert!(
            !line.contains(&rel.cookie()),
            "the cookie is on the rpc node's command line: {line}"
        );
    }
}

/// A launcher command run in a terminal (`script`), as IEx and to_erl
/// need one.
fn open_terminal(rel: &Release, command: &str) -> Terminal {
    require("script", "apt-get install bsdutils");
    let inner = format!("'{}' {command}", rel.launcher_str());
    Terminal::spawn(&mut rel.hidden(Path::new("script"), &["-qec", &inner, "/dev/null"]))
}

/// Types `expr` into an IEx shell on `rel`'s node (in `terminal`) and
/// waits for `expect`; false if it never shows.
fn iex_prints(rel: &Release, terminal: &mut Terminal, expr: &str, expect: &str) -> bool {
    // Typed before the shell is up, input is lost when IEx sets up the tty.
    terminal.wait_for(&format!("iex({}@", rel.node)) && {
        terminal.send(format!("{expr}\n").as_bytes());
        terminal.wait_for(expect)
    }
}

/// Drives `remote_console`: feeds `expr`, waits for `expect`, checks the
/// hidden `rem-*` node's command line for the cookie, then leaves with
/// Ctrl-G q.
fn remote_console_prints(rel: &Release, expr: &str, expect: &str) -> String {
    let mut terminal = open_terminal(rel, "remote_console");
    let printed = iex_prints(rel, &mut terminal, expr, expect);
    let remote_nodes: Vec<_> = beam_cmdlines("rem-")
        .into_iter()
        .filter(|(_, line)| line.contains(&rel.node))
        .collect();
    // Ctrl-G opens the job menu of the local (hidden) node; q quits it.
    terminal.send(b"\x07");
    std::thread::sleep(Duration::from_secs(1));
    terminal.send(b"q\r");
    let text = terminal.close();
    assert!(printed, "remote console output:\n{text}");
    assert!(
        !remote_nodes.is_empty(),
        "no remote shell node seen:\n{text}"
    );
    for (_, line) in remote_nodes {
        assert!(
            !line.contains(&rel.cookie()),
            "the cookie is on the remote node's command line: {line}"
        );
    }
    text
}

/// Writes `text` to `path` (creating parent directories).
fn write_file(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A custom command and the four hook directories, each hook appending a
/// line to $HOOK_LOG; pre_start also exports a variable for the VM.
fn launcher_extras(dir: &Path) -> Vec<String> {
    write_file(
        &dir.join("greet.sh"),
        "#!/bin/sh\necho \"hello $* from $RELEASE_NAME $RELEASE_VSN on $RELEASE_NODE\"\n",
    );
    write_file(
        &dir.join("pre_start/10-env.sh"),
        "HOOKED=\"set by pre_start for $RELEASE_NAME\"\nexport HOOKED\n",
    );
    for hook in ["pre_start", "post_start", "pre_stop", "post_stop"] {
        write_file(
            &dir.join(hook).join("20-log.sh"),
            &format!("echo \"{hook} $RELEASE_NAME $RELEASE_VSN $RELEASE_NODE\" >>\"$HOOK_LOG\"\n"),
        );
    }
    let mut args = vec![format!(
        "--command=greet={}",
        dir.join("greet.sh").display()
    )];
    for hook in ["pre_start", "post_start", "pre_stop", "post_stop"] {
        args.push(format!("--hook={hook}={}", dir.join(hook).display()));
    }
    args
}

/// The hello release built with [`launcher_extras`]; its hooks log to the
/// returned file.
fn hello_with_extras() -> (Release, PathBuf) {
    let extras = Scratch::new("launcher-extras");
    let args = launcher_extras(extras.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut rel = Release::new("hello", &args);
    let hook_log = rel.scratch.path().join("hooks.log");
    rel.env
        .push(("HOOK_LOG".into(), hook_log.to_str().unwrap().into()));
    (rel, hook_log)
}

/// The hook lines logged for `hooks` of the release's node.
fn hook_lines(rel: &Release, hooks: &[&str]) -> Vec<String> {
    hooks
        .iter()
        .map(|h| format!("{h} hello 0.1.0 {}", rel.node))
        .collect()
}

/// The whole life of a daemon, with the system Erlang hidden: start, ping,
/// pid, rpc, remote_console, restart, hooks, a custom command, describe,
/// stop.
#[test]
fn daemon_lifecycle_with_hooks_and_a_custom_command() {
    let (rel, hook_log) = hello_with_extras();
    let (_guard, _) = rel.daemon();
    assert_eq!(
        read_log(&hook_log).lines().collect::<Vec<_>>(),
        hook_lines(&rel, &["pre_start", "post_start"])
    );

    assert_eq!(rel.ok(&["ping"]).trim(), "pong");
    let pid: u32 = rel.ok(&["pid"]).trim().parse().expect("a pid");
    assert_is_release_vm(&rel, pid);
    let pid_file = std::fs::read_to_string(rel.pid_file()).unwrap();
    assert_eq!(pid_file.trim(), pid.to_string(), "start's pid is the VM's");

    // Computed on the node: its name, its OS pid, a call into the app, and
    // the variable the pre_start hook exported.
    let answer = rel.ok(&[
        "rpc",
        "{node(), System.pid(), Hello.Worker.ping(), System.get_env(\"HOOKED\")}",
    ]);
    assert!(
        answer.trim().starts_with(&format!("{{:{}@", rel.node)),
        "{answer}"
    );
    assert!(
        answer.trim().ends_with(&format!(
            ", \"{pid}\", :pong, \"set by pre_start for hello\"}}"
        )),
        "{answer}"
    );
    assert_eq!(rel.ok(&["rpc", "IO.puts(:printed)"]).trim(), "printed");
    assert_eq!(
        rel.ok(&["rpc", "String.upcase(\"héllo ✓\")"]).trim(),
        "\"HÉLLO ✓\""
    );
    let raised = rel.run(&["rpc", "raise ArgumentError, \"bad thing\""]);
    assert!(!raised.status.success());
    assert!(
        stderr(&raised).contains("(ArgumentError) bad thing"),
        "{}",
        stderr(&raised)
    );
    rpc_node_hides_the_cookie(&rel);

    let remote = remote_console_prints(
        &rel,
        "IO.puts(\"sum=#{Enum.sum(1..10)} on #{node()}\")",
        &format!("sum=55 on {}@", rel.node),
    );
    assert!(remote.contains(&format!("iex({}@", rel.node)), "{remote}");

    // attach: the daemon's own IEx shell through to_erl; Ctrl-D detaches
    // and leaves the node running.
    let mut attached = open_terminal(&rel, "attach");
    let printed = iex_prints(
        &rel,
        &mut attached,
        "IO.puts(\"attached=#{System.pid()}\")",
        &format!("attached={pid}"),
    );
    attached.send(b"\x04");
    let text = attached.close();
    assert!(printed, "attach output:\n{text}");
    assert_eq!(rel.ok(&["ping"]).trim(), "pong");

    rel.ok(&["restart"]);
    let after_restart: u32 = rel.ok(&["pid"]).trim().parse().unwrap();
    assert_eq!(after_restart, pid, "restart keeps the VM");
    assert_eq!(rel.ok(&["rpc", "Hello.Worker.ping()"]).trim(), ":pong");

    assert_eq!(
        rel.ok(&["greet", "big", "world"]).trim(),
        format!("hello big world from hello 0.1.0 on {}", rel.node)
    );
    assert!(rel.ok(&["help"]).contains("  greet"));
    let describe = rel.ok(&["describe"]);
    for fragment in [
        "hello 0.1.0".to_string(),
        installed().erts.clone(),
        format!("{} (sname)", rel.node),
        "hello-0.1.0".into(),
        "kernel-".into(),
        rel.root.to_str().unwrap().into(),
    ] {
        assert!(describe.contains(&fragment), "{fragment} in\n{describe}");
    }
    assert_eq!(rel.ok(&["version"]).trim(), "hello 0.1.0");

    let stopped = rel.ok(&["stop"]);
    assert!(stopped.trim().is_empty(), "{stopped}");
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "stop returned before the VM exited"
    );
    let ping = rel.run(&["ping"]);
    assert!(!ping.status.success());
    assert_eq!(stdout(&ping).trim(), "pang");
    assert_eq!(
        read_log(&hook_log).lines().collect::<Vec<_>>(),
        hook_lines(&rel, &["pre_start", "post_start", "pre_stop", "post_stop"])
    );
    let pid_down = rel.run(&["pid"]);
    assert!(!pid_down.status.success());
    assert!(stderr(&pid_down).contains("is not running"));
}

/// `foreground` execs the VM (same pid, so signals reach it), runs the
/// post_start hook once the node answers, keeps the cookie off the
/// command line and exits 0 on SIGTERM.
#[test]
fn foreground_execs_the_vm_and_stops_cleanly_on_sigterm() {
    let (rel, hook_log) = hello_with_extras();
    let log = rel.scratch.path().join("foreground.log");
    let mut child = spawn_logged(&mut rel.command(&["foreground"]), &log);
    let cookie = rel.cookie();
    let answer = wait_for_rpc(
        &rel.node,
        &cookie,
        "list_to_integer(os:getpid())",
        Duration::from_secs(30),
    );
    let start = Instant::now();
    while read_log(&hook_log).lines().count() < 2 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let vm_pid: Option<u32> = answer.and_then(|a| a.trim().parse().ok());
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap_or_default();
    let status = terminate(&mut child);
    let vm_pid = vm_pid.unwrap_or_else(|| panic!("node never answered:\n{}", read_log(&log)));
    // unshare and the mounting sh exec too: one pid from unshare to beam.
    assert_eq!(vm_pid, child.id(), "the launcher did not exec the VM");
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(cmdline.contains("beam.smp"), "{cmdline}");
    assert!(
        !cmdline.contains(&cookie),
        "the cookie is on the VM's command line"
    );
    assert!(status.success(), "exit {status}:\n{}", read_log(&log));
    assert_exits(vm_pid);
    assert_eq!(
        read_log(&hook_log).lines().collect::<Vec<_>>(),
        hook_lines(&rel, &["pre_start", "post_start"])
    );
}

/// The launcher as shipped (not the template) and the bundled `erl`
/// script pass shellcheck as POSIX sh, with no message of any severity.
#[test]
fn rendered_launcher_passes_shellcheck() {
    require("shellcheck", "apt-get install shellcheck");
    let (_scratch, root) = package_with("hello", &[]);
    let out = run(Command::new("shellcheck")
        .args(["--shell=sh", "--severity=style"])
        .arg(root.join("bin/hello"))
        .arg(root.join(installed().erts_dir()).join("bin/erl")));
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

/// daemon, ping, pid, rpc, describe, stop and ping again.
fn full_sequence(rel: &Release) {
    let (_guard, _) = rel.daemon();
    assert_eq!(rel.ok(&["ping"]).trim(), "pong");
    let pid: u32 = rel.ok(&["pid"]).trim().parse().unwrap();
    assert_is_release_vm(rel, pid);
    assert_eq!(
        rel.ok(&["rpc", "{Enum.sum(1..100), to_string(node())}"])
            .trim(),
        format!("{{5050, \"{}\"}}", rel.full_node())
    );
    assert!(rel.ok(&["describe"]).contains("hello-0.1.0"));
    rel.ok(&["reboot"]);
    assert_exits(pid);
    let pid: u32 = rel.ok(&["pid"]).trim().parse().unwrap();
    assert_is_release_vm(rel, pid);
    assert_eq!(
        std::fs::read_to_string(rel.pid_file()).unwrap().trim(),
        pid.to_string()
    );
    rel.ok(&["stop"]);
    assert_exits(pid);
    let ping = rel.run(&["ping"]);
    assert!(!ping.status.success());
    assert_eq!(stdout(&ping).trim(), "pang");
}

#[test]
fn full_sequence_under_busybox_sh() {
    require("busybox", "apt-get install busybox");
    let mut rel = Release::new("hello", &[]);
    rel.shell = vec!["busybox".into(), "sh".into()];
    full_sequence(&rel);
}

#[test]
fn full_sequence_under_dash_through_a_symlink_from_the_root_directory_with_long_names() {
    require("dash", "apt-get install dash");
    let mut rel = Release::new("hello", &[]);
    rel.shell = vec!["dash".into()];
    rel.dist = "name";
    rel.node = format!("{}@127.0.0.1", rel.node);
    let link = rel.scratch.path().join("links dir").join("my-hello");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(rel.root.join("bin/hello"), &link).unwrap();
    rel.entry = link;
    rel.cwd = PathBuf::from("/");
    full_sequence(&rel);
}

/// With REPLACE_OS_VARS=true, `${VAR}` in vm.args and sys.config are
/// replaced at start into copies under RELEASE_TMP, values with `/` and
/// `&` kept as they are, while the release itself is mounted read-only.
#[test]
fn replace_os_vars_on_a_read_only_release() {
    let rel = Release::new("hello", &[]);
    let vsn_dir = rel.root.join("releases/0.1.0");
    std::fs::write(
        vsn_dir.join("sys.config"),
        "[{hello, [{marker, <<\"${RELPACK_MARKER}\">>}]}].\n",
    )
    .unwrap();
    let mut vm_args = std::fs::read_to_string(vsn_dir.join("vm.args")).unwrap();
    vm_args.push_str("-env RELPACK_FROM_VM_ARGS ${RELPACK_VMARG}\n");
    std::fs::write(vsn_dir.join("vm.args"), &vm_args).unwrap();
    let tmp = rel.scratch.path().join("writable tmp");
    let _guard = DaemonGuard(tmp.join("daemon.pid"));
    // One private mount namespace: the release read-only, then the
    // launcher's whole sequence.
    let script = r#"set -e
mount --bind "$1" "$1"
mount -o remount,bind,ro "$1"
if touch "$1/probe" 2>/dev/null; then echo "the release is writable" >&2; exit 1; fi
L=$1/bin/hello
"$L" daemon
"$L" rpc 'Application.get_env(:hello, :marker)'
"$L" rpc 'System.get_env("RELPACK_FROM_VM_ARGS")'
"$L" stop
"#;
    let root = rel.root.to_str().unwrap();
    let out = run_ok(
        rel.hidden(Path::new("sh"), &["-c", script, "sh", root])
            .env("RELEASE_TMP", &tmp)
            .env("REPLACE_OS_VARS", "true")
            .env("RELPACK_MARKER", "https://example.com/a?b=1&c=2")
            .env("RELPACK_VMARG", "x/y&z"),
    );
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["\"https://example.com/a?b=1&c=2\"", "\"x/y&z\""]
    );
    // The release's files still hold the placeholders; the copies do not.
    let own = std::fs::read_to_string(vsn_dir.join("sys.config")).unwrap();
    assert!(own.contains("${RELPACK_MARKER}"), "{own}");
    let copy = std::fs::read_to_string(tmp.join("sys.config")).unwrap();
    assert!(
        copy.contains("<<\"https://example.com/a?b=1&c=2\">>"),
        "{copy}"
    );
    assert_eq!(
        std::fs::read_to_string(vsn_dir.join("vm.args")).unwrap(),
        vm_args
    );
}

/// A node that cannot boot makes `start` fail early with the tail of its
/// log.
#[test]
fn start_fails_with_the_log_tail_when_the_node_does_not_come_up() {
    let rel = Release::new("hello", &[]);
    std::fs::write(
        rel.root.join("releases/0.1.0/sys.config"),
        "[{hello, [{unfinished\n",
    )
    .unwrap();
    let _guard = DaemonGuard(rel.pid_file());
    let start = Instant::now();
    let out = rel.run(&["start"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("exited while starting"), "{err}");
    assert!(err.contains("erlang.log.1"), "{err}");
    assert!(err.contains("sys.config"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(50),
        "start waited for its timeout instead of noticing the exit"
    );
}

/// The stand-in for a `FROM debian:bookworm-slim` final stage: the release
/// in a minimal Debian rootfs without Erlang, run as a daemon there (with
/// /dev and /proc mounted, as a container has them).
#[test]
fn daemon_in_a_minimal_debian_rootfs() {
    require("chroot", "apt-get install coreutils");
    let rel = Release::new("hello", &[]);
    let rootfs = rootfs();
    assert!(
        !rootfs.join("usr/lib/erlang").exists(),
        "the rootfs must have no Erlang"
    );
    let opt = format!("opt/relpack launcher-{}", std::process::id());
    let dest = rootfs.join(&opt);
    let _cleanup = Scratch(dest.clone());
    copy_dir(&rel.root, &dest);
    let _guard = DaemonGuard(dest.join("tmp/daemon.pid"));
    let launcher = format!("/{opt}/bin/hello");
    let in_rootfs = |args: &[&str]| {
        run(rootfs_command(&rootfs, &launcher, args).env("RELEASE_NODE", &rel.node))
    };
    let started = in_rootfs(&["daemon"]);
    assert!(
        started.status.success(),
        "{}{}",
        stdout(&started),
        stderr(&started)
    );
    assert_eq!(stdout(&in_rootfs(&["ping"])).trim(), "pong");
    let pid: u32 = stdout(&in_rootfs(&["pid"])).trim().parse().unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(
        cmdline.contains(&format!("/{opt}/{}/bin/beam.smp", installed().erts_dir())),
        "{cmdline}"
    );
    assert!(!cmdline.contains(&rel.cookie()), "{cmdline}");
    assert_eq!(
        stdout(&in_rootfs(&[
            "rpc",
            "{Hello.Worker.ping(), List.to_string(:erlang.system_info(:otp_release))}"
        ]))
        .trim(),
        format!("{{:pong, \"{}\"}}", installed().otp_release)
    );
    let stopped = in_rootfs(&["stop"]);
    assert!(stopped.status.success(), "{}", stderr(&stopped));
    assert_exits(pid);
    assert_eq!(stdout(&in_rootfs(&["ping"])).trim(), "pang");
}

/// Custom commands and hooks that cannot work stop the build with one
/// line naming the file, and nothing is written.
#[test]
fn a_bad_command_or_hook_is_a_clear_build_error() {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    let mix_exs = root.join("mix.exs");
    let mix_exs = mix_exs.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--command", "seed=/no/such/seed.sh"],
            "/no/such/seed.sh: the script of command `seed` does not exist",
        ),
        (
            &["--hook", "pre_start=/no/such/dir"],
            "/no/such/dir: the `pre_start` hook (a directory of scripts, or one script) does not exist",
        ),
        (&["--hook", "on_boot=/tmp"], "unknown hook `on_boot`"),
        (
            &["--command", &format!("stop={mix_exs}")],
            "would hide the launcher's own `stop`",
        ),
        (
            &["--command", &format!("Seed={mix_exs}")],
            "invalid command name `Seed`",
        ),
        (
            &["--command", "seed"],
            "--command seed: expected NAME=SCRIPT",
        ),
    ];
    for (args, fragment) in cases {
        let mut all = vec!["build"];
        all.extend(*args);
        let out = relpack(&root, &all);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(fragment), "{args:?}: {err}");
        assert!(
            !root.join("_build/prod/rel").exists(),
            "{args:?} wrote a release"
        );
    }
}

/// `console` is the release's node with an IEx shell in the terminal.
#[test]
fn console_gives_an_iex_shell_on_the_release_node() {
    let rel = Release::new("hello", &[]);
    let mut console = open_terminal(&rel, "console");
    let printed = iex_prints(
        &rel,
        &mut console,
        "IO.puts(\"console=#{Hello.Worker.ping()} #{System.pid()}\")",
        "console=pong ",
    );
    let vms = beam_cmdlines(&format!("-sname {} ", rel.node));
    console.send(b"System.stop()\n");
    let text = console.close();
    for (pid, _) in beam_cmdlines(&format!("-sname {} ", rel.node)) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .output();
    }
    assert!(printed, "console output:\n{text}");
    assert_eq!(vms.len(), 1, "{vms:?}");
    let (vm_pid, cmdline) = &vms[0];
    assert!(text.contains(&format!("console=pong {vm_pid}")), "{text}");
    let user = format!("-user {} ", installed().iex_user());
    assert!(cmdline.contains(&user), "{user} not in {cmdline}");
    assert!(!cmdline.contains(&rel.cookie()), "{cmdline}");
    assert_exits(*vm_pid);
}

/// The custom command and pre_start hook of a Distillery `rel/config.exs`
/// (placed by the configuration stage) run from the launcher.
#[test]
fn distillery_config_commands_and_hooks_run() {
    ensure_epmd();
    let project = compiled_fixture("distillery");
    let root = project.path().join("distillery");
    relpack_ok(&root, &["build"]);
    let release = root.join("rel/out/shop");
    let rel = Release {
        entry: release.join("bin/shop"),
        cwd: project.path().to_owned(),
        root: release,
        node: node_name("shop"),
        dist: "sname",
        env: Vec::new(),
        shell: Vec::new(),
        scratch: project,
    };
    assert_eq!(rel.ok(&["restock"]).trim(), "restocking");
    assert!(rel.ok(&["help"]).contains("  restock"));
    let (_guard, printed) = rel.daemon();
    assert_eq!(printed.trim(), "pre-start check");
    assert_eq!(
        rel.ok(&["rpc", "System.get_env(\"STORE_FROM_VM_ARGS\")"])
            .trim(),
        "\"yes\""
    );
    rel.ok(&["stop"]);
}

/// A rebar3 release has no Elixir: its launcher (shellcheck-clean) runs
/// Erlang expressions for `rpc` and `eval` and an Erlang remote shell.
#[test]
fn erlang_launcher_of_a_rebar3_release() {
    require("shellcheck", "apt-get install shellcheck");
    let rel = Release::new("rebar_hello", &[]);
    let out = run(Command::new("shellcheck")
        .args(["--shell=sh", "--severity=style"])
        .arg(rel.launcher()));
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    let (_guard, _) = rel.daemon();
    assert_eq!(rel.ok(&["ping"]).trim(), "pong");
    let pid: u32 = rel.ok(&["pid"]).trim().parse().unwrap();
    assert_is_release_vm(&rel, pid);
    assert_eq!(
        rel.ok(&["rpc", "lists:sum(lists:seq(1, 100))"]).trim(),
        "5050"
    );
    assert_eq!(
        rel.ok(&["rpc", "rebar_hello_worker:ping()."]).trim(),
        "pong"
    );
    let failing = rel.run(&["rpc", "erlang:error(boom)"]);
    assert!(!failing.status.success());
    assert!(stderr(&failing).contains("boom"), "{}", stderr(&failing));
    let bad = rel.run(&["rpc", "1 +"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("syntax error"), "{}", stderr(&bad));

    let mut terminal = open_terminal(&rel, "remote_console");
    let prompt = terminal.wait_for(&format!("({}@", rel.node));
    terminal.send(b"rebar_hello_worker:ping().\n");
    let answered = prompt && terminal.wait_for("pong");
    terminal.send(b"\x07");
    std::thread::sleep(Duration::from_secs(1));
    terminal.send(b"q\r");
    let text = terminal.close();
    assert!(answered, "remote shell output:\n{text}");

    rel.ok(&["stop"]);
    assert_exits(pid);
    assert_eq!(stdout(&rel.run(&["ping"])).trim(), "pang");
}

/// `releases/<vsn>/env.sh` (from `rel/env.sh.eex`) is sourced, with
/// RELEASE_COMMAND set, before the VM starts, as in `mix release`.
#[test]
fn env_sh_is_sourced_with_the_release_command() {
    let rel = Release::new("configured", &[]);
    assert!(rel.root.join("releases/0.2.0/env.sh").is_file());
    let out = rel.ok(&[
        "eval",
        "IO.puts(System.get_env(\"CONFIGURED_FROM_ENV_SH\") <> \" \" <> System.get_env(\"RELEASE_COMMAND\"))",
    ]);
    assert_eq!(out.trim(), "yes eval");
}

/// mix's `include_executables_for`: `[]` writes no `bin/` (something else
/// starts the release, as Burrito does); `:windows` is a warning naming
/// the line (relpack writes no `.bat` launchers), an error with
/// `--strict`; no launcher with a one-file executable is an error.
#[test]
fn include_executables_for_as_mix_reads_it() {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    let mix_exs = root.join("mix.exs");
    let text = std::fs::read_to_string(&mix_exs).unwrap();
    assert!(text.contains("releases: [hello: []]"), "{text}");
    let with = |value: &str| {
        let edited = text.replace(
            "releases: [hello: []]",
            &format!("releases: [hello: [include_executables_for: {value}]]"),
        );
        std::fs::write(&mix_exs, edited).unwrap();
    };
    let release = root.join("_build/prod/rel/hello");

    with("[]");
    relpack_ok(&root, &["build"]);
    assert!(!release.join("bin").exists(), "a launcher was written");
    relpack_ok(&root, &["check", release.to_str().unwrap()]);
    let out = relpack(&root, &["build", "--executable"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("`include_executables_for` writes no bin/hello"),
        "{err}"
    );

    with("[:unix, :windows]");
    let out = relpack(&root, &["build"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("mix.exs:11: `include_executables_for` names :windows, and relpack writes no .bat launchers"),
        "{err}"
    );
    assert!(release.join("bin/hello").is_file());
    let out = relpack(&root, &["build", "--strict"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

/// A release without `releases/COOKIE` (as in an image): the first
/// command makes a cookie in RELEASE_TMP (mode 600) and every later one
/// uses it, so `daemon` and `rpc` agree; RELEASE_COOKIE_FILE (a mounted
/// secret) gives one; a file it names that cannot be read is one line.
#[test]
fn without_a_cookie_file_the_first_start_makes_one_in_release_tmp() {
    use std::os::unix::fs::PermissionsExt;
    let mut rel = Release::new("hello", &[]);
    std::fs::remove_file(rel.root.join("releases/COOKIE")).unwrap();
    let tmp = rel.scratch.path().join("release-tmp");
    rel.env
        .push(("RELEASE_TMP".into(), tmp.to_str().unwrap().into()));
    let _guard = DaemonGuard(tmp.join("daemon.pid"));
    let with_cookie = |rel: &Release, cookie: &str| {
        let started = rel.run(&["daemon"]);
        assert!(started.status.success(), "{}", stderr(&started));
        let answer = wait_for_rpc(
            &rel.node,
            cookie,
            "atom_to_list(erlang:get_cookie())",
            Duration::from_secs(30),
        );
        assert_eq!(answer, Some(format!("{cookie:?}")));
        assert_printed(&rel.run(&["rpc", "IO.puts(Hello.hello())"]), "world");
        assert_printed(&rel.run(&["stop"]), "");
    };
    let made = || std::fs::read_to_string(tmp.join("COOKIE")).unwrap();
    // `pid` finds no node, and has made the cookie that `daemon` uses.
    assert!(!rel.run(&["pid"]).status.success());
    let cookie = made();
    assert_eq!(cookie.len(), 64, "{cookie}");
    let mode = std::fs::metadata(tmp.join("COOKIE")).unwrap().permissions();
    assert_eq!(mode.mode() & 0o777, 0o600);
    with_cookie(&rel, &cookie);
    assert_eq!(made(), cookie);

    let secret = rel.scratch.path().join("cookie-secret");
    std::fs::write(&secret, "mounted_secret_cookie").unwrap();
    rel.env.push((
        "RELEASE_COOKIE_FILE".into(),
        secret.to_str().unwrap().into(),
    ));
    with_cookie(&rel, "mounted_secret_cookie");

    rel.env.pop();
    rel.env
        .push(("RELEASE_COOKIE_FILE".into(), "/nonexistent/cookie".into()));
    let out = rel.run(&["pid"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out).trim(),
        "hello: RELEASE_COOKIE_FILE=/nonexistent/cookie: cannot read a cookie there"
    );
}
