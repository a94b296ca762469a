// Every vision kind, with named channels, `padding = same`, a strided conv, `floor`, both
// upsampling modes, a residual block, and batch norm on flat features and on channels.
use nn::prelude::*;

const C: usize = 4;

network! {
    pub struct Vision<
        input(1, 13, 12),
        stem: conv2d(1 -> C, kernel = 3, padding = same), batch_norm, relu,   // (4, 13, 12)
        max_pool(2, floor),                                                  // (4, 6, 6)
        block: fork {
            body: [conv2d(C -> C, kernel = 3, padding = 1), relu],
            shortcut: skip,
        } => add,
        down: conv2d(C -> 8, kernel_size = 3, stride = 2, padding = 1, floor), // (8, 3, 3)
        upsample(2), avg_pool(2, stride = 1), upsample(2, bilinear),           // (8, 10, 10)
        avg_pool(kernel = 2), global_avg_pool,                                 // (8)
        batch_norm, dropout(0.25), dropout,
        head: dense(8 -> 3),
    >
}

network! {
    /// A bare `concat` joins channels: two 16-channel maps give 32 channels, as in an inception
    /// block.
    pub struct Inception<
        input(1, 28, 28),
        inception: fork {
            narrow: [conv2d(1 -> 16, kernel = 1), relu],
            wide: [conv2d(1 -> 16, kernel = 3, padding = same), relu],
        } => concat,                                                           // (32, 28, 28)
        mix: conv2d(32 -> 8, kernel = 3, padding = 1), global_avg_pool, dense(8 -> 10),
    >
}

fn main() {
    let mut inception = Inception::seeded(0);
    let mut tape = InceptionTape::<1>::new();
    inception.forward_train(&Tensor4::<1, 1, 28, 28>::zeros(), &mut tape);
    let joined: &Tensor4<1, 32, 28, 28> = tape.outputs().inception;
    assert_eq!(joined.shape(), [1, 32, 28, 28]);

    let mut net = Vision::seeded(0);
    let x = Tensor4::<2, 1, 13, 12>::full(0.5);
    let mut tape = VisionTape::<2>::new();
    let y: &Tensor2<2, 3> = net.forward_train(&x, &mut tape);
    assert!(y.iter().all(|v| v.is_finite()));
    let down: &Tensor4<2, 8, 3, 3> = tape.outputs().down;
    assert_eq!(down.shape(), [2, 8, 3, 3]);
    let y: Tensor2<1, 3> = net.forward(&Tensor4::<1, 1, 13, 12>::zeros());
    assert_eq!(y.shape(), [1, 3]);
}
