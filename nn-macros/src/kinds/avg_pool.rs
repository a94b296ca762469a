//! `avg_pool(K)` (or `(KH, KW)`), optional `stride` (default the window), `padding = P | (PH, PW)
//! | same`, `count_include_pad` and `floor`: the mean of each window of every channel of
//! `(C, H, W)` images, PyTorch's `AvgPool2d`. The rules the pools share are in [`super::pool`].

use proc_macro2::Ident;

use super::pool::{self, Statistic};
use super::{Args, Kind, Spec};

pub const KIND: Kind = Kind {
    keyword: "avg_pool",
    parse,
    takes: &[3],
};

fn parse(_keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    pool::parse(Statistic::Mean, false, args)
}
