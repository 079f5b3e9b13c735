//! A CycloneDX 1.6 SBOM of a release: ERTS and every application of its
//! `.rel` with version, package URL, SHA-256 and licence where known, the
//! dependency graph of the `.app` files, and, for an image, every Debian
//! package of its base.
//!
//! Package URLs: `pkg:hex/NAME@VSN` for the Hex packages of the project's
//! `mix.lock` (hashed with the checksum Hex verifies the package tarball
//! against, licensed as its `hex_metadata.config` says);
//! `pkg:otp/NAME@VSN` for Erlang/OTP's applications and ERTS;
//! `pkg:github/elixir-lang/elixir@vVSN#lib/NAME` for Elixir's;
//! `pkg:deb/debian/NAME@VSN?arch=ARCH&distro=debian-N` for Debian
//! packages. The project's own applications have none. Any other hash is
//! the SHA-256 of the component's file list as `sha256sum` prints it,
//! sorted by path (the way the release's `MANIFEST` lists files), so it
//! changes exactly when a file does.
//!
//! Nothing random or time-dependent enters it (no timestamp unless
//! `SOURCE_DATE_EPOCH` gives one, a serial number made from its content):
//! the same release gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use serde_json::{json, Value};

use crate::config::mix_lock::{self, LockedPackage};
use crate::error::{IoContext, Result};
use crate::formats::boot::{parse_rel, Rel};
use crate::formats::digest::{hex, sha256, sha256_file};
use crate::formats::term::{parse_consult, Term};

/// Erlang/OTP's applications (and ERTS), as OTP 25 to 29 ship them.
const OTP_APPS: &[&str] = &[
    "asn1",
    "common_test",
    "compiler",
    "crypto",
    "debugger",
    "dialyzer",
    "diameter",
    "edoc",
    "eldap",
    "erl_docgen",
    "erl_interface",
    "erts",
    "et",
    "eunit",
    "ftp",
    "inets",
    "jinterface",
    "kernel",
    "megaco",
    "mnesia",
    "observer",
    "odbc",
    "os_mon",
    "parsetools",
    "public_key",
    "reltool",
    "runtime_tools",
    "sasl",
    "snmp",
    "ssh",
    "ssl",
    "stdlib",
    "syntax_tools",
    "tftp",
    "tools",
    "wx",
    "xmerl",
];

/// Elixir's applications.
const ELIXIR_APPS: &[&str] = &["eex", "elixir", "ex_unit", "iex", "logger", "mix"];

/// SPDX licence identifiers written as `license.id`; others go in
/// `license.name`, which any text may fill.
const SPDX_IDS: &[&str] = &[
    "0BSD",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-2.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSL-1.0",
    "CC0-1.0",
    "EPL-1.0",
    "EPL-2.0",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "ISC",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "MIT",
    "MPL-2.0",
    "Unlicense",
    "WTFPL",
    "Zlib",
];

/// A Debian package installed in an image's base.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DebPackage {
    /// The package name.
    pub name: String,
    /// Its version, as dpkg records it.
    pub version: String,
    /// Its architecture (`amd64`, `all`).
    pub arch: String,
}

/// The installed packages of a `/var/lib/dpkg/status` file.
pub fn dpkg_status(text: &str) -> Vec<DebPackage> {
    let mut packages = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza.lines().find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix(':'))
                    .map(|v| v.trim().to_owned())
            })
        };
        let installed = field("Status").is_some_and(|s| s.ends_with(" installed"));
        if let (true, Some(name), Some(version), Some(arch)) = (
            installed,
            field("Package"),
            field("Version"),
            field("Architecture"),
        ) {
            packages.push(DebPackage {
                name,
                version,
                arch,
            });
        }
    }
    packages.sort();
    packages.dedup();
    packages
}

/// The installed Debian packages named, as dpkg knows them on the machine
/// whose file system is at `root`; empty without dpkg.
pub(crate) fn host_packages(root: &Path, names: &BTreeSet<String>) -> Vec<DebPackage> {
    if names.is_empty() {
        return Vec::new();
    }
    let Ok(out) = std::process::Command::new("dpkg-query")
        .arg(format!("--root={}", root.display()))
        .arg("-W")
        .arg("-f=Package: ${Package}\nStatus: ${Status}\nVersion: ${Version}\nArchitecture: ${Architecture}\n\n")
        .args(names)
        .output()
    else {
        return Vec::new();
    };
    dpkg_status(&String::from_utf8_lossy(&out.stdout))
}

