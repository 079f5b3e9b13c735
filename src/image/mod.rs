//! `relpack image`: the release as a layered, reproducible OCI container
//! image, written without a container engine.
//!
//! The image is an OCI image layout (`oci-layout`, `index.json`,
//! `blobs/sha256/...`) that also carries a Docker-style `manifest.json`,
//! in one tar file (`podman load`, `docker load`, `skopeo copy
//! oci-archive:`) or as a directory. Its layers, from least to most often
//! changed:
//!
//! 1. the base: by default the build machine's files the release needs
//!    (`rootfs.rs`), or the layers of a `--base` image archive (`base.rs`);
//! 2. ERTS and the OTP and Elixir applications;
//! 3. third-party dependencies (applications fetched into `deps/`, or
//!    rebar3 dependencies);
//! 4. the project's own applications, `bin/`, `releases/` and overlays.
//!
//! A code change rebuilds only the last layer: each layer is a
//! deterministic tar (`layer.rs`) compressed by the tarball's deterministic
//! gzip, so an unchanged layer keeps its digest.

mod base;
mod layer;
pub mod push;
mod rootfs;

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::{json, Value};

use crate::error::{Error, IoContext, Result};
use crate::pipeline::inputs::Origin;
use crate::pipeline::plan::ReleasePlan;
use crate::util::fs::TempPath;
use crate::vocab::Target;
use layer::{file_mode, sha256, Blob, Owner, Source, Tree};
use push::Upload;
pub use push::{PushOptions, PushReport};

/// Where the release is in the image (its `WorkingDir`).
pub const RELEASE_ROOT: &str = "/opt/app";

/// The non-root user the image runs as.
#[derive(Debug, Clone)]
pub(crate) struct AppUser {
    name: String,
    uid: u64,
    gid: u64,
}

impl AppUser {
    fn owner(&self) -> Owner {
        Owner {
            uid: self.uid,
            gid: self.gid,
        }
    }
}

/// How the image is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// One tar file holding the layout and a `manifest.json`.
    #[default]
    OciArchive,
    /// The layout as a directory.
    OciDir,
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Format> {
        match s {
            "oci-archive" => Ok(Format::OciArchive),
            "oci-dir" => Ok(Format::OciDir),
            other => Err(Error::Option(format!(
                "unknown image format `{other}`: use oci-archive or oci-dir"
            ))),
        }
    }
}

/// What `relpack image` is asked for.
#[derive(Debug, Clone, Default)]
pub struct ImageOptions {
    /// The project directory (to tell its own applications from its
    /// dependencies).
    pub project_dir: PathBuf,
    /// Where the image goes.
    pub out: PathBuf,
    /// An archive or a directory.
    pub format: Format,
    /// `NAME:TAG`; `None`: `<release>:<version>`.
    pub tag: Option<String>,
    /// A base image archive (OCI or `docker save`) instead of the build
    /// machine's files.
    pub base: Option<PathBuf>,
    /// Ports to declare, `PORT` or `PORT/udp`.
    pub expose: Vec<String>,
    /// Environment variables, over the image's defaults.
    pub env: Vec<(String, String)>,
    /// Image labels.
    pub labels: Vec<(String, String)>,
    /// Push the image to a registry too.
    pub push: Option<PushOptions>,
}

/// One layer of a written image.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerInfo {
    /// What it holds.
    pub comment: String,
    /// `sha256:...` of the stored blob.
    pub digest: String,
    /// Bytes stored.
    pub size: u64,
    /// Bytes uncompressed.
    pub uncompressed: u64,
}

/// What `relpack image` wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImageReport {
    /// The archive or directory written.
    pub path: PathBuf,
    /// The image's name and tag.
    pub tag: String,
    /// `sha256:...` of the image manifest (what engines call the digest).
    pub digest: String,
    /// `sha256:...` of the image config (what podman calls the image ID).
    pub config_digest: String,
    /// The layers, base first.
    pub layers: Vec<LayerInfo>,
    /// Bytes of the layers as stored (compressed).
    pub size: u64,
    /// Bytes of the layers uncompressed (what `podman images` shows).
    pub uncompressed: u64,
    /// Its platforms (`linux/arm64`), one manifest each.
    pub platforms: Vec<String>,
    /// Things worth a look: libraries or tools the image lacks.
    pub warnings: Vec<String>,
    /// What `--push` did.
    pub push: Option<PushReport>,
}

