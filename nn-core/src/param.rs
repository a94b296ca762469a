//! Named parameters and the visitor that optimizers use to reach them.
//!
//! A network exposes its parameters by calling a [`ParamVisitor`] once per tensor, in a fixed
//! order, with a dotted name such as `fc1.weight` or `encoder.fc1.bias`. Names are built from a
//! chain of borrowed segments ([`ParamPath`]), so visiting allocates nothing.
//!
//! # Buffers
//! Some layers keep state that is not trained: batch norm's running mean and variance. Such a
//! tensor is a *buffer* (PyTorch's word): it changes as the layer trains, but by the layer's own
//! rule, not by gradient descent. A layer exposes its buffers through
//! [`HasParams::visit_buffers`], which calls a [`BufferVisitor`] with the same dotted names as
//! parameters (`bn1.running_mean`). Optimizers only ever call [`HasParams::visit_params`], so
//! they cannot reach a buffer; weight files save and load both, so a trained network's running
//! statistics travel with its weights.

use core::fmt;

/// A dotted parameter name, as a chain of borrowed segments (no allocation).
///
/// ```
/// use nn_core::param::ParamPath;
/// let root = ParamPath::root();
/// let fc1 = root.child("fc1");
/// let weight = fc1.child("weight");
/// assert_eq!(weight.to_string(), "fc1.weight");
/// assert!(weight.matches("fc1.weight"));
/// ```
#[derive(Clone, Copy)]
pub struct ParamPath<'a> {
    parent: Option<&'a ParamPath<'a>>,
    segment: &'a str,
}

impl<'a> ParamPath<'a> {
    /// The empty path of a top-level network.
    pub const fn root() -> Self {
        Self {
            parent: None,
            segment: "",
        }
    }

    /// This path extended by one segment.
    pub fn child(&'a self, segment: &'a str) -> ParamPath<'a> {
        ParamPath {
            parent: Some(self),
            segment,
        }
    }

    /// The last segment (`weight` in `fc1.weight`).
    pub fn last(&self) -> &'a str {
        self.segment
    }

    fn write_to(&self, f: &mut fmt::Formatter<'_>) -> Result<bool, fmt::Error> {
        let wrote_parent = match self.parent {
            Some(parent) => parent.write_to(f)?,
            None => false,
        };
        if self.segment.is_empty() {
            return Ok(wrote_parent);
        }
        if wrote_parent {
            f.write_str(".")?;
        }
        f.write_str(self.segment)?;
        Ok(true)
    }

    /// Whether the dotted form of this path equals `dotted`, compared without allocating.
    pub fn matches(&self, dotted: &str) -> bool {
        self.strip_from_end(dotted) == Some("")
    }

    // Removes this path's dotted form from the end of `s`, returning what is left before it.
    fn strip_from_end<'s>(&self, s: &'s str) -> Option<&'s str> {
        if self.segment.is_empty() {
            return match self.parent {
                Some(p) => p.strip_from_end(s),
                None => Some(s),
            };
        }
        let rest = s.strip_suffix(self.segment)?;
        match self.parent {
            Some(p) if !p.is_empty() => p.strip_from_end(rest.strip_suffix('.')?),
            _ => Some(rest),
        }
    }

    fn is_empty(&self) -> bool {
        self.segment.is_empty() && self.parent.is_none_or(|p| p.is_empty())
    }
}

impl fmt::Display for ParamPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f).map(|_| ())
    }
}

impl fmt::Debug for ParamPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ParamPath(\"{self}\")")
    }
}

/// One parameter tensor and its accumulated gradient, as flat slices of equal length, with
/// the tensor's shape.
///
/// `shape` is PyTorch's shape of the same tensor, whose row-major layout `value` follows:
/// `(out, in)` for a dense weight, `(out, in, k, k)` for a convolution's, `(C)` for batch
/// norm's weight and bias, `(G·H, F)` for a recurrent layer's `weight_ih_l0` (the `G` gates
/// stacked along the rows). Weight files save and check it. Its product is `value.len()`.
///
/// A layer of your own fills it the same way:
///
/// ```
/// use nn_core::param::{HasParams, Param, ParamPath, ParamRef, ParamRefVisitor, ParamVisitor};
/// use nn_core::tensor::Tensor2;
///
/// struct Bilinear { w: Tensor2<3, 4>, w_grad: Tensor2<3, 4> }
///
/// impl HasParams for Bilinear {
///     fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
///         let w = Param { value: self.w.as_mut_slice(), grad: self.w_grad.as_mut_slice(), shape: &[3, 4] };
///         visitor.visit(&path.child("w"), w);
///     }
///
///     // The same tensors through `&self`, for `weights::save`.
///     fn visit_params_ref<V: ParamRefVisitor>(&self, path: &ParamPath<'_>, visitor: &mut V) {
///         visitor.visit(&path.child("w"), ParamRef { value: self.w.as_slice(), shape: &[3, 4] });
///     }
/// }
/// ```
pub struct Param<'a> {
    /// The values.
    pub value: &'a mut [f32],
    /// The gradient accumulated by `backward` since the last `zero_grad`.
    pub grad: &'a mut [f32],
    /// The tensor's shape (PyTorch's), whose product is `value.len()`.
    pub shape: &'a [usize],
}

