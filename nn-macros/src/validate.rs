//! Shape inference and the rules of the DSL, one function per rule.
//!
//! Sizes written as integer literals are checked here, and a mismatch becomes an error spanned
//! on the offending layer. Sizes written as constants cannot be evaluated by a macro, so for them
//! this emits a [`ConstCheck`]: an item-level `const` assert that `cargo check` evaluates.
//! Every error is collected, so one build shows every mistake.

use std::collections::HashMap;

use proc_macro2::{Span, TokenStream};
use quote::quote;

use crate::ast::{Dim, Layer, LayerKind, Network};

/// A feature count between two layers.
#[derive(Clone)]
pub struct Width {
    /// The size when it is a literal.
    pub value: Option<u64>,
    /// The size as a const generic argument.
    pub tokens: TokenStream,
    /// The size as a `usize` expression.
    pub value_tokens: TokenStream,
    /// The size as the user wrote it.
    pub text: String,
    /// The layer that fixed this size, as errors name it.
    pub source: String,
}

impl Width {
    fn of(dim: &Dim, source: String) -> Self {
        Width {
            value: dim.literal(),
            tokens: dim.as_const_arg(),
            value_tokens: dim.as_value(),
            text: dim.text(),
            source,
        }
    }
}

/// A condition the compiler must check because it involves named constants.
pub struct ConstCheck {
    pub span: Span,
    pub condition: TokenStream,
    pub message: String,
}

/// The input and output width of each layer, in order.
pub struct LayerShape {
    pub input: Width,
    pub output: Width,
}

/// What expansion needs: every layer's field name and shape, and the checks left to the
/// compiler.
pub struct Plan {
    /// Field names, unique even when the user repeated one (that is reported separately), so
    /// the generated code still compiles and the error stays the only one.
    pub fields: Vec<proc_macro2::Ident>,
    pub shapes: Vec<LayerShape>,
    pub checks: Vec<ConstCheck>,
}

/// Applies every rule to `network`.
///
/// Returns the plan when every layer's shape is known, even if there are errors: a size
/// mismatch does not stop the code from being generated (with the previous layer's size), so
/// that the user's uses of the network do not turn into a cascade of "no method" errors. The
/// errors, parse problems first, come combined into one `syn::Error`.
pub fn validate(network: &Network) -> (Option<Plan>, Option<syn::Error>) {
    let mut errors: Vec<syn::Error> = network.parse_errors.clone();
    let mut checks = Vec::new();
    check_not_empty(network, &mut errors);
    check_unique_names(network, &mut errors);
    check_sizes_nonzero(network, &mut errors, &mut checks);
    let shapes = infer_shapes(network, &mut errors, &mut checks);
    let error = errors.into_iter().reduce(|mut all, next| {
        all.combine(next);
        all
    });
    let plan = shapes.filter(|s| !s.is_empty()).map(|shapes| Plan {
        fields: unique_fields(network),
        shapes,
        checks,
    });
    (plan, error)
}

/// Every layer's field, with a repeated name made unique by its position.
fn unique_fields(network: &Network) -> Vec<proc_macro2::Ident> {
    let mut seen = std::collections::HashSet::new();
    network
        .layers
        .iter()
        .map(|layer| {
            let field = layer.field();
            if seen.insert(field.to_string()) {
                field
            } else {
                quote::format_ident!("{}_{}", field, layer.position, span = field.span())
            }
        })
        .collect()
}

/// A network needs at least one layer.
fn check_not_empty(network: &Network, errors: &mut Vec<syn::Error>) {
    if network.layers.is_empty() {
        let name = &network.name;
        errors.push(syn::Error::new_spanned(
            &network.list_tokens,
            format!("`{name}` has no layers; declare at least one, e.g. `struct {name}< dense(4 -> 2) >`"),
        ));
    }
}

/// Layer names, given or automatic, are struct fields and parameter prefixes: they must differ.
fn check_unique_names(network: &Network, errors: &mut Vec<syn::Error>) {
    let mut seen: HashMap<String, &Layer> = HashMap::new();
    for layer in &network.layers {
        let field = layer.field().to_string();
        match seen.get(&field) {
            None => {
                seen.insert(field, layer);
            }
            Some(first) => {
                let message = match (&first.name, &layer.name) {
                    (Some(_), Some(_)) => format!(
                        "duplicate layer name `{field}`; the first `{field}` is at position {}",
                        first.position
                    ),
                    _ => {
                        let unnamed = if first.name.is_none() { first } else { layer };
                        format!(
                            "layer name `{field}` is also the automatic name of the unnamed `{}` at position {}; pick another name",
                            unnamed.keyword, unnamed.position
                        )
                    }
                };
                let at = layer
                    .name
                    .as_ref()
                    .or(first.name.as_ref())
                    .unwrap_or(&layer.keyword);
                errors.push(syn::Error::new_spanned(at, message));
            }
        }
    }
}

