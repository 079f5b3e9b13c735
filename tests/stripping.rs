//! BEAM stripping, the MANIFEST and the tarball codecs, checked on real
//! releases: chunks inspected with OTP's own `beam_lib`, releases booted
//! with the system Erlang hidden, the gzip tarball unpacked by OTP's
//! `erl_tar` as `release_handler` does.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// Builds hello with `args`, unpacks the tarball (`tar_flags` tell `tar`
/// how it is compressed) and returns the scratch space and the release.
fn release(args: &[&str], tarball: &str, tar_flags: &[&str]) -> (Scratch, PathBuf) {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    let mut all = vec!["build"];
    all.extend(args);
    relpack_ok(&root, &all);
    let unpacked = project.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    run_ok(
        Command::new("tar")
            .args(tar_flags)
            .arg(root.join("_build/prod").join(tarball))
            .arg("-C")
            .arg(&unpacked),
    );
    (project, unpacked)
}

/// Runs `code` in the host's `erl` with `Dir` bound to the release root.
fn erl(release: &Path, code: &str) -> String {
    require("erl", "apt-get install erlang");
    let expr = format!(
        "Dir = \"{}\", io:format(\"~s\", [begin {code} end]), halt().",
        release.display()
    );
    run_ok(Command::new("erl").args(["-noshell", "-eval", &expr]))
}

/// For every BEAM of the release: "beams=N with=M attributes=K", where M
/// counts the files holding chunk `id` and K those whose attributes
/// `beam_lib` reads.
fn chunk_census(release: &Path, id: &str) -> String {
    erl(
        release,
        &format!(
            "Beams = filelib:wildcard(Dir ++ \"/lib/*/ebin/*.beam\") ++ \
               filelib:wildcard(Dir ++ \"/releases/*/consolidated/*.beam\"), \
             Ids = [begin {{ok, _, Cs}} = beam_lib:all_chunks(F), [I || {{I, _}} <- Cs] end || F <- Beams], \
             Attrs = [ok || F <- Beams, element(1, beam_lib:chunks(F, [attributes])) =:= ok], \
             io_lib:format(\"beams=~b with=~b attributes=~b\", \
               [length(Beams), length([x || I <- Ids, lists:member(\"{id}\", I)]), length(Attrs)])"
        ),
    )
}

fn census(text: &str) -> (usize, usize, usize) {
    let n: Vec<usize> = text
        .split_whitespace()
        .map(|kv| kv.split_once('=').unwrap().1.parse().unwrap())
        .collect();
    (n[0], n[1], n[2])
}

fn eval(release: &Path, expr: &str) -> String {
    run_ok(&mut without_system_erlang(
        &release.join("bin/hello"),
        &["eval", expr],
    ))
    .trim()
    .to_owned()
}

#[test]
fn stripped_beams_keep_what_the_runtime_needs_and_still_boot() {
    let (_s, rel) = release(&[], "hello-0.1.0.tar.gz", &["-xzf"]);
    for gone in ["Dbgi", "Docs", "ExCk", "CInf"] {
        let (beams, with, _) = census(&chunk_census(&rel, gone));
        assert!(beams > 500, "only {beams} BEAM files");
        assert_eq!(with, 0, "{with} BEAM files still have {gone}");
    }
    for kept in ["Code", "Attr", "AtU8", "ImpT", "ExpT", "LitT", "Line"] {
        let (beams, with, attributes) = census(&chunk_census(&rel, kept));
        assert_eq!(attributes, beams, "beam_lib cannot read attributes");
        if kept == "Code" || kept == "Attr" {
            assert_eq!(with, beams, "BEAM files without {kept}");
        }
    }
    // Attributes read at run time (no beam_lib), docs gone.
    assert_eq!(
        eval(
            &rel,
            "IO.inspect({Hello.__info__(:attributes)[:relpack_marker], Code.fetch_docs(Hello), Hello.hello()})"
        ),
        "{[:kept], {:error, :chunk_not_found}, :world}"
    );
}

#[test]
fn keep_chunk_and_no_strip_beams() {
    let (_s, rel) = release(&["--keep-chunk", "Docs"], "hello-0.1.0.tar.gz", &["-xzf"]);
    let (beams, with, _) = census(&chunk_census(&rel, "Docs"));
    let (_, dbgi, _) = census(&chunk_census(&rel, "Dbgi"));
    // Elixir's modules have docs (Debian's OTP modules have none).
    assert!(
        with > beams / 3 && dbgi == 0,
        "Docs in {with} of {beams}, Dbgi in {dbgi}"
    );
    assert_eq!(
        eval(
            &rel,
            "{:docs_v1, _, _, _, doc, _, _} = Code.fetch_docs(Hello); IO.inspect(is_map(doc))"
        ),
        "true"
    );

    let (_s, rel) = release(&["--no-strip-beams"], "hello-0.1.0.tar.gz", &["-xzf"]);
    let (beams, dbgi, _) = census(&chunk_census(&rel, "Dbgi"));
    assert!(dbgi > beams / 2, "Dbgi in {dbgi} of {beams}");
    assert_eq!(eval(&rel, "IO.inspect(Hello.hello())"), ":world");
}

#[test]
fn manifest_lists_every_file_but_the_cookie() {
    let (_s, rel) = release(&[], "hello-0.1.0.tar.gz", &["-xzf"]);
    let manifest = std::fs::read_to_string(rel.join("releases/0.1.0/MANIFEST")).unwrap();
    let out = run_ok(
        Command::new("sha256sum")
            .args(["--check", "--strict", "releases/0.1.0/MANIFEST"])
            .current_dir(&rel),
    );
    assert_eq!(out.lines().count(), manifest.lines().count());
    let files = run_ok(
        Command::new("find")
            .args([".", "-type", "f"])
            .current_dir(&rel),
    );
    // Every file but the cookie and the manifest itself.
    assert_eq!(manifest.lines().count(), files.lines().count() - 2);
    assert!(!manifest.contains("COOKIE"));
    assert!(manifest.contains(&format!("  {}/bin/beam.smp\n", installed().erts_dir())));
}

#[test]
fn otp_erl_tar_unpacks_the_gzip_tarball() {
    let project = compiled_fixture("hello");
    let root = project.path().join("hello");
    relpack_ok(&root, &["build"]);
    let dest = project.path().join("by-erl-tar");
    let tarball = root.join("_build/prod/hello-0.1.0.tar.gz");
    let out = erl(
        &dest,
        &format!(
            "ok = erl_tar:extract(\"{}\", [compressed, {{cwd, Dir}}]), \"extracted\"",
            tarball.display()
        ),
    );
    assert_eq!(out, "extracted");
    assert_eq!(eval(&dest, "IO.inspect(Hello.hello())"), ":world");
}

#[test]
fn zstd_and_uncompressed_tarballs_boot() {
    require("zstd", "apt-get install zstd");
    let (_s, rel) = release(
        &["--compress", "zstd"],
        "hello-0.1.0.tar.zst",
        &["--zstd", "-xf"],
    );
    assert_eq!(eval(&rel, "IO.inspect(Hello.hello())"), ":world");
    let (_s, rel) = release(&["--compress", "none"], "hello-0.1.0.tar", &["-xf"]);
    assert_eq!(eval(&rel, "IO.inspect(Hello.hello())"), ":world");
}
