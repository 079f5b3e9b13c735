//! `relpack inspect --json` against the plan the library resolves for the
//! same project, and the runtime libraries it reports for a real NIF.

mod common;

use common::*;

#[test]
fn inspect_json_matches_the_resolved_plan() {
    let project = compiled_fixture("nif");
    let root = project.path().join("nif");
    let json: serde_json::Value =
        serde_json::from_str(&relpack_ok(&root, &["inspect", "--json"])).unwrap();

    let plan = relpack::plan(&relpack::BuildOptions::new(&root)).unwrap();
    let apps = json["apps"].as_array().unwrap();
    assert_eq!(apps.len(), plan.apps().len());
    for (a, p) in apps.iter().zip(plan.apps()) {
        assert_eq!(a["name"], p.name());
        assert_eq!(a["vsn"], p.vsn());
        assert_eq!(a["start_type"], p.start_type().to_string());
    }
    let order: Vec<&str> = json["boot_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let pos = |n: &str| order.iter().position(|o| *o == n).unwrap();
    assert!(
        pos("kernel") < pos("jiffy")
            && pos("xmerl") < pos("jiffy")
            && pos("jiffy") < pos("nif_app")
    );
    let jiffy = apps.iter().find(|a| a["name"] == "jiffy").unwrap();
    assert_eq!(jiffy["required_by"], serde_json::json!(["nif_app"]));
    assert_eq!(jiffy["origin"], "otp");
    assert!(json["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().starts_with("xmerl ")));

    // jiffy's NIF is C++: the target needs libstdc++ (Debian libstdc++6).
    let deps = json["runtime_deps"].as_array().unwrap();
    let stdcpp = deps
        .iter()
        .find(|d| d["soname"] == "libstdc++.so.6")
        .unwrap();
    assert_eq!(stdcpp["package"], "libstdc++6");
    assert!(stdcpp["needed_by"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| *n == format!("lib/jiffy-{}/priv/jiffy.so", installed().app_vsn("jiffy"))));
    // ERTS opens libsctp with dlopen; an ERTS that warns at every node's
    // start without it (OTP 29's) needs it on the target (Debian libsctp1).
    let erts = std::fs::read(
        installed()
            .otp_root
            .join(installed().erts_dir())
            .join("bin/beam.smp"),
    )
    .unwrap();
    let warns = erts
        .windows(32)
        .any(|w| w == b"Failed open sctp dynamic library");
    let sctp = deps.iter().find(|d| d["soname"] == "libsctp.so.1");
    assert_eq!(sctp.is_some(), warns, "{deps:?}");
    if let Some(sctp) = sctp {
        assert!(sctp["needed_by"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().ends_with("/bin/beam.smp")));
    }
    let sizes = &json["sizes"];
    assert!(sizes["erts"].as_u64().unwrap() > 1_000_000);
    assert_eq!(
        sizes["total"].as_u64().unwrap(),
        ["erts", "otp_apps", "elixir_apps", "project_apps"]
            .iter()
            .map(|k| sizes[*k].as_u64().unwrap())
            .sum::<u64>()
    );
}

/// `build --json` reports what was written; `--quiet` prints nothing.
#[test]
fn build_json_reports_what_was_written() {
    let project = compiled_fixture("crypto");
    let root = project.path().join("crypto");
    let json: serde_json::Value =
        serde_json::from_str(&relpack_ok(&root, &["build", "--json"])).unwrap();
    assert_eq!(json["name"], "crypto_app");
    assert_eq!(json["version"], "0.1.0");
    // Paths are as relpack was given them: here relative to the project.
    let tarball = root.join(json["tarball"]["path"].as_str().unwrap());
    assert_eq!(
        json["tarball"]["size"].as_u64().unwrap(),
        std::fs::metadata(tarball).unwrap().len()
    );
    assert!(root
        .join(json["release_dir"].as_str().unwrap())
        .join("bin/crypto_app")
        .is_file());
    let phases: Vec<&str> = json["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["plan", "write", "publish"]);
    let packages = relpack_ok(&root, &["inspect", "--packages"]);
    let listed: Vec<&str> = packages.lines().collect();
    assert_eq!(json["packages"], serde_json::json!(listed));
    // libssl3t64 since the 64-bit time transition (trixie and later).
    assert!(
        listed.iter().any(|p| p.starts_with("libssl3")),
        "{listed:?}"
    );

    let quiet = relpack(&root, &["build", "--quiet"]);
    assert!(quiet.status.success());
    assert!(quiet.stdout.is_empty() && quiet.stderr.is_empty());
}

/// `relpack inspect` points at the project's BEAMs that carry the build
/// directory's absolute path as shipped (rebar3's, unstripped), and is
/// quiet once they are compiled `deterministic`, or stripped as mix
/// strips them; it says where the nodes get their cookie.
#[test]
fn inspect_points_at_beams_with_absolute_build_paths() {
    let warnings = |root: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["inspect", "--json"];
        args.extend(extra);
        let json: serde_json::Value = serde_json::from_str(&relpack_ok(root, &args)).unwrap();
        json["warnings"].to_string()
    };
    let project = compiled_fixture("rebar_hello");
    let root = project.path().join("rebar_hello");
    let text = warnings(&root, &[]);
    assert!(
        text.contains("BEAMs record the absolute path of their source")
            && text.contains("/src/rebar_hello_app.erl")
            && text.contains("deterministic"),
        "{text}"
    );
    std::fs::remove_dir_all(root.join("_build")).unwrap();
    run_ok(
        std::process::Command::new("rebar3")
            .arg("compile")
            .current_dir(&root)
            .env("ERL_COMPILER_OPTIONS", "deterministic"),
    );
    assert!(!warnings(&root, &[]).contains("absolute path of"));

    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    assert!(!warnings(&root, &[]).contains("absolute path of"));
    assert!(warnings(&root, &["--no-strip-beams"]).contains("absolute path of"));
    let json: serde_json::Value =
        serde_json::from_str(&relpack_ok(&root, &["inspect", "--json"])).unwrap();
    let cookie = json["cookie"].as_str().unwrap();
    assert!(
        cookie.contains("an image carries none") && cookie.contains("shared"),
        "{cookie}"
    );
}
