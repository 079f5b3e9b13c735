//! Load on the launcher: 50 concurrent `rpc` and `ping` calls against a
//! running release all answer correctly, and `stop` in the middle of 50
//! more leaves no process of the release behind (epmd excepted).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// Every process (but epmd) whose command line mentions `root`.
fn processes_of(root: &Path) -> Vec<String> {
    let needle = root.to_str().unwrap();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if entry.file_name().to_string_lossy().parse::<u32>().is_err() {
            continue;
        }
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        if line.contains(needle) && !line.contains("epmd") {
            found.push(format!("{}: {line}", entry.file_name().to_string_lossy()));
        }
    }
    found
}

#[test]
fn fifty_concurrent_calls_answer_and_stop_under_load_leaves_nothing() {
    ensure_epmd();
    let (_scratch, root) = package_with("hello", &[]);
    let node = node_name("load");
    let launcher = root.join("bin/hello");
    let call = |args: &[&str]| {
        run(Command::new(&launcher)
            .args(args)
            .env("RELEASE_NODE", &node))
    };
    let _guard = DaemonGuard(root.join("tmp/daemon.pid"));
    let started = call(&["daemon"]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );

    // Half rpc (each computes a distinct value on the node), half ping.
    let results: Vec<(usize, std::process::Output)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let call = &call;
                s.spawn(move || {
                    let expr = format!("IO.puts({i} * 7)");
                    let out = if i % 2 == 0 {
                        call(&["rpc", &expr])
                    } else {
                        call(&["ping"])
                    };
                    (i, out)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, out) in &results {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let expected = if i % 2 == 0 {
            (i * 7).to_string()
        } else {
            "pong".to_owned()
        };
        assert!(
            out.status.success() && stdout.trim() == expected,
            "call {i}: {} {stdout:?} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // `stop` while 50 more calls run: calls after the stop may fail, but
    // nothing may be left running once everything has returned.
    let stop = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let call = &call;
                s.spawn(move || {
                    if i % 2 == 0 {
                        call(&["rpc", "IO.puts(:ok)"])
                    } else {
                        call(&["ping"])
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let stop = call(&["stop"]);
        for h in handles {
            h.join().unwrap();
        }
        stop
    });
    assert!(
        stop.status.success(),
        "stop failed: {}",
        String::from_utf8_lossy(&stop.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&call(&["ping"]).stdout).trim(),
        "pang"
    );
    // Hidden nodes of late calls may take a moment to notice and exit.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut left = processes_of(&root);
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        left = processes_of(&root);
    }
    assert!(
        left.is_empty(),
        "left running after stop:\n{}",
        left.join("\n")
    );
}
