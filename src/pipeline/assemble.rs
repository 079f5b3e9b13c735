//! Writes a planned release into a directory with the layout `mix release`
//! produces:
//!
//! ```text
//! bin/<name>                         launcher
//! erts-<vsn>/bin/                    runtime executables only, when bundled
//! lib/<app>-<vsn>/{ebin,priv}        BEAMs stripped, priv symlinks dereferenced
//! releases/COOKIE                    mode 0600
//! releases/start_erl.data            "<erts vsn> <release vsn>"
//! releases/<vsn>/<name>.rel, start.{script,boot}, start_clean.{script,boot},
//!                sys.config, vm.args, consolidated/, MANIFEST,
//!                commands/<cmd>.sh, hooks/<hook>.d/  (when given)
//! ```
//!
//! Generated files (launcher, boot scripts, configuration) and overlays
//! are written first. Then the applications' and ERTS's files are copied
//! on every core, a directory per job in tar order, each source read
//! once: stripped ([`crate::formats::beam`]) if it is a BEAM, hashed for the
//! `MANIFEST`, hard-linked from the previous release instead of written
//! when that release has the same bytes, and handed while still in memory
//! to the [`crate::pipeline::archive`] packer when there is a tarball to write.
//!
//! Everything is written into a temporary directory beside the destination
//! and renamed into place at the end, so the destination only ever holds a
//! whole release.

use std::collections::HashSet;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::formats::beam::{self, ChunkId};
use crate::formats::boot::{self, ScriptInput};
use crate::formats::digest::{hex, Digests, FileDigest};
use crate::formats::etf::AtomEncoding;
use crate::formats::term::{to_consult_text, Term};
use crate::launcher;
use crate::launcher::templates;
use crate::pipeline::archive::{Content, PackedGroup, Packer, TarEntry, TarWriter};
use crate::pipeline::inputs::Origin;
use crate::pipeline::plan::{PlannedOverlay, ReleasePlan};
use crate::pipeline::steps::Handover;
use crate::util::fs::{copy_file, copy_tree, shipped_mode, tree_files, write_with_mode, TempPath};
use crate::util::parallel;

/// What ERTS needs at run time from `erts-<vsn>/bin`; compilers, test and
/// analysis tools stay out. (`erl` is replaced by a relocatable script.)
pub const ERTS_RUNTIME: &[&str] = &[
    "beam.smp",
    "erl_child_setup",
    "erlexec",
    "epmd",
    "heart",
    "inet_gethost",
    "run_erl",
    "to_erl",
];
const ERTS_REQUIRED: &[&str] = &["beam.smp", "erl_child_setup", "erlexec"];

/// A release written to a temporary directory, not yet in place.
#[derive(Debug)]
pub struct Staged {
    /// The temporary directory holding the release; removed if dropped unpublished.
    pub dir: TempPath,
}

/// Writes the release described by `plan` into a temporary directory
/// beside `plan.output_dir` and, when `tarball` is given, packs it on the
/// way: each directory's files are compressed by the thread that just
/// wrote them, from the bytes it still holds, and appended in tar order.
pub fn stage(plan: &ReleasePlan, tarball: Option<(&Packer, &mut TarWriter)>) -> Result<Staged> {
    let dir = TempPath::beside(&plan.output_dir)?;
    let root = dir.path().to_owned();
    // Errors name the output directory, which the user can fix, never
    // the hidden temporary one.
    stage_in(plan, &root, tarball)
        .map_err(|e| crate::util::fs::blame_dest(e, &root, &plan.output_dir))?;
    Ok(Staged { dir })
}

