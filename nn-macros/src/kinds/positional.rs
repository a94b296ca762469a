//! `positional(sinusoidal)` adds the fixed sine/cosine position code of Vaswani et al. to a
//! `(T, D)` sequence; `positional(T, D)` adds a learned `(T, D)` table (parameter `weight`).
//! Baked, `nn::baked::sinusoidal_positional` computes each value of the code as the heap layer
//! computes its table (no table is baked), and `nn::baked::positional` adds the learned one.

use proc_macro2::{Ident, TokenStream};
use quote::quote_spanned;
use syn::Token;
use syn::parse::ParseStream;

use super::bake::{BakeCx, BakeIo, Baking, Fold, Param, Run, usize_lit};
use super::{Args, Built, Kind, LayerCx, Spec};
use crate::ast::Dim;
use crate::parse::parse_dim;

pub const KIND: Kind = Kind {
    keyword: "positional",
    parse,
    takes: &[2],
};

const USAGE: &str =
    "`positional` takes `(sinusoidal)` or the learned table's `(T, D)`, e.g. `positional(16, 64)`";

enum Positional {
    Sinusoidal,
    Learned { steps: Dim, features: Dim },
}

fn parse(keyword: &Ident, args: Option<Args>) -> syn::Result<Box<dyn Spec>> {
    let Some(args) = args else {
        return Err(syn::Error::new_spanned(
            keyword,
            format!("`positional` needs to know which code; {USAGE}"),
        ));
    };
    read(args.content)
        .map(|spec| Box::new(spec) as Box<dyn Spec>)
        .map_err(|e| syn::Error::new(e.span(), format!("{e}; {USAGE}")))
}

fn read(input: ParseStream) -> syn::Result<Positional> {
    let fork = input.fork();
    if let Ok(word) = fork.parse::<Ident>()
        && fork.is_empty()
    {
        if word == "sinusoidal" {
            input.parse::<Ident>()?;
            return Ok(Positional::Sinusoidal);
        }
        if word.to_string().starts_with(char::is_lowercase) {
            return Err(syn::Error::new(
                word.span(),
                format!("unknown position code `{word}`"),
            ));
        }
    }
    let steps = parse_dim(input)?;
    if !input.peek(Token![,]) {
        return Err(input.error("expected `,` between the steps and the features"));
    }
    input.parse::<Token![,]>()?;
    let features = parse_dim(input)?;
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after the features"));
    }
    Ok(Positional::Learned { steps, features })
}

impl Spec for Positional {
    fn text(&self) -> String {
        match self {
            Positional::Sinusoidal => "positional(sinusoidal)".into(),
            Positional::Learned { steps, features } => {
                format!("positional({}, {})", steps.text(), features.text())
            }
        }
    }

    fn sizes(&self) -> Vec<&Dim> {
        match self {
            Positional::Sinusoidal => Vec::new(),
            Positional::Learned { steps, features } => vec![steps, features],
        }
    }

    /// Learned: `weight (T, D)`, added by `nn::baked::positional`. Sinusoidal: nothing from
    /// the file and no table: `nn::baked::sinusoidal_positional` computes each value of the
    /// code as the heap layer computes its table.
    fn bake(&self, cx: &BakeCx) -> Result<Baking, String> {
        let [steps, features] = cx.input else {
            return Err(format!("`{}` needs a `(T, D)` sequence", self.text()));
        };
        Ok(match self {
            Positional::Sinusoidal => Baking::plain(Run::Fresh),
            Positional::Learned { .. } => Baking {
                params: vec![Param {
                    name: "weight",
                    shape: vec![*steps as usize, *features as usize],
                }],
                scratch: 0,
                run: Run::Fresh,
                fold: Fold::None,
                multiply_accumulates: 0,
            },
        })
    }

    fn bake_code(&self, cx: &BakeCx, io: &BakeIo) -> TokenStream {
        let (nn, x, y) = (io.nn, &io.x, &io.y);
        match (self, io.params.as_slice()) {
            (Positional::Sinusoidal, _) => {
                // The code as a table in flash, computed here by the function the heap layer
                // fills its table with (`libm` in `f64`, the same bits on every target): a
                // Cortex-M4 has no `f64` unit, and computing it at run time cost 2 600
                // instructions per value, a quarter of a small language model's inference.
                let &[steps, features] = cx.input else {
                    return TokenStream::new();
                };
                let (steps, features) = (steps as usize, features as usize);
                let mut table = Vec::with_capacity(steps * features);
                for step in 0..steps {
                    for column in 0..features {
                        let divisor =
                            nn_core::linalg::sequence::sinusoidal_divisor(column, features);
                        let value = nn_core::linalg::sequence::sinusoidal(step, column, divisor);
                        table.push(proc_macro2::Literal::f32_suffixed(value));
                    }
                }
                let len = usize_lit((steps * features) as u64);
                quote_spanned!(io.span=> {
                    static SINUSOIDAL: #nn::baked::Aligned<#len> = #nn::baked::Aligned([#(#table),*]);
                    #nn::baked::positional(&SINUSOIDAL.0, #x, #y);
                })
            }
            (Positional::Learned { .. }, [weight]) => {
                quote_spanned!(io.span=> #nn::baked::positional(#weight, #x, #y);)
            }
            _ => TokenStream::new(),
        }
    }

    fn build(&self, cx: &LayerCx) -> Option<Built> {
        let sequence = cx.sequence_input()?;
        let nn = cx.nn;
        let (t, d) = (&sequence.steps.tokens, &sequence.features.tokens);
        let ty = match self {
            Positional::Sinusoidal => {
                quote_spanned!(cx.span()=> #nn::layers::SinusoidalPositional<#t, #d>)
            }
            Positional::Learned { steps, features } => {
                let shape = &sequence.shape;
                let (ts, fs) = (steps.text(), features.text());
                cx.matching_size(steps, "steps", &sequence.steps, shape, |given| {
                    Some(format!("positional({given}, {fs})"))
                });
                cx.matching_size(
                    features,
                    "features per step",
                    &sequence.features,
                    shape,
                    |given| Some(format!("positional({ts}, {given})")),
                );
                quote_spanned!(cx.span()=> #nn::layers::LearnedPositional<#t, #d>)
            }
        };
        Some(Built::new(ty, sequence.shape).decoding())
    }
}