/// A parameter's name, shape, values and gradient, for layers that list their tensors.
pub(crate) type NamedParam<'a> = (&'a str, &'a [usize], &'a mut [f32], &'a mut [f32]);

/// Receives every parameter of a network, in a fixed order.
///
/// Closures `FnMut(&ParamPath, Param)` implement it.
pub trait ParamVisitor {
    /// Called once per parameter tensor.
    fn visit(&mut self, path: &ParamPath<'_>, param: Param<'_>);
}

impl<F: FnMut(&ParamPath<'_>, Param<'_>)> ParamVisitor for F {
    fn visit(&mut self, path: &ParamPath<'_>, param: Param<'_>) {
        self(path, param)
    }
}

/// Receives every buffer (non-trained state, such as running statistics) of a network, in a
/// fixed order. See the [module docs](self#buffers).
///
/// Closures `FnMut(&ParamPath, &mut [f32])` implement it.
///
/// ```
/// use nn_core::layers::BatchNorm1d;
/// use nn_core::param::{HasParams, ParamPath};
///
/// let mut bn = BatchNorm1d::<3>::new();
/// let mut names = Vec::new();
/// bn.visit_buffers(&ParamPath::root().child("bn"), &mut |path: &ParamPath<'_>, buffer: &mut [f32]| {
///     names.push((path.to_string(), buffer.len()));
/// });
/// assert_eq!(names, [("bn.running_mean".to_string(), 3), ("bn.running_var".to_string(), 3)]);
/// ```
pub trait BufferVisitor {
    /// Called once per buffer tensor.
    fn visit(&mut self, path: &ParamPath<'_>, buffer: &mut [f32]);
}

impl<F: FnMut(&ParamPath<'_>, &mut [f32])> BufferVisitor for F {
    fn visit(&mut self, path: &ParamPath<'_>, buffer: &mut [f32]) {
        self(path, buffer)
    }
}

/// One parameter tensor, read through a shared borrow: its values and PyTorch's shape (see
/// [`Param`]), without the gradient. What [`HasParams::visit_params_ref`] hands out, so a
/// network behind `&` or an `Arc` can be saved.
#[derive(Clone, Copy, Debug)]
pub struct ParamRef<'a> {
    /// The values.
    pub value: &'a [f32],
    /// The tensor's shape (PyTorch's), whose product is `value.len()`.
    pub shape: &'a [usize],
}

/// Receives every parameter of a network through a shared borrow, in the order of
/// [`ParamVisitor`]: what [`HasParams::visit_params_ref`] calls.
///
/// Closures `FnMut(&ParamPath, ParamRef)` implement it.
pub trait ParamRefVisitor {
    /// Called once per parameter tensor.
    fn visit(&mut self, path: &ParamPath<'_>, param: ParamRef<'_>);

    /// Called by the default [`HasParams::visit_params_ref`] of a type that did not implement
    /// it, at the path where its parameters would be, with its type name. The default panics
    /// with a message naming the type and the fix; a visitor that can report errors
    /// (`weights::save`) records it instead.
    fn unreadable(&mut self, path: &ParamPath<'_>, type_name: &'static str) {
        panic!(
            "`{type_name}` (at `{path}`) implements `HasParams::visit_params` but not `visit_params_ref`, so its parameters cannot be read through `&self`; implement `visit_params_ref` as `visit_params` with shared borrows"
        )
    }
}

impl<F: FnMut(&ParamPath<'_>, ParamRef<'_>)> ParamRefVisitor for F {
    fn visit(&mut self, path: &ParamPath<'_>, param: ParamRef<'_>) {
        self(path, param)
    }
}