/// The image's default file name beside the tarball's: `<build
/// dir>/<name>-<vsn>-oci.tar` (or `-oci/` for a directory).
pub fn default_out(build_dir: &Path, plan: &ReleasePlan, format: Format) -> PathBuf {
    let stem = format!("{}-{}-oci", plan.name, plan.version);
    match format {
        Format::OciArchive => build_dir.join(format!("{stem}.tar")),
        Format::OciDir => build_dir.join(stem),
    }
}

/// Writes the release (`plan`, which must not ask for a tarball) and the
/// image of it. Everything that can be checked is checked first: a bad
/// option or base image leaves nothing written.
pub fn write_image(plan: &ReleasePlan, options: &ImageOptions) -> Result<ImageReport> {
    write_images(&[plan], options)
}

/// The plans of a multi-platform image: `options` once per target, each
/// with its own target root (`None`: this machine's, or `--include-erts`'s
/// root), each writing its release to its own directory (the first to its
/// usual one, the others to it with `-<arch>` appended).
pub fn plan_platforms(
    options: &crate::BuildOptions,
    targets: &[(Target, Option<PathBuf>)],
) -> Result<Vec<ReleasePlan>> {
    let mut plans: Vec<ReleasePlan> = Vec::new();
    for (target, root) in targets {
        if plans.iter().any(|p| p.target.arch == target.arch) {
            return Err(Error::Option(format!(
                "--platform {} is given twice",
                target.platform()
            )));
        }
        let mut one = options.clone();
        one.target = Some(*target);
        if root.is_some() {
            one.target_root = root.clone();
        }
        if let Some(first) = plans.first() {
            let dir = first.output_dir.as_os_str().to_owned();
            one.output_dir = Some(PathBuf::from(format!(
                "{}-{}",
                dir.to_string_lossy(),
                target.arch.oci()
            )));
        }
        plans.push(crate::plan(&one)?);
    }
    Ok(plans)
}

/// One platform's image, made: what the layout and a push need.
struct Made {
    target: Target,
    config: Vec<u8>,
    manifest: Vec<u8>,
    layers: Vec<Blob>,
    sbom: Vec<u8>,
    referrer: Vec<u8>,
}

