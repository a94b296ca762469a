//! `rnn(F -> H)` or `rnn(F -> H, relu)`: an Elman RNN, `h_t = act(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh)`
//! with tanh (the default) or relu, over `(T, F)` sequences, giving every step's hidden state `(T, H)`.

use proc_macro2::Ident;

use super::{Args, Kind, Spec, recurrent};

pub const KIND: Kind = Kind {
    keyword: "rnn",
    parse,
    takes: &[2],
};

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    recurrent::parse(keyword, "Rnn", args)
}
