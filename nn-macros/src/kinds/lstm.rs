//! `lstm(F -> H)`: an LSTM with PyTorch's gate order (i, f, g, o), over `(T, F)` sequences, giving every step's hidden state `(T, H)`.

use proc_macro2::Ident;

use super::{Args, Kind, Spec, recurrent};

pub const KIND: Kind = Kind {
    keyword: "lstm",
    parse,
    takes: &[2],
};

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    recurrent::parse(keyword, "Lstm", args)
}
