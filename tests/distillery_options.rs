//! Distillery 1.x and 2.x options and real-world `rel/config.exs` and
//! `mix.exs` code, each observed in a built, booted release (system Erlang
//! hidden): configure hooks run before the config provider, in order, in
//! both the 2.x directory and the 1.x one-script forms; `run_erl_env`
//! reaches `run_erl`; a plugin is a warning (an error with `--strict`);
//! `config` names the application config; code beyond the native subset
//! is read by the `elixir` fallback with the value Distillery or mix gives.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

/// The compiled Distillery fixture with `edit` applied to its
/// rel/config.exs and `files` (path, contents) written into it.
fn distillery_with(edit: impl Fn(&str) -> String, files: &[(&str, &str)]) -> (Scratch, PathBuf) {
    let project = compiled_fixture("distillery");
    let root = project.path().join("distillery");
    let config = root.join("rel/config.exs");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, edit(&text)).unwrap();
    for (path, contents) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
    }
    (project, root)
}

/// Adds `lines` to the `release :shop` block.
fn in_release(text: &str, lines: &str) -> String {
    text.replace(
        "release :shop do\n",
        &format!("release :shop do\n{lines}\n"),
    )
}

const RELEASE: &str = "rel/out/shop";

/// pre_configure, post_configure and pre_start hooks run in that order,
/// before Elixir's config provider reads the release's config at boot: a
/// variable the pre_configure hook exports is in the booted app's
/// environment. The post_configure hook is a 2.x directory, the
/// pre_start one also a 1.x single script (beside the fixture's directory).
#[test]
fn configure_hooks_run_before_the_config_provider() {
    let log_line = |name: &str| format!("echo {name} >>\"$RELEASE_TMP/order\"\n");
    let pre_configure = format!(
        "{}STORE_FROM_HOOK=configured-by-hook\nexport STORE_FROM_HOOK\n",
        log_line("pre_configure")
    );
    let (project, root) = distillery_with(
        |t| {
            in_release(
                t,
                "  set pre_configure_hooks: \"rel/hooks/pre_configure\"\n  set post_configure_hooks: \"rel/hooks/post_configure\"\n  set pre_start_hook: \"rel/hooks/one_pre_start.sh\"",
            )
        },
        &[
            ("rel/hooks/pre_configure/01_export.sh", &pre_configure),
            ("rel/hooks/post_configure/01_log.sh", &log_line("post_configure")),
            ("rel/hooks/one_pre_start.sh", &log_line("pre_start")),
            (
                "rel/config/config.exs",
                "import Config\nconfig :store, hook_value: System.get_env(\"STORE_FROM_HOOK\", \"unset\")\n",
            ),
        ],
    );
    relpack_ok(&root, &["build", "--no-tar"]);
    let release = root.join(RELEASE);
    ensure_epmd();
    let node = node_name("shop");
    let tmp = project.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let log = project.path().join("fg.log");
    let mut cmd = without_system_erlang(&release.join("bin/shop"), &["foreground"]);
    cmd.env("RELEASE_NODE", &node).env("RELEASE_TMP", &tmp);
    let mut child = spawn_logged(&mut cmd, &log);
    let answer = wait_for_rpc(
        &node,
        &cookie(&release),
        "application:get_env(store, hook_value)",
        Duration::from_secs(60),
    );
    terminate(&mut child);
    let answer = answer.unwrap_or_else(|| panic!("no answer; log:\n{}", read_log(&log)));
    assert_eq!(answer, "{ok,<<\"configured-by-hook\">>}");
    assert_eq!(
        std::fs::read_to_string(tmp.join("order")).unwrap(),
        "pre_configure\npost_configure\npre_start\n"
    );
    assert!(
        read_log(&log).contains("pre-start check"),
        "{}",
        read_log(&log)
    );
}