/// Every size is at least 1.
fn check_sizes_nonzero(
    network: &Network,
    errors: &mut Vec<syn::Error>,
    checks: &mut Vec<ConstCheck>,
) {
    for layer in &network.layers {
        let LayerKind::Dense { input, output } = &layer.kind else {
            continue;
        };
        for dim in [input, output] {
            match dim {
                Dim::Literal { value: 0, lit } => errors.push(syn::Error::new(
                    lit.span(),
                    format!(
                        "`{}` has a zero size; every size must be at least 1",
                        layer.text()
                    ),
                )),
                Dim::Literal { .. } => {}
                Dim::Named(_) => checks.push(ConstCheck {
                    span: layer.span(),
                    condition: {
                        let value = dim.as_value();
                        quote!(#value > 0)
                    },
                    message: format!(
                        "`{}`: size `{}` is zero; every size must be at least 1",
                        layer.text(),
                        dim.text()
                    ),
                }),
            }
        }
    }
}

enum Flow {
    /// Before the first layer.
    Start,
    /// The width the previous layer gives.
    Known(Width),
    /// After a layer that had an error: later layers are not checked against it.
    Broken,
}

/// Walks the chain: each layer's input must equal what the previous layer gives.
fn infer_shapes(
    network: &Network,
    errors: &mut Vec<syn::Error>,
    checks: &mut Vec<ConstCheck>,
) -> Option<Vec<LayerShape>> {
    let mut flow = Flow::Start;
    let mut shapes = Vec::new();
    let mut complete = true;
    for layer in &network.layers {
        match &layer.kind {
            LayerKind::Dense { input, output } => {
                if let Flow::Known(previous) = &flow {
                    check_chain(layer, input, previous, errors, checks);
                }
                let declared = Width::of(input, layer.reference());
                let given = match &flow {
                    Flow::Known(previous) => previous.clone(),
                    _ => declared.clone(),
                };
                let output = Width::of(output, layer.reference());
                shapes.push(LayerShape {
                    input: given,
                    output: output.clone(),
                });
                flow = Flow::Known(output);
            }
            LayerKind::Invalid => {
                complete = false;
                flow = Flow::Broken;
            }
            _ => match &flow {
                Flow::Known(width) => shapes.push(LayerShape {
                    input: width.clone(),
                    output: width.clone(),
                }),
                Flow::Start => {
                    complete = false;
                    errors.push(syn::Error::new_spanned(
                        &layer.tokens,
                        format!(
                            "cannot tell the input size of `{}`: its first layer `{}` keeps whatever size it is given; start with a layer that fixes it, such as `dense(IN -> OUT)`",
                            network.name,
                            layer.text()
                        ),
                    ));
                    flow = Flow::Broken;
                }
                Flow::Broken => complete = false,
            },
        }
    }
    complete.then_some(shapes)
}

/// A dense layer's input size must equal the size the previous layer gives.
fn check_chain(
    layer: &Layer,
    input: &Dim,
    previous: &Width,
    errors: &mut Vec<syn::Error>,
    checks: &mut Vec<ConstCheck>,
) {
    let expects = input.text();
    let gives = &previous.text;
    match (input.literal(), previous.value) {
        (Some(a), Some(b)) if a == b => {}
        (Some(_), Some(_)) => {
            let suggestion = match &layer.kind {
                LayerKind::Dense { output, .. } => {
                    format!("; did you mean `dense({gives} -> {})`?", output.text())
                }
                _ => String::new(),
            };
            errors.push(syn::Error::new_spanned(
                &layer.tokens,
                format!(
                    "`{}` expects {expects} inputs but {} gives {gives}{suggestion}",
                    layer.text(),
                    previous.source
                ),
            ));
        }
        _ => {
            let (expected, given) = (input.as_value(), &previous.value_tokens);
            checks.push(ConstCheck {
                span: layer.span(),
                condition: quote!(#expected == #given),
                message: format!(
                    "`{}` expects {expects} inputs but {} gives {gives}, and the two differ",
                    layer.text(),
                    previous.source
                ),
            });
        }
    }
}