/// The SBOM of the release directory, tarball, executable or image at
/// `path` (an image's Debian packages from its `/var/lib/dpkg/status`;
/// the one relpack put into its own images, which lists the packages of
/// its default base, as it is); `project` as in [`release_sbom`].
pub fn sbom(path: &Path, project: Option<&Path>) -> Result<Value> {
    use crate::tools::check::{open, Opened};
    match open(path)? {
        Opened::Dir => release_sbom(path, project, &[], None),
        Opened::Corrupt(report) => Err(crate::error::Error::Project {
            path: path.to_owned(),
            message: report.problems.join("; "),
        }),
        Opened::Unpacked {
            scratch,
            working_dir,
            ..
        } => {
            let files = scratch.path();
            let root = files.join(&working_dir);
            if working_dir.as_os_str().is_empty() {
                return release_sbom(&root, project, &[], None);
            }
            let embedded = root.join(image_path(&read_rel(&root)?.vsn));
            if let Ok(bytes) = fs::read(&embedded) {
                return serde_json::from_slice(&bytes).map_err(|e| crate::error::Error::Parse {
                    path: path.to_owned(),
                    line: 1,
                    message: format!("the SBOM in the image is not JSON: {e}"),
                });
            }
            let read = |p: &str| fs::read_to_string(files.join(p)).ok();
            let debs = read("var/lib/dpkg/status").map_or_else(Vec::new, |t| dpkg_status(&t));
            let distro = read("etc/os-release")
                .or_else(|| read("usr/lib/os-release"))
                .and_then(|t| distro(&t));
            release_sbom(&root, project, &debs, distro.as_deref())
        }
    }
}

/// Writes `bom` as pretty JSON to `dest`, which appears whole or not at all.
pub fn write(bom: &Value, dest: &Path) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(bom).expect("JSON values serialize");
    bytes.push(b'\n');
    let tmp = crate::util::fs::TempPath::beside(dest)?;
    fs::write(tmp.path(), &bytes).at(dest, "cannot write")?;
    tmp.publish(dest)
}

/// Where relpack's images hold their SBOM, relative to the release root.
pub fn image_path(version: &str) -> std::path::PathBuf {
    Path::new("releases").join(version).join("sbom.cdx.json")
}

/// `debian-12` from an `os-release` file (`ID` and `VERSION_ID`); `None`
/// for a distribution without a version (sid).
pub fn distro(os_release: &str) -> Option<String> {
    let field = |name: &str| {
        os_release.lines().find_map(|l| {
            l.strip_prefix(name)?
                .strip_prefix('=')
                .map(|v| v.trim().trim_matches('"').to_owned())
        })
    };
    Some(format!("{}-{}", field("ID")?, field("VERSION_ID")?))
}

