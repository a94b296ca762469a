//! The weights files of `tests/baked.rs`: seeded heap networks, their batch norms given
//! statistics of their own, saved with `nn::weights::save`. `#[weights = ".."]` reads a file
//! while the macro expands, so the files are committed (`tests/fixtures/baked_*.safetensors`);
//! this test checks that they are what the seeds give, and rewrites them with
//! `NN_WRITE_FIXTURES=1 cargo test -p nn --test bake_fixtures`.
//!
//! The declarations are those of `tests/baked.rs`, without `#[weights]` (which would need the
//! files to exist before they are written).

use nn::prelude::*;

network! {
    /// LeNet with batch norm (README's figures).
    pub struct Lenet<
        input(1, 28, 28),
        conv1: conv2d(1 -> 6, kernel = 5), bn1: batch_norm, relu, max_pool(2),
        conv2: conv2d(6 -> 16, kernel = 5), bn2: batch_norm, relu, max_pool(2),
        flatten, fc1: dense(256 -> 120), relu, dropout(0.5), fc2: dense(120 -> 10),
    >

    /// Every vision kind, with batch norms that have no layer to fold into, and padded,
    /// rectangular and TensorFlow-`same` pools.
    pub struct Vision<
        input(2, 9, 9),
        c1: conv2d(2 -> 4, kernel = 3, padding = 1), relu, max_pool(2, floor), bn1: batch_norm,
        max_pool(3, stride = 1, padding = 1),
        c2: conv2d(4 -> 4, kernel = 3, stride = 2, padding = 1, floor), upsample(2), avg_pool(2),
        upsample(2, bilinear), avg_pool((3, 1), stride = 1, padding = (1, 0)),
        c3: conv2d(4 -> 2, kernel = 1), avg_pool(3, stride = 2, padding = same), tanh,
        global_avg_pool,
        bn2: batch_norm, fc: dense(2 -> 3), softmax,
    >

    /// Forks: add with a skip, concat, stack, and an activation on a value a skip also reads.
    pub struct Forks<
        input(6), fc1: dense(6 -> 8), relu,
        fork { a: [dense(8 -> 8), tanh], shortcut: skip } => add,
        fork { p: [dense(8 -> 4)], q: [dense(8 -> 4), sigmoid] } => concat,
        fork { u: [dense(8 -> 3)], v: [dense(8 -> 3), elu] } => stack,
        flatten,
        fork { r: [leaky_relu(0.1)], s: skip } => add,
        out: dense(6 -> 2),
    >

    /// A dense layer on every step of a sequence.
    pub struct Steps< input(4, 3), step: dense(3 -> 5), gelu, flatten, out: dense(20 -> 2) >

    /// The mixed network: conv, batch norm, a residual fork, pooling, a channel concat, dense.
    pub struct Mixed<
        input(1, 12, 12),
        c1: conv2d(1 -> 4, kernel = 3, padding = same), bn1: batch_norm, relu,
        res: fork { body: [c2: conv2d(4 -> 4, kernel = 3, padding = 1), bn2: batch_norm, relu], shortcut: skip } => add,
        max_pool(2),
        fork { a: [c3: conv2d(4 -> 2, kernel = 1)], b: [c4: conv2d(4 -> 2, kernel = 3, padding = 1), bn4: batch_norm] } => concat,
        flatten, fc: dense(144 -> 10),
    >

    /// conv1d: causal, dilated, grouped, depthwise and strided; padded 1-D pools.
    pub struct Temporal<
        input(4, 12),
        t1: conv1d(4 -> 8, kernel = 3, padding = causal), relu,
        max_pool1d(3, stride = 1, padding = 1),
        t2: conv1d(8 -> 8, kernel = 3, dilation = 2, padding = causal, groups = 2), relu,
        t3: conv1d(8 -> 8, kernel = 3, dilation = 4, padding = causal, groups = 8),
        t4: conv1d(8 -> 4, kernel = 2, stride = 2), tanh,
        avg_pool1d(3, stride = 1, padding = 1, count_include_pad = false),
        flatten, fc: dense(24 -> 3),
    >

    /// Depthwise-separable blocks: TensorFlow's `same` at stride 2 on a rectangular kernel,
    /// batch norms folded into a conv and a depthwise conv, and a strided dilated depthwise
    /// conv with a multiplier.
    pub struct Separable<
        input(1, 10, 7),
        c1: conv2d(1 -> 6, kernel = (4, 3), stride = 2, padding = same), bn1: batch_norm, relu,
        dw: depthwise(6, kernel = 3, padding = same), bn2: batch_norm, relu,
        pw: conv2d(6 -> 8, kernel = 1), relu,
        dw2: depthwise(8 -> 16, kernel = (3, 2), dilation = (2, 1), stride = (1, 2)),
        global_avg_pool, fc: dense(16 -> 4),
    >

    /// An Elman RNN (tanh), its final state and a dense head.
    pub struct RnnTanh< input(5, 3), rnn: rnn(3 -> 4), last, head: dense(4 -> 2) >

    /// An Elman RNN with relu, its final state and a dense head.
    pub struct RnnRelu< input(5, 3), rnn: rnn(3 -> 4, relu), last, head: dense(4 -> 2) >

    /// A GRU, its final state and a dense head.
    pub struct GruLast< input(5, 3), gru: gru(3 -> 4), last, head: dense(4 -> 2) >

    /// An LSTM, its final state and a dense head.
    pub struct LstmLast< input(5, 3), lstm: lstm(3 -> 4), last, head: dense(4 -> 2) >

    /// Recurrent layers stacked, with a dense layer on every step between them.
    pub struct RecurrentSteps<
        input(6, 2), gru: gru(2 -> 5), step: dense(5 -> 3), relu,
        lstm: lstm(3 -> 4), rnn: rnn(4 -> 3), last, out: dense(3 -> 2),
    >

    /// Sizes written as named constants, a residual fork among them.
    pub struct NamedSizes<
        input(IN), fc1: dense(IN -> HIDDEN), relu,
        fork { a: [dense(HIDDEN -> HIDDEN), tanh], b: skip } => add,
        fc2: dense(HIDDEN -> OUT),
    >

    /// Two named inputs, an activation on one of them before its dense layer.
    pub struct TwoInputs<
        input(image: 12), input(meta: 3),
        fork { i: image => [fc_i: dense(12 -> 6), relu], m: meta => [sigmoid, fc_m: dense(3 -> 2)] } => concat,
        out: dense(8 -> 4),
    >

    /// The network nested in [`WithEncoder`].
    pub struct Encoder< fc1: dense(6 -> 5), relu, fc2: dense(5 -> 4) >

    /// A nested network of the same call, an activation after it and a dense head.
    pub struct WithEncoder< input(6), encoder: Encoder, tanh, head: dense(4 -> 2) >

    /// A causal language model over 80 ids (two blocks of queries, two tiles of keys).
    pub struct CausalLm<
        input(80) tokens,
        embed: embedding(13 -> 16),
        positional(sinusoidal),
        block: fork {
            attn: [layer_norm, multi_head_attention(16, heads = 4, causal)],
            skip: skip,
        } => add,
        rms_norm,
        head: dense(16 -> 13),
    >

    /// A vision transformer on 1 x 8 x 8 images: 4 patches of 4 x 4.
    pub struct TinyVit<
        input(1, 8, 8),
        patches(4),
        embed: dense(16 -> 8),
        pos: positional(4, 8),
        fork { attn: [layer_norm, multi_head_attention(8, heads = 2)], skip: skip } => add,
        norm: layer_norm(eps = 1e-6),
        mean_pool,
        head: dense(8 -> 3),
    >

    /// Padded ids, pooled two ways: the mean and the LSTM's last state of the steps that are
    /// not padding.
    pub struct PaddedPools<
        input(10) tokens,
        embed: embedding(9 -> 6),
        fork {
            mean: [mean_pool(key_padding = 0)],
            recurrent: [lstm: lstm(6 -> 4), last(key_padding = 0)],
        } => concat,
        head: dense(10 -> 3),
    >

    /// Attention over padded ids, full and causal, then the mean of the steps that are not
    /// padding.
    pub struct PaddedEncoder<
        input(12) tokens,
        embed: embedding(9 -> 8),
        positional(sinusoidal),
        full: fork { attn: [layer_norm, multi_head_attention(8, heads = 2, key_padding = 0)], skip: skip } => add,
        causal: fork { attn: [multi_head_attention(8, heads = 2, causal, key_padding = 0)], skip: skip } => add,
        mean_pool(key_padding = 0),
        head: dense(8 -> 3),
    >

    /// Cross-attention: 70 text steps attend to 66 patches (both cross a block and a tile of
    /// the kernel), then the steps attend to keys and values of their own from three branches.
    pub struct CrossReader<
        input(text: 70) tokens,
        input(image: 66, 6),
        cross: fork {
            text => [embed: embedding(11 -> 8), positional(sinusoidal)],
            memory: image => [patch: dense(6 -> 8), gelu],
        } => multi_head_attention(8, heads = 2),
        again: fork {
            queries: [layer_norm],
            keys: [keys: dense(8 -> 8)],
            values: [tanh],
        } => multi_head_attention(8, heads = 4),
        mean_pool,
        head: dense(8 -> 3),
    >

    /// An encoder-decoder: 70 target ids attend to 66 source ids padded with 0 (both cross a
    /// block and a tile of the kernel), the padding masked in the encoder and the
    /// cross-attention.
    pub struct PaddedTranslator<
        input(source: 66) tokens,
        input(target: 70) tokens,
        cross: fork {
            target => [embed: embedding(11 -> 8), positional(sinusoidal)],
            memory: source => [
                source_embed: embedding(11 -> 8),
                positional(sinusoidal),
                encoder: fork {
                    attn: [layer_norm, multi_head_attention(8, heads = 2, key_padding = 0)],
                    skip: skip,
                } => add,
            ],
        } => multi_head_attention(8, heads = 2, key_padding = 0),
        head: dense(8 -> 3),
    >

    /// Attention that is not causal over 80 steps, every query across two tiles of keys.
    pub struct LongEncoder<
        input(80, 8),
        positional(sinusoidal),
        fork { attn: [rms_norm(eps = 1e-6), multi_head_attention(8, heads = 2)], skip: skip } => add,
        mean_pool,
        head: dense(8 -> 3),
    >
}

