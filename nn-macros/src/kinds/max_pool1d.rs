//! `max_pool1d(K)`, optional `stride` (default K), `padding = P | same` and `floor`: the maximum of
//! each window of every channel of `(C, L)` sequences, PyTorch's `MaxPool1d`. It runs on the
//! 2-D kernels as an image of one row; the rules the pools share are in [`super::pool`].

use proc_macro2::Ident;

use super::pool::{self, Statistic};
use super::{Args, Kind, Spec};

pub const KIND: Kind = Kind {
    keyword: "max_pool1d",
    parse,
    takes: &[2],
};

fn parse(_keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    pool::parse(Statistic::Max, true, args)
}
