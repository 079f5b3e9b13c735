//! Helpers for the integration and end-to-end tests: compiling fixtures
//! with the real `mix`, running relpack, unpacking, and running commands
//! with the system Erlang hidden or inside a minimal Debian rootfs.
//!
//! Nothing here skips: a missing `erl`, `mix` or `unshare` fails the test
//! with a message saying what to install.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Fails the test unless `program` is on PATH.
pub fn require(program: &str, install: &str) {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join(program).is_file());
    assert!(found, "`{program}` is not on PATH: {install}");
}

/// The Python with CycloneDX's library and lib4sbom that
/// `scripts/setup.sh` installs.
pub const SBOM_PYTHON: &str = "/opt/relpack-py/bin/python";

/// `tests/support/sbom_check.py` on the SBOM at `path`: the schema
/// validation's errors (`null` when it is valid) and the packages
/// lib4sbom reads, as `[name, version, purl]`.
pub fn sbom_check(path: &Path) -> serde_json::Value {
    assert!(
        Path::new(SBOM_PYTHON).is_file(),
        "{SBOM_PYTHON} is missing: run scripts/setup.sh"
    );
    let out = run_ok(
        Command::new(SBOM_PYTHON)
            .arg(Path::new(REPO).join("tests/support/sbom_check.py"))
            .arg(path),
    );
    serde_json::from_str(&out).unwrap()
}

/// Runs a command, failing the test if it cannot start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Requires that a finished command succeeded and printed exactly
/// `expected` (surrounding white space aside).
pub fn assert_printed(out: &Output, expected: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), expected);
}