/// Writes each plan's release and one image of them: with one plan, an
/// image of one platform; with several (one per target, from
/// [`plan_platforms`]), an OCI image index with one manifest per platform,
/// the layers they share (byte for byte) stored once. Everything that can
/// be checked is checked first: a bad option or base image leaves nothing
/// written.
pub fn write_images(plans: &[&ReleasePlan], options: &ImageOptions) -> Result<ImageReport> {
    let Some(&first) = plans.first() else {
        return Err(Error::Option("an image needs a release".into()));
    };
    let tag = options
        .tag
        .clone()
        .unwrap_or_else(|| format!("{}:{}", first.name, first.version));
    check_tag(&tag)?;
    let ports = options
        .expose
        .iter()
        .map(|p| port(p))
        .collect::<Result<Vec<_>>>()?;
    for (key, _) in options.env.iter().chain(&options.labels) {
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(Error::Option(format!(
                "`{key}`: not a variable or label name"
            )));
        }
    }
    if plans.len() > 1 && options.base.is_some() {
        return Err(Error::Option(
            "--base with several platforms: a base archive holds one platform; leave --base out, and each platform's base comes from its target root".into(),
        ));
    }
    let mut warnings = Vec::new();
    let mut bases = Vec::new();
    for plan in plans {
        bases.push(check_plan(plan, options, &mut warnings)?);
    }
    // The image's temporary path first: an --out that cannot be written
    // stops the build before the release is.
    let tmp = TempPath::beside(&options.out)?;
    let mut made = Vec::new();
    for (plan, base) in plans.iter().zip(&bases) {
        made.push(make(plan, options, base.as_ref(), &ports, &mut warnings)?);
    }
    let created = crate::util::time::rfc3339(first.mtime);
    let blob_path = |digest: &str| format!("blobs/sha256/{}", &digest["sha256:".len()..]);
    let in_layout = options.format == Format::OciDir;
    let mut manifests = Vec::new();
    let mut files: BTreeMap<String, &[u8]> = BTreeMap::new();
    for m in &made {
        for l in &m.layers {
            files.insert(blob_path(&l.digest), &l.bytes);
        }
        files.insert(blob_path(&sha256(&m.config)), &m.config);
        files.insert(blob_path(&sha256(&m.manifest)), &m.manifest);
        if in_layout {
            files.insert(blob_path(&sha256(&m.referrer)), &m.referrer);
            files.insert(blob_path(&sha256(&m.sbom)), &m.sbom);
            files.insert(blob_path(EMPTY_DIGEST), b"{}");
        }
    }
    // One platform: its manifest, tagged; several: an index of theirs.
    let platforms = json!({
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": made.iter().map(|m| json!({
            "mediaType": MANIFEST_TYPE,
            "digest": sha256(&m.manifest),
            "size": m.manifest.len(),
            "platform": platform(m.target),
        })).collect::<Vec<_>>(),
        "annotations": {"org.opencontainers.image.created": created},
    });
    let platforms = serde_json::to_vec(&platforms).expect("JSON values serialize");
    let (tagged, tagged_type) = match &made[..] {
        [one] => (&one.manifest, MANIFEST_TYPE),
        _ => (&platforms, INDEX_TYPE),
    };
    if made.len() > 1 {
        files.insert(blob_path(&sha256(&platforms)), &platforms);
    }
    let mut entry = json!({
        "mediaType": tagged_type,
        "digest": sha256(tagged),
        "size": tagged.len(),
        "annotations": {"org.opencontainers.image.ref.name": tag},
    });
    if let [one] = &made[..] {
        entry["platform"] = platform(one.target);
    }
    manifests.push(entry);
    // A layout directory also holds each SBOM as an OCI 1.1 referrer of
    // its image; an archive does not, since `podman load` takes only
    // archives of one manifest.
    if in_layout {
        for m in &made {
            manifests.push(json!({
                "mediaType": MANIFEST_TYPE,
                "digest": sha256(&m.referrer),
                "size": m.referrer.len(),
                "artifactType": SBOM_MEDIA_TYPE,
            }));
        }
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": manifests,
    });
    let index = serde_json::to_vec(&index).expect("JSON values serialize");
    files.insert("index.json".into(), &index);
    // `docker load`'s own format names one image per tag: a
    // multi-platform image has only the OCI index.
    let docker_manifest = match &made[..] {
        [one] => Some(
            serde_json::to_vec(&json!([{
                "Config": blob_path(&sha256(&one.config)),
                "RepoTags": [tag],
                "Layers": one.layers.iter().map(|l| blob_path(&l.digest)).collect::<Vec<_>>(),
            }]))
            .expect("JSON values serialize"),
        ),
        _ => None,
    };
    if let Some(docker) = &docker_manifest {
        files.insert("manifest.json".into(), docker);
    }
    files.insert("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#);
    write_layout(tmp, &options.out, options.format, &files, first)?;

    let push = match &options.push {
        Some(push_options) => {
            let mut blobs: Vec<(String, &[u8])> = Vec::new();
            for m in &made {
                blobs.push((sha256(&m.config), &m.config[..]));
                blobs.extend(m.layers.iter().map(|l| (l.digest.clone(), &l.bytes[..])));
            }
            let upload = Upload {
                blobs,
                platforms: match &made[..] {
                    [_] => Vec::new(),
                    _ => made.iter().map(|m| &m.manifest[..]).collect(),
                },
                manifest: tagged,
                media_type: tagged_type,
                referrers: made
                    .iter()
                    .map(|m| {
                        (
                            &m.referrer[..],
                            vec![
                                (sha256(&m.sbom), &m.sbom[..]),
                                (EMPTY_DIGEST.to_owned(), &b"{}"[..]),
                            ],
                        )
                    })
                    .collect(),
            };
            Some(push::push(&upload, push_options)?)
        }
        None => None,
    };
    if let Some(report) = &push {
        warnings.extend(report.warnings.iter().cloned());
    }

    let mut layers: Vec<LayerInfo> = Vec::new();
    for m in &made {
        for l in &m.layers {
            let comment = match &made[..] {
                [_] => l.comment.clone(),
                _ => format!("{}: {}", m.target.platform(), l.comment),
            };
            layers.push(LayerInfo {
                comment,
                digest: l.digest.clone(),
                size: l.bytes.len() as u64,
                uncompressed: l.tar_size,
            });
        }
    }
    let mut stored: Vec<&Blob> = made.iter().flat_map(|m| &m.layers).collect();
    stored.sort_by(|a, b| a.digest.cmp(&b.digest));
    stored.dedup_by(|a, b| a.digest == b.digest);
    Ok(ImageReport {
        path: options.out.clone(),
        tag,
        digest: sha256(tagged),
        config_digest: sha256(&made[0].config),
        platforms: made.iter().map(|m| m.target.platform()).collect(),
        size: stored.iter().map(|l| l.bytes.len() as u64).sum(),
        uncompressed: stored.iter().map(|l| l.tar_size).sum(),
        layers,
        warnings,
        push,
    })
}