/// The SBOM of the release at `root`; `project` is the project directory,
/// read for `mix.lock` and the Hex packages' metadata when given; `debs`
/// the Debian packages of an image's base, with its `distro`.
pub fn release_sbom(
    root: &Path,
    project: Option<&Path>,
    debs: &[DebPackage],
    distro: Option<&str>,
) -> Result<Value> {
    let Rel {
        name,
        vsn: version,
        erts_vsn,
        apps,
    } = read_rel(root)?;
    let locked: BTreeMap<String, LockedPackage> = project
        .map(|p| p.join("mix.lock"))
        .filter(|p| p.is_file())
        .map(|p| mix_lock::read(&p))
        .transpose()?
        .unwrap_or_default()
        .into_iter()
        .map(|l| (l.app.clone(), l))
        .collect();
    let names: BTreeSet<&str> = apps.iter().map(|(n, _)| n.as_str()).collect();
    let mut components = Vec::new();
    let mut dependencies = Vec::new();
    let manifest = read_manifest(&root.join("releases").join(&version).join("MANIFEST"));
    let erts_dir = root.join(format!("erts-{erts_vsn}"));
    let erts_ref = format!("otp:erts@{erts_vsn}");
    if erts_dir.is_dir() {
        components.push(json!({
            "type": "application",
            "bom-ref": erts_ref,
            "name": "erts",
            "version": erts_vsn,
            "description": "The Erlang runtime system",
            "purl": format!("pkg:otp/erts@{erts_vsn}"),
            "hashes": [{"alg": "SHA-256", "content": tree_digest(root, &erts_dir, &manifest)?}],
        }));
        dependencies.push(json!({"ref": erts_ref, "dependsOn": []}));
    }
    for (app, vsn) in &apps {
        let dir = root.join("lib").join(format!("{app}-{vsn}"));
        let spec = read_app(&dir.join("ebin").join(format!("{app}.app")));
        let bom_ref = app_ref(app, vsn);
        let mut component = json!({
            "type": if ELIXIR_APPS.contains(&app.as_str()) || OTP_APPS.contains(&app.as_str()) {
                "framework"
            } else {
                "library"
            },
            "bom-ref": bom_ref,
            "name": app,
            "version": vsn,
        });
        if let Some(description) = &spec.description {
            component["description"] = json!(description);
        }
        let lock = locked.get(app).filter(|l| l.version == *vsn);
        let purl = match (lock, app.as_str()) {
            (Some(l), _) => Some(format!("pkg:hex/{}@{}", l.package, l.version)),
            (None, a) if OTP_APPS.contains(&a) => Some(format!("pkg:otp/{app}@{vsn}")),
            (None, a) if ELIXIR_APPS.contains(&a) => {
                Some(format!("pkg:github/elixir-lang/elixir@v{vsn}#lib/{app}"))
            }
            _ => None,
        };
        if let Some(purl) = purl {
            component["purl"] = json!(purl);
        }
        let hash = match lock.and_then(|l| l.sha256.clone()) {
            Some(outer) => outer,
            None if dir.is_dir() => tree_digest(root, &dir, &manifest)?,
            None => String::new(),
        };
        if !hash.is_empty() {
            component["hashes"] = json!([{"alg": "SHA-256", "content": hash}]);
        }
        let mut licenses = spec.licenses.clone();
        if let (true, Some(project)) = (licenses.is_empty(), project) {
            let package = lock.map_or(app.as_str(), |l| l.app.as_str());
            licenses = hex_licenses(&project.join("deps").join(package));
        }
        if !licenses.is_empty() {
            component["licenses"] = Value::Array(licenses.iter().map(|l| license(l)).collect());
        }
        components.push(component);
        let depends: BTreeSet<String> = spec
            .dependencies
            .iter()
            .filter(|d| names.contains(d.as_str()))
            .filter_map(|d| apps.iter().find(|(n, _)| n == d))
            .map(|(n, v)| app_ref(n, v))
            .collect();
        dependencies.push(json!({"ref": bom_ref, "dependsOn": depends}));
    }
    for deb in debs {
        let mut purl = format!(
            "pkg:deb/debian/{}@{}?arch={}",
            deb.name,
            purl_escape(&deb.version),
            deb.arch
        );
        if let Some(distro) = distro {
            purl.push_str(&format!("&distro={distro}"));
        }
        components.push(json!({
            "type": "library",
            "bom-ref": format!("deb:{}@{}", deb.name, deb.version),
            "name": deb.name,
            "version": deb.version,
            "purl": purl,
            "publisher": "Debian",
        }));
    }
    let root_ref = format!("release:{name}@{version}");
    let mut top: Vec<String> = apps.iter().map(|(n, v)| app_ref(n, v)).collect();
    if erts_dir.is_dir() {
        top.push(erts_ref);
    }
    dependencies.push(json!({"ref": root_ref, "dependsOn": top}));
    let mut metadata = json!({
        "component": {
            "type": "application",
            "bom-ref": root_ref,
            "name": name,
            "version": version,
        },
        "tools": {"components": [{
            "type": "application",
            "name": "relpack",
            "version": env!("CARGO_PKG_VERSION"),
        }]},
    });
    if let Some(epoch) = crate::pipeline::options::source_date_epoch_given() {
        metadata["timestamp"] = json!(crate::util::time::rfc3339(epoch));
    }
    let mut bom = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": metadata,
        "components": components,
        "dependencies": dependencies,
    });
    bom["serialNumber"] = json!(serial(&bom));
    Ok(bom)
}

/// A URN made from the BOM's content, in the UUID form the schema asks
/// for (version 5's layout: a name-based UUID).
fn serial(bom: &Value) -> String {
    let digest = sha256(&serde_json::to_vec(bom).expect("JSON values serialize"));
    let mut b: [u8; 16] = digest[..16].try_into().expect("16 of 32 bytes");
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn app_ref(app: &str, vsn: &str) -> String {
    format!("app:{app}@{vsn}")
}

fn license(text: &str) -> Value {
    if SPDX_IDS.contains(&text) {
        json!({"license": {"id": text}})
    } else {
        json!({"license": {"name": text}})
    }
}

/// A version as a purl writes it: `+` and `:` percent-encoded.
fn purl_escape(version: &str) -> String {
    version
        .replace('%', "%25")
        .replace('+', "%2B")
        .replace(':', "%3A")
}

/// The release's `.rel`, found by `releases/start_erl.data`.
fn read_rel(root: &Path) -> Result<Rel> {
    let start_erl = root.join("releases/start_erl.data");
    let text = fs::read_to_string(&start_erl).at(&start_erl, "cannot read the release")?;
    let version = text
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    let vsn_dir = root.join("releases").join(&version);
    let rel = fs::read_dir(&vsn_dir)
        .at(&vsn_dir, "cannot read the release")?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "rel"))
        .ok_or_else(|| crate::error::Error::Project {
            path: vsn_dir.clone(),
            message: "no .rel file: not a release".into(),
        })?;
    let bytes = fs::read(&rel).at(&rel, "cannot read")?;
    parse_consult(&bytes)
        .ok()
        .and_then(|terms| parse_rel(terms.first()?))
        .ok_or_else(|| crate::error::Error::Parse {
            path: rel.clone(),
            line: 1,
            message: "not a {release, {Name, Vsn}, {erts, Vsn}, Apps} term".into(),
        })
}