/// Runs a command that must succeed; returns its stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A directory under `target/` removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(label: &str) -> Scratch {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = Path::new(REPO)
            .join("target")
            .join("test-scratch")
            .join(format!("{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies a tree with `cp -a` (keeps symlinks, as a checkout has them).
pub fn copy_dir(src: &Path, dest: &Path) {
    run_ok(Command::new("cp").arg("-a").arg(src).arg(dest));
}

/// A fresh copy of `fixtures/<name>`, compiled with `MIX_ENV=prod mix
/// compile`. The fixture is compiled once per test binary and copied for
/// each caller, so tests never share output paths.
pub fn compiled_fixture(name: &str) -> Scratch {
    require("mix", "apt-get install elixir");
    static COMPILED: OnceLock<Mutex<HashMap<String, &'static Scratch>>> = OnceLock::new();
    let template: &'static Scratch = {
        let mut map = COMPILED.get_or_init(Default::default).lock().unwrap();
        if let Some(s) = map.get(name) {
            s
        } else {
            let s: &'static Scratch =
                Box::leak(Box::new(Scratch::new(&format!("compiled-{name}"))));
            let project = s.path().join(name);
            copy_dir(&Path::new(REPO).join("fixtures").join(name), &project);
            let _ = std::fs::remove_dir_all(project.join("_build"));
            let compile = if project.join("rebar.config").is_file() {
                require("rebar3", "apt-get install rebar3");
                Command::new("rebar3")
                    .arg("compile")
                    .current_dir(&project)
                    .output()
            } else {
                Command::new("mix")
                    .arg("compile")
                    .current_dir(&project)
                    .env("MIX_ENV", "prod")
                    .output()
            };
            let out = compile.expect("the fixture's build tool runs");
            assert!(
                out.status.success(),
                "compiling fixture {name} failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            map.insert(name.to_owned(), s);
            s
        }
    };
    let copy = Scratch::new(name);
    copy_dir(&template.path().join(name), &copy.path().join(name));
    copy
}

/// Runs the relpack binary in `dir`.
pub fn relpack(dir: &Path, args: &[&str]) -> Output {
    run(Command::new(env!("CARGO_BIN_EXE_relpack"))
        .args(args)
        .current_dir(dir)
        .env_remove("MIX_ENV"))
}

/// Runs relpack and requires success.
pub fn relpack_ok(dir: &Path, args: &[&str]) -> String {
    let out = relpack(dir, args);
    assert!(
        out.status.success(),
        "relpack {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Unpacks a tarball with the system `tar` into `dest` (created).
pub fn unpack(tarball: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    run_ok(
        Command::new("tar")
            .arg("xzf")
            .arg(tarball)
            .arg("-C")
            .arg(dest),
    );
}

/// A command that runs `program args` in a private mount namespace where
/// the system's Erlang and Elixir are hidden under empty tmpfs mounts, so
/// only what the release bundles can be used.
pub fn without_system_erlang(program: &Path, args: &[&str]) -> Command {
    require("unshare", "apt-get install util-linux");
    let mut cmd = Command::new("unshare");
    cmd.arg("-m")
        .arg("sh")
        .arg("-c")
        .arg("mount -t tmpfs tmpfs \"$1\" && mount -t tmpfs tmpfs \"$2\" && shift 2 && exec \"$@\"")
        .arg("sh")
        .arg(&installed().otp_root)
        .arg(installed().elixir_root())
        .arg(program)
        .args(args);
    cmd
}

/// The cached minimal Debian rootfs (`scripts/rootfs.sh` builds it once)
/// with libsctp1, which ERTS opens at run time and `relpack inspect
/// --packages` reports for every release (newer OTPs warn at each node's
/// start without it); `tests/docker.rs` boots with exactly the report.
pub fn rootfs() -> PathBuf {
    rootfs_with(&[SCTP_PACKAGE.to_owned()])
}

/// The Debian package of the library ERTS opens with `dlopen`.
pub const SCTP_PACKAGE: &str = "libsctp1";

/// A cached minimal Debian rootfs with `packages` installed as well.
pub fn rootfs_with(packages: &[String]) -> PathBuf {
    let out = run_ok(
        Command::new(Path::new(REPO).join("scripts").join("rootfs.sh"))
            .env("RELPACK_ROOTFS_INCLUDE", packages.join(",")),
    );
    PathBuf::from(out.trim())
}

/// The Debian packages of the arm64 root the cross-building tests take
/// their target's OTP from and boot in.
pub const ARM64_ROOT_PACKAGES: &str = "erlang-base,erlang-crypto,erlang-xmerl,libsctp1";

/// A cached arm64 Debian root of this machine's suite, with its OTP
/// (`scripts/rootfs.sh`, under QEMU registered by `scripts/qemu.sh`).
pub fn arm64_root() -> PathBuf {
    run_ok(&mut Command::new(
        Path::new(REPO).join("scripts").join("qemu.sh"),
    ));
    let out = run_ok(
        Command::new(Path::new(REPO).join("scripts").join("rootfs.sh"))
            .env("RELPACK_ROOTFS_ARCH", "arm64")
            .env("RELPACK_ROOTFS_INCLUDE", ARM64_ROOT_PACKAGES),
    );
    PathBuf::from(out.trim())
}

/// The ELF machine (`e_machine`: 62 x86-64, 183 AArch64) of the file.
pub fn elf_machine(path: &Path) -> u16 {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.starts_with(b"\x7fELF"), "{}: not ELF", path.display());
    u16::from_le_bytes([bytes[18], bytes[19]])
}

/// `program args` inside `rootfs` as a container runs it: in a private
/// mount namespace with /dev and /proc mounted, a clean environment.
pub fn rootfs_command(rootfs: &Path, program: &str, args: &[&str]) -> Command {
    rootfs_command_with(rootfs, None, None, program, args)
}

/// [`rootfs_command`], with the root's directory `hide` (its own Erlang,
/// say) under an empty tmpfs, and this machine's directory `mnt` mounted
/// at the root's `/mnt`: nothing is written into the cached root.
pub fn rootfs_command_with(
    rootfs: &Path,
    hide: Option<&str>,
    mnt: Option<&Path>,
    program: &str,
    args: &[&str],
) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "sh", "-c"])
        .arg(concat!(
            r#"mount --rbind /dev "$0/dev" && mount -t proc proc "$0/proc" && "#,
            r#"{ [ -z "$1" ] || mount -t tmpfs tmpfs "$0$1"; } && "#,
            r#"{ [ -z "$2" ] || mount --bind "$2" "$0/mnt"; } && "#,
            r#"shift 2 && exec chroot "$0" "$@""#
        ))
        .arg(rootfs)
        .arg(hide.unwrap_or(""))
        .arg(mnt.unwrap_or(Path::new("")))
        .arg(program)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", "/root");
    cmd
}

/// Runs `program args` inside `rootfs` with a clean environment.
pub fn chroot(rootfs: &Path, program: &str, args: &[&str]) -> Output {
    require("chroot", "apt-get install coreutils");
    run(Command::new("chroot")
        .arg(rootfs)
        .arg(program)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", "/root")
        .env("LANG", "C.UTF-8"))
}

/// The release's cookie.
pub fn cookie(release: &Path) -> String {
    std::fs::read_to_string(release.join("releases").join("COOKIE")).unwrap()
}

