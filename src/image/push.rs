//! `relpack image --push REGISTRY/NAME:TAG`: the image straight to a
//! registry by the OCI distribution protocol, as ko and jib push.
//!
//! The protocol is the `oci-client` crate's (the ORAS project's Rust
//! client, used by wasmCloud and Krustlet): its registry requests, the
//! basic and bearer-token authentication dance, chunked uploads,
//! cross-repository mounts and TLS through rustls. relpack decides what to
//! send: each blob the registry lacks (asked with `HEAD` first; mounted
//! from `--mount-from` repositories where the registry offers it), then
//! the image manifest under its tag, byte for byte as written locally (so
//! the pushed digest is the local one), then the SBOM's referrer manifest
//! by digest. The tag is written last: a push that fails leaves no tag
//! pointing at a half-pushed image.
//!
//! Credentials are the ones podman and docker keep (`REGISTRY_AUTH_FILE`,
//! `$XDG_RUNTIME_DIR/containers/auth.json`,
//! `~/.config/containers/auth.json`, `~/.docker/config.json`, first
//! match). TLS trusts the system's CAs and any `--registry-ca`; plain HTTP
//! is used for a loopback registry that does not speak TLS, or anywhere
//! with `--plain-http`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use crate::error::{Error, Result};

/// Where and how to push.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// `REGISTRY/NAME:TAG` (`127.0.0.1:5000/shop/web:1.2`).
    pub reference: String,
    /// CA certificates (PEM) to trust besides the system's.
    pub registry_ca: Vec<PathBuf>,
    /// Plain HTTP, whatever the registry's address.
    pub plain_http: bool,
    /// Repositories of the same registry to mount blobs from.
    pub mount_from: Vec<String>,
    /// Called as each blob is settled (for a terminal's progress).
    pub on_blob: Option<fn(&BlobPushed)>,
}

/// How a blob reached the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Sent.
    Uploaded,
    /// Already there.
    Present,
    /// Mounted from another repository.
    Mounted,
}

/// One blob of a push.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BlobPushed {
    /// `sha256:...`.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
    /// What happened to it.
    pub outcome: Outcome,
}

/// What a push did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PushReport {
    /// The reference pushed to.
    pub reference: String,
    /// `sha256:...` of the manifest the tag now names.
    pub digest: String,
    /// Every blob, in the order sent.
    pub blobs: Vec<BlobPushed>,
    /// The SBOM referrers' digests (one per platform) the registry took.
    pub referrers: Vec<String>,
    /// What did not stop the push (a registry that refuses referrers).
    pub warnings: Vec<String>,
}

impl PushReport {
    /// Blobs sent, and their bytes.
    pub fn uploaded(&self) -> (usize, u64) {
        let sent = self.blobs.iter().filter(|b| b.outcome == Outcome::Uploaded);
        (sent.clone().count(), sent.map(|b| b.size).sum())
    }
}

/// A blob to send: its digest and bytes.
pub(crate) type BlobRef<'a> = (String, &'a [u8]);

/// What the image writer hands over: the blobs (config and layers),
/// the manifest, and the SBOM referrer with its own blobs.
pub(crate) struct Upload<'a> {
    pub blobs: Vec<BlobRef<'a>>,
    /// A multi-platform image's manifests, pushed by digest before the
    /// index that names them.
    pub platforms: Vec<&'a [u8]>,
    /// What the tag names: an image manifest or an index.
    pub manifest: &'a [u8],
    /// Its media type.
    pub media_type: &'a str,
    /// The SBOMs' referrer manifests (by digest) and their blobs.
    pub referrers: Vec<(&'a [u8], Vec<BlobRef<'a>>)>,
}

use super::MANIFEST_TYPE;

