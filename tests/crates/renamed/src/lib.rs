//! A crate that depends on `nn` under another name (`neural`), and a library that re-exports
//! `network!` to users who do not depend on `nn` at all (see the `downstream` test crate).
//!
//! The re-export pattern for library authors: re-export the crate under a hidden name, and
//! wrap the macro so that it tells `network!` where `nn` is with `#![nn(crate = ..)]`.

#[doc(hidden)]
pub use neural as __nn;

/// `network!` for this library's users.
#[macro_export]
macro_rules! network {
    ($($declaration:tt)*) => {
        $crate::__nn::network! {
            #![nn(crate = $crate::__nn)]
            $($declaration)*
        }
    };
}

neural::network! {
    /// Declared through the renamed dependency: the macro reads this crate's manifest.
    pub struct Renamed< fc1: dense(3 -> 4), relu, fc2: dense(4 -> 2) >
}

#[cfg(test)]
mod tests {
    use super::*;
    use neural::prelude::*;

    #[test]
    fn a_network_declared_under_a_renamed_dependency_trains() {
        let mut net = Renamed::seeded(0);
        let mut tape = RenamedTape::<2>::new();
        let y = net
            .forward_train(&Tensor2::<2, 3>::full(1.0), &mut tape)
            .clone();
        net.backward_params(&mut tape, &y);
        assert_eq!(y.shape(), [2, 2]);
        assert_eq!(Renamed::PARAM_COUNT, 3 * 4 + 4 + 4 * 2 + 2);
    }
}