/// Checks what can be checked of `plan`'s image before anything is
/// written; returns its `--base`, read.
fn check_plan(
    plan: &ReleasePlan,
    options: &ImageOptions,
    warnings: &mut Vec<String>,
) -> Result<Option<base::BaseImage>> {
    if !plan.launcher {
        return Err(Error::Option(format!(
            "the image runs bin/{}, and `include_executables_for` writes none: add :unix to it",
            plan.name
        )));
    }
    if plan.dev_mode {
        return Err(Error::Option(
            "dev_mode links the project's applications into the release: an image needs them copied; build the image without dev_mode".into(),
        ));
    }
    let base = match &options.base {
        Some(path) => Some(base::read(path, plan.target.arch.oci())?),
        None => None,
    };
    if let Some(base) = &base {
        warnings.extend(check_base(
            plan,
            base,
            options.base.as_deref().unwrap_or(Path::new("")),
        )?);
    } else if !plan.include_erts {
        return Err(Error::Option(
            "--include-erts false: the default base has no Erlang; bundle ERTS or give a --base that has it".into(),
        ));
    } else {
        plan.require_system_root("the default base's loader, libraries and tools")?;
    }
    Ok(base)
}

/// Writes `plan`'s release and makes the image of it.
fn make(
    plan: &ReleasePlan,
    options: &ImageOptions,
    base: Option<&base::BaseImage>,
    ports: &[String],
    warnings: &mut Vec<String>,
) -> Result<Made> {
    let user = app_user(base.and_then(|b| b.text("etc/passwd")));
    crate::write(plan)?;
    let mtime = plan.mtime;
    let mut layers: Vec<Blob> = Vec::new();
    let mut runtime = Tree::default();
    // The build machine's files the default base copies, for the SBOM.
    let mut base_paths = Vec::new();
    match base {
        Some(base) => {
            layers.extend(base.layers.iter().cloned());
            rootfs::etc_files(
                &mut runtime,
                &user,
                base.text("etc/passwd"),
                base.text("etc/group"),
            );
            let tmp = crate::util::view::resolve(&base.files, "/tmp");
            if tmp.is_none_or(|t| t.kind != crate::util::view::Kind::Dir) {
                runtime.dir("tmp", 0o1777, Owner::ROOT);
            }
        }
        None => {
            let libraries = crate::tools::inspect::runtime_libraries(plan);
            let bin = plan.otp.erts_dir().join("bin");
            let executables: Vec<PathBuf> = crate::pipeline::assemble::ERTS_RUNTIME
                .iter()
                .map(|n| bin.join(n))
                .collect();
            let ssl = plan
                .apps
                .iter()
                .any(|a| matches!(a.name(), "ssl" | "public_key"));
            let (tree, found) = rootfs::host_base(
                plan.require_system_root("the default base's loader, libraries and tools")?,
                plan.target,
                &libraries,
                &executables,
                ssl,
                &user,
            );
            warnings.extend(found);
            base_paths = tree.host_paths();
            layers.push(
                tree.blob(
                    match plan.target_root {
                        None => {
                            "relpack base: the build machine's libraries, loader, shell and tools"
                        }
                        Some(_) => {
                            "relpack base: the target root's libraries, loader, shell and tools"
                        }
                    }
                    .into(),
                    plan,
                )?,
            );
        }
    }
    let (deps, mut app) = release_layers(plan, &options.project_dir, &user, &mut runtime)?;
    let sbom = image_sbom(plan, options, base, &base_paths)?;
    let sbom_path = Path::new(RELEASE_ROOT.trim_start_matches('/'))
        .join(crate::tools::sbom::image_path(&plan.version));
    app.file(
        &sbom_path.to_string_lossy(),
        Source::Bytes(sbom.clone()),
        0o644,
        Owner::ROOT,
    );
    for (tree, comment) in [
        (runtime, "ERTS and the OTP and Elixir applications"),
        (deps, "third-party dependencies"),
        (app, "the project's applications, bin/ and releases/"),
    ] {
        if !tree.is_empty() {
            layers.push(tree.blob(comment.into(), plan)?);
        }
    }

    let config = image_config(plan, options, base, &user, ports, &layers, mtime);
    let config = serde_json::to_vec(&config).expect("JSON values serialize");
    let created = crate::util::time::rfc3339(mtime);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256(&config),
            "size": config.len(),
        },
        "layers": layers.iter().map(|l| json!({
            "mediaType": l.media_type,
            "digest": l.digest,
            "size": l.bytes.len(),
        })).collect::<Vec<_>>(),
        "annotations": {
            "org.opencontainers.image.created": created,
            "org.opencontainers.image.title": plan.name,
            "org.opencontainers.image.version": plan.version,
        },
    });
    let manifest = serde_json::to_vec(&manifest).expect("JSON values serialize");
    let referrer = sbom_referrer(&manifest, &sbom, &created);
    Ok(Made {
        target: plan.target,
        config,
        manifest,
        layers,
        sbom,
        referrer,
    })
}

