//! `relpack image` in the real container engine (Debian's podman, as root,
//! with runc and the host's resource limits set in a containers.conf of
//! the test's own): images of the fixtures loaded, run with `-p` on a
//! random loopback port, answering HTTP, `bin/<name> rpc` and
//! `remote_console` through `podman exec`, stopped cleanly; the same on a
//! base image imported from the debootstrap rootfs; reproducible digests
//! and a code change that changes only the last layer (`skopeo inspect`);
//! bad input. Every image and container is named with a prefix unique to
//! this test process and removed at the end.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;

/// The containers.conf the tests run podman with: runc (crun fails on
/// this kernel's hybrid cgroups) and limits no higher than the host's.
fn containers_conf() -> &'static Path {
    static CONF: OnceLock<Scratch> = OnceLock::new();
    CONF.get_or_init(|| {
        let dir = Scratch::new("image-conf");
        std::fs::write(
            dir.path().join("containers.conf"),
            "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n\n[engine]\nruntime = \"runc\"\n",
        )
        .unwrap();
        dir
    })
    .path()
}

fn podman() -> Command {
    require("podman", "apt-get install podman runc (scripts/setup.sh)");
    require("runc", "apt-get install runc (scripts/setup.sh)");
    let mut cmd = Command::new("podman");
    cmd.env("CONTAINERS_CONF", containers_conf().join("containers.conf"));
    cmd
}

fn podman_ok(args: &[&str]) -> String {
    run_ok(podman().args(args))
}

/// A name unique to this test process: other developers share the
/// machine's podman storage.
fn unique(label: &str) -> String {
    format!("relpack-test-{}-{label}", std::process::id())
}

/// Removes the containers and images a test made, whatever happens.
#[derive(Default)]
struct Cleanup {
    containers: Vec<String>,
    images: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = podman().args(["rm", "-f", "-t", "0", c]).output();
        }
        for i in &self.images {
            let _ = podman().args(["rmi", "-f", i]).output();
        }
    }
}

/// A free loopback port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The body of `GET /` on 127.0.0.1:`port`, retried until `timeout`.
fn http_get(port: u16, timeout: Duration) -> Option<String> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = s.write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n");
            let mut text = String::new();
            if s.read_to_string(&mut text).is_ok() && text.starts_with("HTTP/1.1 200") {
                return text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Builds the image of the compiled project `dir` under `root`, tagged
/// `tag`; returns the archive and relpack's output.
fn image(root: &Path, dir: &str, tag: &str, extra: &[&str]) -> (PathBuf, Output) {
    let out_file = root.join(format!("{dir}-image.tar"));
    let mut args = vec!["image", "--tag", tag, "--out", out_file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = relpack(&root.join(dir), &args);
    assert!(
        out.status.success(),
        "relpack {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out_file, out)
}

/// Every file of every layer of an image archive: (path, contents).
fn layer_files(archive: &Path) -> Vec<(String, Vec<u8>)> {
    let unpacked = archive.with_extension("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    run_ok(
        Command::new("tar")
            .arg("xf")
            .arg(archive)
            .arg("-C")
            .arg(&unpacked),
    );
    let mut files = Vec::new();
    for blob in std::fs::read_dir(unpacked.join("blobs/sha256")).unwrap() {
        let blob = std::fs::read(blob.unwrap().path()).unwrap();
        if !blob.starts_with(&[0x1f, 0x8b]) {
            continue;
        }
        let mut layer = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]));
        for entry in layer.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
            files.push((path, bytes));
        }
    }
    std::fs::remove_dir_all(&unpacked).unwrap();
    files
}

/// No layer holds `releases/COOKIE` or the cookie relpack chose for the
/// project's tarballs (what it remembers in `_build/prod/relpack/COOKIE`).
fn assert_no_cookie(archive: &Path, project: &Path) {
    let remembered = std::fs::read(project.join("_build/prod/relpack/COOKIE")).unwrap();
    let files = layer_files(archive);
    assert!(files.len() > 100, "{} files", files.len());
    for (path, bytes) in &files {
        assert!(!path.ends_with("releases/COOKIE"), "{path} in the image");
        assert!(
            !bytes.windows(remembered.len()).any(|w| w == remembered),
            "the cookie is in {path}"
        );
    }
}

/// `relpack sbom` of an image: valid CycloneDX 1.6 that lib4sbom reads,
/// listing every application of the release's `.rel` (with the version
/// there) and the Debian packages `debs` (name, version), each with its
/// package URL. Returns the SBOM.
fn assert_sbom(archive: &Path, project: &Path, debs: &[(String, String)]) -> serde_json::Value {
    let json = archive.with_extension("cdx.json");
    relpack_ok(
        project,
        &[
            "sbom",
            archive.to_str().unwrap(),
            "--out",
            json.to_str().unwrap(),
        ],
    );
    let checked = sbom_check(&json);
    assert_eq!(checked["errors"], serde_json::Value::Null, "{checked}");
    let read: Vec<(String, String, String)> = checked["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let field = |i: usize| p[i].as_str().unwrap_or_default().to_owned();
            (field(0), field(1), field(2))
        })
        .collect();
    // The .rel's applications, as Erlang reads the file.
    let rel = std::fs::read_dir(project.join("_build/prod/rel/web/releases/0.1.0"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "rel"))
        .unwrap();
    let listed = run_ok(Command::new("erl").args([
        "-noshell",
        "-eval",
        &format!(
            "{{ok, [{{release, _, _, Apps}}]}} = file:consult(\"{}\"), \
             [io:format(\"~s ~s~n\", [element(1, A), element(2, A)]) || A <- Apps], halt().",
            rel.display()
        ),
    ]));
    let mut apps = 0;
    for (name, vsn) in listed.lines().filter_map(|l| l.split_once(' ')) {
        apps += 1;
        assert!(
            read.iter().any(|(n, v, _)| n == name && v == vsn),
            "{name} {vsn} not in the SBOM: {read:?}"
        );
    }
    assert!(apps >= 8, "{listed}");
    for (name, version) in debs {
        assert!(
            read.iter().any(|(n, v, purl)| n == name
                && v == version
                && purl.starts_with(&format!("pkg:deb/debian/{name}@"))),
            "Debian package {name} {version} not in the SBOM"
        );
    }
    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
}

