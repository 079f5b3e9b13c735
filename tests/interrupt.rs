//! An interrupted build (SIGTERM/SIGINT at any moment) leaves no temporary
//! files, and the release directory, tarball and executable are each
//! either the previous good output or the new one, whole: `relpack check`
//! passes.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

#[test]
fn interrupted_builds_leave_whole_output_and_no_debris() {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    relpack_ok(&root, &["build", "--executable"]);
    let prod = root.join("_build/prod");
    let release = prod.join("rel/hello");
    let tarball = prod.join("hello-0.1.0.tar.gz");
    let executable = prod.join("hello-0.1.0.run");
    let mut interrupted = 0;
    for (i, delay_ms) in [20u64, 60, 120, 200, 300, 450].into_iter().enumerate() {
        let signal = if i % 2 == 0 { "-TERM" } else { "-INT" };
        let mut child = Command::new(env!("CARGO_BIN_EXE_relpack"))
            .args(["build", "--app", "runtime_tools=load", "--executable"])
            .current_dir(&root)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        run(Command::new("kill").arg(signal).arg(child.id().to_string()));
        let status = child.wait().unwrap();
        match status.code() {
            Some(143) | Some(130) => interrupted += 1,
            Some(0) => {}
            other => panic!("build ended with {other:?} after {signal} at {delay_ms} ms"),
        }
        for dir in [&prod, &prod.join("rel")] {
            let debris: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with('.'))
                .collect();
            assert!(
                debris.is_empty(),
                "left behind in {}: {debris:?}",
                dir.display()
            );
        }
        for path in [&release, &tarball, &executable] {
            let out = relpack(&root, &["check", path.to_str().unwrap()]);
            assert!(
                out.status.success(),
                "{} not whole after {signal} at {delay_ms} ms: {}",
                path.display(),
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
    assert!(
        interrupted > 0,
        "no build was actually interrupted; the test proved nothing"
    );
}
