//! `avg_pool(K)`, optional `stride = S` (default K) and `floor`: the mean of each K x K window
//! of every channel.

use proc_macro2::Ident;

use super::{Args, Kind, Spec, pool};

pub const KIND: Kind = Kind {
    keyword: "avg_pool",
    parse,
    takes: &[3],
};

fn parse(_keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    pool::parse("avg_pool", "AvgPool2d", args)
}
