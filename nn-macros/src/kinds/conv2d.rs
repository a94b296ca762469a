//! `conv2d(IN -> OUT, kernel = K)`, with optional `stride = S`, `padding = P` or
//! `padding = same`, `dilation = D` (each one number or `(height, width)`), `groups = G` and
//! `floor`: a 2-D convolution with bias on `(C, H, W)` images. The rules it shares with
//! `conv1d` and `depthwise` are in [`super::conv`].

use proc_macro2::Ident;

use super::conv::Flavor;
use super::{Args, Kind, Spec};

pub const KIND: Kind = Kind {
    keyword: "conv2d",
    parse,
    takes: &[3],
};

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    super::conv::parse(keyword, args, Flavor::Conv2d)
}
