//! The layer order of `lib.rs`, checked: every module may use only the modules on
//! lower floors (and itself). A `use crate::…` that runs upwards, or sideways between
//! modules on one floor, fails `cargo test` with the file and the import named, so an
//! import circle cannot come back unnoticed.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Floors, bottom first. A module may import any module on a lower floor.
const FLOORS: &[&[&str]] = &[
    &[
        "domain",
        "error",
        "telemetry",
        "logging",
        "graphiql",
        "batching",
    ],
    &["config"],
    &["routing", "crypto", "outbound"],
    &["destinations"],
    &["store"],
    &["auth"],
    &["dispatch"],
    &["service"],
    &["graphql"],
    &["http", "cli"],
    &["app"],
];

/// Imports against the order that are being removed (module, what it uses). Keep empty.
const NOT_YET_MENDED: &[(&str, &str)] = &[];

fn floor_of(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a source text names as `crate::name` or `crate::{a, b::c}`,
/// comments left out.
fn imported_modules(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in source.lines() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        found.insert(name);
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                found.insert(name);
            }
        }
    }
    found
}

/// The modules declared in `lib.rs`.
fn declared_modules(src: &Path) -> BTreeSet<String> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("read lib.rs");
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .filter_map(|l| l.strip_suffix(';'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_module_has_a_floor() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let missing: Vec<String> = declared_modules(&src)
        .into_iter()
        .filter(|m| m != "layers" && floor_of(m).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "give these modules a floor in src/layers.rs: {missing:?}"
    );
}

#[test]
fn imports_only_run_downwards() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = declared_modules(&src);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src/");
        let first = rel.components().next().expect("a path");
        let module = first.as_os_str().to_string_lossy();
        let module = module.trim_end_matches(".rs");
        let Some(own) = floor_of(module) else {
            continue; // lib.rs, main.rs and this file
        };
        let source = std::fs::read_to_string(&file).expect("read a source file");
        for used in imported_modules(&source) {
            if used == module
                || !modules.contains(&used)
                || NOT_YET_MENDED.contains(&(module, used.as_str()))
            {
                continue;
            }
            match floor_of(&used) {
                Some(f) if f < own => {}
                _ => wrong.push(format!(
                    "src/{}: `{module}` uses `crate::{used}`, which is not below it",
                    rel.display()
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layer order (see src/layers.rs):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_import_reader_sees_paths_groups_and_skips_comments() {
    let found = imported_modules(
        "use crate::store::{self, x};\nuse crate::{domain::A, error};\n// crate::http\nlet x = crate::dispatch::f(); // crate::app\n",
    );
    let want: BTreeSet<String> = ["store", "domain", "error", "dispatch"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(found, want);
}
