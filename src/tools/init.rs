//! `relpack init`: a commented Distillery-style `rel/config.exs` and a
//! `rel/vm.args` for the project, never overwriting what is there.

use std::io::Write;
use std::path::{Path, PathBuf};

use minijinja::context;

use crate::config::MixProject;
use crate::error::{Error, IoContext, Result};

/// Writes `rel/config.exs` and `rel/vm.args` into project `dir`; returns
/// the files written.
pub fn init(dir: &Path) -> Result<Vec<PathBuf>> {
    let project = MixProject::read(dir, "prod", true)?;
    let rel = dir.join("rel");
    let files = [rel.join("config.exs"), rel.join("vm.args")];
    if let Some(existing) = files.iter().find(|f| f.exists()) {
        return Err(Error::Project {
            path: existing.clone(),
            message: "already exists; relpack init does not overwrite it (move it away first)"
                .into(),
        });
    }
    let (name, version, apps) = match &project.app {
        Some(app) => (
            app.clone(),
            format!("current_version(:{app})"),
            vec![app.clone()],
        ),
        None => {
            let mut children: Vec<String> = std::fs::read_dir(dir.join("apps"))
                .at(dir.join("apps"), "cannot list the umbrella's applications")?
                .filter_map(|e| e.ok())
                .filter(|e| e.path().join("mix.exs").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            children.sort();
            let name = dir
                .canonicalize()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "umbrella".into());
            (
                name,
                format!("{:?}", project.version.as_deref().unwrap_or("0.1.0")),
                children,
            )
        }
    };
    crate::vocab::validate_release_name(&name)?;
    let config = crate::launcher::templates::render_with(
        "rel_config.exs",
        context! {
            rel_name => &name,
            version => version,
            apps => apps,
            dev_cookie => crate::pipeline::cookie::random()?,
            prod_cookie => crate::pipeline::cookie::random()?,
        },
    )?;
    let vm_args = crate::launcher::templates::render("rel_vm.args", &name)?;
    std::fs::create_dir_all(&rel).at(&rel, "cannot create directory")?;
    let mut written: Vec<&PathBuf> = Vec::new();
    for (path, text) in files.iter().zip([config, vm_args]) {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path);
        let opened = file.is_ok();
        if let Err(source) = file.and_then(|mut f| f.write_all(text.as_bytes())) {
            // Leave nothing half-written: both files or neither (and never
            // remove a file this run did not create).
            for done in written.into_iter().chain(opened.then_some(path)) {
                let _ = std::fs::remove_file(done);
            }
            return Err(Error::Io {
                path: path.clone(),
                action: "cannot write",
                source,
            });
        }
        written.push(path);
    }
    Ok(files.to_vec())
}
