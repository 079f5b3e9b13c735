//! Reproducible and incremental builds: the same compiled project gives a
//! byte-identical tarball from a clean output directory, in another
//! checkout, and when rebuilt from relpack's cache; a rebuild reuses what
//! did not change and recompresses only what did.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn tarball(root: &Path) -> PathBuf {
    root.join("_build/prod/hello-0.1.0.tar.gz")
}

/// Removes the release directory, the tarball and relpack's cache: what
/// a fresh build starts from (the project's remembered cookie stays).
fn clean_output(root: &Path) {
    for dir in ["_build/prod/rel", "_build/prod/relpack-cache"] {
        let _ = std::fs::remove_dir_all(root.join(dir));
    }
    let _ = std::fs::remove_file(tarball(root));
}

/// "(5.3 MB, 612 of 618 entries unchanged)" as (612, 618).
fn reuse(stdout: &str) -> (usize, usize) {
    let tail = stdout
        .split("MB, ")
        .nth(1)
        .unwrap_or_else(|| panic!("no tarball line: {stdout}"));
    let mut words = tail.split_whitespace();
    let reused = words.next().unwrap().parse().unwrap();
    assert_eq!(words.next(), Some("of"), "{stdout}");
    let total = words.next().unwrap().parse().unwrap();
    (reused, total)
}

/// A compiled hello built once: its scratch space, project root and
/// tarball bytes.
fn built_hello() -> (Scratch, PathBuf, Vec<u8>) {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    relpack_ok(&root, &["build"]);
    let bytes = std::fs::read(tarball(&root)).unwrap();
    (project, root, bytes)
}

#[test]
fn two_builds_from_a_clean_output_directory_are_byte_identical() {
    let (_project, root, first) = built_hello();
    let cookie = cookie(&root.join("_build/prod/rel/hello"));
    clean_output(&root);
    relpack_ok(&root, &["build"]);
    let second = std::fs::read(tarball(&root)).unwrap();
    assert!(first == second, "the tarballs differ");
    // The cookie was generated once and remembered in the project.
    assert_eq!(
        std::fs::read_to_string(root.join("_build/prod/relpack/COOKIE")).unwrap(),
        cookie
    );
}

#[test]
fn another_checkout_with_the_same_cookie_gives_the_same_tarball() {
    let a = compiled_fixture("hello");
    let b = compiled_fixture("hello");
    let args = ["build", "--cookie", "shared-secret-cookie"];
    for project in [&a, &b] {
        relpack_ok(&project.path().join("hello"), &args);
    }
    let tarballs: Vec<Vec<u8>> = [&a, &b]
        .iter()
        .map(|p| std::fs::read(tarball(&p.path().join("hello"))).unwrap())
        .collect();
    assert!(tarballs[0] == tarballs[1], "the tarballs differ");
    // Also with every cache and parallel piece bypassed.
    let root = a.path().join("hello");
    relpack_ok(
        &root,
        &["build", "--no-cache", "--cookie", "shared-secret-cookie"],
    );
    assert!(std::fs::read(tarball(&root)).unwrap() == tarballs[1]);
}

#[test]
fn source_date_epoch_sets_every_mtime() {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    let out = run(Command::new(env!("CARGO_BIN_EXE_relpack"))
        .arg("build")
        .current_dir(&root)
        .env("SOURCE_DATE_EPOCH", "1700000000"));
    assert!(out.status.success(), "{out:?}");
    let listing = run_ok(
        Command::new("tar")
            .args(["--full-time", "--numeric-owner", "-tvzf"])
            .arg(tarball(&root)),
    );
    assert!(listing.lines().count() > 100, "{listing}");
    for line in listing.lines() {
        assert!(line.contains(" 0/0 "), "not owned by 0:0: {line}");
        assert!(line.contains("2023-11-14 22:13:20"), "wrong mtime: {line}");
    }
}

#[test]
fn a_rebuild_reuses_unchanged_work_and_matches_a_fresh_build() {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    let (reused, total) = reuse(&relpack_ok(&root, &["build"]));
    assert_eq!(reused, 0);
    let first = std::fs::read(tarball(&root)).unwrap();

    // Nothing changed: everything reused, the same bytes.
    let (reused, again) = reuse(&relpack_ok(&root, &["build"]));
    assert_eq!((reused, again), (total, total));
    assert!(std::fs::read(tarball(&root)).unwrap() == first);

    // One module changed: recompiled by mix, only its directory's entries
    // are compressed again, and the result equals a build without cache.
    let source = root.join("lib/hello.ex");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, text.replace(":world", ":changed_world")).unwrap();
    run_ok(
        Command::new("mix")
            .arg("compile")
            .current_dir(&root)
            .env("MIX_ENV", "prod"),
    );
    let (reused, after) = reuse(&relpack_ok(&root, &["build"]));
    assert_eq!(after, total);
    assert!(
        reused > total * 9 / 10 && reused < total,
        "{reused} of {total} reused"
    );
    let incremental = std::fs::read(tarball(&root)).unwrap();
    assert!(incremental != first, "the change is not in the tarball");
    relpack_ok(&root, &["build", "--no-cache"]);
    assert!(std::fs::read(tarball(&root)).unwrap() == incremental);

    // And the changed release runs the new code.
    let unpacked = project.path().join("unpacked");
    unpack(&tarball(&root), &unpacked);
    let out = run_ok(&mut without_system_erlang(
        &unpacked.join("bin/hello"),
        &["eval", "IO.inspect(Hello.hello())"],
    ));
    assert_eq!(out.trim(), ":changed_world");
}

#[test]
fn a_damaged_cache_is_ignored() {
    let (_project, root, good) = built_hello();
    let cache = root.join("_build/prod/relpack-cache");
    // The cache is an index into the tarball, named for the codec and its
    // level; the compressed bytes are the tarball's own.
    let index = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "index"))
        .expect("an .index file in the cache");
    let cached: u64 = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(cached < good.len() as u64 / 10, "{cached} bytes cached");
    let pack = tarball(&root);
    // A tarball cut short: the entries pointing past its end are not reused.
    let len = std::fs::metadata(&pack).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&pack)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let (reused, total) = reuse(&relpack_ok(&root, &["build"]));
    assert!(reused < total, "{reused} of {total}");
    assert!(std::fs::read(tarball(&root)).unwrap() == good);
    // Bytes changed in place: detected, compressed afresh.
    relpack_ok(&root, &["build"]);
    let mut bytes = std::fs::read(&pack).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 64].fill(0x55);
    std::fs::write(&pack, bytes).unwrap();
    let (reused, total) = reuse(&relpack_ok(&root, &["build"]));
    assert!(reused < total, "{reused} of {total}");
    assert!(std::fs::read(tarball(&root)).unwrap() == good);
    // An index that is garbage: nothing reused, same bytes again.
    std::fs::write(&index, "garbage\n\0\u{1}").unwrap();
    let (reused, _) = reuse(&relpack_ok(&root, &["build"]));
    assert_eq!(reused, 0);
    assert!(std::fs::read(tarball(&root)).unwrap() == good);
}
