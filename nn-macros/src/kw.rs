//! The layer keywords of the DSL, and "did you mean" suggestions for misspelt ones.

/// Every layer kind the DSL knows, as written by the user.
pub const LAYER_KINDS: &[&str] = &[
    "dense",
    "relu",
    "leaky_relu",
    "sigmoid",
    "tanh",
    "softmax",
    "input",
    "flatten",
    "reshape",
    "fork",
];

/// The known layer kind closest to `unknown`, if it is close enough to be a likely typo.
pub fn suggest(unknown: &str) -> Option<&'static str> {
    let unknown = unknown.to_ascii_lowercase();
    LAYER_KINDS
        .iter()
        .map(|&kind| (edit_distance(&unknown, kind), kind))
        .filter(|&(distance, kind)| distance <= (kind.len() / 3).max(1))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, kind)| kind)
}

/// Levenshtein distance between two short ASCII strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(suggest("dens"), Some("dense"));
        assert_eq!(suggest("Relu"), Some("relu"));
        assert_eq!(suggest("leakyrelu"), Some("leaky_relu"));
        assert_eq!(suggest("sigmod"), Some("sigmoid"));
        assert_eq!(suggest("conv2d"), None);
    }
}