fn load(archive: &Path, tag: &str, cleanup: &mut Cleanup) {
    cleanup.images.push(tag.to_owned());
    let out = podman_ok(&["load", "-i", archive.to_str().unwrap()]);
    assert!(out.contains(tag), "podman load: {out}");
}

/// Runs `tag` detached as `name`, publishing container port 4000 on a
/// random loopback port; returns that port.
fn run_detached(tag: &str, name: &str, cleanup: &mut Cleanup, extra: &[&str]) -> u16 {
    let port = free_port();
    cleanup.containers.push(name.to_owned());
    let publish = format!("127.0.0.1:{port}:4000");
    let mut args = vec!["run", "-d", "--name", name, "-p", &publish];
    args.extend_from_slice(extra);
    args.push(tag);
    podman_ok(&args);
    port
}

/// `podman exec NAME CMD...` (in the image's WorkingDir, as its User).
fn exec(name: &str, cmd: &[&str]) -> Output {
    let mut args = vec!["exec", name];
    args.extend_from_slice(cmd);
    run(podman().args(&args))
}

/// Stops the container; requires it to end within the timeout with the
/// VM's clean exit (0) and nothing of it left running.
fn stop_cleanly(name: &str) {
    let started = Instant::now();
    podman_ok(&["stop", "-t", "30", name]);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(25), "podman stop took {took:?}");
    let state = podman_ok(&[
        "inspect",
        name,
        "--format",
        "{{.State.Status}} {{.State.ExitCode}}",
    ]);
    assert_eq!(state.trim(), "exited 0", "state after stop");
    let running = podman_ok(&["ps", "-q", "--filter", &format!("name=^{name}$")]);
    assert!(running.trim().is_empty(), "still running: {running}");
}

/// Drives `bin/<release> remote_console` in the container through a
/// terminal (`script`): evaluates `expr`, waits for `expect`, leaves with
/// Ctrl-G q.
fn remote_console(name: &str, release: &str, expr: &str, expect: &str) {
    require("script", "apt-get install bsdutils");
    let conf = containers_conf().join("containers.conf");
    let inner = format!(
        "CONTAINERS_CONF='{}' podman exec -it {name} bin/{release} remote_console",
        conf.display()
    );
    let mut terminal = Terminal::spawn(Command::new("script").args(["-qec", &inner, "/dev/null"]));
    let prompt = terminal.wait_for(&format!("iex({release}@"));
    let mut printed = false;
    if prompt {
        terminal.send(format!("{expr}\n").as_bytes());
        printed = terminal.wait_for(expect);
    }
    // Ctrl-G opens the job menu of the local (hidden) node; q quits it.
    terminal.send(b"\x07");
    std::thread::sleep(Duration::from_secs(1));
    terminal.send(b"q\r");
    let text = terminal.close();
    assert!(
        prompt && printed,
        "remote_console in the container:\n{text}"
    );
}

/// The image's config as `podman image inspect` reports it.
fn inspect_config(tag: &str) -> serde_json::Value {
    let out = podman_ok(&["image", "inspect", tag]);
    let all: serde_json::Value = serde_json::from_str(&out).unwrap();
    all[0]["Config"].clone()
}

