//! Rule: layer names, given or automatic, are struct fields and parameter prefixes, so they
//! are unique across the network, branches included.

use std::collections::HashMap;

use quote::format_ident;
use syn::Ident;

use super::Builder;
use crate::ast::{Layer, Network};
use crate::ctxt::Ctxt;

/// Top-level names must differ (branch names are claimed while walking, by [`Builder::claim`]).
pub fn check_unique_names(network: &Network, ctxt: &Ctxt) {
    let mut seen: HashMap<String, &Layer> = HashMap::new();
    for layer in &network.layers {
        let field = layer.field().to_string();
        let Some(first) = seen.get(&field) else {
            seen.insert(field, layer);
            continue;
        };
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
        ctxt.error(at, message);
    }
}

impl Builder<'_> {
    /// A name for a field or point that no other has; a clash inside a branch is reported here
    /// (clashes between top-level layers were reported by [`check_unique_names`]).
    pub(super) fn claim(&mut self, wanted: Ident, layer: &Layer, top_level: bool) -> Ident {
        let name = wanted.to_string();
        // A name inside a branch clashes with any name already given and with every top-level
        // one, even one that comes later in the chain.
        let clashes = !top_level && self.top_level.contains(&name);
        if !clashes && self.names.insert(name) {
            return wanted;
        }
        if !top_level {
            let message = match &layer.name {
                Some(_) => format!(
                    "layer name `{wanted}` is used twice in `{}`; names become struct fields, so they must differ",
                    self.network.name
                ),
                None => format!(
                    "`{}` gets the automatic name `{wanted}`, which another layer of `{}` already has; rename that layer, or name this one",
                    layer.text(),
                    self.network.name
                ),
            };
            self.ctxt
                .error(layer.name.as_ref().unwrap_or(&layer.keyword), message);
        }
        let mut n = layer.position;
        loop {
            let renamed = format_ident!("{}_{}", wanted, n, span = wanted.span());
            if self.names.insert(renamed.to_string()) {
                return renamed;
            }
            n += 1;
        }
    }
}