/// An OCI image manifest's media type.
pub(crate) const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// An OCI image index's media type.
pub(crate) const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// CycloneDX's JSON media type, the SBOM referrer's artifact type.
const SBOM_MEDIA_TYPE: &str = "application/vnd.cyclonedx+json";

/// The OCI empty descriptor's blob, `{}`.
const EMPTY_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

/// The image's SBOM (pretty JSON): its release, and the Debian packages
/// of its base (a `--base` image's dpkg database, or the packages of the
/// build machine that the default base copies files of).
fn image_sbom(
    plan: &ReleasePlan,
    options: &ImageOptions,
    base: Option<&base::BaseImage>,
    base_paths: &[String],
) -> Result<Vec<u8>> {
    use crate::tools::sbom;
    let (debs, distro) = match base {
        Some(base) => (
            sbom::dpkg_status(base.text("var/lib/dpkg/status").unwrap_or_default()),
            base.text("etc/os-release")
                .or_else(|| base.text("usr/lib/os-release"))
                .and_then(sbom::distro),
        ),
        None => {
            let root = plan.require_system_root("the base's Debian packages")?;
            let names =
                crate::tools::inspect::debian_packages(root, base_paths.iter().map(String::as_str))
                    .into_values()
                    .collect();
            let os_release =
                std::fs::read_to_string(root.join("etc/os-release")).unwrap_or_default();
            (sbom::host_packages(root, &names), sbom::distro(&os_release))
        }
    };
    let bom = sbom::release_sbom(
        &plan.output_dir,
        Some(&options.project_dir),
        &debs,
        distro.as_deref(),
    )?;
    let mut bytes = serde_json::to_vec_pretty(&bom).expect("JSON values serialize");
    bytes.push(b'\n');
    Ok(bytes)
}

/// The artifact manifest that attaches `sbom` to the image `manifest`
/// (OCI 1.1: `subject` names the image, `artifactType` the SBOM's kind).
fn sbom_referrer(manifest: &[u8], sbom: &[u8], created: &str) -> Vec<u8> {
    let referrer = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": SBOM_MEDIA_TYPE,
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": EMPTY_DIGEST,
            "size": 2,
        },
        "layers": [{
            "mediaType": SBOM_MEDIA_TYPE,
            "digest": sha256(sbom),
            "size": sbom.len(),
        }],
        "subject": {
            "mediaType": MANIFEST_TYPE,
            "digest": sha256(manifest),
            "size": manifest.len(),
        },
        "annotations": {"org.opencontainers.image.created": created},
    });
    serde_json::to_vec(&referrer).expect("JSON values serialize")
}