/// `skopeo inspect` of an archive: (manifest digest, layer digests).
fn skopeo_layers(transport: &str, archive: &Path) -> (String, Vec<String>) {
    require("skopeo", "apt-get install skopeo (scripts/setup.sh)");
    let out = run_ok(
        Command::new("skopeo").args(["inspect", &format!("{transport}:{}", archive.display())]),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let layers = v["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_owned())
        .collect();
    (v["Digest"].as_str().unwrap_or_default().to_owned(), layers)
}

/// A base image: the debootstrap rootfs (with `packages`) imported with
/// `podman import`; returns its tag.
fn base_image(packages: &[String], dir: &Path, cleanup: &mut Cleanup) -> String {
    let tag = unique(&format!("base-{}", packages.len()));
    import_rootfs(&rootfs_with(packages), &tag, dir, cleanup);
    tag
}

/// Every installed package of the rootfs at `root`: (name, version).
fn rootfs_packages(root: &Path) -> Vec<(String, String)> {
    let out = run_ok(Command::new("dpkg-query").args([
        "--admindir",
        root.join("var/lib/dpkg").to_str().unwrap(),
        "-W",
        "-f=${Package}\t${Version}\n",
    ]));
    let debs: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
    assert!(debs.len() > 50, "{out}");
    debs
}

/// `names` with the versions this machine has installed.
fn host_versions(names: &[String]) -> Vec<(String, String)> {
    names
        .iter()
        .map(|n| {
            let v = run_ok(Command::new("dpkg-query").args(["-W", "-f=${Version}", n]));
            (n.clone(), v)
        })
        .collect()
}

/// `podman save` of `tag` (`docker-archive`, its default, or
/// `oci-archive`) into `dir`.
fn save(tag: &str, format: &str, dir: &Path) -> PathBuf {
    let archive = dir.join(format!("base-{format}.tar"));
    podman_ok(&[
        "save",
        "--format",
        format,
        "-o",
        archive.to_str().unwrap(),
        tag,
    ]);
    archive
}

/// The web fixture's image on the default base: HTTP through `-p`, the
/// VM as PID 1, `rpc` and `remote_console` in the container, the config
/// (user, ports, env, labels), a clean stop.
#[test]
fn web_image_serves_http_and_answers_the_launcher() {
    let project = compiled_fixture("web");
    let tag = format!("{}/web:1", unique("default"));
    let (archive, out) = image(
        project.path(),
        "web",
        &tag,
        &[
            "--expose",
            "4000",
            "--env",
            "PORT=4000",
            "--env",
            "WEB_MODE=test",
            "--label",
            "org.example.team=relpack",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("third-party dependencies"), "{stdout}");
    // No secret inside: the containers make their own cookie (rpc and
    // remote_console below use it through podman exec).
    assert_no_cookie(&archive, &project.path().join("web"));
    // Its SBOM lists the Debian packages of the libraries the release
    // needs, among the others the default base copies files of.
    let needed = fixture_packages("web");
    assert!(!needed.is_empty());
    let sbom = assert_sbom(
        &archive,
        &project.path().join("web"),
        &host_versions(&needed),
    );
    assert!(sbom["metadata"]["component"]["name"] == "web", "{sbom}");
    let mut cleanup = Cleanup::default();
    load(&archive, &tag, &mut cleanup);
    let config = inspect_config(&tag);
    assert_eq!(config["User"], "1000:1000");
    assert_eq!(config["WorkingDir"], "/opt/app");
    assert_eq!(config["Entrypoint"][0], "/opt/app/bin/web");
    assert_eq!(config["Cmd"][0], "foreground");
    assert!(config["ExposedPorts"].get("4000/tcp").is_some(), "{config}");
    assert_eq!(config["Labels"]["org.example.team"], "relpack");
    let env: Vec<&str> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    for var in [
        "PORT=4000",
        "WEB_MODE=test",
        "RELEASE_TMP=/tmp",
        "LANG=C.UTF-8",
    ] {
        assert!(env.contains(&var), "{var} not in {env:?}");
    }

    let name = unique("web-default");
    let started = Instant::now();
    let port = run_detached(&tag, &name, &mut cleanup, &[]);
    let body = http_get(port, Duration::from_secs(30));
    let logs = || podman_ok(&["logs", &name]);
    assert_eq!(
        body.as_deref(),
        Some("hello from web\n"),
        "logs:\n{}",
        logs()
    );
    eprintln!("first HTTP answer {:?} after podman run", started.elapsed());

    let rpc = exec(&name, &["bin/web", "rpc", "IO.puts(Web.body())"]);
    assert_printed(&rpc, "hello from web");
    // The VM is PID 1: `podman stop`'s SIGTERM reaches it.
    assert_printed(&exec(&name, &["bin/web", "pid"]), "1");
    // Not root, and the release's own files are not its to change (echo:
    // a failed redirection of a special builtin like `:` ends dash).
    let write = exec(&name, &["sh", "-c", "echo >bin/x || echo refused"]);
    assert!(String::from_utf8_lossy(&write.stdout).contains("refused"));
    // Where the launcher writes stays writable: RELEASE_TMP and tmp/.
    let write = exec(
        &name,
        &[
            "sh",
            "-c",
            "echo >\"$RELEASE_TMP/x\" && echo >tmp/x && echo written",
        ],
    );
    assert_printed(&write, "written");
    remote_console(
        &name,
        "web",
        "IO.puts(:from_remote_console)",
        "from_remote_console",
    );
    stop_cleanly(&name);
}

/// The crypto fixture finds libcrypto in the default base, and with
/// `:public_key` in the release the CA bundle is there too.
#[test]
fn crypto_image_runs_with_libcrypto_and_ca_certificates() {
    let project = compiled_fixture("crypto");
    let tag = format!("{}/crypto:1", unique("crypto"));
    let (archive, _) = image(project.path(), "crypto", &tag, &["--app", "public_key"]);
    let mut cleanup = Cleanup::default();
    load(&archive, &tag, &mut cleanup);
    let name = unique("crypto");
    run_detached(&tag, &name, &mut cleanup, &[]);
    let expected = fixture("crypto").eval.1;
    let start = Instant::now();
    let digest = loop {
        let out = exec(
            &name,
            &[
                "bin/crypto_app",
                "rpc",
                "IO.puts(CryptoApp.digest(\"abc\"))",
            ],
        );
        if out.status.success() || start.elapsed() > Duration::from_secs(30) {
            break out;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_printed(&digest, expected);
    let certs = exec(
        &name,
        &[
            "bin/crypto_app",
            "rpc",
            "IO.puts(length(:public_key.cacerts_get()) > 10)",
        ],
    );
    assert_printed(&certs, "true");
    stop_cleanly(&name);
}

/// The release layered on a Debian base imported from the debootstrap
/// rootfs, as `docker save` and as OCI archives; the crypto release warns
/// when the base lacks OpenSSL and runs on one that has it.
#[test]
fn on_an_imported_debian_base() {
    let project = compiled_fixture("web");
    let crypto = compiled_fixture("crypto");
    let mut cleanup = Cleanup::default();
    // As tests' minimal rootfs: minbase and libsctp1, which an ERTS that
    // warns without it needs.
    let minbase = base_image(&[SCTP_PACKAGE.to_owned()], project.path(), &mut cleanup);
    let base_debs = rootfs_packages(&rootfs_with(&[SCTP_PACKAGE.to_owned()]));
    let docker = save(&minbase, "docker-archive", project.path());
    let oci = save(&minbase, "oci-archive", project.path());
    for (label, base) in [("docker", &docker), ("oci", &oci)] {
        let tag = format!("{}/web:1", unique(&format!("base-{label}")));
        let (archive, out) = image(
            project.path(),
            "web",
            &tag,
            &["--base", base.to_str().unwrap()],
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("warning"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Its SBOM lists every package of the base's dpkg database.
        assert_sbom(&archive, &project.path().join("web"), &base_debs);
        // The base's layer is reused byte for byte.
        let (_, base_layers) = skopeo_layers(
            if label == "oci" {
                "oci-archive"
            } else {
                "docker-archive"
            },
            base,
        );
        let (_, layers) = skopeo_layers("oci-archive", &archive);
        assert_eq!(layers[..base_layers.len()], base_layers[..]);
        load(&archive, &tag, &mut cleanup);
        let name = unique(&format!("web-base-{label}"));
        let port = run_detached(&tag, &name, &mut cleanup, &["-e", "PORT=4000"]);
        let body = http_get(port, Duration::from_secs(30));
        assert_eq!(body.as_deref(), Some("hello from web\n"));
        assert_printed(
            &exec(&name, &["bin/web", "rpc", "IO.puts(Web.body())"]),
            "hello from web",
        );
        assert_printed(&exec(&name, &["id", "-un"]), "app");
        remote_console(&name, "web", "IO.puts(:on_the_base)", "on_the_base");
        stop_cleanly(&name);
    }

    // Bookworm's minimal base has no OpenSSL: relpack says so. (Newer
    // minbases have it, for apt: there relpack finds it in the base.)
    let base_has_ssl = std::fs::read_dir(rootfs().join("usr/lib"))
        .unwrap()
        .flatten()
        .any(|d| d.path().join("libcrypto.so.3").exists());
    let tag = format!("{}/crypto:1", unique("base-nossl"));
    let (_, out) = image(
        crypto.path(),
        "crypto",
        &tag,
        &["--base", docker.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.contains("warning: libcrypto.so.3") && stderr.contains("neither the base image"),
        !base_has_ssl,
        "{stderr}"
    );
    let with_ssl = base_image(&fixture_packages("crypto"), crypto.path(), &mut cleanup);
    let ssl = save(&with_ssl, "docker-archive", crypto.path());
    let tag = format!("{}/crypto:2", unique("base-ssl"));
    let (archive, out) = image(
        crypto.path(),
        "crypto",
        &tag,
        &["--base", ssl.to_str().unwrap()],
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
    load(&archive, &tag, &mut cleanup);
    let eval = run(podman().args([
        "run",
        "--rm",
        &tag,
        "eval",
        "IO.puts(CryptoApp.digest(\"abc\"))",
    ]));
    assert_printed(&eval, fixture("crypto").eval.1);
}

/// The Debian packages `relpack inspect --packages` reports for a fixture.
fn fixture_packages(dir: &str) -> Vec<String> {
    let project = compiled_fixture(dir);
    relpack_ok(&project.path().join(dir), &["inspect", "--packages"])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Two fresh copies of the compiled project, with no cookie given, give
/// the same image digest (as an archive and as a layout directory); after a code change only the last layer differs;
/// the Docker-style manifest.json reads as a docker-archive too;
/// SOURCE_DATE_EPOCH dates the image.
#[test]
fn reproducible_digests_and_one_layer_per_code_change() {
    let first = compiled_fixture("web");
    let second = compiled_fixture("web");
    let tag = format!("{}/web:1", unique("repro"));
    // No cookie given: each fresh copy's tarball cookie differs, and no
    // image holds one.
    let args: [&str; 0] = [];
    let (a, _) = image(first.path(), "web", &tag, &args);
    let (b, _) = image(second.path(), "web", &tag, &args);
    let (digest_a, layers_a) = skopeo_layers("oci-archive", &a);
    let (digest_b, layers_b) = skopeo_layers("oci-archive", &b);
    assert!(digest_a.starts_with("sha256:"));
    assert_eq!(digest_a, digest_b);
    assert_eq!(layers_a, layers_b);
    assert_eq!(
        layers_a.len(),
        4,
        "base, runtime, deps, project: {layers_a:?}"
    );
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // Read through manifest.json as older engines do, the layers are
    // named by the config's diff_ids.
    let (_, docker_layers) = skopeo_layers("docker-archive", &a);
    let config = run_ok(Command::new("skopeo").args([
        "inspect",
        "--config",
        &format!("oci-archive:{}", a.display()),
    ]));
    let config: serde_json::Value = serde_json::from_str(&config).unwrap();
    assert_eq!(
        serde_json::json!(docker_layers),
        config["rootfs"]["diff_ids"]
    );

    let dir = first.path().join("layout");
    let out = relpack(
        &first.path().join("web"),
        &[
            "image",
            "--tag",
            &tag,
            "--format",
            "oci-dir",
            "--out",
            dir.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // By its tag: the SBOM's referrer is the layout's other manifest.
    let (digest_dir, _) = skopeo_layers("oci", Path::new(&format!("{}:{tag}", dir.display())));
    assert_eq!(digest_dir, digest_a);
    // The layout also holds the SBOM as an OCI 1.1 referrer of the image:
    // an artifact manifest whose subject is the image's manifest.
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 2, "{index}");
    assert_eq!(
        manifests[1]["artifactType"],
        "application/vnd.cyclonedx+json"
    );
    let blob = |digest: &serde_json::Value| {
        let hex = digest.as_str().unwrap().trim_start_matches("sha256:");
        std::fs::read(dir.join("blobs/sha256").join(hex)).unwrap()
    };
    let referrer: serde_json::Value =
        serde_json::from_slice(&blob(&manifests[1]["digest"])).unwrap();
    assert_eq!(referrer["subject"]["digest"], digest_a.as_str());
    assert_eq!(
        referrer["layers"][0]["mediaType"],
        "application/vnd.cyclonedx+json"
    );
    let attached = dir.join("attached.cdx.json");
    std::fs::write(&attached, blob(&referrer["layers"][0]["digest"])).unwrap();
    assert_eq!(sbom_check(&attached)["errors"], serde_json::Value::Null);
    // The same SBOM as in the image, which fresh copies make alike.
    let embedded = relpack_ok(&first.path().join("web"), &["sbom", dir.to_str().unwrap()]);
    let attached: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&attached).unwrap()).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&embedded).unwrap(),
        attached
    );

    // A code change: only the project's layer changes.
    let source = second.path().join("web/lib/web.ex");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, text.replace("from web", "from the changed web")).unwrap();
    run_ok(
        Command::new("mix")
            .arg("compile")
            .current_dir(second.path().join("web"))
            .env("MIX_ENV", "prod"),
    );
    let (c, _) = image(second.path(), "web", &tag, &args);
    let (digest_c, layers_c) = skopeo_layers("oci-archive", &c);
    assert_ne!(digest_c, digest_a);
    assert_eq!(layers_c[..3], layers_a[..3]);
    assert_ne!(layers_c[3], layers_a[3]);

    // The manifest's OCI annotations.
    let raw = run_ok(Command::new("skopeo").args([
        "inspect",
        "--raw",
        &format!("oci-archive:{}", a.display()),
    ]));
    let manifest: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let annotations = &manifest["annotations"];
    assert_eq!(annotations["org.opencontainers.image.version"], "0.1.0");
    assert_eq!(annotations["org.opencontainers.image.title"], "web");
    assert_eq!(
        annotations["org.opencontainers.image.created"],
        "1970-01-01T00:00:00Z"
    );

    // SOURCE_DATE_EPOCH is the creation time; two fresh copies dated
    // alike give the same bytes too.
    let third = compiled_fixture("web");
    let dated: Vec<Vec<u8>> = [&first, &third]
        .iter()
        .map(|copy| {
            let out = run(Command::new(env!("CARGO_BIN_EXE_relpack"))
                .args(["image", "--tag", &tag, "--out", "dated.tar"])
                .current_dir(copy.path().join("web"))
                .env("SOURCE_DATE_EPOCH", "1700000000"));
            assert!(out.status.success());
            std::fs::read(copy.path().join("web/dated.tar")).unwrap()
        })
        .collect();
    assert!(dated[0] == dated[1], "the dated images differ");
    let inspected = run_ok(Command::new("skopeo").args([
        "inspect",
        &format!(
            "oci-archive:{}",
            first.path().join("web/dated.tar").display()
        ),
    ]));
    let v: serde_json::Value = serde_json::from_str(&inspected).unwrap();
    assert_eq!(v["Created"], "2023-11-14T22:13:20Z");
}

/// Bad input: one line naming the file, exit 1, nothing written.
#[test]
fn bad_input_is_one_line_and_leaves_nothing() {
    let project = compiled_fixture("web");
    let dir = project.path().join("web");
    let out_file = project.path().join("out/web.tar");
    let one_line_error = |out: &Output, needle: &str| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(needle), "{stderr}");
        assert!(!out_file.exists() && !out_file.parent().unwrap().exists());
        assert!(no_temporary_files(project.path()));
    };
    let image_with = |extra: &[&str]| {
        let mut args = vec!["image", "--out", out_file.to_str().unwrap()];
        args.extend_from_slice(extra);
        relpack(&dir, &args)
    };

    // Not an image archive: a plain file, and a tar without a manifest.
    let junk = project.path().join("junk.tar");
    std::fs::write(&junk, b"not a tar at all").unwrap();
    one_line_error(
        &image_with(&["--base", junk.to_str().unwrap()]),
        "junk.tar: not an image archive",
    );
    run_ok(
        Command::new("tar")
            .arg("-cf")
            .arg(&junk)
            .arg("-C")
            .arg(&dir)
            .arg("mix.exs"),
    );
    one_line_error(
        &image_with(&["--base", junk.to_str().unwrap()]),
        "junk.tar: not an image archive",
    );
    assert!(
        !dir.join("_build/prod/rel/web").exists(),
        "the release was written before the base was checked"
    );

    // An image without a shell: the release's own image has /bin/sh, so
    // a base made of its last layer alone (no shell) is refused.
    let mut cleanup = Cleanup::default();
    let shell_less = shell_less_base(project.path(), &mut cleanup);
    one_line_error(
        &image_with(&["--base", shell_less.to_str().unwrap()]),
        "has no /bin/sh, which the launcher bin/web (a POSIX sh script) needs",
    );

    // An unwritable --out: under a file.
    let blocker = project.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    let out = relpack(
        &dir,
        &["image", "--out", blocker.join("web.tar").to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("blocker"), "{stderr}");
    assert!(no_temporary_files(project.path()));

    // No ERTS and no Erlang in the default base.
    one_line_error(
        &image_with(&["--include-erts", "false"]),
        "the default base has no Erlang",
    );

    // Bad options.
    one_line_error(&image_with(&["--tag", "Web:1"]), "not a valid reference");
    one_line_error(&image_with(&["--expose", "http"]), "--expose http");
    one_line_error(&image_with(&["--format", "zip"]), "unknown image format");
    one_line_error(
        &image_with(&["--compress", "zstd"]),
        "relpack image writes no tarball",
    );
}

/// Whether `dir` holds no temporary file of relpack's.
fn no_temporary_files(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().contains(".relpack-"))
}

/// A base image with no shell: a scratch image holding one file.
fn shell_less_base(dir: &Path, cleanup: &mut Cleanup) -> PathBuf {
    let rootfs = dir.join("shell-less");
    std::fs::create_dir_all(rootfs.join("etc")).unwrap();
    std::fs::write(rootfs.join("etc/hostname"), "none\n").unwrap();
    let tar = dir.join("shell-less.tar");
    run_ok(
        Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(&tar)
            .arg("."),
    );
    let tag = unique("shell-less");
    cleanup.images.push(tag.clone());
    podman_ok(&["import", tar.to_str().unwrap(), &tag]);
    let archive = dir.join("shell-less-image.tar");
    podman_ok(&["save", "-o", archive.to_str().unwrap(), &tag]);
    archive
}

/// Runs the web fixture's image `tag`: it answers HTTP, and stops cleanly.
fn serves_web(tag: &str, label: &str, cleanup: &mut Cleanup) {
    let name = unique(label);
    let port = run_detached(tag, &name, cleanup, &[]);
    let body = http_get(port, Duration::from_secs(30));
    assert_eq!(
        body.as_deref(),
        Some("hello from web\n"),
        "{}",
        podman_ok(&["logs", &name])
    );
    stop_cleanly(&name);
}

/// Imports a rootfs directory as the image `tag`.
fn import_rootfs(rootfs: &Path, tag: &str, dir: &Path, cleanup: &mut Cleanup) {
    cleanup.images.push(tag.to_owned());
    let tar = dir.join(format!("{}.tar", tag.replace(['/', ':'], "_")));
    run_ok(
        Command::new("tar")
            .arg("-C")
            .arg(rootfs)
            .args(["--exclude=./.relpack-complete", "-cf"])
            .arg(&tar)
            .arg("."),
    );
    podman_ok(&["import", tar.to_str().unwrap(), tag]);
    std::fs::remove_file(&tar).unwrap();
}

/// The packages the Dockerfile's builder stage installs with apt-get.
fn builder_packages(dockerfile: &str) -> Vec<String> {
    let line = dockerfile
        .lines()
        .find(|l| l.contains("apt-get install") && l.contains("elixir"))
        .expect("the builder's apt-get line");
    let after = line.split("--no-install-recommends").nth(1).unwrap();
    after
        .split_whitespace()
        .take_while(|w| !w.starts_with('\\') && *w != "&&")
        .map(str::to_owned)
        .collect()
}

/// `examples/docker/Dockerfile` built by `podman build` without a
/// network: base images imported from debootstrap rootfses with what its
/// stages install (the builder's packages, and the runner's that relpack
/// reports), relpack the binary under test as the prebuilt build context.
/// The final image answers HTTP; so does the two-stage variant (target
/// `image`, exported with `--output` and loaded).
#[test]
fn dockerfile_builds_with_podman_and_its_images_answer() {
    let dockerfile = Path::new(REPO).join("examples/docker/Dockerfile");
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    let scratch = Scratch::new("dockerfile");
    let mut cleanup = Cleanup::default();
    let builder = format!("{}/builder:1", unique("dockerfile"));
    let runner = format!("{}/runner:1", unique("dockerfile"));
    import_rootfs(
        &rootfs_with(&builder_packages(&text)),
        &builder,
        scratch.path(),
        &mut cleanup,
    );
    import_rootfs(
        &rootfs_with(&fixture_packages("web")),
        &runner,
        scratch.path(),
        &mut cleanup,
    );
    let bin = scratch.path().join("relpack-bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_relpack"), bin.join("relpack")).unwrap();
    let context = scratch.path().join("web");
    copy_dir(&Path::new(REPO).join("fixtures/web"), &context);
    let _ = std::fs::remove_dir_all(context.join("_build"));

    let build = |extra: &[&str]| {
        let mut cmd = podman();
        cmd.args(["build", "--network", "none", "--layers=false", "-f"])
            .arg(&dockerfile)
            .arg(format!("--build-context=relpack-src={}", bin.display()))
            .args(["--build-arg", "RELPACK=prebuilt"])
            .args(["--build-arg", &format!("BUILDER_IMAGE={builder}")])
            .args(["--build-arg", &format!("RUNNER_IMAGE={runner}")])
            .args(["--build-arg", "APP=web"])
            .args(extra)
            .arg(&context);
        run_ok(&mut cmd)
    };
    let final_tag = format!("{}/final:1", unique("dockerfile"));
    cleanup.images.push(final_tag.clone());
    build(&["-t", &final_tag]);
    serves_web(&final_tag, "dockerfile-final", &mut cleanup);

    let image_tag = format!("{}/two-stage:1", unique("dockerfile"));
    let out = scratch.path().join("out");
    // The exported stage is committed too, untagged: removed by its id.
    let iid = scratch.path().join("iid");
    build(&[
        "--iidfile",
        iid.to_str().unwrap(),
        "--target",
        "image",
        "--build-arg",
        &format!("IMAGE_ARGS=--tag {image_tag} --expose 4000"),
        "--output",
        &format!("type=local,dest={}", out.display()),
    ]);
    cleanup
        .images
        .push(std::fs::read_to_string(&iid).unwrap().trim().to_owned());
    load(&out.join("image.tar"), &image_tag, &mut cleanup);
    serves_web(&image_tag, "dockerfile-two-stage", &mut cleanup);
}

/// Debian's `docker-registry` (the CNCF distribution registry) on a free
/// loopback port, with TLS from a CA of the test's own and htpasswd
/// authentication (`relpack`/`secret`); its log records every request.
struct Registry {
    dir: Scratch,
    port: u16,
    child: std::process::Child,
}

impl Registry {
    fn start() -> Registry {
        require(
            "docker-registry",
            "apt-get install docker-registry (scripts/setup.sh)",
        );
        require(
            "htpasswd",
            "apt-get install apache2-utils (scripts/setup.sh)",
        );
        require("openssl", "apt-get install openssl");
        let dir = Scratch::new("registry");
        let d = dir.path();
        let ssl = |args: &[&str]| run_ok(Command::new("openssl").args(args).current_dir(d));
        ssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=relpack test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ]);
        ssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ]);
        std::fs::write(d.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        ssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.crt",
        ]);
        // What podman and skopeo take as --cert-dir: the CA alone.
        std::fs::create_dir(d.join("certs")).unwrap();
        std::fs::copy(d.join("ca.crt"), d.join("certs/ca.crt")).unwrap();
        let htpasswd = run_ok(Command::new("htpasswd").args(["-Bbn", "relpack", "secret"]));
        std::fs::write(d.join("htpasswd"), htpasswd).unwrap();
        let port = free_port();
        std::fs::write(
            d.join("config.yml"),
            format!(
                "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}/data\nhttp:\n  addr: 127.0.0.1:{port}\n  tls:\n    certificate: {}/server.crt\n    key: {}/server.key\nauth:\n  htpasswd:\n    realm: relpack\n    path: {}/htpasswd\n",
                d.display(), d.display(), d.display(), d.display()
            ),
        )
        .unwrap();
        let child = spawn_logged(
            Command::new("docker-registry")
                .arg("serve")
                .arg(d.join("config.yml")),
            &d.join("registry.log"),
        );
        let registry = Registry { dir, port, child };
        let up = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "the registry did not start:\n{}", registry.log());
        registry.auth_file("good-auth.json", "secret");
        registry
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    fn log(&self) -> String {
        read_log(&self.dir.path().join("registry.log"))
    }

    /// An auth file as podman writes it, for `relpack` with `password`.
    fn auth_file(&self, name: &str, password: &str) -> PathBuf {
        use base64::Engine;
        let file = self.dir.path().join(name);
        let token = base64::engine::general_purpose::STANDARD.encode(format!("relpack:{password}"));
        std::fs::write(
            &file,
            format!(
                "{{\"auths\": {{\"{}\": {{\"auth\": \"{token}\"}}}}}}",
                self.host()
            ),
        )
        .unwrap();
        file
    }

    /// The blob digests uploaded so far (`PUT .../blobs/uploads/...?digest=`).
    fn uploaded(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("\"PUT ") && l.contains("/blobs/uploads/"))
            .filter_map(|l| l.split("digest=").nth(1))
            .map(|d| d.split(['"', '&', ' ']).next().unwrap().replace("%3A", ":"))
            .collect()
    }

    /// `relpack image --push` of the project `dir` under `root`, with the
    /// auth file `auth` and `extra` arguments.
    fn push(&self, root: &Path, dir: &str, reference: &str, auth: &Path, extra: &[&str]) -> Output {
        let mut args = vec!["image", "--json", "--push", reference];
        args.extend(extra);
        run(Command::new(env!("CARGO_BIN_EXE_relpack"))
            .args(&args)
            .current_dir(root.join(dir))
            .env("REGISTRY_AUTH_FILE", auth))
    }

    /// `skopeo inspect --raw` of `reference` in the registry.
    fn raw(&self, reference: &str) -> Output {
        run(Command::new("skopeo").args([
            "inspect",
            "--raw",
            "--cert-dir",
            self.dir.path().join("certs").to_str().unwrap(),
            "--creds",
            "relpack:secret",
            &format!("docker://{reference}"),
        ]))
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `relpack image --push` to a real registry over TLS with htpasswd
/// credentials from an auth file: podman pulls the image with the test CA
/// and runs it; the SBOM is a referrer of the pushed manifest; a push to
/// another repository mounts every blob; a second push after a code
/// change uploads exactly one layer (counted in the registry's log).
#[test]
fn push_pull_run_and_push_again_after_a_code_change() {
    let registry = Registry::start();
    let project = compiled_fixture("web");
    let auth = registry.dir.path().join("good-auth.json");
    let ca = registry.ca();
    let ca = ["--registry-ca", ca.to_str().unwrap()];
    let first = format!("{}/relpack/web:1", registry.host());
    let out = registry.push(project.path(), "web", &first, &auth, &ca);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        registry.log()
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let digest = report["digest"].as_str().unwrap().to_owned();
    assert_eq!(report["push"]["digest"], digest.as_str());
    let layers: Vec<String> = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_owned())
        .collect();
    let uploaded = registry.uploaded();
    for layer in &layers {
        assert!(
            uploaded.contains(layer),
            "{layer} not uploaded: {uploaded:?}"
        );
    }
    // The SBOM's referrer names the pushed manifest.
    let referrer = report["push"]["referrers"][0].as_str().expect("a referrer");
    let raw = registry.raw(&format!("{}/relpack/web@{referrer}", registry.host()));
    let manifest: serde_json::Value = serde_json::from_slice(&raw.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&raw.stderr)));
    assert_eq!(manifest["subject"]["digest"], digest.as_str());

    // The same image into another repository, its blobs mounted from the
    // first one: nothing uploaded.
    let before = registry.uploaded().len();
    let copy = format!("{}/relpack/copy:1", registry.host());
    let mut mount = ca.to_vec();
    mount.extend(["--mount-from", "relpack/web"]);
    let out = registry.push(project.path(), "web", &copy, &auth, &mount);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mounted: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(mounted["push"]["digest"], digest.as_str());
    assert!(
        mounted["push"]["blobs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["outcome"] == "mounted"),
        "{}",
        mounted["push"]
    );
    assert_eq!(registry.uploaded().len(), before, "blobs uploaded again");

    // podman pulls it with the test's CA and runs it.
    let mut cleanup = Cleanup::default();
    cleanup.images.push(first.clone());
    podman_ok(&[
        "pull",
        "--cert-dir",
        registry.dir.path().join("certs").to_str().unwrap(),
        "--creds",
        "relpack:secret",
        &first,
    ]);
    let name = unique("web-pushed");
    let port = run_detached(&first, &name, &mut cleanup, &["-e", "PORT=4000"]);
    assert_eq!(
        http_get(port, Duration::from_secs(30)).as_deref(),
        Some("hello from web\n")
    );
    stop_cleanly(&name);

    // A code change: the second push uploads the project's layer only.
    let source = project.path().join("web/lib/web.ex");
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, text.replace("from web", "from the pushed web")).unwrap();
    run_ok(
        Command::new("mix")
            .arg("compile")
            .current_dir(project.path().join("web"))
            .env("MIX_ENV", "prod"),
    );
    let before = registry.uploaded().len();
    let second = format!("{}/relpack/web:2", registry.host());
    let out = registry.push(project.path(), "web", &second, &auth, &ca);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers: Vec<&str> = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    let new = registry.uploaded()[before..].to_vec();
    let new_layers: Vec<&String> = new
        .iter()
        .filter(|d| layers.contains(&d.as_str()))
        .collect();
    assert_eq!(new_layers.len(), 1, "layers uploaded again: {new:?}");
    assert_eq!(new_layers[0], layers.last().unwrap());
    eprintln!("second push uploaded {} blobs: {new:?}", new.len());
}