fn stage_in(
    plan: &ReleasePlan,
    root: &Path,
    mut tarball: Option<(&Packer, &mut TarWriter)>,
) -> Result<()> {
    let root = root.to_owned();
    let vsn_dir = root.join(plan.version_dir());
    fs::create_dir_all(&vsn_dir).at(&vsn_dir, "cannot create the release directory")?;
    // The boot scripts and the rest of releases/ are rendered beside the
    // listing of what to copy: with thousands of modules they take a while.
    let copies = std::thread::scope(|s| {
        let releases = s.spawn(|| write_releases(plan, &root));
        let copies = list_copies(plan, &root, &vsn_dir);
        let written = releases
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        written.and(copies)
    })?;
    // Overlays go in before the applications' files, and win over them.
    write_overlays(plan, &root)?;
    let manifest = plan.version_dir().join("MANIFEST");
    let entries = release_entries(plan, &root, &copies, &manifest)?;
    let files = Files {
        plan,
        root: &root,
        copies: &copies,
        previous: plan.output_dir.is_dir(),
    };
    files.write_entries(&entries, &manifest, &mut tarball)
}

/// Packs the release staged at `root` as it is on disk now, after custom
/// steps changed it: the entries `keep` accepts (a directory left out
/// takes what is below it), with the MANIFEST written anew to list their
/// files. Returns what was left out, relative to `root`.
pub(crate) fn pack_staged(
    plan: &ReleasePlan,
    root: &Path,
    keep: &dyn Fn(&Path) -> bool,
    mut tarball: Option<(&Packer, &mut TarWriter)>,
) -> Result<Vec<PathBuf>> {
    let manifest = plan.version_dir().join("MANIFEST");
    let (mut entries, left_out) = on_disk(plan, root, &manifest, keep)?;
    entries.sort_unstable_by(|a, b| a.order.cmp(&b.order));
    let files = Files {
        plan,
        root,
        copies: &[],
        previous: false,
    };
    files.write_entries(&entries, &manifest, &mut tarball)?;
    Ok(left_out)
}

/// The entries of the release at `root` that `keep` accepts (a directory
/// left out takes what is below it), in no order, the MANIFEST among them
/// as the one to write; and the paths left out.
fn on_disk(
    plan: &ReleasePlan,
    root: &Path,
    manifest: &Path,
    keep: &dyn Fn(&Path) -> bool,
) -> Result<(Vec<Entry>, Vec<PathBuf>)> {
    let mut entries = vec![Entry::new(manifest, What::Manifest)];
    let mut left_out = Vec::new();
    let mut walk = walkdir::WalkDir::new(root).min_depth(1).into_iter();
    while let Some(e) = walk.next() {
        plan.cancel.check()?;
        let e = e
            .map_err(|e| std::io::Error::other(e.to_string()))
            .at(root, "cannot read the release")?;
        let rel = e.path().strip_prefix(root).unwrap_or(e.path());
        if rel == manifest {
            continue;
        }
        if !keep(rel) {
            left_out.push(rel.to_owned());
            if e.file_type().is_dir() {
                walk.skip_current_dir();
            }
            continue;
        }
        // A link (dev_mode's lib dirs, an overlay's) counts as what it
        // points to; a linked directory is packed as an empty one.
        let dir = e.file_type().is_dir() || (e.path_is_symlink() && e.path().is_dir());
        entries.push(Entry::new(rel, if dir { What::Dir } else { What::Written }));
    }
    Ok((entries, left_out))
}

/// What mix's `:tar` packs of a release at `root`, as `keep` for
/// [`pack_staged`]: `bin/`, `releases/<vsn>/`,
/// the files directly in `releases/`, ERTS and each application's
/// directory, and the struct's `overlays`; and whatever else relpack
/// wrote itself (`written`: Distillery's overlays, say).
pub(crate) fn tar_keeps<'a>(
    plan: &'a ReleasePlan,
    handover: &Handover,
    root: &'a Path,
    written: &'a HashSet<PathBuf>,
) -> impl Fn(&Path) -> bool + 'a {
    let overlays = handover.overlays.clone();
    let mut dirs = vec![PathBuf::from("bin"), plan.version_dir()];
    if plan.include_erts {
        dirs.push(PathBuf::from(format!("erts-{}", plan.otp.erts_vsn)));
    }
    dirs.extend(
        plan.apps
            .iter()
            .map(|a| Path::new("lib").join(a.dir_name())),
    );
    move |rel: &Path| {
        written.contains(rel)
            || dirs.iter().chain(&overlays).any(|d| rel.starts_with(d))
            // The directories leading to an overlay.
            || overlays.iter().any(|o| o.starts_with(rel))
            || (rel.parent() == Some(Path::new("releases")) && !root.join(rel).is_dir())
    }
}