/// Evaluates an Erlang expression on `node@host` from a hidden probe node
/// of the host's Erlang; returns what `io:format("~p")` prints of it, or
/// `None` if the node does not answer. The expression travels as parsed
/// terms evaluated by the node's own `erl_eval`, not as a fun, so it works
/// when the release's beams are stripped (a fun needs the same module MD5
/// on both nodes).
pub fn rpc(node: &str, cookie: &str, expr: &str) -> Option<String> {
    let code = format!(
        "[Expr] = init:get_plain_arguments(), \
         N = list_to_atom(\"{node}@\" ++ net_adm:localhost()), \
         case net_adm:ping(N) of \
           pong -> {{ok, Tokens, _}} = erl_scan:string(Expr ++ \".\"), \
                   {{ok, Exprs}} = erl_parse:parse_exprs(Tokens), \
                   R = case rpc:call(N, erl_eval, exprs, [Exprs, []]) of {{value, V, _}} -> V; Other -> Other end, \
                   io:format(\"~p\", [R]), halt(0); \
           pang -> halt(3) end."
    );
    let out = run(Command::new("erl")
        .args(["-noshell", "-hidden", "-sname"])
        .arg(format!("probe{}_{}", std::process::id(), unique()))
        .args(["-setcookie", cookie, "-eval", &code, "-extra", expr]));
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn unique() -> u64 {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
}

/// A node name unique to this test process.
pub fn node_name(label: &str) -> String {
    format!("{label}_{}_{}", std::process::id(), unique())
}

/// Polls `rpc` until it answers or `timeout` passes.
pub fn wait_for_rpc(node: &str, cookie: &str, expr: &str, timeout: Duration) -> Option<String> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(v) = rpc(node, cookie, expr) {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    None
}

/// Spawns a command with its output in files (read with [`read_log`]).
pub fn spawn_logged(cmd: &mut Command, log: &Path) -> std::process::Child {
    let f = std::fs::File::create(log).unwrap();
    cmd.stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {cmd:?}: {e}"))
}

pub fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

/// Sends SIGTERM to `child` and waits (up to 30 s) for it to exit. A node
/// drops a SIGTERM that comes before its kernel application has started
/// (erts hands signals to `erl_signal_server`, which kernel starts after
/// its supervisor, distribution included, so a node may already listen):
/// the signal is sent again every 5 s. (Until `child` is waited for, its
/// pid stays its own, so a resend cannot reach another process.)
pub fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let start = Instant::now();
    let mut sent = None::<Instant>;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if sent.is_none_or(|at| at.elapsed() > Duration::from_secs(5)) {
            run_ok(
                Command::new("kill")
                    .arg("-TERM")
                    .arg(child.id().to_string()),
            );
            sent = Some(Instant::now());
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("process {} ignored SIGTERM for 30 s", child.id());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A fixture project and how to build and probe its release.
pub struct Fixture {
    /// Directory under `fixtures/`.
    pub dir: &'static str,
    /// Extra `relpack build` arguments (what the fixture's mix.exs
    /// `releases:` says, until relpack reads it).
    pub args: &'static [&'static str],
    pub release: &'static str,
    pub vsn: &'static str,
    /// An Elixir expression for `bin/<release> eval` and what it prints.
    pub eval: (&'static str, &'static str),
    /// An Erlang expression evaluated on the running node and a fragment
    /// of its printed value.
    pub running: (&'static str, &'static str),
}

pub const FIXTURES: &[Fixture] = &[
    Fixture {
        dir: "hello",
        args: &[],
        release: "hello",
        vsn: "0.1.0",
        eval: (
            "IO.puts(inspect({Hello.hello(), Protocol.consolidated?(Hello.Greeter), Hello.__info__(:attributes)[:relpack_marker]}))",
            "{:world, true, [:kept]}",
        ),
        running: ("{'Elixir.Hello.Worker':ping(), 'Elixir.Hello':priv_greeting()}", "pong"),
    },
    Fixture {
        dir: "umbrella",
        args: &["--name", "umbrella_rel", "--release-version", "1.0.0", "--app", "web"],
        release: "umbrella_rel",
        vsn: "1.0.0",
        eval: ("IO.puts(Web.hello())", "3"),
        running: (
            "{is_pid(whereis('Elixir.Web.Server')), is_pid(whereis('Elixir.Core.Store'))}",
            "{true,true}",
        ),
    },
    Fixture {
        dir: "nif",
        args: &[],
        release: "nif_app",
        vsn: "0.1.0",
        eval: ("IO.puts(NifApp.encode(%{\"a\" => 1}))", "{\"a\":1}"),
        running: ("'Elixir.NifApp':encode(#{<<\"a\">> => [1,2]})", "<<\"{\\\"a\\\":[1,2]}\">>"),
    },
    Fixture {
        dir: "included",
        args: &["--app", "runtime_tools=load"],
        release: "outer",
        vsn: "0.1.0",
        eval: ("IO.puts(Outer.ping_inner() |> inspect())", "** (exit)"),
        running: (
            "{'Elixir.Outer':ping_inner(), lists:keymember(inner, 1, application:which_applications()), lists:keymember(runtime_tools, 1, application:loaded_applications()) andalso not lists:keymember(runtime_tools, 1, application:which_applications())}",
            "{pong,false,true}",
        ),
    },
    Fixture {
        dir: "crypto",
        args: &[],
        release: "crypto_app",
        vsn: "0.1.0",
        eval: (
            "IO.puts(CryptoApp.digest(\"abc\"))",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        running: ("'Elixir.CryptoApp':digest(<<\"abc\">>)", "ba7816bf8f01cfea"),
    },
    Fixture {
        dir: "configured",
        args: &[],
        release: "configured",
        vsn: "0.2.0",
        eval: (
            "IO.inspect(Configured.settings())",
            "{\"hello\", [min: 1, max: 100], [:web, :api], \"unset\"}",
        ),
        running: (
            "{application:get_env(configured, limits), application:get_env(configured, runtime_greeting)}",
            "{{ok,[{min,1},{max,100}]},{ok,<<\"unset\">>}}",
        ),
    },
    Fixture {
        dir: "rebar_hello",
        args: &[],
        release: "rebar_hello",
        vsn: "0.3.0",
        eval: ("rebar_hello_worker:greeting()", "\"from sys.config\""),
        running: (
            "{rebar_hello_worker:ping(), application:get_env(rebar_hello, greeting), os:getenv(\"REBAR_HELLO_FROM_VM_ARGS\")}",
            "{pong,{ok,\"from sys.config\"},\"yes\"}",
        ),
    },
];

impl Fixture {
    /// Whether the fixture is a rebar3 (Erlang) project.
    pub fn rebar3(&self) -> bool {
        Path::new(REPO)
            .join("fixtures")
            .join(self.dir)
            .join("rebar.config")
            .is_file()
    }

    /// `_build/<env>` of the compiled project at `root`: rebar3's
    /// `default` profile, else Mix's `prod`.
    pub fn build_dir(&self, root: &Path) -> PathBuf {
        root.join("_build")
            .join(if self.rebar3() { "default" } else { "prod" })
    }

    /// The tarball relpack writes for the project at `root`.
    pub fn tarball(&self, root: &Path) -> PathBuf {
        self.build_dir(root)
            .join(format!("{}-{}.tar.gz", self.release, self.vsn))
    }
}

pub fn fixture(dir: &str) -> &'static Fixture {
    FIXTURES
        .iter()
        .find(|f| f.dir == dir)
        .expect("known fixture")
}

/// Starts the host's epmd so nodes started inside test namespaces do not
/// leave one of their own running.
pub fn ensure_epmd() {
    require("epmd", "apt-get install erlang");
    run_ok(Command::new("epmd").arg("-daemon"));
}

/// Builds fixture `dir`'s release with relpack (its FIXTURES arguments and
/// `extra`) and unpacks the tarball into a path with a space; returns the
/// scratch space and the unpacked release root.
pub fn package_with(dir: &str, extra: &[&str]) -> (Scratch, PathBuf) {
    let f = fixture(dir);
    let project = compiled_fixture(dir);
    let root = project.path().join(dir);
    let mut args = vec!["build"];
    args.extend(f.args);
    args.extend(extra);
    let out = relpack_ok(&root, &args);
    let tarball = f.tarball(&root);
    assert!(
        tarball.is_file(),
        "no tarball at {}: {out}",
        tarball.display()
    );
    assert!(
        out.contains(&format!("{}-{}.tar.gz", f.release, f.vsn)),
        "{out}"
    );
    let unpacked = project.path().join("un packed").join(f.release);
    unpack(&tarball, &unpacked);
    (project, unpacked)
}

/// The pids and command lines (NULs as spaces) of the running `beam.smp`
/// processes whose command line contains `needle`.
pub fn beam_cmdlines(needle: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        if line.contains("beam.smp") && line.contains(needle) {
            found.push((pid, line));
        }
    }
    found
}