/// [`NamedSizes`]'s sizes.
pub const IN: usize = 5;
/// [`NamedSizes`]'s sizes.
pub const HIDDEN: usize = 7;
/// [`NamedSizes`]'s sizes.
pub const OUT: usize = 3;

/// Gives every batch norm of `net` statistics and an affine part of its own (a fresh one has
/// mean 0, variance 1, γ 1, β 0, which would hide a folding mistake).
pub fn with_statistics<N: HasParams>(net: &mut N) {
    let value = |i: usize, salt: usize| ((i * 37 + salt * 11) % 17) as f32 / 17.0;
    net.visit_buffers(
        &nn::param::ParamPath::root(),
        &mut |path: &nn::param::ParamPath<'_>, buffer: &mut [f32]| {
            let var = path.to_string().ends_with("running_var");
            for (i, v) in buffer.iter_mut().enumerate() {
                *v = if var {
                    0.25 + 2.0 * value(i, 3)
                } else {
                    value(i, 5) - 0.5
                };
            }
        },
    );
    net.visit_params(
        &nn::param::ParamPath::root(),
        &mut |path: &nn::param::ParamPath<'_>, param: nn::param::Param<'_>| {
            let path = path.to_string();
            if path.contains("bn") && param.shape.len() == 1 {
                let gamma = path.ends_with("weight");
                for (i, v) in param.value.iter_mut().enumerate() {
                    *v = if gamma {
                        0.5 + value(i, 7)
                    } else {
                        value(i, 9) - 0.5
                    };
                }
            }
        },
    );
}

