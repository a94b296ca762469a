//! `depthwise(C, kernel = K)` or `depthwise(C -> OUT, kernel = K)`, with optional
//! `stride = S`, `padding = P` or `padding = same`, `dilation = D` and `floor`: a depthwise
//! 2-D convolution, one group per input channel, each with `OUT / C` filters of its own
//! (PyTorch's `Conv2d(C, OUT, K, groups=C)`; Keras's `DepthwiseConv2D` with
//! `depth_multiplier = OUT / C`). It is a `conv2d` whose groups are its channels, on a direct
//! kernel of its own; the rules are in [`super::conv`].

use proc_macro2::Ident;

use super::conv::Flavor;
use super::{Args, Kind, Spec};

pub const KIND: Kind = Kind {
    keyword: "depthwise",
    parse,
    takes: &[3],
};

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    super::conv::parse(keyword, args, Flavor::Depthwise)
}
