//! `conv1d(IN -> OUT, kernel = K)`, with optional `stride = S`, `dilation = D`, `padding = P`,
//! `padding = same` or `padding = causal`, `groups = G` and `floor`: a 1-D convolution with
//! bias on `(C, L)` sequences, PyTorch's `Conv1d`. It runs on the 2-D kernels as an image of
//! one row; the rules it shares with `conv2d` are in [`super::conv`].

use proc_macro2::Ident;

use super::conv::Flavor;
use super::{Args, Kind, Spec};

pub const KIND: Kind = Kind {
    keyword: "conv1d",
    parse,
    takes: &[2],
};

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    super::conv::parse(keyword, args, Flavor::Conv1d)
}