/// Pushes `upload` as `options.reference`.
pub(crate) fn push(upload: &Upload, options: &PushOptions) -> Result<PushReport> {
    let reference: Reference = options.reference.parse().map_err(|e| {
        Error::Option(format!(
            "--push {}: not an image reference ({e}): use REGISTRY/NAME:TAG",
            options.reference
        ))
    })?;
    let registry = reference.resolve_registry().to_owned();
    let fail = |message: String| Error::Registry {
        registry: registry.clone(),
        message,
    };
    let mut extra_roots = Vec::new();
    for ca in &options.registry_ca {
        let data = std::fs::read(ca).map_err(|source| Error::Io {
            path: ca.clone(),
            action: "cannot read the CA certificate",
            source,
        })?;
        extra_roots.push(Certificate {
            encoding: CertificateEncoding::Pem,
            data,
        });
    }
    let plain = options.plain_http || (is_loopback(&registry) && speaks_plain_http(&registry));
    let client = Client::new(ClientConfig {
        protocol: if plain {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        extra_root_certificates: extra_roots,
        connect_timeout: Some(Duration::from_secs(10)),
        read_timeout: Some(Duration::from_secs(120)),
        ..ClientConfig::default()
    });
    let (auth, auth_file) = credentials(&registry);
    let explain =
        |e: OciDistributionError| fail(explain(e, auth_file.as_deref(), &options.registry_ca));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::System(format!("cannot start the push's runtime: {e}")))?;
    runtime.block_on(async {
        client
            .auth(&reference, &auth, oci_client::RegistryOperation::Push)
            .await
            .map_err(explain)?;
        let mounts: Vec<Reference> = options
            .mount_from
            .iter()
            .map(|repo| Reference::with_tag(registry.clone(), repo.clone(), "latest".into()))
            .collect();
        let mut blobs = Vec::new();
        let all = upload
            .blobs
            .iter()
            .chain(upload.referrers.iter().flat_map(|(_, b)| b.iter()));
        for (digest, bytes) in all {
            if blobs.iter().any(|b: &BlobPushed| &b.digest == digest) {
                continue;
            }
            let outcome = if client.blob_exists(&reference, digest).await.map_err(explain)? {
                Outcome::Present
            } else {
                let mut mounted = false;
                for source in &mounts {
                    if client.mount_blob(&reference, source, digest).await.is_ok()
                        && client.blob_exists(&reference, digest).await.unwrap_or(false)
                    {
                        mounted = true;
                        break;
                    }
                }
                if mounted {
                    Outcome::Mounted
                } else {
                    client
                        .push_blob(&reference, bytes.to_vec(), digest)
                        .await
                        .map_err(explain)?;
                    Outcome::Uploaded
                }
            };
            let pushed = BlobPushed {
                digest: digest.clone(),
                size: bytes.len() as u64,
                outcome,
            };
            if let Some(on_blob) = options.on_blob {
                on_blob(&pushed);
            }
            blobs.push(pushed);
        }
        for manifest in &upload.platforms {
            let by_digest = Reference::with_digest(
                registry.clone(),
                reference.repository().to_owned(),
                crate::image::layer::sha256(manifest),
            );
            client
                .push_manifest_raw(
                    &by_digest,
                    manifest.to_vec(),
                    MANIFEST_TYPE.parse().expect("a valid header value"),
                )
                .await
                .map_err(explain)?;
        }
        client
            .push_manifest_raw(
                &reference,
                upload.manifest.to_vec(),
                upload.media_type.parse().expect("a valid header value"),
            )
            .await
            .map_err(explain)?;
        let digest = crate::image::layer::sha256(upload.manifest);
        let mut warnings = Vec::new();
        let mut referrers = Vec::new();
        for (manifest, _) in &upload.referrers {
            let by_digest = crate::image::layer::sha256(manifest);
            let target = Reference::with_digest(
                registry.clone(),
                reference.repository().to_owned(),
                by_digest.clone(),
            );
            match client
                .push_manifest_raw(
                    &target,
                    manifest.to_vec(),
                    MANIFEST_TYPE.parse().expect("a valid header value"),
                )
                .await
            {
                Ok(_) => referrers.push(by_digest),
                Err(e) => warnings.push(format!(
                    "{registry}: the registry refused the SBOM's referrer manifest ({}); the SBOM is still in the image",
                    first_line(&e.to_string())
                )),
            }
        }
        Ok(PushReport {
            reference: options.reference.clone(),
            digest,
            blobs,
            referrers,
            warnings,
        })
    })
}

/// `host[:port]` names this machine.
fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => registry,
    };
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1") || host.starts_with("127.")
}

