//! Release configuration read from the files projects already have:
//! `config/*.exs` against `mix release`'s `sys.config`, `config/runtime.exs`
//! read at boot, Distillery's `rel/config.exs` with every option observed
//! in the built release, `relpack config` and `relpack init`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

/// Every file below `dir`.
fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walkdir(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn oracle(mode: &str, a: &Path, b: &Path) -> String {
    require("escript", "apt-get install erlang");
    run_ok(
        Command::new("escript")
            .arg(Path::new(REPO).join("tests/support/oracle.escript"))
            .arg(mode)
            .arg(a)
            .arg(b),
    )
}

/// relpack's `sys.config` for config.exs + prod.exs + runtime.exs equals,
/// as Erlang terms, the one `mix release` writes; runtime.exs is shipped,
/// the `rel/*.eex` templates rendered alike.
#[test]
fn sys_config_matches_mix_release() {
    let project = compiled_fixture("configured");
    let root = project.path().join("configured");
    run_ok(
        Command::new("mix")
            .args(["release", "--overwrite", "--quiet"])
            .current_dir(&root)
            .env("MIX_ENV", "prod")
            .env("CONFIGURED_BUILD_USER", "builder"),
    );
    let out_dir = project.path().join("relpack-out");
    run_ok(
        Command::new(env!("CARGO_BIN_EXE_relpack"))
            .args(["build", "--no-tar", "--out"])
            .arg(&out_dir)
            .current_dir(&root)
            .env_remove("MIX_ENV")
            .env("CONFIGURED_BUILD_USER", "builder"),
    );
    let vsn_dir = "releases/0.2.0";
    let mix_dir = root.join("_build/prod/rel/configured").join(vsn_dir);
    let ours = out_dir.join(vsn_dir);
    let out = oracle(
        "config_equal",
        &ours.join("sys.config"),
        &mix_dir.join("sys.config"),
    );
    assert!(out.contains("config equal"), "{out}");
    // The build-time environment variable was read at build time.
    let text = std::fs::read_to_string(ours.join("sys.config")).unwrap();
    assert!(text.contains("<<\"builder\"/utf8>>"), "{text}");
    // strip_beams: every .beam byte for byte as mix release strips it.
    let mix_lib = root.join("_build/prod/rel/configured/lib");
    let mut beams = 0;
    for entry in walkdir(&out_dir.join("lib")) {
        if entry.extension().is_some_and(|e| e == "beam") {
            let rel = entry.strip_prefix(out_dir.join("lib")).unwrap();
            assert!(
                std::fs::read(&entry).unwrap() == std::fs::read(mix_lib.join(rel)).unwrap(),
                "{} differs from mix release's",
                rel.display()
            );
            beams += 1;
        }
    }
    assert!(beams > 500, "only {beams} beams compared");
    // The same files under lib/ (include/ beside priv/ from Elixir 1.16).
    let files = |lib: &Path| -> std::collections::BTreeSet<PathBuf> {
        walkdir(lib)
            .into_iter()
            .map(|f| f.strip_prefix(lib).unwrap().to_owned())
            .collect()
    };
    let (ours_lib, mix_files) = (files(&out_dir.join("lib")), files(&mix_lib));
    let only_ours: Vec<_> = ours_lib.difference(&mix_files).collect();
    let only_mix: Vec<_> = mix_files.difference(&ours_lib).collect();
    assert!(
        only_ours.is_empty() && only_mix.is_empty(),
        "lib/ differs from mix release's: only relpack's {only_ours:?}, only mix's {only_mix:?}"
    );
    // runtime.exs shipped; rel/vm.args.eex and rel/env.sh.eex rendered as
    // mix release renders them.
    for file in ["runtime.exs", "vm.args", "env.sh"] {
        assert_eq!(
            std::fs::read_to_string(ours.join(file)).unwrap(),
            std::fs::read_to_string(mix_dir.join(file)).unwrap(),
            "{file}"
        );
    }
}

/// The booted release sees the value an environment variable has when it
/// starts, through runtime.exs, in `eval` and in `foreground`.
#[test]
fn runtime_config_reads_the_environment_at_boot() {
    let project = compiled_fixture("configured");
    let root = project.path().join("configured");
    relpack_ok(&root, &["build"]);
    let release = project.path().join("unpacked");
    unpack(&root.join("_build/prod/configured-0.2.0.tar.gz"), &release);
    let bin = release.join("bin/configured");

    let mut cmd = without_system_erlang(
        &bin,
        &[
            "eval",
            "IO.puts(Application.get_env(:configured, :runtime_greeting))",
        ],
    );
    let stdout = run_ok(cmd.env("CONFIGURED_GREETING", "bonjour"));
    assert_eq!(stdout.trim(), "bonjour");

    ensure_epmd();
    let node = node_name("configured");
    let log = project.path().join("fg.log");
    let mut cmd = without_system_erlang(&bin, &["foreground"]);
    cmd.env("RELEASE_NODE", &node)
        .env("CONFIGURED_GREETING", "hola");
    let mut child = spawn_logged(&mut cmd, &log);
    let answer = wait_for_rpc(
        &node,
        &cookie(&release),
        "application:get_env(configured, runtime_greeting)",
        Duration::from_secs(30),
    );
    terminate(&mut child);
    let answer = answer.unwrap_or_else(|| panic!("no answer; log:\n{}", read_log(&log)));
    assert_eq!(answer, "{ok,<<\"hola\">>}");
}

/// The Distillery fixture: release `shop` of app `store`, prod environment
/// over the release's settings.
fn distillery_release() -> (Scratch, PathBuf) {
    let project = compiled_fixture("distillery");
    let root = project.path().join("distillery");
    let out = relpack_ok(&root, &["build"]);
    assert!(out.contains("Release shop 1.3.0"), "{out}");
    let release = root.join("rel/out/shop");
    (project, release)
}

#[test]
fn distillery_options_take_effect() {
    let (project, release) = distillery_release();
    let vsn = release.join("releases/1.3.0");
    let read =
        |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    // version: current_version(:store); output_dir; include_erts.
    assert_eq!(
        read(&release.join("releases/start_erl.data")),
        format!("{} 1.3.0", installed().erts)
    );
    assert!(release
        .join(installed().erts_dir())
        .join("bin/beam.smp")
        .is_file());
    // applications with start types.
    let rel = read(&vsn.join("shop.rel"));
    assert!(
        rel.contains("{inets,\"") && rel.contains("\",permanent}"),
        "{rel}"
    );
    assert!(
        rel.contains(&format!(
            "{{runtime_tools,\"{}\",load}}",
            installed().app_vsn("runtime_tools")
        )),
        "{rel}"
    );
    // The environment's cookie wins over the release's.
    assert_eq!(cookie(&release), "store-prod-cookie-OK");
    // vm_args rendered, erl_opts appended.
    let vm_args = read(&vsn.join("vm.args"));
    assert!(
        vm_args.starts_with("## vm.args of shop 1.3.0\n"),
        "{vm_args}"
    );
    assert!(vm_args.ends_with("+sbwt none\n"), "{vm_args}");
    // Overlays: mkdir, copy, template with overlay_vars, link.
    assert!(read(&release.join("etc/config.exs")).contains("STORE_RESTOCKED"));
    assert!(release.join("var/log").is_dir());
    assert_eq!(
        read(&release.join("etc/motd.txt")),
        "Welcome to the shop.\n"
    );
    assert_eq!(
        read(&release.join("etc/about.txt")),
        "shop 1.3.0: always open\n"
    );
    assert!(release.join("etc/motd.link").is_symlink());
    // An overlay wins over the application's file at the same path; the
    // application's other files stay; the MANIFEST has what was shipped.
    let app_priv = release.join("lib/store-1.3.0/priv");
    assert_eq!(read(&app_priv.join("greeting.txt")), "from the overlay\n");
    assert_eq!(read(&app_priv.join("kept.txt")), "kept\n");
    let check = std::process::Command::new("sha256sum")
        .args(["--quiet", "-c", "releases/1.3.0/MANIFEST"])
        .current_dir(&release)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    // Custom command and hook directory, where Distillery's launcher has them.
    let command = vsn.join("commands/restock.sh");
    assert!(read(&command).contains("restocking"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&command).unwrap().permissions().mode() & 0o111,
        0o111
    );
    assert!(read(&vsn.join("hooks/pre_start.d/01_check.sh")).contains("pre-start check"));

    // The tarball holds the linked file itself.
    let unpacked = project.path().join("unpacked");
    unpack(
        &project
            .path()
            .join("distillery/_build/prod/shop-1.3.0.tar.gz"),
        &unpacked,
    );
    let link = unpacked.join("etc/motd.link");
    assert!(!link.is_symlink());
    assert_eq!(read(&link), "Welcome to the shop.\n");
    assert_eq!(
        read(&unpacked.join("lib/store-1.3.0/priv/greeting.txt")),
        "from the overlay\n"
    );

    // sys_config merged over config.exs; vm.args flags reach the VM.
    let bin = unpacked.join("bin/shop");
    let stdout = run_ok(&mut without_system_erlang(
        &bin,
        &[
            "eval",
            "IO.inspect({Store.stock(), Application.get_env(:store, :currency)})",
        ],
    ));
    assert_eq!(stdout.trim(), "{42, \"EUR\"}");
    // strip_debug_info: docs and debug info are gone, attributes stay.
    let stdout = run_ok(&mut without_system_erlang(
        &bin,
        &["eval", "IO.inspect({Code.fetch_docs(Store), match?({:error, :beam_lib, {:missing_chunk, _, 'Dbgi'}}, :beam_lib.chunks(:code.which(Store), [:debug_info])), Store.__info__(:attributes) != []})"],
    ));
    assert_eq!(stdout.trim(), "{{:error, :chunk_not_found}, true, true}");
    // config_providers: etc/config.exs is read at boot.
    let mut cmd = without_system_erlang(
        &bin,
        &["eval", "IO.puts(Application.get_env(:store, :restocked))"],
    );
    assert_eq!(run_ok(cmd.env("STORE_RESTOCKED", "today")).trim(), "today");
    ensure_epmd();
    let node = node_name("shop");
    let log = project.path().join("fg.log");
    let mut cmd = without_system_erlang(&bin, &["foreground"]);
    cmd.env("RELEASE_NODE", &node);
    let mut child = spawn_logged(&mut cmd, &log);
    let answer = wait_for_rpc(
        &node,
        "store-prod-cookie-OK",
        "{os:getenv(\"STORE_FROM_VM_ARGS\"), lists:keymember(inets, 1, application:which_applications()), lists:keymember(runtime_tools, 1, application:which_applications())}",
        Duration::from_secs(30),
    );
    let status = terminate(&mut child);
    let answer = answer.unwrap_or_else(|| panic!("no answer; log:\n{}", read_log(&log)));
    assert_eq!(answer, "{\"yes\",true,false}");
    assert!(status.success(), "{}", read_log(&log));
    // Distillery's pre_start hook ran before the VM; its custom command runs
    // as `bin/shop restock`.
    assert!(
        read_log(&log).contains("pre-start check"),
        "{}",
        read_log(&log)
    );
    let restock = run_ok(std::process::Command::new(&bin).arg("restock"));
    assert_eq!(restock.trim(), "restocking");
}

/// The dev environment: `dev_mode` links the compiled applications into
/// the release (no tarball), so a recompile shows without a rebuild;
/// `include_erts: false` boots on the system's Erlang.
#[test]
fn distillery_dev_mode_links_the_build() {
    let project = compiled_fixture("distillery");
    let root = project.path().join("distillery");
    let mix_dev = |root: &Path| {
        run_ok(
            Command::new("mix")
                .arg("compile")
                .current_dir(root)
                .env("MIX_ENV", "dev"),
        )
    };
    mix_dev(&root);
    let out = relpack_ok(&root, &["build", "--env", "dev"]);
    assert!(!out.contains("tarball"), "{out}");
    assert!(!root.join("_build/dev/shop-1.3.0.tar.gz").exists());
    let release = root.join("rel/out/shop");
    let lib = release.join("lib/store-1.3.0");
    assert_eq!(
        std::fs::read_link(&lib).unwrap(),
        root.join("_build/dev/lib/store").canonicalize().unwrap()
    );
    assert!(!release.join(installed().erts_dir()).exists());
    assert_eq!(cookie(&release), "store-dev-cookie");
    let eval = |release: &Path| {
        run_ok(Command::new(release.join("bin/shop")).args(["eval", "IO.puts(Store.stock())"]))
    };
    assert_eq!(eval(&release).trim(), "42");
    let source = root.join("lib/store.ex");
    let code = std::fs::read_to_string(&source).unwrap();
    std::fs::write(
        &source,
        code.replace(
            "def stock, do: Application.get_env(:store, :stock)",
            "def stock, do: -1",
        ),
    )
    .unwrap();
    mix_dev(&root);
    assert_eq!(eval(&release).trim(), "-1");
}

/// `relpack config` shows where each setting came from; `--env` selects
/// the Distillery environment, `--json` prints machine-readable output.
#[test]
fn config_command_shows_settings_and_origins() {
    let root = Path::new(REPO).join("fixtures/distillery");
    let out = relpack_ok(&root, &["config"]);
    assert!(
        out.contains("release.name = shop  # ./rel/config.exs\n"),
        "{out}"
    );
    assert!(
        out.contains("release.cookie = 'store-prod-cookie-OK'  # ./rel/config.exs:26\n"),
        "{out}"
    );
    assert!(
        out.contains("release.include_erts = true  # ./rel/config.exs:24\n"),
        "{out}"
    );
    let dev: serde_json::Value =
        serde_json::from_str(&relpack_ok(&root, &["config", "--env", "dev", "--json"])).unwrap();
    let entry = |key: &str| {
        dev.as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == key)
            .unwrap_or_else(|| panic!("no {key} in {dev}"))
            .clone()
    };
    // JSON values, with the Erlang term only where JSON cannot say it.
    assert_eq!(
        entry("release.include_erts"),
        serde_json::json!({"key": "release.include_erts", "value": false, "origin": "./rel/config.exs:19"})
    );
    assert_eq!(entry("release.cookie")["value"], "store-dev-cookie");
    assert_eq!(entry("release.cookie")["term"], "'store-dev-cookie'");
    assert!(entry("app_config")["value"].is_array(), "{dev}");
    let mix = relpack_ok(
        Path::new(REPO),
        &["config", "--file", "fixtures/configured/mix.exs"],
    );
    assert!(
        mix.contains("release.configured.applications = [{runtime_tools,load}]"),
        "{mix}"
    );
}

