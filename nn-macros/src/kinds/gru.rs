//! `gru(F -> H)`: a GRU with PyTorch's formulation and gate order (r, z, n), over `(T, F)` sequences, giving every step's hidden state `(T, H)`.

use proc_macro2::Ident;

use super::{Args, Kind, Spec, recurrent};

pub const KIND: Kind = Kind {
    keyword: "gru",
    parse,
    takes: &[2],
};

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    recurrent::parse(keyword, "Gru", args)
}