/// Wrong credentials, an untrusted certificate and an unreachable
/// registry: one line each, exit 1, and no tag that names anything.
#[test]
fn push_failures_are_one_line_and_leave_no_tag() {
    let registry = Registry::start();
    let project = compiled_fixture("web");
    let ca = registry.ca();
    let reference = format!("{}/relpack/web:bad", registry.host());
    let one_line = |out: &Output, needle: &str| {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
    };
    let wrong = registry.auth_file("wrong-auth.json", "wrong");
    let out = registry.push(
        project.path(),
        "web",
        &reference,
        &wrong,
        &["--registry-ca", ca.to_str().unwrap()],
    );
    one_line(
        &out,
        &format!("relpack: error: {}: authentication failed", registry.host()),
    );
    let good = registry.dir.path().join("good-auth.json");
    let out = registry.push(project.path(), "web", &reference, &good, &[]);
    one_line(&out, "--registry-ca");
    assert!(!registry.raw(&reference).status.success(), "the tag exists");
    let closed = format!("127.0.0.1:{}/relpack/web:1", free_port());
    let out = registry.push(project.path(), "web", &closed, &good, &[]);
    one_line(&out, "cannot reach the registry");
}

/// Runs the image `reference` for `platform`, requires `GET /` to answer
/// the web fixture's page, then stops it cleanly.
fn serves_web_on(reference: &str, platform: &str, label: &str, cleanup: &mut Cleanup) {
    let name = unique(label);
    let port = run_detached(reference, &name, cleanup, &["--platform", platform]);
    let body = http_get(port, Duration::from_secs(90));
    assert_eq!(
        body.as_deref(),
        Some("hello from web\n"),
        "{}",
        podman_ok(&["logs", &name])
    );
    stop_cleanly(&name);
}