/// `run_erl_env` is in run_erl's environment when the release starts as
/// a daemon, and run_erl honours it (its log file size).
#[test]
fn run_erl_env_reaches_run_erl() {
    let (project, root) = distillery_with(
        |t| {
            in_release(
                t,
                "  set run_erl_env: \"RUN_ERL_LOG_MAXSIZE=100000 RUN_ERL_LOG_GENERATIONS=3\"",
            )
        },
        &[],
    );
    relpack_ok(&root, &["build", "--no-tar"]);
    let release = root.join(RELEASE);
    ensure_epmd();
    let node = node_name("shop");
    let tmp = project.path().join("tmp");
    let bin = release.join("bin/shop");
    let daemon = |command: &str| {
        run_ok(
            without_system_erlang(&bin, &[command])
                .env("RELEASE_NODE", &node)
                .env("RELEASE_TMP", &tmp),
        )
    };
    daemon("daemon");
    let pipe = tmp.join("pipe/");
    let run_erl: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.contains("run_erl") && cmdline.contains(pipe.to_str().unwrap())
        })
        .collect();
    let environ = run_erl
        .first()
        .map(|pid| std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default())
        .unwrap_or_default();
    daemon("stop");
    let environ = String::from_utf8_lossy(&environ).replace('\0', "\n");
    assert_eq!(run_erl.len(), 1, "run_erl processes: {run_erl:?}");
    assert!(
        environ.lines().any(|l| l == "RUN_ERL_LOG_MAXSIZE=100000"),
        "{environ}"
    );
    assert!(
        environ.lines().any(|l| l == "RUN_ERL_LOG_GENERATIONS=3"),
        "{environ}"
    );
    assert!(tmp.join("log/erlang.log.1").is_file());
}

/// A value run_erl cannot take as words is refused where it is set.
#[test]
fn run_erl_env_with_shell_code_is_refused() {
    let (_project, root) =
        distillery_with(|t| in_release(t, "  set run_erl_env: \"X=$(reboot)\""), &[]);
    let out = relpack(&root, &["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rel/config.exs:31: `run_erl_env` must be NAME=VALUE words"),
        "{stderr}"
    );
    assert!(!root.join(RELEASE).exists());
}

