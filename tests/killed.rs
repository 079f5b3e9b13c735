//! Runs killed with SIGKILL (a CI timeout, the OOM killer, a cancelled
//! job: no clean-up runs) leave temporaries; the next run removes those
//! of dead runs beside what it writes, never a live run's, and `relpack
//! clean` finds and removes them anywhere under `_build`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// relpack's temporaries and lock files in `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    leftovers_by(dir, |n| n.contains(".relpack-"))
}

/// Every leftover in the directories a build writes to.
fn all_leftovers(prod: &Path) -> Vec<String> {
    [prod.to_owned(), prod.join("rel"), prod.join("relpack")]
        .iter()
        .flat_map(|d| leftovers(d))
        .collect()
}

fn relpack_command(root: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_relpack"));
    cmd.args(args)
        .current_dir(root)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd
}

/// Kills runs of `args` with SIGKILL at `points` fractions of a normal
/// run's time; returns how many were killed before they finished and how
/// many of those left temporaries in `prod` (each run sweeps what the
/// killed ones before it left, so they do not pile up).
fn kill_at_points(root: &Path, args: &[&str], normal: Duration, points: usize) -> (usize, usize) {
    let (mut killed, mut left) = (0, 0);
    let prod = root.join("_build/prod");
    for k in 0..points {
        let delay = normal.mul_f64(k as f64 / points as f64) + Duration::from_millis(2);
        let mut child = relpack_command(root, args).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .output();
        let status = child.wait().unwrap();
        if status.code().is_none() {
            killed += 1;
            // A temporary, or at least its lock file.
            if !all_leftovers(&prod).is_empty() {
                left += 1;
            }
        }
    }
    (killed, left)
}

fn timed(root: &Path, args: &[&str]) -> Duration {
    let start = Instant::now();
    let status = relpack_command(root, args).status().unwrap();
    assert!(status.success(), "relpack {args:?} failed");
    start.elapsed()
}