/// Every path below `root`, relative to it.
pub(crate) fn tree(root: &Path) -> Result<HashSet<PathBuf>> {
    let mut paths = HashSet::new();
    for e in walkdir::WalkDir::new(root).min_depth(1) {
        let e = e
            .map_err(|e| std::io::Error::other(e.to_string()))
            .at(root, "cannot read the release")?;
        paths.insert(e.path().strip_prefix(root).unwrap_or(e.path()).to_owned());
    }
    Ok(paths)
}

/// What mix's assemble records in the struct's `overlays`: every file and
/// directory the overlay directories (`rel/overlays`, `overlays:`) put in
/// the release, relative to its root.
pub(crate) fn overlay_paths(plan: &ReleasePlan) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for overlay in &plan.overlays {
        if let PlannedOverlay::Copy { from, to } = overlay {
            if to.as_os_str().is_empty() && from.is_dir() {
                let walk = walkdir::WalkDir::new(from).min_depth(1).sort_by_file_name();
                paths.extend(
                    walk.into_iter()
                        .filter_map(|e| Some(e.ok()?.path().strip_prefix(from).ok()?.to_owned())),
                );
            }
        }
    }
    paths
}

/// Writes the launcher, ERTS's `erl` and the hooks and commands, creates
/// the applications' directories, and lists every file to copy.
fn list_copies(plan: &ReleasePlan, root: &Path, vsn_dir: &Path) -> Result<Vec<FileCopy>> {
    let mut copies = app_copies(plan, root)?;
    if plan.include_erts {
        copies.extend(write_erts(plan, root)?);
    }
    if let Some(src) = &plan.consolidated {
        copies.extend(tree_copies(src, &vsn_dir.join("consolidated"), true)?);
    }
    write_launcher_extras(plan, vsn_dir)?;
    if plan.launcher {
        let bin = root.join("bin");
        fs::create_dir_all(&bin).at(&bin, "cannot create directory")?;
        let launcher = templates::launcher(&plan.name, &plan.toolchain())?;
        write_with_mode(&bin.join(&plan.name), launcher.as_bytes(), 0o755)?;
    }
    Ok(copies)
}

/// How many bytes of one directory's files a thread keeps in memory for
/// the tarball; beyond that it reads them again.
const GROUP_KEEP: usize = 8 << 20;

/// An entry of the release in tar order.
struct Entry {
    /// The path relative to the release root.
    rel: PathBuf,
    /// `rel` with `/` as 0: ordered as bytes, these sort paths component
    /// by component, as a sorted walk visits them, without the cost of
    /// comparing paths.
    order: Vec<u8>,
    what: What,
}

impl Entry {
    fn new(rel: &Path, what: What) -> Entry {
        let order = rel
            .as_os_str()
            .as_bytes()
            .iter()
            .map(|&b| if b == b'/' { 0 } else { b })
            .collect();
        Entry {
            rel: rel.to_owned(),
            order,
            what,
        }
    }
}

enum What {
    Dir,
    /// A file already written (generated, or from an overlay).
    Written,
    /// A file still to copy: an index into the copies.
    Copy(usize),
    /// `releases/<vsn>/MANIFEST`, written once every other file is.
    Manifest,
}

