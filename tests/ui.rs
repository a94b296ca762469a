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
    // `tests/fixtures` too: the budget cases bake the LeNet of `tests/baked.rs`, and the int8
    // cases a quantized file or a `.tflite`.
    for fixtures in [
        "tests/ui/baked_weights",
        "tests/fixtures",
        "tests/fixtures/int8",
        "tests/fixtures/int8/broken",
    ] {
        let fixtures = std::path::Path::new(fixtures);
        let into = std::path::Path::new(target)
            .join("tests/trybuild/nn")
            .join(fixtures);
        std::fs::create_dir_all(&into).expect("the target directory is writable");
        for entry in std::fs::read_dir(fixtures).expect("the fixtures directory exists") {
            let path = entry.expect("readable fixture entry").path();
            if path
                .extension()
                .is_some_and(|e| e == "safetensors" || e == "tflite")
            {
                let name = path.file_name().expect("a file name");
                std::fs::copy(&path, into.join(name)).expect("the fixture copies");
            }
        }
    }
}

/// The cases whose file holds several mistakes, and how many: each is one error (one case is
/// one mistake that rustc itself reports twice, said beside it).
const SEVERAL_MISTAKES: &[(&str, usize)] = &[
    // A misspelt kind, a size mismatch, a repeated name.
    ("all_errors_at_once/three_mistakes", 3),
    // An f64 tensor, and a tensor no layer takes.
    ("baked_weights/dtype_and_extra", 2),
    // Three tensors of the wrong shape, each on the layer that takes it.
    ("baked_weights/shape_mismatch", 3),
    // A misspelt point, and an injected gradient at a name that is no layer.
    ("unknown_point/no_such_layer", 2),
    // A merge of unequal branches, and a misspelt kind in a fork after it.
    ("unknown_layer/misspelt_in_a_skipped_branch", 2),
    // One mistake (`Decoder::new` on a network that cannot decode) that rustc reports twice,
    // with the same message: once for the argument, once for the constructor's `Self` type.
    // No form of the constructor makes it once (a free function is three).
    ("attention/decode_bidirectional", 2),
];

/// One mistake, one error: the expected output of every compile-fail case holds exactly one
/// error (or, for the cases above, one per mistake) and no warning. A follow-on error (a
/// network with an error that lacks a method or trait the user's code reaches for) makes this
/// fail, and so does a case added with a second mistake by accident.
#[test]
fn one_error_per_mistake() {
    let mut checked = 0;
    let mut wrong = Vec::new();
    for rule in std::fs::read_dir("tests/ui").expect("tests/ui exists") {
        let rule = rule.expect("readable tests/ui entry").path();
        if !rule.is_dir() || rule.ends_with("pass") {
            continue;
        }
        for case in std::fs::read_dir(&rule).expect("a readable rule directory") {
            let path = case.expect("readable case entry").path();
            if path.extension().is_none_or(|e| e != "stderr") {
                continue;
            }
            let expected = std::fs::read_to_string(&path).expect("a readable .stderr");
            let errors = expected.lines().filter(|l| l.starts_with("error")).count();
            let warnings = expected
                .lines()
                .filter(|l| l.starts_with("warning"))
                .count();
            let name = path
                .strip_prefix("tests/ui")
                .expect("under tests/ui")
                .with_extension("")
                .to_string_lossy()
                .replace('\\', "/");
            let mistakes = SEVERAL_MISTAKES
                .iter()
                .find(|(case, _)| *case == name)
                .map_or(1, |&(_, n)| n);
            if errors != mistakes || warnings != 0 {
                wrong.push(format!(
                    "{name}: {errors} errors and {warnings} warnings for {mistakes} mistakes"
                ));
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} cases found under tests/ui");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