/// The application user: `app`, uid and gid 1000, or the first free id
/// from 1000 in a base image's `/etc/passwd`.
fn app_user(passwd: Option<&str>) -> AppUser {
    let taken: Vec<u64> = passwd
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.split(':').nth(2)?.parse().ok())
        .collect();
    let id = (1000..).find(|id| !taken.contains(id)).unwrap_or(1000);
    AppUser {
        name: "app".into(),
        uid: id,
        gid: id,
    }
}

/// The base image has what the release needs: a shell for the launcher
/// (an error without), Erlang when ERTS is not bundled, the launcher's
/// tools and the libraries the release's ELF files need (warnings).
fn check_base(plan: &ReleasePlan, base: &base::BaseImage, path: &Path) -> Result<Vec<String>> {
    let bad = |message: String| Error::Image {
        path: path.to_owned(),
        message,
    };
    if !crate::util::view::has_file(&base.files, rootfs::SHELL) {
        return Err(bad(format!(
            "the image has no {}, which the launcher bin/{} (a POSIX sh script) needs: use a base with a shell, or the default base",
            rootfs::SHELL, plan.name
        )));
    }
    let on_path = |name: &str| {
        ["/usr/local/bin", "/usr/bin", "/bin"]
            .iter()
            .any(|d| crate::util::view::has_file(&base.files, &format!("{d}/{name}")))
    };
    if !plan.include_erts && !on_path("erl") {
        return Err(bad(
            "the release does not bundle ERTS (--include-erts false) and the image has no erl: bundle ERTS or use a base with Erlang".into(),
        ));
    }
    let mut warnings = Vec::new();
    let missing: Vec<&str> = rootfs::LAUNCHER_TOOLS
        .iter()
        .copied()
        .filter(|t| !on_path(t))
        .collect();
    if !missing.is_empty() {
        warnings.push(format!(
            "the base image lacks {}, which the launcher runs",
            missing.join(", ")
        ));
    }
    let dirs = crate::tools::inspect::library_dirs(plan.target);
    for lib in crate::tools::inspect::runtime_libraries(plan) {
        let found = lib.bundled
            || dirs.iter().any(|d| {
                crate::util::view::has_file(&base.files, &d.join(&lib.soname).to_string_lossy())
            });
        if !found {
            warnings.push(format!(
                "{} (needed by {}) is in neither the base image nor the release: install it in the base",
                lib.soname,
                lib.needed_by.join(", ")
            ));
        }
    }
    Ok(warnings)
}

/// Whether the application `name` is a third-party dependency of the
/// project at `project`: fetched into `deps/` (Mix), or,
/// in a rebar3 project, neither the top-level application nor one under
/// `apps/`. Path dependencies elsewhere count as the project's own: they
/// are usually in-house code that changes with it.
fn third_party(project: &Path, name: &str) -> bool {
    if project.join("deps").join(name).is_dir() {
        return true;
    }
    let rebar = project.join("rebar.config").is_file() && !project.join("mix.exs").is_file();
    rebar
        && !project.join("apps").join(name).is_dir()
        && !project
            .join("src")
            .join(format!("{name}.app.src"))
            .is_file()
}