/// Receives every buffer of a network through a shared borrow, in the order of
/// [`BufferVisitor`]: what [`HasParams::visit_buffers_ref`] calls.
///
/// Closures `FnMut(&ParamPath, &[f32])` implement it.
pub trait BufferRefVisitor {
    /// Called once per buffer tensor.
    fn visit(&mut self, path: &ParamPath<'_>, buffer: &[f32]);
}

impl<F: FnMut(&ParamPath<'_>, &[f32])> BufferRefVisitor for F {
    fn visit(&mut self, path: &ParamPath<'_>, buffer: &[f32]) {
        self(path, buffer)
    }
}

/// Anything with named parameters: layers and generated networks.
///
/// # Reading through `&self`
/// [`visit_params`](Self::visit_params) hands out `&mut` slices (optimizers write the values,
/// `zero_grad` the gradients), so it needs `&mut self`. Reading, as `weights::save` does,
/// goes through [`visit_params_ref`](Self::visit_params_ref) and
/// [`visit_buffers_ref`](Self::visit_buffers_ref), which take `&self`, so a network shared
/// behind an `Arc` can be saved. Every layer of this crate and every network `network!`
/// generates implements both, in the same order and with the same names as their `&mut`
/// twins. A layer of your own should too: without `visit_params_ref`, reading it reports the
/// layer as unreadable ([`ParamRefVisitor::unreadable`]; `weights::save` returns an error
/// naming it) rather than leaving its parameters out; `visit_buffers_ref` defaults to no
/// buffers, as `visit_buffers` does, so a layer that overrides one must override both.
pub trait HasParams {
    /// Calls `visitor` for every parameter, names prefixed by `path`.
    fn visit_params<V: ParamVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V);

    /// Calls `visitor` for every buffer (non-trained state, e.g. running statistics), names
    /// prefixed by `path`. The default has none.
    ///
    /// Optimizers visit only parameters, so they never touch a buffer. A type that holds
    /// layers (a generated network, a wrapper) forwards this to each of them, as it does
    /// [`HasParams::visit_params`].
    fn visit_buffers<V: BufferVisitor>(&mut self, path: &ParamPath<'_>, visitor: &mut V) {
        let _ = (path, visitor);
    }

    /// Calls `visitor` for every parameter, read-only, names prefixed by `path`: the same
    /// tensors, names and order as [`HasParams::visit_params`], through `&self`.
    ///
    /// The default calls [`ParamRefVisitor::unreadable`] with this type's name, so a layer of
    /// your own that does not implement it is reported rather than silently skipped.
    fn visit_params_ref<V: ParamRefVisitor>(&self, path: &ParamPath<'_>, visitor: &mut V) {
        visitor.unreadable(path, core::any::type_name::<Self>());
    }

    /// Calls `visitor` for every buffer, read-only, names prefixed by `path`: the same
    /// tensors, names and order as [`HasParams::visit_buffers`], through `&self`. The default
    /// has none, as [`HasParams::visit_buffers`]' does.
    fn visit_buffers_ref<V: BufferRefVisitor>(&self, path: &ParamPath<'_>, visitor: &mut V) {
        let _ = (path, visitor);
    }

    /// Sets every gradient to zero.
    fn zero_grad(&mut self) {
        self.visit_params(
            &ParamPath::root(),
            &mut |_: &ParamPath<'_>, p: Param<'_>| crate::linalg::threads::fill(p.grad, 0.0),
        );
    }

    /// The number of scalar parameters.
    fn param_count(&mut self) -> usize {
        let mut count = 0;
        self.visit_params(
            &ParamPath::root(),
            &mut |_: &ParamPath<'_>, p: Param<'_>| count += p.value.len(),
        );
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn dotted_names() {
        let root = ParamPath::root();
        let enc = root.child("encoder");
        let fc = enc.child("fc1");
        let w = fc.child("weight");
        assert_eq!(w.to_string(), "encoder.fc1.weight");
        assert!(w.matches("encoder.fc1.weight"));
        assert!(!w.matches("fc1.weight"));
        assert!(!w.matches("xencoder.fc1.weight"));
        assert_eq!(root.child("bias").to_string(), "bias");
    }

    struct NoBuffers;
    impl HasParams for NoBuffers {
        fn visit_params<V: ParamVisitor>(&mut self, _: &ParamPath<'_>, _: &mut V) {}
    }

    #[test]
    fn buffers_default_to_none() {
        let mut seen = 0;
        NoBuffers.visit_buffers(
            &ParamPath::root(),
            &mut |_: &ParamPath<'_>, _: &mut [f32]| seen += 1,
        );
        assert_eq!(seen, 0);
    }
}