/// Kills (SIGKILL) the VM whose pid the launcher's `start` wrote to
/// `pid_file` when dropped, so a failed test leaves no node running.
pub struct DaemonGuard(pub PathBuf);

impl Drop for DaemonGuard {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.0) {
            let _ = Command::new("kill").args(["-KILL", pid.trim()]).output();
        }
    }
}

/// What the machine has installed, read once from the real `erl` and
/// `elixir`, so no test writes a version down.
pub struct Installed {
    /// `code:root_dir()` of the system Erlang.
    pub otp_root: PathBuf,
    /// `erlang:system_info(otp_release)`, e.g. `25`.
    pub otp_release: String,
    /// The ERTS version, e.g. `13.1.5`.
    pub erts: String,
    /// `System.version()`.
    pub elixir: String,
    /// The Elixir installation's `lib` directory.
    pub elixir_lib: PathBuf,
}

impl Installed {
    /// The Elixir installation's root (the parent of its `lib`).
    pub fn elixir_root(&self) -> PathBuf {
        self.elixir_lib.parent().unwrap().to_owned()
    }

    /// The `-user` module the installed Elixir's own `bin/iex` starts IEx
    /// with (`Elixir.IEx.CLI` up to 1.14, `elixir` since 1.15): the oracle
    /// for the launcher's shells.
    pub fn iex_user(&self) -> String {
        let iex = self.elixir_root().join("bin").join("iex");
        let script = std::fs::read_to_string(&iex)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", iex.display()));
        let after = script
            .split("-user ")
            .nth(1)
            .unwrap_or_else(|| panic!("no -user in {}", iex.display()));
        after
            .split(|c: char| c == '"' || c.is_whitespace())
            .next()
            .unwrap()
            .to_owned()
    }

