//! `relpack check`: every fixture's release passes, as directory and as
//! tarball; deliberately broken copies fail, naming the problem.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Builds `dir`'s release; returns the scratch, release dir and tarball.
fn built(dir: &str) -> (Scratch, PathBuf, PathBuf) {
    let f = fixture(dir);
    let project = compiled_fixture(dir);
    let root = project.path().join(dir);
    let mut args = vec!["build"];
    args.extend(f.args);
    relpack_ok(&root, &args);
    let release = f.build_dir(&root).join("rel").join(f.release);
    let tarball = f.tarball(&root);
    (project, release, tarball)
}

/// Runs `relpack check` on `path`; returns (success, stdout + stderr).
fn check(path: &Path) -> (bool, String) {
    let out = relpack(Path::new("."), &["check", path.to_str().unwrap()]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn every_fixture_release_passes() {
    for f in FIXTURES {
        let (_s, release, tarball) = built(f.dir);
        for path in [&release, &tarball] {
            let (ok, out) = check(path);
            assert!(ok, "{}: {out}", path.display());
            assert!(
                out.contains(&format!("ok: {} {}", f.release, f.vsn)),
                "{out}"
            );
        }
    }
}

/// A copy of the hello release to break.
fn broken_copy() -> (Scratch, PathBuf) {
    let (s, release, _) = built("hello");
    let copy = s.path().join("broken");
    copy_dir(&release, &copy);
    (s, copy)
}

#[test]
fn missing_beam_is_named() {
    let (_s, rel) = broken_copy();
    std::fs::remove_file(rel.join("lib/hello-0.1.0/ebin/Elixir.Hello.Worker.beam")).unwrap();
    let (ok, out) = check(&rel);
    assert!(!ok);
    assert!(
        out.contains("Elixir.Hello.Worker.beam: missing: module of hello"),
        "{out}"
    );
}

#[test]
fn truncated_boot_file_is_named() {
    let (_s, rel) = broken_copy();
    let boot = rel.join("releases/0.1.0/start.boot");
    let bytes = std::fs::read(&boot).unwrap();
    std::fs::write(&boot, &bytes[..bytes.len() / 2]).unwrap();
    let (ok, out) = check(&rel);
    assert!(!ok);
    assert!(out.contains("start.boot: does not decode: byte"), "{out}");
}

#[test]
fn boot_not_matching_its_script_is_named() {
    let (_s, rel) = broken_copy();
    let script = rel.join("releases/0.1.0/start_clean.script");
    let text = std::fs::read_to_string(&script).unwrap();
    std::fs::write(
        &script,
        text.replace("{progress,started}", "{progress,other}"),
    )
    .unwrap();
    let (ok, out) = check(&rel);
    assert!(!ok);
    assert!(
        out.contains("start_clean.boot: does not match start_clean.script"),
        "{out}"
    );
}

#[test]
fn missing_app_dir_is_named() {
    let (_s, rel) = broken_copy();
    let vsn = installed().app_vsn("logger");
    std::fs::remove_dir_all(rel.join(format!("lib/logger-{vsn}"))).unwrap();
    let (ok, out) = check(&rel);
    assert!(!ok);
    assert!(
        out.contains(&format!(
            "lib/logger-{vsn}: missing: application logger {vsn} of the .rel"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "code path $RELEASE_LIB/logger-{vsn}/ebin does not exist"
        )),
        "{out}"
    );
}

#[test]
fn missing_erts_executable_and_readable_cookie_are_named() {
    use std::os::unix::fs::PermissionsExt;
    let (_s, rel) = broken_copy();
    let beam = format!("{}/bin/beam.smp", installed().erts_dir());
    std::fs::remove_file(rel.join(&beam)).unwrap();
    let cookie = rel.join("releases/COOKIE");
    std::fs::set_permissions(&cookie, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, out) = check(&rel);
    assert!(!ok);
    assert!(out.contains(&format!("{beam}: missing")), "{out}");
    assert!(out.contains("COOKIE: readable by others"), "{out}");
}

/// A launcher that starts IEx the way another Elixir does (Elixir 1.14's
/// `Elixir.IEx.CLI` beside 1.15 or later, or the reverse) is named.
#[test]
fn launcher_not_fitting_the_bundled_elixir_is_named() {
    let (_s, rel) = broken_copy();
    let launcher = rel.join("bin/hello");
    let text = std::fs::read_to_string(&launcher).unwrap();
    let user = installed().iex_user();
    let other = if user == "elixir" {
        "Elixir.IEx.CLI"
    } else {
        "elixir"
    };
    let wrong = text.replace(&format!("-user {user} "), &format!("-user {other} "));
    assert_ne!(wrong, text, "the launcher has no `-user {user}`");
    std::fs::write(&launcher, wrong).unwrap();
    let (ok, out) = check(&rel);
    assert!(!ok);
    assert!(
        out.contains(&format!(
            "bin/hello: starts IEx with `-user {other}`, which Elixir {}",
            installed().elixir
        )),
        "{out}"
    );
}

#[test]
fn links_and_escaping_entries_in_a_tarball_are_named() {
    let (s, rel) = broken_copy();
    std::os::unix::fs::symlink("/etc/passwd", rel.join("lib/hello-0.1.0/priv/evil")).unwrap();
    let tarball = s.path().join("evil.tar.gz");
    run_ok(
        Command::new("tar")
            .arg("czf")
            .arg(&tarball)
            .arg("-C")
            .arg(&rel)
            .args([
                ".",
                "--transform",
                "s,^./releases/COOKIE$,../COOKIE,",
                "--absolute-names",
            ]),
    );
    let (ok, out) = check(&tarball);
    assert!(!ok);
    assert!(out.contains("priv/evil` is a link"), "{out}");
    assert!(
        out.contains("entry `../COOKIE` escapes the release"),
        "{out}"
    );
}

#[test]
fn not_a_release_fails_cleanly() {
    let s = Scratch::new("not-a-release");
    let (ok, out) = check(s.path());
    assert!(!ok);
    assert!(
        out.contains("start_erl.data: missing: not a release directory"),
        "{out}"
    );
    let junk = s.path().join("junk.tar.gz");
    std::fs::write(&junk, b"not a tarball").unwrap();
    let (ok, out) = check(&junk);
    assert!(!ok);
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn every_format_relpack_writes_is_checked() {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    for (codec, ext) in [("gzip", "tar.gz"), ("zstd", "tar.zst"), ("none", "tar")] {
        relpack_ok(&root, &["build", "--compress", codec, "--executable"]);
        for file in [format!("hello-0.1.0.{ext}"), "hello-0.1.0.run".into()] {
            let path = root.join("_build/prod").join(&file);
            let (ok, out) = check(&path);
            assert!(
                ok && out.contains("ok: hello 0.1.0"),
                "{file} ({codec}): {out}"
            );
        }
    }
    // A tarball with a broken member is refused whatever its codec.
    let tar = root.join("_build/prod/hello-0.1.0.tar");
    let mut bytes = std::fs::read(&tar).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&tar, &bytes).unwrap();
    let (ok, out) = check(&tar);
    assert!(!ok, "{out}");
}

#[test]
fn the_release_inside_an_image_is_checked() {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    let dir = root.join("_build/hello-oci");
    let archive = root.join("_build/hello-oci.tar");
    for (format, out) in [("oci-dir", &dir), ("oci-archive", &archive)] {
        relpack_ok(
            &root,
            &["image", "--format", format, "--out", out.to_str().unwrap()],
        );
        let (ok, text) = check(out);
        assert!(ok && text.contains("ok: hello 0.1.0"), "{format}: {text}");
    }
    // A layer missing a module is found, named inside the image.
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let blob = |digest: &str| {
        dir.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(blob(index["manifests"][0]["digest"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    let last = manifest["layers"].as_array().unwrap().last().unwrap()["digest"]
        .as_str()
        .unwrap();
    let mut tar = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&std::fs::read(blob(last)).unwrap()[..]),
        &mut tar,
    )
    .unwrap();
    let mut kept = tar::Builder::new(Vec::new());
    for entry in tar::Archive::new(&tar[..]).entries().unwrap() {
        let mut entry = entry.unwrap();
        if !entry.path().unwrap().ends_with("ebin/Elixir.Hello.beam") {
            let mut header = entry.header().clone();
            let path = entry.path().unwrap().into_owned();
            kept.append_data(&mut header, path, &mut entry).unwrap();
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &kept.into_inner().unwrap()).unwrap();
    std::fs::write(blob(last), gz.finish().unwrap()).unwrap();
    let (ok, text) = check(&dir);
    assert!(!ok, "{text}");
    assert!(text.contains("Elixir.Hello.beam"), "{text}");
}