/// Every directory and file of the release in tar order: what is on disk
/// now, the MANIFEST to come, and the copies still to make (unless an
/// overlay put a file at the same path).
fn release_entries(
    plan: &ReleasePlan,
    root: &Path,
    copies: &[FileCopy],
    manifest: &Path,
) -> Result<Vec<Entry>> {
    let (mut entries, _) = on_disk(plan, root, manifest, &|_| true)?;
    for (i, copy) in copies.iter().enumerate() {
        let overlaid = !plan.overlays.is_empty() && fs::symlink_metadata(&copy.dest).is_ok();
        if !overlaid {
            let rel = copy.dest.strip_prefix(root).unwrap_or(&copy.dest);
            entries.push(Entry::new(rel, What::Copy(i)));
        }
    }
    entries.sort_unstable_by(|a, b| a.order.cmp(&b.order));
    Ok(entries)
}

/// Splits the entries into groups: a directory and the files after it.
fn groups(entries: &[Entry]) -> Vec<&[Entry]> {
    let mut groups = Vec::new();
    let mut start = 0;
    for (i, e) in entries.iter().enumerate() {
        if matches!(e.what, What::Dir) && i > start {
            groups.push(&entries[start..i]);
            start = i;
        }
    }
    if start < entries.len() {
        groups.push(&entries[start..]);
    }
    groups
}

/// A group written: its files new to the digests, and the group packed
/// if there is a tarball.
type WrittenGroup = (Vec<(PathBuf, FileDigest)>, Option<PackedGroup>);

/// A file's digest and, when kept for the tarball, its bytes.
type FileBytes = (FileDigest, Option<Vec<u8>>);

/// What writing a group needs to know.
struct Files<'a> {
    plan: &'a ReleasePlan,
    root: &'a Path,
    copies: &'a [FileCopy],
    /// Whether there is a previous release to hard-link unchanged files from.
    previous: bool,
}

impl Files<'_> {
    /// Writes and hashes `entries` (in tar order), then the MANIFEST,
    /// packing each group on the way when there is a tarball.
    fn write_entries(
        &self,
        entries: &[Entry],
        manifest: &Path,
        tarball: &mut Option<(&Packer, &mut TarWriter)>,
    ) -> Result<()> {
        let groups = groups(entries);
        // The MANIFEST lists every file, so its group and those after it
        // are written and hashed first, and packed once it is written too.
        let split = groups
            .iter()
            .position(|g| g.iter().any(|e| e.rel == manifest))
            .unwrap_or(groups.len());
        let (head, tail) = groups.split_at(split);
        let mut digests = Digests::new();
        self.write_groups(head, &mut digests, tarball)?;
        self.write_groups(tail, &mut digests, &mut None)?;
        write_manifest(self.root, manifest, &mut digests)?;
        self.write_groups(tail, &mut digests, tarball)
    }

    /// Writes `groups` on every core, adding each new file to `digests`
    /// and each packed group to the tarball, in order.
    fn write_groups(
        &self,
        groups: &[&[Entry]],
        digests: &mut Digests,
        tarball: &mut Option<(&Packer, &mut TarWriter)>,
    ) -> Result<()> {
        let known = std::mem::take(digests);
        let packer = tarball.as_ref().map(|(packer, _)| *packer);
        let mut written = Vec::new();
        parallel::map_ordered(
            self.plan.jobs,
            groups,
            |group| self.write_group(group, &known, packer),
            |_, (files, packed)| {
                written.extend(files);
                match (packed, tarball.as_mut()) {
                    (Some(packed), Some((_, writer))) => writer.append(packed),
                    _ => Ok(()),
                }
            },
        )?;
        *digests = known;
        digests.extend(written);
        Ok(())
    }

    /// Writes one group's copies and reads its other files, unless
    /// `known` has them, and packs the group if there is a tarball.
    fn write_group(
        &self,
        group: &[Entry],
        known: &Digests,
        packer: Option<&Packer>,
    ) -> Result<WrittenGroup> {
        let mut new = Vec::new();
        // Each entry with its file, if it is one: the digest, and the bytes
        // if they are kept for the tarball.
        let mut files: Vec<(&Entry, Option<FileBytes>)> = Vec::new();
        let mut kept = 0;
        for entry in group {
            self.plan.cancel.check()?;
            let (digest, bytes) = match (&entry.what, known.get(&entry.rel)) {
                (What::Dir, _) => {
                    files.push((entry, None));
                    continue;
                }
                (_, Some(digest)) => (*digest, None),
                // Hashed when written, after the files it lists.
                (What::Manifest, None) => continue,
                (What::Copy(i), None) => {
                    let previous = self.previous.then(|| self.plan.output_dir.join(&entry.rel));
                    let (digest, bytes) = stage_file(
                        &self.copies[*i],
                        self.plan.strip.as_deref(),
                        previous.as_deref(),
                    )?;
                    new.push((entry.rel.clone(), digest));
                    (digest, Some(bytes))
                }
                (What::Written, None) => {
                    let (digest, bytes) = read_written(&self.root.join(&entry.rel))?;
                    new.push((entry.rel.clone(), digest));
                    (digest, Some(bytes))
                }
            };
            let bytes = bytes.filter(|b| {
                kept += b.len();
                packer.is_some() && kept <= GROUP_KEEP
            });
            files.push((entry, Some((digest, bytes))));
        }
        let Some(packer) = packer else {
            return Ok((new, None));
        };
        let tar_entries: Vec<TarEntry> = files
            .iter()
            .map(|(entry, file)| TarEntry {
                path: &entry.rel,
                file: file.as_ref().map(|(digest, bytes)| {
                    let content = match bytes {
                        Some(bytes) => Content::Bytes(bytes),
                        None => Content::Disk(self.root.join(&entry.rel)),
                    };
                    (*digest, content)
                }),
            })
            .collect();
        Ok((new, Some(packer.pack_group(&tar_entries)?)))
    }
}