    /// `erts-<vsn>`, the directory name a release bundles.
    pub fn erts_dir(&self) -> String {
        format!("erts-{}", self.erts)
    }

    /// The version of application `app` in OTP's or Elixir's `lib`.
    pub fn app_vsn(&self, app: &str) -> String {
        for lib in [self.otp_root.join("lib"), self.elixir_lib.clone()] {
            let app_file = lib.join(app).join("ebin").join(format!("{app}.app"));
            let found = std::fs::read_dir(&lib).ok().and_then(|entries| {
                entries.flatten().find_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_prefix(&format!("{app}-")).map(str::to_owned)
                })
            });
            if let Some(vsn) = found {
                return vsn;
            }
            if let Ok(text) = std::fs::read_to_string(&app_file) {
                if let Some(rest) = text.split("{vsn,\"").nth(1) {
                    return rest.split('"').next().unwrap().to_owned();
                }
            }
        }
        panic!("application {app} is installed neither in OTP nor in Elixir");
    }
}

pub fn installed() -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        require("erl", "apt-get install erlang (scripts/setup.sh)");
        require("elixir", "apt-get install elixir (scripts/setup.sh)");
        let erl = run_ok(Command::new("erl").args([
            "-noshell",
            "-eval",
            "io:format(\"~s~n~s~n~s~n\", [code:root_dir(), erlang:system_info(otp_release), erlang:system_info(version)]), halt().",
        ]));
        let mut erl = erl.lines();
        let ex = run_ok(Command::new("elixir").args([
            "-e",
            "IO.puts(System.version()); IO.puts(Path.dirname(Application.app_dir(:elixir)))",
        ]));
        let mut ex = ex.lines();
        Installed {
            otp_root: PathBuf::from(erl.next().unwrap()),
            otp_release: erl.next().unwrap().to_owned(),
            erts: erl.next().unwrap().to_owned(),
            elixir: ex.next().unwrap().to_owned(),
            elixir_lib: PathBuf::from(ex.next().unwrap())
                .canonicalize()
                .expect("the Elixir lib directory exists"),
        }
    })
}

/// A command run in a pseudo-terminal (`script -qec CMD /dev/null`, as IEx
/// and to_erl need one); its output is collected as it comes.
pub struct Terminal {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    output: std::sync::Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Terminal {
    /// Starts `script`, the command given, with its stdin and output piped.
    pub fn spawn(script: &mut Command) -> Terminal {
        use std::io::Read;
        let mut child = script
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script runs");
        let output = std::sync::Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stdout.take().unwrap();
        let reader = {
            let output = std::sync::Arc::clone(&output);
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
        Terminal {
            stdin: child.stdin.take(),
            child,
            output,
            reader: Some(reader),
        }
    }

    /// Waits (up to 30 s) until the output holds `text`.
    pub fn wait_for(&self, text: &str) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if self.output.lock().unwrap().contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    pub fn send(&mut self, bytes: &[u8]) {
        use std::io::Write;
        self.stdin.as_mut().unwrap().write_all(bytes).unwrap();
    }

    /// Waits (up to 20 s, then kills it) for the command to end; returns
    /// all its output.
    pub fn close(mut self) -> String {
        self.stdin.take();
        let start = Instant::now();
        while self.child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reader.take().unwrap().join().unwrap();
        let text = self.output.lock().unwrap().clone();
        text
    }
}
