//! The shape rules, as trybuild UI cases: one rule per directory under `tests/ui/`, each case's
//! expected compiler output in the `.stderr` beside it. Regenerate with `TRYBUILD=overwrite`,
//! then read the diff.
//!
//! The pass cases make trybuild run `cargo build` rather than `cargo check`, so rules checked
//! after monomorphization would be caught too.

#[test]
fn shape_rules() {
    copy_weights_fixtures();
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    for rule in std::fs::read_dir("tests/ui").expect("tests/ui exists") {
        let rule = rule.expect("readable tests/ui entry").path();
        if rule.is_dir() && !rule.ends_with("pass") {
            cases.compile_fail(rule.join("*.rs"));
        }
    }
}

/// trybuild compiles the cases as a crate of its own, in `<target>/tests/trybuild/nn/`, and
/// that is the cases' `CARGO_MANIFEST_DIR`, which `#[weights = ".."]` paths are relative to. So
/// the `baked_weights` fixtures go there, under the same relative paths, as they would sit in
/// a user's crate.
fn copy_weights_fixtures() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let metadata = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .expect("cargo metadata runs");
    let metadata: serde_json::Value =
        serde_json::from_slice(&metadata.stdout).expect("cargo metadata prints JSON");
    let target = metadata["target_directory"]
        .as_str()
        .expect("cargo metadata names the target directory");
    let fixtures = std::path::Path::new("tests/ui/baked_weights");
    let into = std::path::Path::new(target)
        .join("tests/trybuild/nn")
        .join(fixtures);
    std::fs::create_dir_all(&into).expect("the target directory is writable");
    for entry in std::fs::read_dir(fixtures).expect("tests/ui/baked_weights exists") {
        let path = entry.expect("readable fixture entry").path();
        if path.extension().is_some_and(|e| e == "safetensors") {
            let name = path.file_name().expect("a file name");
            std::fs::copy(&path, into.join(name)).expect("the fixture copies");
        }
    }
}