/// Reads a file the build wrote, with its permission bits.
fn read_written(path: &Path) -> Result<(FileDigest, Vec<u8>)> {
    let (bytes, mode) = read_with_mode(path)?;
    Ok((FileDigest::of(&bytes, mode & 0o7777), bytes))
}

/// A file's bytes and mode, read at the size stat'ed: one read call, where
/// `read_to_end` costs three more system calls to find the size and end.
fn read_with_mode(path: &Path) -> Result<(Vec<u8>, u32)> {
    let mut file = fs::File::open(path).at(path, "cannot read")?;
    let meta = file.metadata().at(path, "cannot read")?;
    let mut bytes = vec![0; meta.len() as usize];
    file.read_exact(&mut bytes).at(path, "cannot read")?;
    Ok((bytes, meta.permissions().mode()))
}

impl Staged {
    /// Replaces `plan.output_dir` with the staged release.
    pub fn publish(self, dest: &Path) -> Result<()> {
        self.dir.publish(dest)
    }
}

/// A file copied into the release, stripped on the way if it is a BEAM.
struct FileCopy {
    src: PathBuf,
    dest: PathBuf,
    beam: bool,
}

/// Creates each bundled application's directories and lists its files.
fn app_copies(plan: &ReleasePlan, root: &Path) -> Result<Vec<FileCopy>> {
    let mut copies = Vec::new();
    for app in plan.apps.iter().filter(|a| a.bundled) {
        let dest = root.join("lib").join(app.dir_name());
        let src = &app.source.dir;
        if plan.dev_mode && app.source.origin == Origin::Project {
            let target = fs::canonicalize(src).at(src, "cannot resolve")?;
            let lib = root.join("lib");
            fs::create_dir_all(&lib).at(&lib, "cannot create directory")?;
            std::os::unix::fs::symlink(&target, &dest).at(&dest, "cannot create symlink")?;
            continue;
        }
        let ebin = dest.join("ebin");
        fs::create_dir_all(&ebin).at(&ebin, "cannot create directory")?;
        let src_ebin = src.join("ebin");
        for entry in fs::read_dir(&src_ebin).at(&src_ebin, "cannot list")? {
            let entry = entry.at(&src_ebin, "cannot list")?;
            plan.cancel.check()?;
            // The directory entry's type saves a stat, except for links.
            let is_file = match entry.file_type() {
                Ok(t) if !t.is_symlink() => t.is_file(),
                _ => entry.path().is_file(),
            };
            if is_file {
                copies.push(FileCopy {
                    beam: is_beam(&entry.path()),
                    src: entry.path(),
                    dest: ebin.join(entry.file_name()),
                });
            }
        }
        if let Some(priv_dir) = &app.priv_dir {
            let mut files = tree_copies(priv_dir, &dest.join("priv"), false)?;
            for copy in &mut files {
                let rel = copy.dest.strip_prefix(&dest).unwrap_or(&copy.dest);
                if let Some(file) = app.replaced.get(rel) {
                    copy.src = file.clone();
                }
            }
            copies.extend(files);
        }
        if let Some(include_dir) = &app.include_dir {
            copies.extend(tree_copies(include_dir, &dest.join("include"), false)?);
        }
    }
    Ok(copies)
}

