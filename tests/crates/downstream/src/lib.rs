//! A user of a library that re-exports `network!`: this crate does not depend on `nn`.

nn_test_renamed::network! {
    /// Declared through the library's macro.
    pub struct Downstream< input(2), fc: dense(2 -> 3), fork { a: [tanh], b: skip } => concat >
}

#[cfg(test)]
mod tests {
    use super::*;
    use nn_test_renamed::__nn::prelude::*;

    #[test]
    fn a_network_declared_through_a_reexport_runs() {
        let net = Downstream::seeded(1);
        let y: Tensor2<1, 6> = net.forward(&Tensor2::<1, 2>::full(0.5));
        assert_eq!(y.shape(), [1, 6]);
    }
}
