// A layer type with generic arguments needs an alias.
use nn::prelude::*;

network! {
    pub struct Generic< input(3), Dense<3, 3> >
}

fn main() {}
