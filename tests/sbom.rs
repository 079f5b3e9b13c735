//! `relpack sbom` of a release directory, its tarball and its one-file
//! executable: valid CycloneDX 1.6 (CycloneDX's own validator) that
//! lib4sbom reads, the same for all three and from run to run, with a
//! Hex package's URL, checksum and licence from `mix.lock` and its
//! `hex_metadata.config`, and the dependency graph of the `.app` files.

mod common;

use common::*;

#[test]
fn sbom_of_a_release_its_tarball_and_executable() {
    let project = compiled_fixture("web");
    let root = project.path().join("web");
    // web_greeting as Hex would have fetched it: locked with the tarball's
    // checksum, with the metadata Hex unpacks beside it.
    let checksum = "3e5b2c2bd4f4bd1b3b1c4bd69a9ee2f4f0a7c1f1d2e3f4a5b6c7d8e9f0a1b2c3";
    std::fs::write(
        root.join("mix.lock"),
        format!(
            "%{{\n  \"web_greeting\": {{:hex, :web_greeting, \"1.2.0\", \"00\", [:mix], [], \"hexpm\", \"{}\"}},\n}}\n",
            checksum.to_uppercase()
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("deps/web_greeting/hex_metadata.config"),
        "{<<\"name\">>,<<\"web_greeting\">>}.\n{<<\"licenses\">>,[<<\"Apache-2.0\">>]}.\n",
    )
    .unwrap();
    relpack_ok(
        &root,
        &["build", "--executable", "--cookie", "sbom-test-cookie"],
    );
    let sbom = |path: &str| {
        let out = project
            .path()
            .join(format!("{}.cdx.json", path.replace('/', "_")));
        relpack_ok(&root, &["sbom", path, "--out", out.to_str().unwrap()]);
        out
    };
    let dir = sbom("_build/prod/rel/web");
    let checked = sbom_check(&dir);
    assert_eq!(checked["errors"], serde_json::Value::Null, "{checked}");
    let bytes = std::fs::read(&dir).unwrap();
    for other in ["_build/prod/web-0.1.0.tar.gz", "_build/prod/web-0.1.0.run"] {
        assert!(std::fs::read(sbom(other)).unwrap() == bytes, "{other}");
    }
    assert!(std::fs::read(sbom("_build/prod/rel/web")).unwrap() == bytes);
    // The hashes come from the MANIFEST the build wrote; without it the
    // files are read, to the same digests.
    let bare = project.path().join("bare");
    copy_dir(&root.join("_build/prod/rel/web"), &bare);
    std::fs::remove_file(bare.join("releases/0.1.0/MANIFEST")).unwrap();
    assert!(std::fs::read(sbom(bare.to_str().unwrap())).unwrap() == bytes);

    let bom: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let component = |name: &str| {
        bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {bom}"))
            .clone()
    };
    let greeting = component("web_greeting");
    assert_eq!(greeting["purl"], "pkg:hex/web_greeting@1.2.0");
    assert_eq!(greeting["hashes"][0]["content"], checksum);
    assert_eq!(greeting["licenses"][0]["license"]["id"], "Apache-2.0");
    let kernel = component("kernel");
    let vsn = kernel["version"].as_str().unwrap();
    assert_eq!(kernel["purl"], format!("pkg:otp/kernel@{vsn}"));
    assert_eq!(
        component("erts")["version"].as_str().unwrap(),
        installed().erts
    );
    assert_eq!(
        component("logger")["purl"],
        format!(
            "pkg:github/elixir-lang/elixir@v{}#lib/logger",
            installed().elixir
        )
    );
    // The project's own application has no package URL, and depends on
    // its dependency as its .app says.
    assert!(component("web").get("purl").is_none());
    let web_ref = component("web")["bom-ref"].clone();
    let edges = bom["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["ref"] == web_ref)
        .unwrap();
    assert!(
        edges["dependsOn"]
            .as_array()
            .unwrap()
            .contains(&greeting["bom-ref"]),
        "{edges}"
    );
    assert!(bom["serialNumber"]
        .as_str()
        .unwrap()
        .starts_with("urn:uuid:"));
    assert!(bom["metadata"].get("timestamp").is_none());
}