/// Sorts the written release's files into the runtime (ERTS, OTP and
/// Elixir applications; added to `runtime`), dependencies and project
/// layers, under [`RELEASE_ROOT`]. Files only their owner may read (the
/// cookie) belong to the application user, as does `tmp/`; the rest is
/// root's, so the running release cannot change its own code.
fn release_layers(
    plan: &ReleasePlan,
    project: &Path,
    user: &AppUser,
    runtime: &mut Tree,
) -> Result<(Tree, Tree)> {
    let (mut deps, mut app) = (Tree::default(), Tree::default());
    let kinds: BTreeMap<String, Origin> = plan
        .apps
        .iter()
        .map(|a| (a.dir_name(), a.source.origin))
        .collect();
    let root = &plan.output_dir;
    let prefix = RELEASE_ROOT.trim_start_matches('/');
    for entry in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Io {
            path: e.path().unwrap_or(root).to_owned(),
            action: "cannot read the release",
            source: e.into(),
        })?;
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        // Anyone who can pull the image could join its nodes with a cookie
        // inside: the launcher takes RELEASE_COOKIE or makes one.
        if rel == Path::new("releases/COOKIE") && !plan.cookie_given {
            continue;
        }
        let mut parts = rel.iter().map(|p| p.to_string_lossy());
        let first = parts.next().unwrap_or_default();
        let second = parts.next();
        let tree = if first.starts_with("erts-") {
            &mut *runtime
        } else if first == "lib" {
            match second.as_deref().and_then(|d| kinds.get(d).map(|o| (d, o))) {
                None => &mut *runtime,
                Some((_, Origin::Otp | Origin::Elixir)) => &mut *runtime,
                Some((dir, Origin::Project)) => {
                    let name = dir.rsplit_once('-').map_or(dir, |(n, _)| n);
                    if third_party(project, name) {
                        &mut deps
                    } else {
                        &mut app
                    }
                }
            }
        } else {
            &mut app
        };
        let path = format!("{prefix}/{}", rel.to_string_lossy());
        let meta = entry
            .path()
            .symlink_metadata()
            .at(entry.path(), "cannot read")?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(entry.path()).at(entry.path(), "cannot read")?;
            tree.link(&path, &target.to_string_lossy());
        } else if meta.is_dir() {
            tree.dir(&path, 0o755, Owner::ROOT);
        } else {
            let mode = file_mode(meta.permissions().mode());
            let owner = match mode {
                0o600 => user.owner(),
                _ => Owner::ROOT,
            };
            tree.file(&path, Source::Host(entry.path().to_owned()), mode, owner);
        }
    }
    app.dir(&format!("{prefix}/tmp"), 0o755, user.owner());
    Ok((deps, app))
}

