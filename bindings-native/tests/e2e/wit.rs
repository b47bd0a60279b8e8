//! The published interface: what `kiln export-kernel` writes is a component of the
//! WIT package in `kernel/wit/kiln.wit` (`kiln:kernel@<version>`), exporting kiln's
//! calls (interface `api`: `run`, `check`, `describe`, resource `session`) and importing
//! nothing, and it keeps serving every released version of
//! that package its version policy says it must (DESIGN.md, "The WIT package").
//!
//! The component's WIT is read the way `wasm-tools component wit` reads it (the same
//! crate, wit-component, decoding and printing), so no extra tool is needed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use wit_parser::{Resolve, WorldItem, WorldKey};

use crate::common::{self, TempDir};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// The component `kiln export-kernel` writes, and its sha256 as it reports it.
fn exported_kernel() -> Vec<u8> {
    let dir = TempDir::new("wit");
    let out = dir.join("kiln-kernel.wasm");
    let stderr = common::kernels::kiln_ok(&["export-kernel".as_ref(), out.as_os_str()]);
    assert!(stderr.contains("sha256 "), "{stderr}");
    std::fs::read(&out).expect("read the exported kernel")
}

/// The world `kiln` of the WIT package in `path` (a file or a folder), and its package's
/// name (`kiln:kernel`) and version.
fn published_world(path: &Path) -> (Resolve, wit_parser::WorldId, String, semver::Version) {
    let mut resolve = Resolve::new();
    let pkg = if path.is_dir() {
        resolve.push_path(path).map(|(pkg, _)| pkg)
    } else {
        resolve.push_file(path)
    }
    .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
    let world = resolve
        .select_world(&[pkg], Some("kiln"))
        .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
    let name = &resolve.packages[pkg].name;
    let version = name.version.clone().expect("the package has a version");
    let id = format!("{}:{}", name.namespace, name.name);
    (resolve, world, id, version)
}

fn names(items: &wit_parser::IndexMap<WorldKey, WorldItem>, resolve: &Resolve) -> BTreeSet<String> {
    items.keys().map(|k| resolve.name_world_key(k)).collect()
}

#[test]
fn the_exported_kernel_is_the_published_world_with_no_imports() {
    let component = exported_kernel();

    // What `wasm-tools component wit` shows: decode the component's own type.
    let wit_parser::decoding::DecodedWasm::Component(decoded, world) =
        wit_component::decode(&component).expect("the export is a component")
    else {
        panic!("the export is a WIT package, not a component");
    };
    let w = &decoded.worlds[world];
    let imported: Vec<String> = w.imports.keys().map(|k| decoded.name_world_key(k)).collect();
    assert!(imported.is_empty(), "the kernel imports {imported:?}");
    assert_eq!(
        names(&w.exports, &decoded),
        BTreeSet::from(["kiln:kernel/api@0.4.0".to_owned()]),
        "one export: the interface `api`"
    );
    let Some(WorldItem::Interface { id, .. }) = w.exports.values().next() else {
        panic!("the export is not an interface");
    };
    let api = &decoded.interfaces[*id];
    assert_eq!(
        api.functions.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from(
            [
                "check",
                "describe",
                "run",
                "[static]session.open",
                "[method]session.push",
                "[method]session.meta",
                "[method]session.finish",
            ]
            .map(String::from)
        ),
        "the calls of the interface"
    );
    assert_eq!(
        api.types.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from(["error", "error-code", "limits", "meta", "output", "session"].map(String::from)),
        "the types of kiln.wit"
    );
    let mut printer = wit_component::WitPrinter::default();
    printer
        .print(&decoded, w.package.expect("a package"), &[])
        .expect("print the WIT");
    let text = printer.output.to_string();
    assert!(!text.contains("import "), "{text}");
    assert!(text.contains("export kiln:kernel/api@0.4.0;"), "{text}");

    // And the types are the published package's: the component targets the world of
    // kernel/wit (same functions, parameters, records, enum cases), as a host's bindings
    // generated from that WIT expect.
    let (resolve, world, id, version) = published_world(&workspace().join("kernel/wit"));
    assert_eq!(id, "kiln:kernel");
    wit_component::targets(&resolve, world, &component)
        .unwrap_or_else(|e| panic!("the exported kernel is not of the world in kernel/wit: {e:#}"));

    // DESIGN.md names the version it documents.
    let design = std::fs::read_to_string(workspace().join("DESIGN.md")).expect("DESIGN.md");
    assert!(
        design.contains(&format!("`kiln:kernel@{version}`")),
        "DESIGN.md does not name kiln:kernel@{version}"
    );
}

/// The version policy, checked: every released version of the package is kept in
/// `kernel/wit/released/kiln@X.Y.Z.wit`, unchanged; the current package is one of them;
/// and the exported kernel still targets every released world of the current version's
/// compatible series (same major, or the same minor before 1.0), so a host built
/// against any of them runs it.
#[test]
fn the_kernel_serves_every_compatible_released_version() {
    let component = exported_kernel();
    let (_, _, _, current) = published_world(&workspace().join("kernel/wit"));
    let released_dir = workspace().join("kernel/wit/released");
    let mut released = Vec::new();
    for entry in std::fs::read_dir(&released_dir).expect("kernel/wit/released") {
        let path = entry.expect("read kernel/wit/released").path();
        let (resolve, world, id, version) = published_world(&path);
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        assert_eq!(file, format!("kiln@{version}.wit"), "file named after its version");
        assert_eq!(id, "kiln:kernel");
        released.push((version, resolve, world, path));
    }
    released.sort_by(|a, b| a.0.cmp(&b.0));
    let (newest, ..) = released.last().expect("at least one released version");
    assert_eq!(
        newest, &current,
        "kernel/wit/kiln.wit ({current}) must be the newest release, kernel/wit/released/kiln@{current}.wit"
    );
    let current_text = std::fs::read_to_string(workspace().join("kernel/wit/kiln.wit")).expect("kiln.wit");
    let mut served = Vec::new();
    for (version, resolve, world, path) in &released {
        if version == &current {
            let text = std::fs::read_to_string(path).expect("released WIT");
            assert!(
                text == current_text,
                "kiln.wit changed without a new version: {} is released and never edited",
                path.display()
            );
        }
        let compatible = version.major == current.major && (current.major > 0 || version.minor == current.minor);
        if compatible {
            wit_component::targets(resolve, *world, &component)
                .unwrap_or_else(|e| panic!("breaks kiln:kernel@{version}, a compatible release: {e:#}"));
            served.push(version.to_string());
        }
    }
    assert!(served.contains(&current.to_string()), "served {served:?}");
}