/// Gives every vector parameter of `net` (biases, and the norms' weights) values of its own (a
/// fresh norm has weight 1 and bias 0 and an attention layer zero biases, which would hide a
/// parameter read in the wrong place).
pub fn with_vectors<N: HasParams>(net: &mut N) {
    net.visit_params(
        &nn::param::ParamPath::root(),
        &mut |path: &nn::param::ParamPath<'_>, param: nn::param::Param<'_>| {
            if param.shape.len() != 1 {
                return;
            }
            let weight = path.to_string().ends_with("weight");
            for (i, v) in param.value.iter_mut().enumerate() {
                let wobble = ((i * 29 + 7) % 13) as f32 / 13.0 - 0.5;
                *v = if weight {
                    1.0 + 0.5 * wobble
                } else {
                    0.2 * wobble
                };
            }
        },
    );
}

/// The bytes of every fixture, by file name.
fn fixtures() -> Vec<(&'static str, Vec<u8>)> {
    fn bytes<N: HasParams>(mut net: N) -> Vec<u8> {
        with_statistics(&mut net);
        nn::weights::to_bytes(&net).unwrap()
    }
    fn transformer<N: HasParams>(mut net: N) -> Vec<u8> {
        with_vectors(&mut net);
        nn::weights::to_bytes(&net).unwrap()
    }
    vec![
        ("baked_lenet.safetensors", bytes(Lenet::seeded(1))),
        ("baked_vision.safetensors", bytes(Vision::seeded(2))),
        ("baked_forks.safetensors", bytes(Forks::seeded(3))),
        ("baked_steps.safetensors", bytes(Steps::seeded(4))),
        ("baked_mixed_cnn.safetensors", bytes(Mixed::seeded(5))),
        ("baked_rnn_tanh.safetensors", bytes(RnnTanh::seeded(6))),
        ("baked_rnn_relu.safetensors", bytes(RnnRelu::seeded(7))),
        ("baked_gru.safetensors", bytes(GruLast::seeded(8))),
        ("baked_lstm.safetensors", bytes(LstmLast::seeded(9))),
        (
            "baked_recurrent_steps.safetensors",
            bytes(RecurrentSteps::seeded(10)),
        ),
        (
            "baked_named_sizes.safetensors",
            bytes(NamedSizes::seeded(11)),
        ),
        ("baked_two_inputs.safetensors", bytes(TwoInputs::seeded(12))),
        (
            "baked_with_encoder.safetensors",
            bytes(WithEncoder::seeded(13)),
        ),
        ("baked_temporal.safetensors", bytes(Temporal::seeded(14))),
        ("baked_separable.safetensors", bytes(Separable::seeded(15))),
        (
            "baked_causal_lm.safetensors",
            transformer(CausalLm::seeded(16)),
        ),
        (
            "baked_tiny_vit.safetensors",
            transformer(TinyVit::seeded(17)),
        ),
        (
            "baked_long_encoder.safetensors",
            transformer(LongEncoder::seeded(18)),
        ),
        (
            "baked_padded_pools.safetensors",
            transformer(PaddedPools::seeded(19)),
        ),
        (
            "baked_padded_encoder.safetensors",
            transformer(PaddedEncoder::seeded(20)),
        ),
        (
            "baked_cross_reader.safetensors",
            transformer(CrossReader::seeded(21)),
        ),
        (
            "baked_padded_translator.safetensors",
            transformer(PaddedTranslator::seeded(22)),
        ),
    ]
}

