//! relpack as a library, end to end: a build cancelled through its own
//! `Cancel` writes nothing and leaves the next build in the same process
//! alone; the entry time and the thread count are inputs that change
//! nothing else; the report serializes; the release boots unpacked with
//! the system Erlang hidden.

mod common;

use std::path::Path;

use common::*;

fn options(root: &Path) -> relpack::BuildOptions {
    let mut options = relpack::BuildOptions::new(root);
    options.cookie = Some("library-test-cookie".into());
    options
}

#[test]
fn a_cancelled_build_writes_nothing_and_the_next_one_boots() {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    let release = root.join("_build/prod/rel/hello");
    let tarball = root.join("_build/prod/hello-0.1.0.tar.gz");

    let cancelled = options(&root);
    let plan = relpack::plan(&cancelled).unwrap();
    cancelled.cancel.cancel(15);
    match relpack::write(&plan) {
        Err(relpack::Error::Interrupted(15)) => {}
        other => panic!("a cancelled build gave {other:?}"),
    }
    assert!(
        !release.exists() && !tarball.exists(),
        "a cancelled build wrote output"
    );
    let leftovers: Vec<_> = std::fs::read_dir(root.join("_build/prod"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".relpack-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // The same process, a new build with its own handle.
    let mut fresh = options(&root);
    fresh.mtime = Some(1_234_567_890);
    fresh.jobs = Some(1);
    let report = relpack::build(&fresh).unwrap();
    let one_job = std::fs::read(&tarball).unwrap();
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["name"], "hello");
    assert_eq!(json["tarball"]["path"], tarball.to_str().unwrap());
    assert_eq!(json["tarball"]["size"], one_job.len() as u64);

    // Every entry carries the given time.
    let mut gz = flate2::read::GzDecoder::new(&one_job[..]);
    let mut tar = Vec::new();
    std::io::Read::read_to_end(&mut gz, &mut tar).unwrap();
    for entry in tar::Archive::new(&tar[..]).entries().unwrap() {
        let entry = entry.unwrap();
        assert_eq!(entry.header().mtime().unwrap(), 1_234_567_890);
    }

    // More threads, same bytes.
    fresh.jobs = Some(4);
    fresh.cache = false;
    relpack::build(&fresh).unwrap();
    assert!(
        std::fs::read(&tarball).unwrap() == one_job,
        "jobs changed the tarball"
    );

    let unpacked = project.path().join("unpacked");
    unpack(&tarball, &unpacked);
    let out = run_ok(&mut without_system_erlang(
        &unpacked.join("bin/hello"),
        &["eval", "IO.puts(Hello.hello())"],
    ));
    assert_eq!(out.trim(), "world");
}
