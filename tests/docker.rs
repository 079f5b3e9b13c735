//! The Docker builder-stage recipe, `examples/docker/Dockerfile`, carried
//! out without a Docker engine: the builder stage's relpack line runs as
//! written (only its output paths moved), and the final stage is a minimal
//! Debian rootfs (debootstrap minbase) with exactly the packages relpack
//! reported. The release boots there; leaving out a reported package
//! (libssl3 for crypto) makes it fail, so the report is needed and
//! sufficient.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// The builder stage's `RUN relpack build ...` line of the Dockerfile.
fn dockerfile_relpack_line() -> String {
    let text = std::fs::read_to_string(Path::new(REPO).join("examples/docker/Dockerfile")).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("RUN relpack build "))
        .collect();
    assert_eq!(lines.len(), 1, "expected one `RUN relpack build` line");
    format!("relpack build {}", lines[0])
}

/// Runs the Dockerfile's relpack line on a compiled fixture; returns the
/// scratch, the release directory and the package list it wrote.
fn builder_stage(dir: &str) -> (Scratch, PathBuf, Vec<String>) {
    let project = compiled_fixture(dir);
    let release = project.path().join("release");
    let packages_file = project.path().join("release-packages.txt");
    let line = dockerfile_relpack_line()
        .replace("/release-packages.txt", "\u{0}")
        .replace("/release", release.to_str().unwrap())
        .replace('\u{0}', packages_file.to_str().unwrap());
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_relpack")).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    run_ok(
        std::process::Command::new("sh")
            .args(["-c", &line])
            .current_dir(project.path().join(dir))
            .env("PATH", path),
    );
    let packages: Vec<String> = std::fs::read_to_string(&packages_file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(!packages.is_empty());
    (project, release, packages)
}

fn installed(rootfs: &Path, package: &str) -> bool {
    let out = chroot(rootfs, "dpkg-query", &["-W", "-f=${Status}", package]);
    String::from_utf8_lossy(&out.stdout) == "install ok installed"
}

/// Copies `release` into `rootfs` and runs `bin/<name> eval EXPR` there.
fn eval_in(rootfs: &Path, release: &Path, name: &str, expr: &str) -> std::process::Output {
    let opt = format!("opt/relpack-docker-{}-{name}", std::process::id());
    let _cleanup = Scratch(rootfs.join(&opt));
    copy_dir(release, &rootfs.join(&opt));
    chroot(rootfs, &format!("/{opt}/bin/{name}"), &["eval", expr])
}

fn boots_with_reported_packages(dir: &str) -> Vec<String> {
    let f = fixture(dir);
    let (_scratch, release, packages) = builder_stage(dir);
    let rootfs = rootfs_with(&packages);
    assert!(!rootfs.join("usr/lib/erlang").exists());
    for p in &packages {
        assert!(
            installed(&rootfs, p),
            "{p} is not installed in {}",
            rootfs.display()
        );
    }
    let out = eval_in(&rootfs, &release, f.release, f.eval.0);
    assert_printed(&out, f.eval.1);
    packages
}

/// OpenSSL 3's Debian package: `libssl3`, `libssl3t64` since the 64-bit
/// time transition (trixie and later).
fn libssl(packages: &[String]) -> Option<String> {
    packages.iter().find(|p| p.starts_with("libssl3")).cloned()
}

#[test]
fn crypto_release_boots_with_exactly_the_reported_packages() {
    let packages = boots_with_reported_packages("crypto");
    assert!(libssl(&packages).is_some(), "{packages:?}");
}

#[test]
fn nif_release_boots_with_exactly_the_reported_packages() {
    let packages = boots_with_reported_packages("nif");
    assert!(packages.contains(&"libstdc++6".to_owned()), "{packages:?}");
}

#[test]
fn crypto_release_fails_without_a_reported_package() {
    let f = fixture("crypto");
    let (_scratch, release, packages) = builder_stage("crypto");
    let base = rootfs();
    let libssl = libssl(&packages).expect("OpenSSL among the reported packages");
    for p in packages.iter().filter(|p| **p != libssl) {
        assert!(installed(&base, p), "{p} missing from the base rootfs");
    }
    // Bookworm's minbase has no OpenSSL; newer ones have it (apt's own
    // needs): there its library is hidden, as if the package were not
    // installed.
    let hidden = installed(&base, &libssl).then(|| {
        let lib = run_ok(Command::new("chroot").arg(&base).args([
            "sh",
            "-c",
            "dpkg-query -L \"$0\" | grep '/libcrypto\\.so\\.3$'",
            &libssl,
        ]));
        lib.lines()
            .next()
            .expect("libcrypto.so.3 in OpenSSL's package")
            .to_owned()
    });
    let opt = format!("opt/relpack-docker-{}-crypto", std::process::id());
    let _cleanup = Scratch(base.join(&opt));
    copy_dir(&release, &base.join(&opt));
    let hide = hidden.map_or_else(String::new, |lib| {
        format!("mount --bind /dev/null \"$0{lib}\" && ")
    });
    let out = run(Command::new("unshare")
        .args(["-m", "sh", "-c"])
        .arg(format!("{hide}exec chroot \"$0\" \"$@\""))
        .arg(&base)
        .arg(format!("/{opt}/bin/{}", f.release))
        .args(["eval", f.eval.0])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", "/root")
        .env("LANG", "C.UTF-8"));
    // The loader's reason reaches OTP's logger, which prints to stdout.
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "booted without {libssl}");
    assert!(output.contains("libcrypto.so.3"), "{output}");
}