/// relpack runs no Distillery plugin: it says so for each, naming its
/// line, and the release still builds and boots; `--strict` makes it an
/// error with nothing written.
#[test]
fn plugins_are_warnings_and_errors_with_strict() {
    let (_project, root) = distillery_with(
        |t| in_release(t, "  plugin Shop.DigestPlugin, digest: true"),
        &[(
            "rel/plugins/digest.exs",
            "defmodule Shop.DigestPlugin do\n  use Distillery.Releases.Plugin\n  def before_assembly(release, _opts), do: release\nend\n",
        )],
    );
    let out = relpack(&root, &["build", "--no-tar"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("relpack: warning: ") && stderr.contains("rel/config.exs:31: plugin Shop.DigestPlugin: relpack does not run Distillery plugins"),
        "{stderr}"
    );
    let stdout = run_ok(&mut without_system_erlang(
        &root.join(RELEASE).join("bin/shop"),
        &["eval", "IO.puts(Store.stock())"],
    ));
    assert_eq!(stdout.trim(), "42");

    std::fs::remove_dir_all(root.join(RELEASE)).unwrap();
    let out = relpack(&root, &["build", "--strict"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("plugin Shop.DigestPlugin") && stderr.contains("--strict"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        !root.join(RELEASE).exists(),
        "--strict left a release behind"
    );
    let out = relpack(&root, &["config", "--strict"]);
    assert_eq!(out.status.code(), Some(1));
}

/// A blank cookie (`:""`, a placeholder committed in place of the secret)
/// is no cookie: a warning naming the line, and a generated cookie, as
/// Distillery's node got one of its own.
#[test]
fn a_blank_cookie_is_a_warning_and_a_generated_cookie() {
    let (_project, root) = distillery_with(
        |t| {
            t.replace(
                r#"set cookie: :"store-prod-cookie-#{String.upcase("ok")}""#,
                r#"set cookie: :"""#,
            )
        },
        &[],
    );
    let out = relpack(&root, &["build", "--no-tar"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "rel/config.exs:26: `cookie` is blank, so the release gets a generated cookie"
        ),
        "{stderr}"
    );
    let cookie = cookie(&root.join(RELEASE));
    assert_eq!(cookie.len(), 56, "{cookie}");
    let stdout = run_ok(&mut without_system_erlang(
        &root.join(RELEASE).join("bin/shop"),
        &["eval", "IO.puts(Store.stock())"],
    ));
    assert_eq!(stdout.trim(), "42");
}

/// Distillery's `config`: the release's application config is that file.
#[test]
fn config_option_names_the_application_config() {
    let (_project, root) = distillery_with(
        |t| in_release(t, "  set config: \"config/shop.exs\""),
        &[(
            "config/shop.exs",
            "import Config\nconfig :store, stock: 10, currency: \"CHF\"\n",
        )],
    );
    relpack_ok(&root, &["build", "--no-tar"]);
    let stdout = run_ok(&mut without_system_erlang(
        &root.join(RELEASE).join("bin/shop"),
        &["eval", "IO.puts(Application.get_env(:store, :currency))"],
    ));
    assert_eq!(stdout.trim(), "CHF");
}

/// A rel/config.exs beyond the native subset, as real ones are (a cookie
/// from a function of the file, an Erlang call): `elixir` runs it under
/// relpack's Distillery DSL, and the release has exactly those values.
#[test]
fn rel_config_beyond_the_native_subset_is_read_by_elixir() {
    let (_project, root) = distillery_with(
        |t| {
            in_release(
                t,
                "  set applications: Enum.map([:inets], & &1) ++ [runtime_tools: :load]",
            )
            .replace(
                "environment :prod do\n",
                "environment :prod do\n  set cookie: [\"shop\", Integer.to_string(:erlang.phash2(\"shop\"))] |> Enum.join(\"-\") |> String.to_atom()\n",
            )
        },
        &[],
    );
    let shown = relpack_ok(&root, &["config"]);
    assert!(shown.contains("release.evaluation = elixir"), "{shown}");
    // The environment's later `set cookie:` wins, as in Distillery.
    assert!(
        shown.contains("release.cookie = 'store-prod-cookie-OK'"),
        "{shown}"
    );
    relpack_ok(&root, &["build", "--no-tar"]);
    let release = root.join(RELEASE);
    let rel = std::fs::read_to_string(release.join("releases/1.3.0/shop.rel")).unwrap();
    assert!(
        rel.contains("{runtime_tools,\"") && rel.contains("\",load}"),
        "{rel}"
    );
    let stdout = run_ok(&mut without_system_erlang(
        &release.join("bin/shop"),
        &["eval", "IO.puts(Store.stock())"],
    ));
    assert_eq!(stdout.trim(), "42");
    // Without the fallback: the construct and its line.
    let out = relpack(&root, &["config", "--no-elixir"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rel/config.exs:") && stderr.contains("not in the subset"),
        "{stderr}"
    );
}

/// A mix.exs beyond the native subset (Erlang calls, `Enum`, a step
/// function): Mix itself loads the project; the values are mix's; a step
/// function runs; a function where relpack needs a value is named, not
/// skipped.
#[test]
fn mix_exs_beyond_the_native_subset_is_read_by_mix() {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    let mix_exs = root.join("mix.exs");
    let text = std::fs::read_to_string(&mix_exs).unwrap();
    let releases = "releases: [hello: [cookie: Enum.join([\"hello\", :erlang.phash2(1)], \"-\"), version: {:from_app, :hello}]],";
    let edited = text.replacen("deps: [", &format!("{releases}\n      deps: ["), 1);
    assert_ne!(edited, text, "the hello fixture's mix.exs has `deps: [`");
    std::fs::write(&mix_exs, &edited).unwrap();
    let expected_cookie = run_ok(Command::new("elixir").args([
        "-e",
        "IO.puts(Enum.join([\"hello\", :erlang.phash2(1)], \"-\"))",
    ]));
    relpack_ok(&root, &["build", "--no-tar"]);
    let release = root.join("_build/prod/rel/hello");
    assert_eq!(cookie(&release), expected_cookie.trim());
    let stdout = run_ok(&mut without_system_erlang(
        &release.join("bin/hello"),
        &["eval", "IO.puts(Hello.hello())"],
    ));
    assert_eq!(stdout.trim(), "world");

    // A standard library function as a step: Mix runs it (IO.inspect
    // prints the struct on standard error, and returns it).
    let with_step = edited.replace(
        "version: {:from_app, :hello}",
        "steps: [:assemble, &IO.inspect/1]",
    );
    std::fs::write(&mix_exs, &with_step).unwrap();
    let out = relpack(&root, &["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("%Mix.Release{"), "{stderr}");
    // A function where relpack needs a value is named, not skipped.
    let with_erts = edited.replace(
        "version: {:from_app, :hello}",
        "include_erts: &System.version/0",
    );
    std::fs::write(&mix_exs, with_erts).unwrap();
    let out = relpack(&root, &["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("mix.exs:") && stderr.contains("`include_erts` holds &System.version/0"),
        "{stderr}"
    );
}

/// Distillery's Elixir provider reading a file outside the release, as
/// operators keep runtime configuration: below a directory an environment
/// variable names at boot (`${SHOP_CONFIG}/shop.exs`), or at an absolute
/// path; a missing file stops the boot with a line naming it.
#[test]
fn config_provider_files_outside_the_release() {
    let project = compiled_fixture("distillery");
    let etc = project.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    let absolute = etc.join("absolute.exs");
    std::fs::write(
        &absolute,
        "import Config\nconfig :store, from_absolute: 11\n",
    )
    .unwrap();
    std::fs::write(
        etc.join("shop.exs"),
        "import Config\nconfig :store, from_env_dir: 7\n",
    )
    .unwrap();
    let root = project.path().join("distillery");
    let config = root.join("rel/config.exs");
    let text = std::fs::read_to_string(&config).unwrap();
    let providers = format!(
        "{{Mix.Releases.Config.Providers.Elixir, [\"${{SHOP_CONFIG}}/shop.exs\"]}},\n    {{Mix.Releases.Config.Providers.Elixir, [\"{}\"]}}",
        absolute.display()
    );
    let edited = text.replace(
        "{Distillery.Releases.Config.Providers.Elixir, [\"${RELEASE_ROOT_DIR}/etc/config.exs\"]}",
        &providers,
    );
    assert_ne!(edited, text);
    std::fs::write(&config, edited).unwrap();
    relpack_ok(&root, &["build", "--no-tar"]);
    let release = root.join(RELEASE);
    ensure_epmd();

    let boot = |config_dir: &Path, label: &str| {
        let node = node_name(label);
        let tmp = project.path().join(format!("tmp-{label}"));
        let log = project.path().join(format!("{label}.log"));
        let mut cmd = without_system_erlang(&release.join("bin/shop"), &["foreground"]);
        cmd.env("RELEASE_NODE", &node)
            .env("RELEASE_TMP", &tmp)
            .env("SHOP_CONFIG", config_dir);
        let mut child = spawn_logged(&mut cmd, &log);
        let answer = wait_for_rpc(
            &node,
            &cookie(&release),
            "{application:get_env(store, from_env_dir), application:get_env(store, from_absolute)}",
            Duration::from_secs(30),
        );
        terminate(&mut child);
        (answer, read_log(&log))
    };
    let (answer, log) = boot(&etc, "provided");
    assert_eq!(answer.as_deref(), Some("{{ok,7},{ok,11}}"), "{log}");
    let (answer, log) = boot(&project.path().join("nowhere"), "missing");
    assert_eq!(answer, None, "booted without its config file: {log}");
    assert!(log.contains("nowhere/shop.exs"), "{log}");
}