/// Whether the registry answers plain HTTP (a loopback registry without
/// TLS, as `docker-registry` runs by default).
fn speaks_plain_http(registry: &str) -> bool {
    let address = if registry.contains(':') {
        registry.to_owned()
    } else {
        format!("{registry}:80")
    };
    let Ok(mut stream) = TcpStream::connect(&address) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if stream
        .write_all(format!("GET /v2/ HTTP/1.0\r\nHost: {registry}\r\n\r\n").as_bytes())
        .is_err()
    {
        return false;
    }
    // A TLS server of Go's answers plain HTTP with a 400: only a registry's
    // own answer to /v2/ (200, or 401 asking for credentials) counts.
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.")
        && matches!(&head[9..12], b"200" | b"401")
}

/// The credentials podman or docker keep for `registry`, and the file
/// they are in; anonymous when none has them.
fn credentials(registry: &str) -> (RegistryAuth, Option<PathBuf>) {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(file) = std::env::var_os("REGISTRY_AUTH_FILE") {
        files.push(file.into());
    }
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
        files.push(Path::new(&dir).join("containers/auth.json"));
    }
    if let Some(home) = &home {
        files.push(home.join(".config/containers/auth.json"));
        files.push(home.join(".docker/config.json"));
    }
    for file in files {
        if let Some(auth) = auth_in(&file, registry) {
            return (auth, Some(file));
        }
    }
    (RegistryAuth::Anonymous, None)
}

/// `registry`'s entry of an auth file: `{"auths": {"HOST": {"auth":
/// base64("user:password")}}}`.
fn auth_in(file: &Path, registry: &str) -> Option<RegistryAuth> {
    use base64::Engine;
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    let auths = json.get("auths")?.as_object()?;
    let entry = auths.iter().find_map(|(key, value)| {
        let host = key
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/');
        (host == registry || host.split('/').next() == Some(registry)).then_some(value)
    })?;
    let encoded = entry.get("auth")?.as_str()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some(RegistryAuth::Basic(user.to_owned(), password.to_owned()))
}

/// A push error as one line that says what to do.
fn explain(e: OciDistributionError, auth_file: Option<&Path>, cas: &[PathBuf]) -> String {
    let credentials = || match auth_file {
        Some(file) => format!("check its entry in {}", file.display()),
        None => "log in first (podman login or docker login), or set REGISTRY_AUTH_FILE".into(),
    };
    match &e {
        OciDistributionError::AuthenticationFailure(_)
        | OciDistributionError::UnauthorizedError { .. } => {
            format!("authentication failed: {}", credentials())
        }
        OciDistributionError::ServerError { code: 401, .. } => {
            format!("authentication failed: {}", credentials())
        }
        OciDistributionError::RequestError(request)
            if matches!(request.status().map(|s| s.as_u16()), Some(401 | 403)) =>
        {
            format!("authentication failed: {}", credentials())
        }
        OciDistributionError::RequestError(request) => {
            let chain = error_chain(request);
            if chain.contains("certificate") || chain.contains("UnknownIssuer") {
                format!(
                    "its TLS certificate is not trusted ({}): {}",
                    first_line(&chain),
                    if cas.is_empty() {
                        "pass its CA with --registry-ca FILE".to_owned()
                    } else {
                        "check the --registry-ca given".to_owned()
                    }
                )
            } else if request.is_connect() || request.is_timeout() {
                format!("cannot reach the registry ({})", first_line(&chain))
            } else {
                first_line(&chain).to_owned()
            }
        }
        other => first_line(&other.to_string()).to_owned(),
    }
}

/// An error and its causes, joined.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_as_podman_and_docker_keep_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("auth.json");
        // "user:secret"
        std::fs::write(
            &file,
            r#"{"auths": {"127.0.0.1:5000": {"auth": "dXNlcjpzZWNyZXQ="}, "https://index.docker.io/v1/": {"auth": "eDp5"}}}"#,
        )
        .unwrap();
        assert!(matches!(
            auth_in(&file, "127.0.0.1:5000"),
            Some(RegistryAuth::Basic(u, p)) if u == "user" && p == "secret"
        ));
        assert!(auth_in(&file, "index.docker.io").is_some());
        assert!(auth_in(&file, "ghcr.io").is_none());
        assert!(is_loopback("127.0.0.1:5000") && is_loopback("localhost"));
        assert!(!is_loopback("registry.example:5000"));
    }
}
