//! Weight files and checkpoints with generated networks: every network kind round-trips
//! bit-identically through a file, names follow the declaration, and training resumed from a
//! checkpoint is bit-identical to training straight through.

use nn::data::{Batch, Batches, Dataset, LastBatch};
use nn::prelude::*;
use nn::weights::{self, Checkpoint, Problem};

network! {
    pub struct Mlp< fc1: dense(6 -> 8), relu, fc2: dense(8 -> 3) >

    /// Branches merged by concatenation, one with a named layer, and a residual block.
    pub struct Branchy<
        input(6),
        fork {
            left: [dense(6 -> 4), relu],
            right: [fc: dense(6 -> 2), tanh],
        } => concat,
        block: fork { body: [dense(6 -> 6), relu], skip: skip } => add,
        head: dense(6 -> 3),
    >

    pub struct Encoder< fc1: dense(6 -> 4), tanh, fc2: dense(4 -> 2) >
    pub struct Decoder< fc1: dense(2 -> 4), sigmoid, fc2: dense(4 -> 6) >
    /// Networks nested in a network.
    pub struct Autoencoder< encoder: Encoder, code: tanh, decoder: Decoder >

    /// Convolution and batch norm, whose running statistics are buffers.
    pub struct Cnn<
        input(1, 6, 6),
        conv1: conv2d(1 -> 3, kernel = 3, padding = 1), bn1: batch_norm, relu, max_pool(2),
        flatten, bn2: batch_norm, head: dense(27 -> 3),
    >

    pub struct Recurrent< input(5, 3), lstm: lstm(3 -> 4), last, head: dense(4 -> 3) >
}

/// Every parameter and buffer, with its name, as bits.
fn snapshot<M: HasParams>(net: &mut M) -> Vec<(String, Vec<u32>)> {
    let mut out = Vec::new();
    net.visit_params(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, p: Param<'_>| {
            out.push((
                path.to_string(),
                p.value.iter().map(|v| v.to_bits()).collect(),
            ));
        },
    );
    net.visit_buffers(
        &ParamPath::root(),
        &mut |path: &ParamPath<'_>, b: &mut [f32]| {
            out.push((path.to_string(), b.iter().map(|v| v.to_bits()).collect()));
        },
    );
    out
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nn-weights-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn round_trip<M: HasParams>(name: &str, trained: &mut M, fresh: &mut M) -> Vec<String> {
    let path = scratch(name);
    weights::save(trained, &path).expect("save");
    assert_ne!(
        snapshot(trained),
        snapshot(fresh),
        "{name}: the fresh net must differ"
    );
    weights::load(fresh, &path).expect("load");
    assert_eq!(snapshot(trained), snapshot(fresh), "{name}");
    std::fs::remove_file(&path).expect("remove");
    snapshot(fresh).into_iter().map(|(n, _)| n).collect()
}

#[test]
fn every_network_kind_round_trips_through_a_file() {
    let names = round_trip("mlp", &mut Mlp::seeded(1), &mut Mlp::seeded(2));
    assert_eq!(names, ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]);

    let names = round_trip("branchy", &mut Branchy::seeded(1), &mut Branchy::seeded(2));
    assert_eq!(
        names,
        [
            "left.0.weight",
            "left.0.bias",
            "right.fc.weight",
            "right.fc.bias",
            "block.body.0.weight",
            "block.body.0.bias",
            "head.weight",
            "head.bias"
        ]
    );

    let names = round_trip(
        "nested",
        &mut Autoencoder::seeded(1),
        &mut Autoencoder::seeded(2),
    );
    assert_eq!(names[0], "encoder.fc1.weight");
    assert_eq!(names[7], "decoder.fc2.bias");

    // Train the CNN a step so the batch norms' running statistics move off their defaults.
    let mut cnn = Cnn::seeded(1);
    let mut tape = CnnTape::<4>::new();
    let x = Tensor4::<4, 1, 6, 6>::from_fn(|[b, _, h, w]| ((b * 7 + h * 3 + w) % 5) as f32 - 2.0);
    let y = cnn.forward_train(&x, &mut tape).clone();
    cnn.zero_grad();
    cnn.backward_params(&mut tape, &y);
    Adam::new(0.01).step(&mut cnn).expect("step");
    let names = round_trip("cnn", &mut cnn, &mut Cnn::seeded(2));
    assert!(names.contains(&"bn1.running_mean".to_string()));
    assert!(names.contains(&"bn2.running_var".to_string()));

    let names = round_trip("lstm", &mut Recurrent::seeded(1), &mut Recurrent::seeded(2));
    assert_eq!(&names[..2], ["lstm.weight_ih_l0", "lstm.weight_hh_l0"]);
}

/// Every parameter and buffer with its name, as bits, read through `&self`.
fn snapshot_ref<M: HasParams>(net: &M) -> Vec<(String, Vec<u32>)> {
    nn::testing::state_bits(net)
}

