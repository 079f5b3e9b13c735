//! The layout's promise, kept: every dependency between the crate's parts
//! points down the layers the crate docs list, and no module depends on
//! itself through others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crate's parts, lowest first: each may use only those before it.
const LAYERS: &[&str] = &[
    "error", "vocab", "util", "formats", "config", "launcher", "pipeline", "tools", "image",
];

/// Every `.rs` file under `src/` but the crate roots, as module paths
/// (`pipeline::plan`) with the code before their unit tests.
fn modules() -> BTreeMap<String, String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let rel: PathBuf = path.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into()).collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            if matches!(parts.as_slice(), [one] if one == "lib" || one == "main") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let code: String = code
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(parts.join("::"), code);
        }
    }
    out
}

/// The modules `code` names by `crate::` paths, resolved to the longest
/// known module path.
fn uses(code: &str, known: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let mut best = None;
        let mut prefix = String::new();
        for part in path.split("::") {
            if !prefix.is_empty() {
                prefix.push_str("::");
            }
            prefix.push_str(part);
            if known.contains_key(&prefix) {
                best = Some(prefix.clone());
            }
        }
        out.extend(best);
    }
    out
}

fn layer(module: &str) -> usize {
    let top = module.split("::").next().unwrap();
    LAYERS
        .iter()
        .position(|l| *l == top)
        .unwrap_or_else(|| panic!("src/{top} is in no layer: add it to LAYERS and the crate docs"))
}

#[test]
fn dependencies_point_down_the_layers() {
    let modules = modules();
    let mut wrong = Vec::new();
    for (module, code) in &modules {
        for used in uses(code, &modules) {
            if layer(&used) > layer(module) {
                wrong.push(format!("{module} uses {used}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "upward dependencies:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_module_depends_on_itself() {
    let modules = modules();
    let graph: BTreeMap<&str, BTreeSet<String>> = modules
        .iter()
        .map(|(m, code)| {
            let mut used = uses(code, &modules);
            used.remove(m);
            // A module may use its own submodules and its parent's
            // re-exports are not dependencies of their own.
            used.retain(|u| !u.starts_with(&format!("{m}::")) && !m.starts_with(&format!("{u}::")));
            (m.as_str(), used)
        })
        .collect();
    // Depth-first search, reporting the first cycle found.
    fn visit<'a>(
        m: &'a str,
        graph: &'a BTreeMap<&str, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| *p == m) {
            let mut cycle: Vec<String> = path[i..].iter().map(|s| s.to_string()).collect();
            cycle.push(m.to_owned());
            return Some(cycle);
        }
        if !done.insert(m) {
            return None;
        }
        path.push(m);
        for next in &graph[m] {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        if let Some(cycle) = visit(m, &graph, &mut Vec::new(), &mut done) {
            panic!("dependency cycle: {}", cycle.join(" -> "));
        }
    }
}