/// A safetensors file of F32 `tensors`, written by hand: the format is an 8-byte header length,
/// a JSON header and the data.
fn safetensors(tensors: &[(&str, &[usize])]) -> Vec<u8> {
    let (mut header, mut data) = (Vec::new(), Vec::new());
    for (i, (name, shape)) in tensors.iter().enumerate() {
        let count: usize = shape.iter().product();
        let start = data.len();
        for k in 0..count {
            data.extend_from_slice(&(((i + k) % 7) as f32 * 0.25 - 0.5).to_le_bytes());
        }
        let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
        header.push(format!(
            "\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{start},{}]}}",
            dims.join(","),
            data.len()
        ));
    }
    let mut header = format!("{{{}}}", header.join(",")).into_bytes();
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header);
    bytes.extend(data);
    bytes
}

/// The UI cases' files (`tests/ui/baked_weights/`): a dense layer and a batch norm whose
/// running variance is missing, as a file of parameters without buffers has it.
fn ui_fixtures() -> Vec<(&'static str, Vec<u8>)> {
    let no_var = safetensors(&[
        ("fc1.weight", &[3, 4]),
        ("fc1.bias", &[3]),
        ("bn.weight", &[3]),
        ("bn.bias", &[3]),
        ("bn.running_mean", &[3]),
    ]);
    vec![("bn_no_running_var.safetensors", no_var)]
}

#[test]
fn the_ui_fixtures_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/baked_weights");
    for (name, bytes) in ui_fixtures() {
        let path = dir.join(name);
        if std::env::var_os("NN_WRITE_FIXTURES").is_some() {
            std::fs::write(&path, &bytes).unwrap();
        }
        assert!(
            std::fs::read(&path).unwrap() == bytes,
            "{name} is stale: rewrite it with NN_WRITE_FIXTURES=1"
        );
    }
}

#[test]
fn the_fixtures_are_the_seeded_networks() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let write = std::env::var_os("NN_WRITE_FIXTURES").is_some();
    for (name, bytes) in fixtures() {
        let path = dir.join(name);
        if write {
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap();
        assert!(
            committed == bytes,
            "{name} is not what its seed gives: rewrite it with NN_WRITE_FIXTURES=1"
        );
    }
}