/// Bad configuration: one line naming the file and line, exit 1, nothing
/// written.
#[test]
fn nerves_releases_are_named() {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    let mix_exs = root.join("mix.exs");
    let text = std::fs::read_to_string(&mix_exs).unwrap();
    std::fs::write(
        &mix_exs,
        text.replace(
            "releases: [hello: []]",
            "releases: [hello: [include_erts: &Nerves.Release.erts/0]]",
        ),
    )
    .unwrap();
    let out = relpack(&root, &["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("mix.exs")
            && stderr
                .contains("`include_erts: &Nerves.Release.erts/0` is a Nerves firmware release"),
        "{stderr}"
    );
    assert!(!root.join("_build/prod/rel").exists());
}

#[test]
fn configuration_errors_name_file_and_line() {
    let project = compiled_fixture("distillery");
    let root = project.path().join("distillery");
    let config = root.join("rel/config.exs");
    let text = std::fs::read_to_string(&config).unwrap();

    let fails = |args: &[&str], expect: &[&str]| {
        let out = relpack(&root, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        for e in expect {
            assert!(stderr.contains(e), "expected `{e}` in: {stderr}");
        }
        assert!(!root.join("rel/out").exists());
    };
    fails(
        &["build", "--name", "nope"],
        &["rel/config.exs:1:", "no release `nope`", "shop"],
    );
    fails(
        &["build", "--env", "staging"],
        &["no environment `staging`"],
    );

    std::fs::write(
        &config,
        text.replace("set include_src: false", "set include_sources: false"),
    )
    .unwrap();
    fails(
        &["build"],
        &["rel/config.exs:25:", "unknown option `include_sources`"],
    );

    std::fs::write(
        &config,
        text.replace(
            "set include_src: false",
            "set include_src: Enum.random([true])",
        ),
    )
    .unwrap();
    // Natively an error naming the construct; through the fallback the
    // value it computes, here one relpack refuses, at the same line.
    fails(
        &["build", "--no-elixir"],
        &["rel/config.exs:25:", "Enum.random/1"],
    );
    fails(
        &["build"],
        &["rel/config.exs:25:", "`include_src: true` is not supported"],
    );

    std::fs::write(
        &config,
        text.replace("set include_src: false", "set include_src: true"),
    )
    .unwrap();
    fails(
        &["build"],
        &["rel/config.exs:25:", "`include_src: true` is not supported"],
    );

    std::fs::write(
        &config,
        text.replace(
            "{:copy, \"rel/config/config.exs\", \"etc/config.exs\"}",
            "{:mkdir, \"etc\"}",
        ),
    )
    .unwrap();
    fails(
        &["build"],
        &[
            "rel/config.exs:51:",
            "etc/config.exs is not put into the release",
        ],
    );

    std::fs::write(
        &config,
        text.replace("release :shop do", "release :shop do\n  set version: )"),
    )
    .unwrap();
    fails(&["build"], &["rel/config.exs:", "syntax error"]);
}

/// Config code beyond the native subset runs through the real `elixir`
/// (same result as the native evaluation of the equivalent file), or is an
/// error naming construct and line with --no-elixir.
#[test]
fn app_config_beyond_the_subset_falls_back_to_elixir() {
    require("elixir", "apt-get install elixir");
    let project = compiled_fixture("configured");
    let root = project.path().join("configured");
    let native_out = project.path().join("native");
    relpack_ok(
        &root,
        &["build", "--no-tar", "--out", native_out.to_str().unwrap()],
    );

    let prod = root.join("config/prod.exs");
    let text = std::fs::read_to_string(&prod).unwrap();
    std::fs::write(
        &prod,
        text.replace(
            "tags: ~w(web api)a",
            "tags: Enum.map([\"web\", \"api\"], &String.to_atom/1)",
        ),
    )
    .unwrap();
    let out = relpack(&root, &["build", "--no-tar", "--no-elixir"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("config/prod.exs:4: a call of Enum.map/2"),
        "{stderr}"
    );

    let fallback_out = project.path().join("fallback");
    relpack_ok(
        &root,
        &["build", "--no-tar", "--out", fallback_out.to_str().unwrap()],
    );
    let sys = |d: &Path| d.join("releases/0.2.0/sys.config");
    let out = oracle("config_equal", &sys(&fallback_out), &sys(&native_out));
    assert!(out.contains("config equal"), "{out}");
    let shown = relpack_ok(&root, &["config"]);
    assert!(
        shown.contains("app_config.evaluation = elixir  # "),
        "{shown}"
    );
}

/// `relpack init` writes a rel/config.exs that relpack then builds from,
/// with random cookies, and never overwrites.
#[test]
fn init_writes_a_working_distillery_config() {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    let out = relpack_ok(&root, &["init"]);
    assert!(
        out.contains("rel/config.exs") && out.contains("rel/vm.args"),
        "{out}"
    );
    let written = std::fs::read_to_string(root.join("rel/config.exs")).unwrap();
    assert!(written.contains("release :hello do"), "{written}");
    let shown = relpack_ok(&root, &["config"]);
    assert!(shown.contains("release.name = hello"), "{shown}");
    let prod_cookie = shown
        .lines()
        .find(|l| l.starts_with("release.cookie = "))
        .unwrap()
        .to_owned();
    relpack_ok(&root, &["build", "--no-tar"]);
    let release = root.join("_build/prod/rel/hello");
    assert!(prod_cookie.contains(&cookie(&release)), "{prod_cookie}");
    let stdout = run_ok(&mut without_system_erlang(
        &release.join("bin/hello"),
        &["eval", "IO.puts(Hello.hello())"],
    ));
    assert_eq!(stdout.trim(), "world");

    let again = relpack(&root, &["init"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(
        std::fs::read_to_string(root.join("rel/config.exs")).unwrap(),
        written
    );
}

/// The corpus: `rel/config.exs`-, `mix.exs`- and `config/*.exs`-style files
/// written as real projects write them. Each `NAME.exs.expected` says
/// whether relpack reads the file natively, falls back to `elixir`, or
/// stops with a line-numbered error, and gives the exact output.
#[test]
fn corpus_files_give_their_expected_outcome() {
    require("elixir", "apt-get install elixir");
    let dir = Path::new(REPO).join("tests/config_corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "exs"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "only {} corpus files", files.len());
    let mut outcomes = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let expected_path = dir.join(format!("{name}.expected"));
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        let (outcome, body) = expected.split_once('\n').unwrap();
        let mut cmd = corpus_command(&dir, Command::new(env!("CARGO_BIN_EXE_relpack")));
        cmd.args(["config", "--file", name]);
        let out = run(&mut cmd);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        match outcome {
            "outcome: native" | "outcome: elixir" => {
                assert!(out.status.success(), "{name}: {stderr}");
                assert_eq!(stdout, body, "{name}");
                let fell_back = stdout.contains("evaluation = elixir");
                assert_eq!(fell_back, outcome == "outcome: elixir", "{name}");
            }
            "outcome: error" => {
                assert_eq!(out.status.code(), Some(1), "{name}: {stdout}");
                assert_eq!(stderr, body, "{name}");
                let line = stderr
                    .strip_prefix(&format!("relpack: error: {name}:"))
                    .and_then(|rest| rest.split(':').next())
                    .unwrap_or("");
                assert!(
                    line.parse::<usize>().is_ok(),
                    "{name}: no line number in {stderr}"
                );
            }
            other => panic!("{name}: unknown {other}"),
        }
        outcomes.push(format!(
            "{name}: {}",
            outcome.trim_start_matches("outcome: ")
        ));
    }
    println!("{}", outcomes.join("\n"));
}

/// Every config-style corpus file relpack evaluates natively gives the
/// same term as Elixir's own `Config.Reader` run on it.
#[test]
fn native_app_config_equals_config_reader() {
    require("elixir", "apt-get install elixir");
    let dir = Path::new(REPO).join("tests/config_corpus");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let expected =
            std::fs::read_to_string(dir.join(format!("{name}.expected"))).unwrap_or_default();
        if !name.starts_with("c_") || !expected.starts_with("outcome: native") {
            continue;
        }
        let ours = run_ok(
            corpus_command(&dir, Command::new(env!("CARGO_BIN_EXE_relpack"))).args([
                "config",
                "--no-elixir",
                "--file",
                &name,
            ]),
        );
        let ours = ours
            .lines()
            .find_map(|l| l.strip_prefix("app_config = "))
            .and_then(|l| l.rsplit_once("  # "))
            .map(|(term, _)| term.to_owned())
            .unwrap_or_else(|| panic!("{name}: {ours}"));
        let script = "Mix.start(); Mix.env(:prod); \
            IO.write(:io_lib.format(~c\"~tp.~n\", [Config.Reader.read!(hd(System.argv()), env: :prod, target: :host)]))";
        let theirs =
            run_ok(corpus_command(&dir, Command::new("elixir")).args(["-e", script, &name]));
        let theirs = relpack::formats::term::parse_consult(theirs.as_bytes()).unwrap();
        assert_eq!(
            ours,
            relpack::formats::term::to_compact(&theirs[0]),
            "{name}"
        );
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} files checked");
}

/// A command run in the corpus directory with the corpus's environment.
fn corpus_command(dir: &Path, mut cmd: Command) -> Command {
    cmd.current_dir(dir)
        .env_remove("MIX_ENV")
        .env("CORPUS_COOKIE", "from-env")
        .env("CORPUS_DATABASE_URL", "ecto://db/corpus");
    for var in [
        "CORPUS_ERTS",
        "CORPUS_DEBUG",
        "CORPUS_REGION",
        "CORPUS_PORT",
        "CORPUS_VERSION",
        "CORPUS_POOL_SIZE",
        "CORPUS_IPV6",
        "CORPUS_NEVER_SET_SECRET",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// An umbrella's release comes from mix.exs `releases:`: no --name,
/// --release-version or --app needed any more.
#[test]
fn umbrella_release_is_read_from_mix_exs() {
    let project = compiled_fixture("umbrella");
    let root = project.path().join("umbrella");
    let out = relpack_ok(&root, &["build", "--no-tar"]);
    assert!(out.contains("Release umbrella_rel 1.0.0"), "{out}");
    let release = root.join("_build/prod/rel/umbrella_rel");
    let stdout = run_ok(&mut without_system_erlang(
        &release.join("bin/umbrella_rel"),
        &["eval", "IO.puts(Web.hello())"],
    ));
    assert_eq!(stdout.trim(), "3");
}

/// A Distillery hook kind the launcher does not run is refused at its line
/// of `rel/config.exs`, before anything is built.
#[test]
fn unknown_distillery_hook_is_refused_with_its_line() {
    let scratch = Scratch::new("distillery-hook");
    let root = scratch.path().join("distillery");
    copy_dir(&Path::new(REPO).join("fixtures/distillery"), &root);
    let config = root.join("rel/config.exs");
    let text = std::fs::read_to_string(&config).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("pre_start_hooks:"))
        .expect("the fixture sets pre_start_hooks")
        + 1;
    std::fs::write(&config, text.replace("pre_start_hooks:", "pre_boot_hooks:")).unwrap();
    let out = relpack(&root, &["config"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!(
            "rel/config.exs:{line}: unknown option `pre_boot_hooks`"
        )),
        "{stderr}"
    );
}

/// Several releases and no default: `relpack config` shows every one of
/// them, with its settings; `build` still asks which one.
#[test]
fn config_lists_every_release_when_there_is_no_default() {
    let scratch = Scratch::new("two-releases");
    let root = scratch.path();
    std::fs::write(
        root.join("mix.exs"),
        "defmodule Two.MixProject do\n  use Mix.Project\n  def project do\n    [apps_path: \"apps\", version: \"1.0.0\",\n     releases: [web: [applications: [web: :permanent]], worker: [applications: [worker: :permanent], cookie: \"w\"]]]\n  end\nend\n",
    )
    .unwrap();
    let shown = relpack_ok(root, &["config"]);
    for line in [
        "release.web = defined",
        "release.web.applications = [{web,permanent}]",
        "release.worker = defined",
        "release.worker.cookie = <<\"w\"/utf8>>",
    ] {
        assert!(shown.contains(line), "{line} in:\n{shown}");
    }
    let one = relpack_ok(root, &["config", "--name", "worker"]);
    assert!(one.contains("release.name = worker"), "{one}");
    let out = relpack(root, &["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("several releases (web, worker): pick one with --name"),
        "{stderr}"
    );
}
