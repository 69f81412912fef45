//! The dependency rule between the binary's modules, checked: the table
//! "Module layers" in ARCHITECTURE.md gives each top-level module a layer,
//! and a module may name (`crate::...`) only modules of lower layers. A
//! module missing from the table, or an import the table forbids, fails
//! this test until the table or the code changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    lensguard_testkit::package_dir(env!("CARGO_MANIFEST_DIR"))
}

/// Module name to layer, from the table rows `| N | `a`, `b` | ... |`.
fn layers(architecture: &str) -> BTreeMap<String, u32> {
    let section = architecture
        .split("### Module layers")
        .nth(1)
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in section.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(layer), Some(modules)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        let Ok(layer) = layer.parse::<u32>() else {
            continue;
        };
        for (i, name) in modules.split('`').enumerate() {
            if i % 2 == 1 {
                out.insert(name.to_owned(), layer);
            }
        }
    }
    out
}

/// The modules a source text names as `crate::name` or `crate::{a, b}`.
fn named_modules(text: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    for part in text.split("crate::").skip(1) {
        if let Some(group) = part.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or_default();
            out.extend(inner.split(',').map(|n| ident(n.trim())));
        } else {
            out.push(ident(part));
        }
    }
    out.retain(|n| !n.is_empty());
    out
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            rust_files(&entry.path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// Every `(module, file, named module)` the rule forbids.
fn violations(src: &Path, layers: &BTreeMap<String, u32>) -> Vec<String> {
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(src).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == "main" || name == "module_rule" {
            continue;
        }
        let Some(&layer) = layers.get(&name) else {
            problems.push(format!(
                "`{name}` is not in ARCHITECTURE.md's module layers"
            ));
            continue;
        };
        let mut files = Vec::new();
        rust_files(&path, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for named in named_modules(&text) {
                if named == name {
                    continue;
                }
                match layers.get(&named) {
                    Some(&l) if l < layer => {}
                    Some(&l) => problems.push(format!(
                        "{} (layer {layer}) names crate::{named} (layer {l})",
                        file.strip_prefix(src).unwrap_or(&file).display()
                    )),
                    None => problems.push(format!(
                        "{} names crate::{named}, which the module layers do not list",
                        file.strip_prefix(src).unwrap_or(&file).display()
                    )),
                }
            }
        }
    }
    problems
}

#[test]
fn modules_import_only_lower_layers() {
    let architecture =
        std::fs::read_to_string(root().join("../../ARCHITECTURE.md")).unwrap_or_default();
    let layers = layers(&architecture);
    assert!(
        layers.len() > 10,
        "no module layers table in ARCHITECTURE.md"
    );
    let problems = violations(&root().join("src"), &layers);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_finds_a_forbidden_import() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let write = |p: &str, t: &str| {
        let path = dir.path().join(p);
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        std::fs::write(path, t).unwrap_or_else(|e| panic!("write: {e}"));
    };
    write("common/mod.rs", "use crate::serve::x;\n");
    write("serve/mod.rs", "use crate::{common, intake};\n");
    write("intake.rs", "/// [`crate::common`]\n");
    let table = "### Module layers\n\n| layer | modules |\n|---|---|\n| 0 | `common` |\n| 1 | `intake` |\n| 2 | `serve` |\n";
    let problems = violations(dir.path(), &layers(table));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("names crate::serve"), "{problems:?}");
}