/// The image config: how the engine runs the release.
fn image_config(
    plan: &ReleasePlan,
    options: &ImageOptions,
    base: Option<&base::BaseImage>,
    user: &AppUser,
    ports: &[String],
    layers: &[Blob],
    mtime: u64,
) -> Value {
    // The base's variables (its PATH), then relpack's, then --env.
    let mut env: Vec<(String, String)> = vec![(
        "PATH".into(),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
    )];
    let inherited = base
        .and_then(|b| b.config.pointer("/config/Env"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ours = [
        ("LANG", "C.UTF-8"),
        ("HOME", RELEASE_ROOT),
        ("RELEASE_TMP", "/tmp"),
        // The working directory is the release, which is not writable.
        ("ERL_CRASH_DUMP", "/tmp/erl_crash.dump"),
    ];
    let pairs = inherited
        .iter()
        .filter_map(|v| v.as_str()?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .chain(ours.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .chain(options.env.iter().cloned());
    for (key, value) in pairs {
        match env.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => env.push((key, value)),
        }
    }
    let created = crate::util::time::rfc3339(mtime);
    let mut config = json!({
        "User": format!("{}:{}", user.uid, user.gid),
        "Env": env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "Entrypoint": [format!("{RELEASE_ROOT}/bin/{}", plan.name)],
        "Cmd": ["foreground"],
        "WorkingDir": RELEASE_ROOT,
        "StopSignal": "SIGTERM",
    });
    if !ports.is_empty() {
        config["ExposedPorts"] = ports.iter().map(|p| (p.clone(), json!({}))).collect();
    }
    if !options.labels.is_empty() {
        config["Labels"] = options
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
    }
    let mut image = platform(plan.target);
    let fields = json!({
        "created": created,
        "config": config,
        "rootfs": {
            "type": "layers",
            "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>(),
        },
        "history": layers.iter().map(|l| json!({
            "created": created,
            "created_by": format!("relpack image: {}", l.comment),
        })).collect::<Vec<_>>(),
    });
    for (key, value) in fields.as_object().expect("an object") {
        image[key] = value.clone();
    }
    image
}

/// The OCI platform of `target` (`{"architecture": "arm64", "os": "linux",
/// "variant": "v8"}`).
fn platform(target: Target) -> serde_json::Value {
    let mut platform = json!({"architecture": target.arch.oci(), "os": "linux"});
    if let Some(variant) = target.arch.oci_variant() {
        platform["variant"] = json!(variant);
    }
    platform
}

/// `PORT` or `PORT/PROTO` as the config names it (`4000/tcp`).
fn port(spec: &str) -> Result<String> {
    let (number, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    match (number.parse::<u16>(), proto) {
        (Ok(n), "tcp" | "udp" | "sctp") if n > 0 => Ok(format!("{n}/{proto}")),
        _ => Err(Error::Option(format!(
            "--expose {spec}: expected PORT or PORT/tcp|udp|sctp"
        ))),
    }
}

/// A reference engines accept: lowercase name components, an optional tag
/// of at most 128 letters, digits, `_`, `.` and `-`.
fn check_tag(tag: &str) -> Result<()> {
    let (name, tag_part) = match tag.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n, Some(t)),
        _ => (tag, None),
    };
    let name_ok = !name.is_empty()
        && name.split('/').all(|c| {
            !c.is_empty()
                && c.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-:".contains(ch))
        });
    let tag_ok = tag_part.is_none_or(|t| {
        !t.is_empty()
            && t.len() <= 128
            && !t.starts_with(['.', '-'])
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
    });
    if name_ok && tag_ok {
        Ok(())
    } else {
        Err(Error::Option(format!(
            "image tag `{tag}` is not a valid reference: pass --tag NAME:TAG (lowercase name; tag of letters, digits, _ . -)"
        )))
    }
}

/// Writes the layout's `files` (sorted by path) as a tar archive or a
/// directory at `dest`, atomically.
fn write_layout(
    tmp: TempPath,
    dest: &Path,
    format: Format,
    files: &BTreeMap<String, &[u8]>,
    plan: &ReleasePlan,
) -> Result<()> {
    let mtime = plan.mtime;
    match format {
        Format::OciArchive => {
            let file = std::fs::File::create(tmp.path()).at(dest, "cannot create the image")?;
            let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
            let mut dirs: Vec<&str> = Vec::new();
            for (path, bytes) in files {
                plan.cancel.check()?;
                for (i, _) in path.match_indices('/') {
                    let dir = &path[..i];
                    if !dirs.contains(&dir) {
                        dirs.push(dir);
                        let mut header = tar::Header::new_gnu();
                        header.set_entry_type(tar::EntryType::Directory);
                        header.set_mode(0o755);
                        header.set_mtime(mtime);
                        header.set_size(0);
                        builder
                            .append_data(&mut header, format!("{dir}/"), std::io::empty())
                            .at(dest, "cannot write the image")?;
                    }
                }
                let mut header = tar::Header::new_gnu();
                header.set_mode(0o644);
                header.set_mtime(mtime);
                header.set_size(bytes.len() as u64);
                builder
                    .append_data(&mut header, path, *bytes)
                    .at(dest, "cannot write the image")?;
            }
            builder
                .into_inner()
                .and_then(|mut w| w.flush())
                .at(dest, "cannot write the image")?;
        }
        Format::OciDir => {
            for (path, bytes) in files {
                plan.cancel.check()?;
                let target = tmp.path().join(path);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).at(dest, "cannot create the image")?;
                }
                std::fs::write(&target, bytes).at(dest, "cannot write the image")?;
            }
        }
    }
    tmp.publish(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_references() {
        assert!(check_tag("hello:0.1.0").is_ok());
        assert!(check_tag("localhost:5000/team/hello").is_ok());
        assert!(check_tag("Hello:1").is_err());
        assert!(check_tag("hello:1.0.0+build").is_err());
        assert_eq!(port("4000").unwrap(), "4000/tcp");
        assert_eq!(port("53/udp").unwrap(), "53/udp");
        assert!(port("0").is_err() && port("http").is_err() && port("80/xyz").is_err());
    }

    #[test]
    fn the_user_avoids_taken_ids() {
        assert_eq!(app_user(None).uid, 1000);
        let passwd = "root:x:0:0::/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n";
        assert_eq!(app_user(Some(passwd)).uid, 1001);
    }
}