#[test]
fn a_network_behind_an_arc_saves_through_shared_borrows() {
    use std::sync::Arc;
    // Train a step so the batch norms' running statistics differ from a fresh network's.
    let mut cnn = Cnn::seeded(1);
    let mut tape = CnnTape::<4>::new();
    let x = Tensor4::<4, 1, 6, 6>::from_fn(|[b, _, h, w]| ((b * 5 + h + 2 * w) % 7) as f32 - 3.0);
    let y = cnn.forward_train(&x, &mut tape).clone();
    cnn.zero_grad();
    cnn.backward_params(&mut tape, &y);
    Adam::new(0.01).step(&mut cnn).expect("step");
    let expected = snapshot(&mut cnn);

    let shared: Arc<Cnn> = Arc::new(cnn);
    let reader = Arc::clone(&shared); // a second owner: `Arc::get_mut` would fail
    let path = scratch("arc.safetensors");
    weights::save(&*reader, &path).expect("save through an Arc");
    let mut fresh = Cnn::seeded(2);
    assert_ne!(snapshot(&mut fresh), expected);
    weights::load(&mut fresh, &path).expect("load");
    assert_eq!(snapshot(&mut fresh), expected);
    std::fs::remove_file(&path).expect("remove");

    // The generated read-only visitors give the same names, order and values as the `&mut`
    // ones, for nested networks and branches too.
    assert_eq!(snapshot_ref(&*shared), expected);
    let (mut auto, mut branchy) = (Autoencoder::seeded(3), Branchy::seeded(3));
    assert_eq!(snapshot_ref(&auto), snapshot(&mut auto));
    assert_eq!(snapshot_ref(&branchy), snapshot(&mut branchy));

    // A checkpoint reads the network through `&` as well.
    let adam = Adam::new(1e-3);
    let bytes = weights::checkpoint_to_bytes(&*shared, &adam, &Checkpoint::new(1)).expect("save");
    let mut resumed = Cnn::seeded(4);
    let mut resumed_adam = Adam::new(1e-3);
    weights::checkpoint_from_bytes(&mut resumed, &mut resumed_adam, &bytes).expect("load");
    assert_eq!(snapshot(&mut resumed), expected);
}

#[test]
fn a_wrong_network_gets_every_problem_and_stays_as_it_was() {
    let bytes = weights::to_bytes(&Mlp::seeded(1)).expect("save");
    let mut other = Branchy::seeded(3);
    let before = snapshot(&mut other);
    let err = weights::from_bytes(&mut other, &bytes).unwrap_err();
    assert_eq!(snapshot(&mut other), before);
    let missing = err
        .problems
        .iter()
        .filter(|p| matches!(p, Problem::Missing { .. }))
        .count();
    let unexpected: Vec<&str> = err
        .problems
        .iter()
        .filter_map(|p| match p {
            Problem::Unexpected { tensor, .. } => Some(tensor.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(missing, 8);
    assert_eq!(
        unexpected,
        ["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"]
    );
}

const BATCH: usize = 8;
const SEED: u64 = 5;

/// A small synthetic 3-class problem: the class is the index of the largest of the first 3
/// features.
fn dataset() -> Dataset<Features<6>> {
    let mut state = 11u32;
    let inputs: Vec<f32> = (0..60 * 6)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect();
    let labels = inputs
        .chunks_exact(6)
        .map(|x| (0..3).max_by(|&a, &b| x[a].total_cmp(&x[b])).unwrap_or(0))
        .collect();
    Dataset::new(inputs, labels, 3).expect("dataset")
}

/// One epoch, its shuffle seeded by the epoch number so a resumed run draws the same batches.
fn epoch(net: &mut Mlp, adam: &mut Adam, data: &Dataset<Features<6>>, epoch: u64) -> f32 {
    let mut batches =
        Batches::<BATCH, _>::shuffled(data, LastBatch::Drop, SEED + epoch).expect("batches");
    let mut batch = Batch::new();
    let mut tape = MlpTape::<BATCH>::new();
    let mut dlogits = Tensor2::<BATCH, 3>::zeros();
    let mut loss = 0.0;
    while batches.fill_next(&mut batch).is_some() {
        let logits = net.forward_train(batch.inputs(), &mut tape);
        loss = softmax_cross_entropy(logits, batch.labels(), &mut dlogits).expect("labels");
        net.zero_grad();
        net.backward_params(&mut tape, &dlogits);
        adam.step(net).expect("one optimizer per network");
    }
    loss
}

#[test]
fn training_resumed_from_a_checkpoint_is_bit_identical() {
    let data = dataset();
    let (mut straight, mut adam) = (Mlp::seeded(0), Adam::new(0.01));
    let first_loss = epoch(&mut straight, &mut adam, &data, 0);
    let last_loss = epoch(&mut straight, &mut adam, &data, 1);
    assert!(last_loss.is_finite() && first_loss.is_finite());

    let path = scratch("resume.ckpt");
    {
        let (mut net, mut adam) = (Mlp::seeded(0), Adam::new(0.01));
        epoch(&mut net, &mut adam, &data, 0);
        let checkpoint = Checkpoint::new(1).with("seed", SEED.to_string());
        weights::save_checkpoint(&path, &net, &adam, &checkpoint).expect("save");
        assert_ne!(
            snapshot(&mut net),
            snapshot(&mut straight),
            "1 epoch is not 2"
        );
    }
    // A fresh process would start here: another initialisation and optimizer settings,
    // replaced by the checkpoint's.
    let (mut net, mut adam) = (Mlp::seeded(99), Adam::new(0.5));
    let info = weights::load_checkpoint(&path, &mut net, &mut adam).expect("load");
    assert_eq!((info.epoch, info.user["seed"].as_str()), (1, "5"));
    assert_eq!(adam.lr, 0.01);
    epoch(&mut net, &mut adam, &data, info.epoch);
    assert_eq!(snapshot(&mut net), snapshot(&mut straight));
    std::fs::remove_file(&path).expect("remove");
}