fn is_beam(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "beam")
}

/// The files of the tree at `src` as copies into `dest`, its directories
/// created; `beams` marks its `.beam` files for stripping.
fn tree_copies(src: &Path, dest: &Path, beams: bool) -> Result<Vec<FileCopy>> {
    Ok(tree_files(src, dest)?
        .into_iter()
        .map(|(src, dest)| FileCopy {
            beam: beams && is_beam(&src),
            src,
            dest,
        })
        .collect())
}

/// Reads `copy.src` once, strips it if it is a BEAM and `strip` holds the
/// chunks to keep, writes it with the source's permissions (never writable
/// by group or others) and returns what was written and its digest.
///
/// When the previous release (`previous`, the same path in the output
/// directory, if there is one) has this very file, it is hard-linked
/// instead: creating an inode costs far more than a link on common file
/// systems, and the old release is about to be removed anyway.
fn stage_file(
    copy: &FileCopy,
    strip: Option<&[ChunkId]>,
    previous: Option<&Path>,
) -> Result<(FileDigest, Vec<u8>)> {
    let src = &copy.src;
    let (mut bytes, mode) = read_with_mode(src)?;
    let mode = shipped_mode(mode);
    if let (true, Some(keep)) = (copy.beam, strip) {
        bytes = beam::strip(&bytes, keep).map_err(|e| Error::BadBeam {
            path: src.clone(),
            message: e.to_string(),
        })?;
    }
    let unchanged = |previous: &Path| {
        fs::symlink_metadata(previous).is_ok_and(|m| {
            m.is_file() && m.len() == bytes.len() as u64 && m.permissions().mode() & 0o7777 == mode
        }) && fs::read(previous).is_ok_and(|old| old == bytes)
    };
    match previous {
        Some(previous) if unchanged(previous) && fs::hard_link(previous, &copy.dest).is_ok() => {}
        _ => {
            // The mode is given at creation (less the umask, as `cp` does)
            // rather than set after: one system call fewer per file.
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&copy.dest)
                .and_then(|mut f| f.write_all(&bytes))
                .at(&copy.dest, "cannot write")?;
        }
    }
    Ok((FileDigest::of(&bytes, mode), bytes))
}

/// Writes `releases/<vsn>/MANIFEST` (`manifest`): a `sha256sum`-style
/// line for every file in `digests`, so `sha256sum -c
/// releases/<vsn>/MANIFEST` checks an unpacked release from its root. The
/// cookie is left out: a digest of a weak, user-chosen cookie would let
/// anyone who can read the file guess it.
fn write_manifest(root: &Path, manifest: &Path, digests: &mut Digests) -> Result<()> {
    let cookie = Path::new("releases").join("COOKIE");
    let mut text = String::with_capacity(digests.len() * 128);
    for (path, digest) in digests.iter().filter(|(p, _)| **p != cookie) {
        text.push_str(&hex(&digest.sha256));
        text.push_str("  ");
        text.push_str(&path.to_string_lossy());
        text.push('\n');
    }
    write(&root.join(manifest), text.as_bytes())?;
    digests.insert(manifest.to_owned(), FileDigest::of(text.as_bytes(), 0o644));
    Ok(())
}

