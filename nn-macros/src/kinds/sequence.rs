//! The rule the sequence kinds share: a `(T, F)` sample, steps first.

use super::LayerCx;
use crate::shape::{Dims, SampleShape, Width};

/// A sequence sample `(T, F)` that a recurrent layer or `last` reads.
pub struct Sequence {
    pub steps: Width,
    pub features: Width,
    pub shape: SampleShape,
}

impl LayerCx<'_> {
    /// Rule: a sequence layer needs a `(T, F)` sample; a flat one or an image is told which
    /// `reshape` makes it one.
    pub fn sequence_input(&self) -> Option<Sequence> {
        let shape = self.input()?;
        let layer = self.layer.text();
        match &shape.dims {
            Dims::Known(dims) if dims.len() == 2 => Some(Sequence {
                steps: dims[0].clone(),
                features: dims[1].clone(),
                shape: shape.clone(),
            }),
            Dims::Known(dims) => {
                let (what, fix) = match dims.as_slice() {
                    [_] => (
                        "flat samples",
                        "; add `reshape(T, F)` before it, T steps of F features".to_string(),
                    ),
                    [c, h, w] => {
                        let rows = Width::product(&[c.clone(), h.clone()]);
                        (
                            "images",
                            format!(
                                "; to read each image row by row, add `reshape({}, {})` before it",
                                rows.text, w.text
                            ),
                        )
                    }
                    _ => ("samples", String::new()),
                };
                self.error(format!(
                    "`{layer}` needs sequences (T, F) but {} gives {what} {}{fix}",
                    shape.source,
                    shape.text()
                ));
                None
            }
            Dims::Of { .. } => {
                self.error(format!(
                    "`{layer}` needs sequences (T, F), and `network!` cannot see the shape {} gives; add `reshape(T, F)` before it",
                    shape.source
                ));
                None
            }
        }
    }
}
