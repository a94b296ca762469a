//! The shape rules, as trybuild UI cases: one rule per directory under `tests/ui/`, each case's
//! expected compiler output in the `.stderr` beside it. Regenerate with `TRYBUILD=overwrite`,
//! then read the diff.
//!
//! The pass cases make trybuild run `cargo build` rather than `cargo check`, so rules checked
//! after monomorphization would be caught too.

#[test]
fn shape_rules() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    for rule in std::fs::read_dir("tests/ui").expect("tests/ui exists") {
        let rule = rule.expect("readable tests/ui entry").path();
        if rule.is_dir() && !rule.ends_with("pass") {
            cases.compile_fail(rule.join("*.rs"));
        }
    }
}