/// Writes ERTS's `erl` script and lists the executables to copy.
fn write_erts(plan: &ReleasePlan, root: &Path) -> Result<Vec<FileCopy>> {
    let src = plan.otp.erts_dir().join("bin");
    let dest = root.join(format!("erts-{}", plan.otp.erts_vsn)).join("bin");
    fs::create_dir_all(&dest).at(&dest, "cannot create directory")?;
    let mut copies = Vec::new();
    for name in ERTS_RUNTIME {
        let from = src.join(name);
        if from.is_file() {
            copies.push(FileCopy {
                src: from,
                dest: dest.join(name),
                beam: false,
            });
        } else if ERTS_REQUIRED.contains(name) {
            return Err(Error::Otp(format!(
                "{}: missing; this ERTS is incomplete",
                from.display()
            )));
        }
    }
    let erl = templates::render("erl.sh", &plan.name)?;
    write_with_mode(&dest.join("erl"), erl.as_bytes(), 0o755)?;
    Ok(copies)
}

/// Writes the generated files of `releases/` (its version directory
/// exists already).
fn write_releases(plan: &ReleasePlan, root: &Path) -> Result<()> {
    let releases = root.join("releases");
    let vsn_dir = root.join(plan.version_dir());

    let atoms = AtomEncoding::for_otp(plan.otp.otp_release);
    let apps = plan.boot_apps(false);
    let rel = boot::rel_term(&plan.name, &plan.version, &plan.otp.erts_vsn, &apps);
    write(
        &vsn_dir.join(format!("{}.rel", plan.name)),
        to_consult_text(&[rel]).as_bytes(),
    )?;
    let consolidated = plan
        .consolidated
        .as_ref()
        .map(|_| format!("$RELEASE_LIB/../releases/{}/consolidated", plan.version));
    for (file, clean) in [("start", false), ("start_clean", true)] {
        let script = boot::script_term(&ScriptInput {
            release_name: &plan.name,
            release_vsn: &plan.version,
            apps: plan.boot_apps(clean),
            kernel_modules: &plan.kernel_modules,
            consolidated: consolidated.clone(),
            config_provider: plan.config_provider,
        })?;
        write(
            &vsn_dir.join(format!("{file}.script")),
            to_consult_text(std::slice::from_ref(&script)).as_bytes(),
        )?;
        write(
            &vsn_dir.join(format!("{file}.boot")),
            &boot::boot_bytes(&script, atoms),
        )?;
    }
    write(
        &vsn_dir.join("sys.config"),
        sys_config_text(plan).as_bytes(),
    )?;
    if let Some(runtime) = &plan.runtime_config {
        copy_file(runtime, &vsn_dir.join("runtime.exs"))?;
    }
    let vm_args = match &plan.vm_args {
        Some(text) => text.clone(),
        None => templates::render("vm.args", &plan.name)?,
    };
    write(&vsn_dir.join("vm.args"), vm_args.as_bytes())?;
    if let Some(env_sh) = &plan.env_sh {
        write_with_mode(&vsn_dir.join("env.sh"), env_sh.as_bytes(), 0o755)?;
    }
    if plan.include_erts {
        // release_handler reads it when sasl starts: without it a later
        // downgrade back to this release fails.
        let text = releases_file(plan);
        write(&releases.join("RELEASES"), text.as_bytes())?;
    }
    write(
        &releases.join("start_erl.data"),
        format!("{} {}", plan.otp.erts_vsn, plan.version).as_bytes(),
    )?;
    write_with_mode(&releases.join("COOKIE"), plan.cookie.as_bytes(), 0o600)
}

