//! The rules catalogue (`src/rules.md`, the `nn::rules` docs page) matches the UI cases: every
//! rule directory has a section, every line it quotes is in that directory's `.stderr` files,
//! and every case's first error line is quoted.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// The quoted lines of each `## `rule`` section, by rule name.
fn sections(page: &str) -> BTreeMap<String, Vec<String>> {
    let mut sections: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut in_block = false;
    for line in page.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            current = Some(heading.trim().trim_matches('`').to_string());
            sections.entry(current.clone().unwrap()).or_default();
        } else if line.starts_with("# ") {
            current = None;
        } else if line.starts_with("```") {
            in_block = line.starts_with("```text") && !in_block;
        } else if in_block && let Some(rule) = &current {
            sections.get_mut(rule).unwrap().push(line.to_string());
        }
    }
    sections
}

fn stderr_files(rule_dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = fs::read_dir(rule_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "stderr"))
        .map(|p| fs::read_to_string(p).unwrap())
        .collect();
    files.sort();
    files
}

#[test]
fn catalogue_matches_the_ui_cases() {
    let page = fs::read_to_string("src/rules.md").unwrap();
    let sections = sections(&page);
    let mut problems = Vec::new();
    let mut rules = 0;
    for entry in fs::read_dir("tests/ui").unwrap() {
        let dir = entry.unwrap().path();
        let rule = dir.file_name().unwrap().to_string_lossy().to_string();
        if !dir.is_dir() || rule == "pass" {
            continue;
        }
        rules += 1;
        let Some(quoted) = sections.get(&rule) else {
            problems.push(format!("rule `{rule}` has no section in src/rules.md"));
            continue;
        };
        let stderrs = stderr_files(&dir);
        if quoted.is_empty() {
            problems.push(format!("section `{rule}` quotes no error"));
        }
        for line in quoted {
            if !stderrs.iter().any(|s| s.lines().any(|l| l == line)) {
                problems.push(format!(
                    "section `{rule}` quotes a line no .stderr has: {line}"
                ));
            }
        }
        for stderr in &stderrs {
            let first = stderr.lines().next().unwrap_or_default();
            if !quoted.iter().any(|q| q == first) {
                problems.push(format!("section `{rule}` does not quote `{first}`"));
            }
        }
    }
    for rule in sections.keys() {
        if !Path::new("tests/ui").join(rule).is_dir() {
            problems.push(format!("section `{rule}` has no tests/ui/{rule} directory"));
        }
    }
    assert!(rules >= 20, "only {rules} rule directories found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_wrong_quote_would_be_caught() {
    // The parser sees quoted lines, so a typo in the page cannot pass silently.
    let page = "## `x`\ntext\n```text\nerror: one\n```\n# other\n```text\nerror: two\n```\n";
    let parsed = sections(page);
    assert_eq!(parsed["x"], ["error: one"]);
    assert_eq!(parsed.len(), 1);
}

/// Every `.stderr` under `tests/ui/`, read.
fn all_stderr_files() -> Vec<String> {
    let mut all = Vec::new();
    for entry in fs::read_dir("tests/ui").unwrap() {
        let dir = entry.unwrap().path();
        if dir.is_dir() {
            all.extend(stderr_files(&dir));
        }
    }
    all
}

#[test]
fn errors_quoted_in_examples_are_real() {
    // The examples quote compiler errors in their docs; each quoted error line must be a line
    // of a committed `.stderr`, so the quotes cannot drift from what the compiler prints.
    let stderrs = all_stderr_files();
    let mut checked = 0;
    let mut problems = Vec::new();
    for example in ["examples/stack_vs_concat.rs"] {
        let source = fs::read_to_string(example).unwrap();
        for line in source.lines() {
            let Some(quoted) = line.strip_prefix("//! ") else {
                continue;
            };
            if !quoted.starts_with("error") {
                continue;
            }
            checked += 1;
            if !stderrs.iter().any(|s| s.lines().any(|l| l == quoted)) {
                problems.push(format!(
                    "{example} quotes an error no .stderr has: {quoted}"
                ));
            }
        }
    }
    assert!(checked >= 4, "only {checked} quoted errors found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
