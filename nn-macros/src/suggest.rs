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