fn checks(root: &Path, path: &Path) {
    let out = relpack(root, &["check", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn killed_runs_leave_nothing_after_the_next_run() {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    let prod = root.join("_build/prod");
    let kinds: [(&str, &[&str]); 3] = [
        ("build", &["build", "--no-cache"]),
        ("executable", &["build", "--executable", "--no-cache"]),
        ("image", &["image", "--no-cache"]),
    ];
    for (kind, args) in kinds {
        // A normal run first, to scale the kill points to its length
        // (compression and the final renames included).
        let normal = timed(&root, args);
        let (killed, left) = kill_at_points(&root, args, normal, 12);
        assert!(killed > 3, "{kind}: only {killed} runs were killed");
        assert!(
            left > 0,
            "{kind}: {killed} killed runs left nothing: the test proves nothing"
        );
        let debris = all_leftovers(&prod);
        // One normal run removes what the dead runs left beside its outputs.
        timed(&root, args);
        assert_eq!(
            all_leftovers(&prod),
            Vec::<String>::new(),
            "{kind}: {debris:?}"
        );
        checks(&root, &prod.join("rel/hello"));
        checks(&root, &prod.join("hello-0.1.0.tar.gz"));
        if kind == "executable" {
            checks(&root, &prod.join("hello-0.1.0.run"));
        }
        if kind == "image" {
            checks(&root, &prod.join("hello-0.1.0-oci.tar"));
        }
    }
}

/// A live run's temporaries survive another run's sweep: the live run is
/// stopped (SIGSTOP) while it holds some, and the other run builds.
#[test]
fn a_live_runs_temporaries_are_left_alone() {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    let prod = root.join("_build/prod");
    let args = ["build", "--executable", "--no-cache"];
    timed(&root, &args);
    let mut live = relpack_command(&root, &args).spawn().unwrap();
    let pid = live.id().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let held = loop {
        let found = all_leftovers(&prod);
        if found.iter().any(|n| !n.ends_with(".lock")) {
            run(Command::new("kill").args(["-STOP", &pid]));
            // What it holds once stopped (it may have moved on meanwhile).
            let found = all_leftovers(&prod);
            if found.iter().any(|n| !n.ends_with(".lock")) {
                break found;
            }
            run(Command::new("kill").args(["-CONT", &pid]));
        }
        assert!(
            Instant::now() < deadline,
            "the live run never showed a temporary"
        );
        if live.try_wait().unwrap().is_some() {
            live = relpack_command(&root, &args).spawn().unwrap();
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let pid = live.id().to_string();
    // Another run, and `relpack clean`, while it is stopped.
    timed(&root, &args);
    let cleaned = relpack_ok(&root, &["clean"]);
    let still = all_leftovers(&prod);
    run(Command::new("kill").args(["-CONT", &pid]));
    let status = live.wait().unwrap();
    assert!(status.success(), "the live run failed after its pause");
    for name in &held {
        assert!(
            still.contains(name),
            "{name} of the live run was removed; left: {still:?}"
        );
    }
    assert!(cleaned.contains("removed 0 leftover(s)"), "{cleaned}");
    assert_eq!(all_leftovers(&prod), Vec::<String>::new());
    checks(&root, &prod.join("hello-0.1.0.run"));
}

/// `relpack clean` lists (`--dry-run`) and removes leftovers of dead runs
/// anywhere under `_build`, with their sizes.
#[test]
fn clean_reports_and_removes_leftovers() {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    let prod = root.join("_build/prod");
    let args = ["build", "--no-cache"];
    let normal = timed(&root, &args);
    let (killed, _) = kill_at_points(&root, &args, normal, 8);
    assert!(killed > 2, "only {killed} runs were killed");
    // Also where no later build writes: a directory of its own.
    let elsewhere: PathBuf = root.join("_build/staging");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join(".x.tar.gz.relpack-1x1-1"), vec![0u8; 1000]).unwrap();
    let before = all_leftovers(&prod).len() + 1;
    let listed: serde_json::Value =
        serde_json::from_str(&relpack_ok(&root, &["clean", "--dry-run", "--json"])).unwrap();
    let found = listed["leftovers"].as_array().unwrap();
    assert_eq!(found.len(), before, "{listed}");
    assert!(listed["bytes"].as_u64().unwrap() >= 1000);
    assert_eq!(listed["removed"], false);
    assert_eq!(
        all_leftovers(&prod).len() + 1,
        before,
        "--dry-run removed something"
    );
    let removed = relpack_ok(&root, &["clean"]);
    assert!(
        removed.contains(&format!("removed {before} leftover(s)")),
        "{removed}"
    );
    assert_eq!(all_leftovers(&prod), Vec::<String>::new());
    assert_eq!(leftovers(&elsewhere), Vec::<String>::new());
}

/// A one-file executable's first run killed half-way through extracting
/// leaves a temporary directory; the next run that extracts removes those
/// whose shell is gone (PID, start time and boot, read from /proc), not a
/// live one's.
#[test]
fn killed_extractions_of_an_executable_are_swept() {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    relpack_ok(&root, &["build", "--executable"]);
    let exe = root.join("_build/prod/hello-0.1.0.run");
    let cache = project.path().join("cache");
    let first_run = |cache: &Path| {
        let mut cmd = Command::new(&exe);
        cmd.arg("--relpack-extract-only")
            .env("RELPACK_EXTRACT_DIR", cache)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd
    };
    let temporaries = |cache: &Path| -> Vec<String> { leftovers_by(cache, |n| n.starts_with('.')) };
    let extraction_gone = |cache: &Path| {
        for e in std::fs::read_dir(cache).unwrap().flatten() {
            if !e.file_name().to_string_lossy().starts_with('.') {
                std::fs::remove_dir_all(e.path()).unwrap();
            }
        }
    };
    let start = Instant::now();
    assert!(first_run(&cache).status().unwrap().success());
    let normal = start.elapsed();
    let (mut killed, mut left) = (0, 0);
    for k in 0..12 {
        extraction_gone(&cache);
        let before = temporaries(&cache).len();
        let mut child = first_run(&cache).spawn().unwrap();
        std::thread::sleep(normal.mul_f64(k as f64 / 12.0) + Duration::from_millis(2));
        let _ = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .output();
        if child.wait().unwrap().code().is_none() {
            killed += 1;
            // Its tar and gzip may still be writing: let them end.
            std::thread::sleep(Duration::from_millis(300));
            if temporaries(&cache).len() > before {
                left += 1;
            }
        }
    }
    assert!(killed > 3, "only {killed} runs were killed");
    // (A run that extracted swept what the killed ones before it left.)
    assert!(
        left > 0,
        "{killed} killed runs left nothing: the test proves nothing"
    );
    let debris = temporaries(&cache);
    // A live extraction: a directory named for a running process (this
    // test's), which no sweep may take.
    let me = std::process::id();
    let stat = std::fs::read_to_string(format!("/proc/{me}/stat")).unwrap();
    let started = stat
        .rsplit(") ")
        .next()
        .unwrap()
        .split(' ')
        .nth(19)
        .unwrap()
        .to_owned();
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let live = format!(".hello-live.o{me}_{started}_{}.abcdef", &boot[..8]);
    std::fs::create_dir(cache.join(&live)).unwrap();
    extraction_gone(&cache);
    assert!(first_run(&cache).status().unwrap().success());
    assert_eq!(temporaries(&cache), vec![live], "after: {debris:?}");
}

/// Entries of `dir` whose names pass `keep`, sorted.
fn leftovers_by(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| keep(n))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