/// An arm64 image built here from the arm64 root's OTP: its config says
/// arm64, every ELF file of every layer (the base's loader, libraries,
/// shell and tools included) is AArch64, and it serves HTTP under QEMU.
#[test]
fn arm64_image_from_the_target_root_serves_http() {
    let root = arm64_root();
    let project = compiled_fixture("web");
    let tag = format!("{}/web:arm64", unique("arm64"));
    let root_arg = format!("linux/arm64={}", root.display());
    let (archive, _) = image(
        project.path(),
        "web",
        &tag,
        &["--platform", "linux/arm64", "--target-root", &root_arg],
    );
    let mut elves = 0;
    for (path, bytes) in layer_files(&archive) {
        if bytes.starts_with(b"\x7fELF") {
            let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
            assert_eq!(machine, 183, "{path} is not AArch64");
            elves += 1;
        }
    }
    assert!(elves > 20, "only {elves} ELF files");
    let mut cleanup = Cleanup::default();
    load(&archive, &tag, &mut cleanup);
    let arch = podman_ok(&["image", "inspect", &tag, "--format", "{{.Architecture}}"]);
    assert_eq!(arch.trim(), "arm64");
    serves_web_on(&tag, "linux/arm64", "web-arm64", &mut cleanup);
}

/// `--platform linux/amd64,linux/arm64`: one OCI index with a manifest
/// per platform, the layers both hold byte for byte stored once; podman
/// pulls each platform from the archive, and each serves HTTP.
#[test]
fn multi_platform_image_holds_both_and_each_serves() {
    let root = arm64_root();
    let project = compiled_fixture("web");
    let tag = format!("{}/web:multi", unique("multi"));
    let root_arg = format!("linux/arm64={}", root.display());
    let (archive, _) = image(
        project.path(),
        "web",
        &tag,
        &[
            "--platform",
            "linux/amd64,linux/arm64",
            "--target-root",
            &root_arg,
        ],
    );
    let unpacked = archive.with_extension("index");
    std::fs::create_dir_all(&unpacked).unwrap();
    run_ok(
        Command::new("tar")
            .arg("xf")
            .arg(&archive)
            .arg("-C")
            .arg(&unpacked),
    );
    let json = |path: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let blob = |digest: &serde_json::Value| {
        unpacked
            .join("blobs/sha256")
            .join(&digest.as_str().unwrap()["sha256:".len()..])
    };
    let top = json(&unpacked.join("index.json"));
    assert_eq!(
        top["manifests"][0]["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let index = json(&blob(&top["manifests"][0]["digest"]));
    let platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(platforms, ["amd64", "arm64"]);
    let layers = |m: &serde_json::Value| -> Vec<String> {
        json(&blob(&m["digest"]))["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap().to_owned())
            .collect()
    };
    let (amd, arm) = (
        layers(&index["manifests"][0]),
        layers(&index["manifests"][1]),
    );
    assert!(
        amd.iter().any(|l| arm.contains(l)),
        "no layer shared: {amd:?} {arm:?}"
    );
    assert_ne!(amd[0], arm[0], "the bases differ");

    let mut cleanup = Cleanup::default();
    for (platform, arch) in [("linux/arm64", "arm64"), ("linux/amd64", "amd64")] {
        let source = format!("oci-archive:{}", archive.display());
        let id = podman_ok(&["pull", "-q", "--platform", platform, &source]);
        let local = format!("{}/web:{arch}", unique("multi"));
        podman_ok(&["tag", id.trim(), &local]);
        cleanup.images.push(local.clone());
        let found = podman_ok(&["image", "inspect", &local, "--format", "{{.Architecture}}"]);
        assert_eq!(found.trim(), arch);
        serves_web_on(&local, platform, &format!("multi-{arch}"), &mut cleanup);
    }
    cleanup.images.push(tag);
}

/// A two-platform image pushed: the tag names the index, each platform's
/// manifest is in the registry by digest with its own SBOM referrer, and
/// podman pulls the arm64 one from the registry and runs it.
#[test]
fn multi_platform_push_names_an_index_and_each_platform_runs() {
    let root = arm64_root();
    let registry = Registry::start();
    let project = compiled_fixture("web");
    let auth = registry.dir.path().join("good-auth.json");
    let ca = registry.ca();
    let root_arg = format!("linux/arm64={}", root.display());
    let extra = [
        "--registry-ca",
        ca.to_str().unwrap(),
        "--platform",
        "linux/amd64,linux/arm64",
        "--target-root",
        &root_arg,
    ];
    let reference = format!("{}/relpack/multi:1", registry.host());
    let out = registry.push(project.path(), "web", &reference, &auth, &extra);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        registry.log()
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );
    assert_eq!(report["push"]["referrers"].as_array().unwrap().len(), 2);
    let raw = registry.raw(&reference);
    let index: serde_json::Value = serde_json::from_slice(&raw.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&raw.stderr)));
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
    assert_eq!(
        format!("sha256:{}", sha256_hex(&raw.stdout)),
        report["push"]["digest"].as_str().unwrap()
    );
    for (m, referrer) in index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .zip(report["push"]["referrers"].as_array().unwrap())
    {
        let sbom = registry.raw(&format!(
            "{}/relpack/multi@{}",
            registry.host(),
            referrer.as_str().unwrap()
        ));
        let sbom: serde_json::Value = serde_json::from_slice(&sbom.stdout).unwrap();
        assert_eq!(sbom["subject"]["digest"], m["digest"]);
    }

    let mut cleanup = Cleanup::default();
    cleanup.images.push(reference.clone());
    podman_ok(&[
        "pull",
        "--platform",
        "linux/arm64",
        "--cert-dir",
        registry.dir.path().join("certs").to_str().unwrap(),
        "--creds",
        "relpack:secret",
        &reference,
    ]);
    let arch = podman_ok(&[
        "image",
        "inspect",
        &reference,
        "--format",
        "{{.Architecture}}",
    ]);
    assert_eq!(arch.trim(), "arm64");
    serves_web_on(&reference, "linux/arm64", "pushed-arm64", &mut cleanup);
}

/// The SHA-256 of `bytes`, in hex, by coreutils' `sha256sum`.
fn sha256_hex(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)[..64].to_owned()
}