/// `releases/RELEASES` for a release installed fresh: this release,
/// permanent, its applications under `lib/` relative to the root, which
/// `release_handler` reads relative to `code:root_dir()`, so the file holds
/// wherever the release is unpacked.
pub(crate) fn releases_file(plan: &ReleasePlan) -> String {
    let libs = plan
        .apps
        .iter()
        .map(|a| {
            Term::tuple(vec![
                Term::atom(a.name()),
                Term::string(a.vsn()),
                Term::string(&format!("lib/{}", a.dir_name())),
            ])
        })
        .collect();
    let release = Term::tuple(vec![
        Term::atom("release"),
        Term::string(&plan.name),
        Term::string(&plan.version),
        Term::string(&plan.otp.erts_vsn),
        Term::List(libs),
        Term::atom("permanent"),
    ]);
    to_consult_text(&[Term::List(vec![release])])
}

/// `sys.config` as `mix release` writes it: the `RUNTIME_CONFIG` line
/// tells the launcher whether the config provider reboots the VM (it then
/// starts from a copy in `RELEASE_TMP`, which the provider rewrites).
fn sys_config_text(plan: &ReleasePlan) -> String {
    let text = to_consult_text(std::slice::from_ref(&plan.sys_config));
    let body = text.strip_prefix("%% coding: utf-8\n").unwrap_or(&text);
    format!(
        "%% coding: utf-8\n%% RUNTIME_CONFIG={}\n{body}",
        plan.config_reboot
    )
}

/// Overlays, applied after everything else so that they can replace
/// generated files, as in Distillery and `mix release`.
fn write_overlays(plan: &ReleasePlan, root: &Path) -> Result<()> {
    for overlay in &plan.overlays {
        match overlay {
            PlannedOverlay::Mkdir(dir) => {
                let dir = root.join(dir);
                fs::create_dir_all(&dir).at(&dir, "cannot create directory")?;
            }
            PlannedOverlay::Copy { from, to } => {
                let dest = root.join(to);
                if from.is_dir() {
                    copy_tree(from, &dest)?;
                } else {
                    create_parent(&dest)?;
                    copy_file(from, &dest)?;
                }
            }
            PlannedOverlay::Link { target, link } => {
                let link = root.join(link);
                create_parent(&link)?;
                let _ = fs::remove_file(&link);
                std::os::unix::fs::symlink(target, &link).at(&link, "cannot create symlink")?;
            }
            PlannedOverlay::Write { text, to } => {
                let dest = root.join(to);
                create_parent(&dest)?;
                write(&dest, text.as_bytes())?;
            }
        }
    }
    Ok(())
}

/// Custom commands (made executable) and hook directories, where the
/// launcher looks for them.
fn write_launcher_extras(plan: &ReleasePlan, vsn_dir: &Path) -> Result<()> {
    for (name, src) in &plan.commands {
        let dest = vsn_dir.join(launcher::command_file(name));
        let dir = dest.parent().unwrap_or(vsn_dir);
        fs::create_dir_all(dir).at(dir, "cannot create directory")?;
        let script = fs::read(src).at(src, "cannot read the command's script")?;
        write_with_mode(&dest, &script, 0o755)?;
    }
    for (hook, src) in &plan.hooks {
        let dir = vsn_dir.join(hook.release_dir());
        if src.is_file() {
            fs::create_dir_all(&dir).at(&dir, "cannot create directory")?;
            copy_file(src, &dir.join(src.file_name().unwrap_or_default()))?;
        } else {
            copy_tree(src, &dir)?;
        }
    }
    if let Some(env) = plan
        .release_config
        .as_ref()
        .and_then(|r| r.run_erl_env.as_ref())
    {
        write(&vsn_dir.join("run_erl.env"), env.as_bytes())?;
    }
    Ok(())
}

fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) => fs::create_dir_all(dir).at(dir, "cannot create directory"),
        None => Ok(()),
    }
}

fn write(path: &PathBuf, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).at(path, "cannot write")
}
