//! The `bin/<name>` launcher against real running nodes: compile a fixture
//! with `mix`, package it with relpack, unpack it into a path with a space
//! and drive every command with the system Erlang hidden (and in a minimal
//! Debian rootfs): daemon, ping, pid, rpc, remote_console, stop, restart,
//! hooks, custom commands, the cookie kept off command lines,
//! REPLACE_OS_VARS on a read-only release, dash and busybox sh.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

/// One unpacked release and how its launcher is called: system Erlang
/// hidden, a node name of its own, extra environment, and optionally an
/// explicit shell (instead of the launcher's `#!/bin/sh`).
struct Release {
    scratch: Scratch,
    root: PathBuf,
    name: &'static str,
    node: String,
    env: Vec<(String, String)>,
    shell: Vec<String>,
}

impl Release {
    fn new(dir: &str, build_args: &[&str]) -> Release {
        ensure_epmd();
        let f = fixture(dir);
        let (scratch, root) = package_with(dir, build_args);
        Release {
            scratch,
            root,
            name: f.release,
            node: node_name(f.release),
            env: Vec::new(),
            shell: Vec::new(),
        }
    }

    fn launcher(&self) -> PathBuf {
        self.root.join("bin").join(self.name)
    }

    fn launcher_str(&self) -> String {
        self.launcher().to_str().unwrap().to_owned()
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
        cmd.env("RELEASE_NODE", &self.node);
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
        rel.root.join("erts-13.1.5/bin/beam.smp"),
        "pid {pid} is not the release's VM"
    );
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(
        cmdline.contains(&format!("-sname {} ", rel.node)),
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

/// Drives `remote_console` through a terminal (`script`): feeds `expr`,
/// waits for `expect` in the output, checks the hidden `rem-*` node's
/// command line for the cookie, then leaves with Ctrl-G q.
fn remote_console_prints(rel: &Release, expr: &str, expect: &str) -> String {
    require("script", "apt-get install bsdutils");
    let inner = format!("'{}' remote_console", rel.launcher_str());
    let mut child = rel
        .hidden(Path::new("script"), &["-qec", &inner, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script runs");
    let output = Arc::new(Mutex::new(String::new()));
    let mut pipe = child.stdout.take().unwrap();
    let reader = {
        let output = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                output
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    let wait_for = |text: &str| {
        let start = Instant::now();
        while !output.lock().unwrap().contains(text) && start.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // Typed before the shell is up, input is lost when IEx sets up the tty.
    wait_for(&format!("iex({}@", rel.node));
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{expr}").unwrap();
    wait_for(expect);
    let remote_nodes: Vec<_> = beam_cmdlines("rem-")
        .into_iter()
        .filter(|(_, line)| line.contains(&rel.node))
        .collect();
    // Ctrl-G opens the job menu of the local (hidden) node; q quits it.
    stdin.write_all(b"\x07").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    stdin.write_all(b"q\r").unwrap();
    drop(stdin);
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.wait();
    reader.join().unwrap();
    let text = output.lock().unwrap().clone();
    assert!(text.contains(expect), "remote console output:\n{text}");
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

/// The whole life of a daemon, with the system Erlang hidden: start, ping,
/// pid, rpc, remote_console, restart, hooks, a custom command, describe,
/// stop.
#[test]
fn daemon_lifecycle_with_hooks_and_a_custom_command() {
    let extras = Scratch::new("launcher-extras");
    let args = launcher_extras(extras.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut rel = Release::new("hello", &args);
    let hook_log = rel.scratch.path().join("hooks.log");
    rel.env
        .push(("HOOK_LOG".into(), hook_log.to_str().unwrap().into()));
    let _guard = DaemonGuard(rel.pid_file());

    let started = rel.run(&["daemon"]);
    assert!(
        started.status.success(),
        "daemon failed:\n{}{}",
        stdout(&started),
        stderr(&started)
    );
    let hooks = read_log(&hook_log);
    let vsn_node = format!("hello 0.1.0 {}", rel.node);
    assert_eq!(
        hooks.lines().collect::<Vec<_>>(),
        [
            format!("pre_start {vsn_node}"),
            format!("post_start {vsn_node}")
        ]
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
        "13.1.5".into(),
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
    let hooks = read_log(&hook_log);
    assert_eq!(
        hooks.lines().skip(2).collect::<Vec<_>>(),
        [
            format!("pre_stop {vsn_node}"),
            format!("post_stop {vsn_node}")
        ]
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
    let extras = Scratch::new("launcher-extras");
    let args = launcher_extras(extras.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut rel = Release::new("hello", &args);
    let hook_log = rel.scratch.path().join("hooks.log");
    rel.env
        .push(("HOOK_LOG".into(), hook_log.to_str().unwrap().into()));
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
    let status = terminate(&mut child);
    let vm_pid = vm_pid.unwrap_or_else(|| panic!("node never answered:\n{}", read_log(&log)));
    // unshare and the mounting sh exec too: one pid from unshare to beam.
    assert_eq!(vm_pid, child.id(), "the launcher did not exec the VM");
    assert!(status.success(), "exit {status}:\n{}", read_log(&log));
    assert_exits(vm_pid);
    let vsn_node = format!("hello 0.1.0 {}", rel.node);
    assert_eq!(
        read_log(&hook_log).lines().collect::<Vec<_>>(),
        [
            format!("pre_start {vsn_node}"),
            format!("post_start {vsn_node}")
        ]
    );
}
