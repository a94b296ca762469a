//! Rule: every size a layer writes is at least 1 and at most [`MAX_SIZE`], in branches too.

use crate::ast::{Dim, Layer, LayerKind};
use crate::ctxt::{ConstCheck, Ctxt, Message};
use crate::shape::MAX_SIZE;

/// The sizes a layer writes: a kind's own, or the dims of `input`.
fn declared(layer: &Layer) -> Vec<&Dim> {
    match &layer.kind {
        LayerKind::Spec(spec) => spec.sizes(),
        LayerKind::Input { dims, .. } => dims.iter().collect(),
        _ => Vec::new(),
    }
}

/// Checks every size of `layers`. Returns whether a size is too large to generate code for.
pub fn check_sizes(layers: &[Layer], ctxt: &Ctxt) -> bool {
    let mut unusable = false;
    for layer in layers {
        if let LayerKind::Fork(fork) = &layer.kind {
            for branch in &fork.branches {
                if let Some(layers) = &branch.layers {
                    unusable |= check_sizes(layers, ctxt);
                }
            }
        }
        let mut too_large_here = false;
        for dim in declared(layer) {
            match dim {
                // One report per layer: `input(1e10, 1e10)` is one mistake.
                Dim::Literal { value, lit } if *value > MAX_SIZE => {
                    if !too_large_here {
                        ctxt.push(syn::Error::new(
                            lit.span(),
                            format!("size `{lit}` is too large; a size is at most {MAX_SIZE}"),
                        ));
                    }
                    too_large_here = true;
                    unusable = true;
                }
                Dim::Literal { value: 0, lit } => ctxt.push(syn::Error::new(
                    lit.span(),
                    format!(
                        "`{}` has a zero size; every size must be at least 1",
                        layer.text()
                    ),
                )),
                Dim::Literal { .. } => {}
                Dim::Named(_) => {
                    let value = dim.as_value();
                    ctxt.check(ConstCheck {
                        span: layer.span(),
                        condition: quote::quote!(#value > 0),
                        message: Message::default().text(format!(
                            "`{}`: size `{}` is zero; every size must be at least 1",
                            layer.text(),
                            dim.text()
                        )),
                    });
                }
            }
        }
    }
    unusable
}