/// What the SBOM reads of an `.app` file.
#[derive(Default)]
struct AppFacts {
    description: Option<String>,
    dependencies: Vec<String>,
    licenses: Vec<String>,
}

fn read_app(path: &Path) -> AppFacts {
    let Some(Term::Tuple(app)) = fs::read(path)
        .ok()
        .and_then(|b| parse_consult(&b).ok())
        .and_then(|mut t| t.pop())
    else {
        return AppFacts::default();
    };
    let props = app.get(2).and_then(Term::as_list).unwrap_or_default();
    let get = |key: &str| {
        props.iter().find_map(|p| match p.as_tuple() {
            Some([Term::Atom(k), v]) if k == key => Some(v),
            _ => None,
        })
    };
    let names = |key: &str| -> Vec<String> {
        get(key)
            .and_then(Term::as_list)
            .unwrap_or_default()
            .iter()
            .filter_map(|t| t.as_atom().map(str::to_owned).or_else(|| t.as_string()))
            .collect()
    };
    let mut dependencies = names("applications");
    dependencies.extend(names("included_applications"));
    AppFacts {
        description: get("description").and_then(Term::as_string),
        dependencies,
        licenses: names("licenses"),
    }
}

/// The licences a fetched Hex package's `hex_metadata.config` names.
fn hex_licenses(dep: &Path) -> Vec<String> {
    let Some(terms) = fs::read(dep.join("hex_metadata.config"))
        .ok()
        .and_then(|b| parse_consult(&b).ok())
    else {
        return Vec::new();
    };
    terms
        .iter()
        .find_map(|t| match t.as_tuple() {
            Some([Term::Binary(k), Term::List(v)]) if k == b"licenses" => Some(
                v.iter()
                    .filter_map(|l| match l {
                        Term::Binary(b) => String::from_utf8(b.clone()).ok(),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

/// A release's `MANIFEST` (relpack writes one: `sha256sum` lines for
/// every file but the cookie, in path order) as (path, digest), in its
/// order; empty when the release has none.
fn read_manifest(path: &Path) -> Vec<(String, String)> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(digest, file)| (file.to_owned(), digest.to_owned()))
        .collect()
}

/// The SHA-256 of `dir`'s files as `sha256sum` lists them, sorted by path
/// relative to `dir`: from the release's `manifest` when it lists them
/// (the build hashed them already), else read.
fn tree_digest(root: &Path, dir: &Path, manifest: &[(String, String)]) -> Result<String> {
    let prefix = format!("{}/", dir.strip_prefix(root).unwrap_or(dir).display());
    let listed: String = manifest
        .iter()
        .filter_map(|(path, digest)| Some(format!("{digest}  {}\n", path.strip_prefix(&prefix)?)))
        .collect();
    if !listed.is_empty() {
        return Ok(hex(&sha256(listed.as_bytes())));
    }
    let mut lines = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry
            .map_err(|e| std::io::Error::other(e.to_string()))
            .at(dir, "cannot read")?;
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
            lines.push(format!(
                "{}  {}\n",
                hex(&sha256_file(entry.path())?),
                rel.display()
            ));
        }
    }
    Ok(hex(&sha256(lines.concat().as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_packages_of_a_dpkg_status_file() {
        let status = "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: all\n\nPackage: tzdata\nStatus: install ok installed\nArchitecture: all\nVersion: 2024a-0+deb12u1\n";
        let packages = dpkg_status(status);
        assert_eq!(packages.len(), 2);
        assert_eq!(packages[0].name, "libc6");
        assert_eq!(packages[0].version, "2.36-9+deb12u4");
        assert_eq!(packages[1].arch, "all");
        assert_eq!(
            distro(
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nID=debian\n"
            ),
            Some("debian-12".into())
        );
        assert_eq!(purl_escape("2.36-9+deb12u4"), "2.36-9%2Bdeb12u4");
    }
}
