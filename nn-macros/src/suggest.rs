//! "Did you mean" for misspelt keywords.

/// The candidate closest to `unknown`, if it is close enough to be a likely typo.
pub fn closest<'a>(
    unknown: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let unknown = unknown.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(&unknown, candidate), candidate))
        .filter(|&(distance, candidate)| distance <= (candidate.len() / 3).max(1))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// Edit distance where a swap of two neighbouring letters counts as one edit, as do an
/// insertion, a deletion and a substitution (optimal string alignment, a restricted
/// Damerau–Levenshtein distance): `rleu` is one edit from `relu`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: the distance between the first i letters of `a` and the first j of `b`.
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = rows[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let mut best = substitution.min(rows[i - 1][j] + 1).min(rows[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORDS: &[&str] = &["dense", "relu", "leaky_relu", "sigmoid", "tanh", "softmax"];

    #[test]
    fn suggests_close_names_only() {
        let closest = |w| closest(w, WORDS.iter().copied());
        assert_eq!(closest("dens"), Some("dense"));
        assert_eq!(closest("dence"), Some("dense"));
        assert_eq!(closest("Relu"), Some("relu"));
        assert_eq!(closest("leakyrelu"), Some("leaky_relu"));
        assert_eq!(closest("sigmod"), Some("sigmoid"));
        assert_eq!(closest("pooling"), None);
    }

    #[test]
    fn a_transposition_is_one_edit() {
        assert_eq!(edit_distance("rleu", "relu"), 1);
        assert_eq!(edit_distance("tnah", "tanh"), 1);
        assert_eq!(edit_distance("relu", "relu"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(closest("rleu", WORDS.iter().copied()), Some("relu"));
    }
}

/// Every "did you mean" in the UI suite (`tests/ui/`), applied: the fixed declaration must
/// lose exactly the errors that were fixed and gain none, and where the network had a plan
/// before, every buffer keeps its shape. A suggestion that compiles to a network of another
/// meaning, or does not compile at all, fails here.
#[cfg(test)]
mod ui_suggestions {
    use std::path::{Path, PathBuf};

    use proc_macro2::LineColumn;
    use quote::quote;

    use crate::ast::Networks;
    use crate::validate::{Plan, validate};

    /// One declaration's errors, as (message, start, end) in the file, and its plan's buffer
    /// shapes when it has a plan that skipped nothing.
    struct Outcome {
        errors: Vec<(String, LineColumn, LineColumn)>,
        shapes: Vec<Option<Vec<String>>>,
    }

    /// `None` for a case that is not Rust at all (a stray token is the rule it shows).
    fn outcome(source: &str) -> Option<Outcome> {
        let file = syn::parse_file(source).ok()?;
        let nn = quote!(::nn::__private);
        let mut errors = Vec::new();
        let mut shapes = Vec::new();
        for item in &file.items {
            let syn::Item::Macro(item) = item else {
                continue;
            };
            if !item.mac.path.is_ident("network") {
                continue;
            }
            let networks: Networks = match syn::parse2(item.mac.tokens.clone()) {
                Ok(networks) => networks,
                Err(error) => {
                    for e in error {
                        errors.push((e.to_string(), e.span().start(), e.span().end()));
                    }
                    continue;
                }
            };
            for network in &networks.networks {
                let (plan, error) = validate(network, &networks.networks, &nn);
                for e in error.into_iter().flatten() {
                    errors.push((e.to_string(), e.span().start(), e.span().end()));
                }
                shapes.push(
                    plan.filter(|p| !p.has_unchecked())
                        .map(|p| buffer_shapes(&p)),
                );
            }
        }
        Some(Outcome { errors, shapes })
    }

    fn buffer_shapes(plan: &Plan) -> Vec<String> {
        plan.nodes.iter().map(|node| node.shape.text()).collect()
    }

    /// The byte offset of a line (from 1) and column (in chars, from 0).
    fn offset(source: &str, at: LineColumn) -> usize {
        let line_start: usize = source
            .split_inclusive('\n')
            .take(at.line - 1)
            .map(str::len)
            .sum();
        let line = &source[line_start..];
        line_start
            + line
                .char_indices()
                .nth(at.column)
                .map_or(line.len(), |(i, _)| i)
    }

    /// The fixes a message suggests: each backticked text after "did you mean", the first
    /// being the one to apply (`flatten, dense(28 -> 2)` ..., or `dense(7 -> 2)`).
    fn suggested(message: &str) -> Vec<&str> {
        let Some((_, rest)) = message.split_once("did you mean ") else {
            return Vec::new();
        };
        rest.split('`').skip(1).step_by(2).collect()
    }

    /// `source` with `fix` in place of each span; the spans do not overlap.
    fn apply(source: &str, fixes: &[(LineColumn, LineColumn, &str)]) -> String {
        let mut fixes: Vec<(usize, usize, &str)> = fixes
            .iter()
            .map(|&(start, end, fix)| (offset(source, start), offset(source, end), fix))
            .collect();
        // From the end, so earlier offsets stay valid.
        fixes.sort_by_key(|&(start, _, _)| std::cmp::Reverse(start));
        let mut fixed = source.to_string();
        for (start, end, fix) in fixes {
            // An error on a named layer spans its name too (`fc2: dense(64 -> 10)`); the
            // suggestion is for the layer, so the name stays.
            let name = fixed[start..end]
                .split_once(':')
                .filter(|(name, rest)| {
                    !rest.starts_with(':')
                        && name.trim().chars().all(|c| c.is_alphanumeric() || c == '_')
                })
                .map(|(name, _)| format!("{}: ", name.trim()));
            let fix = match name {
                Some(name) if !fix.contains(':') => format!("{name}{fix}"),
                _ => fix.to_string(),
            };
            fixed.replace_range(start..end, &fix);
        }
        fixed
    }

    /// Every error's first suggestion, applied.
    fn first_fixes(outcome: &Outcome) -> Vec<(LineColumn, LineColumn, &str)> {
        outcome
            .errors
            .iter()
            .filter_map(|(message, start, end)| Some((*start, *end, *suggested(message).first()?)))
            .collect()
    }

    fn cases() -> Vec<PathBuf> {
        let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/ui");
        let mut cases = Vec::new();
        for rule in std::fs::read_dir(&ui).expect("tests/ui exists") {
            let rule = rule.expect("a readable entry").path();
            if !rule.is_dir() {
                continue;
            }
            for case in std::fs::read_dir(&rule).expect("a readable rule directory") {
                let path = case.expect("a readable entry").path();
                if path.extension().is_some_and(|e| e == "rs") {
                    cases.push(path);
                }
            }
        }
        cases.sort();
        cases
    }

    #[test]
    fn every_suggestion_in_the_ui_suite_fixes_its_error_and_nothing_else() {
        let mut applied = 0;
        let mut wrong = Vec::new();
        for path in cases() {
            let name = path.display().to_string();
            let source = std::fs::read_to_string(&path).expect("a readable case");
            let Some(before) = outcome(&source) else {
                continue;
            };
            let unfixed: Vec<&String> = before
                .errors
                .iter()
                .map(|(message, ..)| message)
                .filter(|message| suggested(message).is_empty())
                .collect();
            // A fix may uncover a mistake its error hid (a misspelt kind stops the checks of
            // the layers after it); that one's suggestion is applied in the next round.
            let mut fixed = source.clone();
            let mut now = outcome(&fixed).expect("parsed above");
            for _ in 0..4 {
                let fixes = first_fixes(&now);
                if fixes.is_empty() {
                    break;
                }
                applied += fixes.len();
                fixed = apply(&fixed, &fixes);
                let Some(next) = outcome(&fixed) else {
                    wrong.push(format!("{name}: the fixed case does not parse:\n{fixed}"));
                    break;
                };
                now = next;
            }
            let remaining: Vec<&String> = now.errors.iter().map(|(m, ..)| m).collect();
            if remaining != unfixed {
                wrong.push(format!(
                    "{name}: after its suggestions the errors are {remaining:?}, expected {unfixed:?}"
                ));
            }
            // Every buffer keeps its shape; a fix that adds a layer (`flatten, dense(..)`)
            // keeps the network's output.
            for (was, is) in before.shapes.iter().zip(&now.shapes) {
                let (Some(was), Some(is)) = (was, is) else {
                    continue;
                };
                let kept = if was.len() == is.len() {
                    was == is
                } else {
                    let width = |shapes: &[String]| {
                        let last = shapes.last()?.trim_matches(['(', ')']).to_string();
                        last.rsplit(", ").next().map(str::to_string)
                    };
                    width(was) == width(is)
                };
                if !kept {
                    wrong.push(format!(
                        "{name}: the suggestions changed the network's shapes from {was:?} to {is:?}"
                    ));
                }
            }
            // The other alternatives of a message, each alone: the error goes and none comes.
            for (message, start, end) in &before.errors {
                for alternative in suggested(message).into_iter().skip(1) {
                    applied += 1;
                    let fixed = apply(&source, &[(*start, *end, alternative)]);
                    let Some(after) = outcome(&fixed) else {
                        wrong.push(format!("{name}: `{alternative}` does not parse"));
                        continue;
                    };
                    let expected: Vec<&String> = before
                        .errors
                        .iter()
                        .map(|(m, ..)| m)
                        .filter(|m| *m != message)
                        .collect();
                    let got: Vec<&String> = after.errors.iter().map(|(m, ..)| m).collect();
                    if got != expected {
                        wrong.push(format!(
                            "{name}: with `{alternative}` the errors are {got:?}, expected {expected:?}"
                        ));
                    }
                }
            }
        }
        assert!(
            applied >= 10,
            "only {applied} suggestions found in tests/ui"
        );
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
