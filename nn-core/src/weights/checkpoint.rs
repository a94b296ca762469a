//! Checkpoints: weights, buffers, optimizer state and the epoch in one safetensors file.

use std::boxed::Box;
use std::collections::BTreeMap;
use std::format;
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

use super::{
    LoadError, NetworkPlan, OPTIMIZER_PREFIX, Problem, SaveError, Tensors, atomic, checked,
    copy_into, element_count, metadata, parse, read, report_unexpected,
};
use crate::data::Origin;
use crate::optim::{OptimizerState, StateError};
use crate::param::HasParams;

/// The metadata key of the epoch.
const EPOCH: &str = "epoch";
/// The metadata key of the optimizer's name; its scalars follow as `optimizer.KEY`.
const OPTIMIZER: &str = "optimizer";
/// The prefix of user key/values in the metadata.
const USER: &str = "user.";

/// What a checkpoint holds besides tensors: the epoch it was taken after, and your own
/// key/values (stored as `user.KEY` in the file's `__metadata__`).
///
/// To resume exactly, everything that decides the rest of training must come back the same:
/// the weights, buffers and optimizer state are in the file; the data order must be a function
/// of what is saved, for instance by seeding each epoch's shuffle from the epoch number
/// (`Batches::shuffled(&data, LastBatch::Drop, seed + epoch)`), so that epoch `e + 1` after a
/// resume draws the batches it would have drawn without one.
///
/// ```
/// use nn_core::layers::Dense;
/// use nn_core::optim::{Adam, Optimizer};
/// use nn_core::weights::{self, Checkpoint};
///
/// let mut rng = nn_core::init::seeded(0);
/// let mut net = Dense::<3, 2>::new(&mut rng);
/// let mut adam = Adam::new(1e-3);
/// adam.step(&mut net)?;
/// let bytes = weights::checkpoint_to_bytes(&net, &adam, &Checkpoint::new(1).with("run", "a"))?;
///
/// let (mut fresh, mut fresh_adam) = (Dense::<3, 2>::new(&mut rng), Adam::new(0.5));
/// let info = weights::checkpoint_from_bytes(&mut fresh, &mut fresh_adam, &bytes)?;
/// assert_eq!((info.epoch, info.user["run"].as_str()), (1, "a"));
/// assert_eq!((fresh_adam.steps(), fresh_adam.lr), (1, 1e-3));
/// assert_eq!(fresh.weight(), net.weight());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checkpoint {
    /// The number of epochs completed.
    pub epoch: u64,
    /// Your own key/values.
    pub user: BTreeMap<String, String>,
}

impl Checkpoint {
    /// A checkpoint after `epoch` epochs, with no user key/values.
    pub fn new(epoch: u64) -> Self {
        Self {
            epoch,
            user: BTreeMap::new(),
        }
    }

    /// This checkpoint with the user key/value `key = value`.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.user.insert(key.into(), value.into());
        self
    }
}

/// Writes `net`'s weights and buffers, `optimizer`'s state and `checkpoint` to `path`,
/// atomically (see the [module docs](super#checkpoints)).
///
/// # Errors
/// As [`save`](super::save).
pub fn save_checkpoint<M: HasParams + ?Sized, O: OptimizerState>(
    path: impl AsRef<Path>,
    net: &M,
    optimizer: &O,
    checkpoint: &Checkpoint,
) -> Result<(), SaveError> {
    let bytes = checkpoint_to_bytes(net, optimizer, checkpoint)?;
    atomic::write(path.as_ref(), &bytes)
}

/// The bytes [`save_checkpoint`] writes.
///
/// # Errors
/// As [`save`](super::save), without the I/O.
pub fn checkpoint_to_bytes<M: HasParams + ?Sized, O: OptimizerState>(
    net: &M,
    optimizer: &O,
    checkpoint: &Checkpoint,
) -> Result<Vec<u8>, SaveError> {
    let mut tensors = Tensors::default();
    let params = tensors.add_network(net)?;
    for (index, (name, shape)) in params.iter().enumerate() {
        for (slot, slot_name) in optimizer.slot_names().iter().enumerate() {
            if let Some(state) = optimizer.state(index, slot) {
                tensors.add(
                    format!("{OPTIMIZER_PREFIX}{slot_name}.{name}"),
                    shape,
                    state,
                )?;
            }
        }
    }
    let mut meta = BTreeMap::new();
    meta.insert(EPOCH.to_string(), checkpoint.epoch.to_string());
    meta.insert(OPTIMIZER.to_string(), optimizer.kind().to_string());
    for (key, value) in optimizer.scalars() {
        meta.insert(format!("{OPTIMIZER_PREFIX}{key}"), value);
    }
    for (key, value) in &checkpoint.user {
        meta.insert(format!("{USER}{key}"), value.clone());
    }
    tensors.serialize(meta)
}

/// Loads a checkpoint written by [`save_checkpoint`] into `net` and `optimizer` (which may be
/// fresh: the optimizer's scalars, such as its step count and learning rate, are replaced by
/// the file's) and binds the optimizer to `net`. Returns the epoch and user key/values.
///
/// Everything is checked first, as by [`load`](super::load), and also the optimizer's name,
/// its scalars and its state tensors, whose shapes are their parameters'. Unlike
/// [`load`](super::load), an `optimizer.*` tensor that does not belong to `optimizer` is a
/// problem.
///
/// # Errors
/// A [`LoadError`] listing every problem; `net` and `optimizer` are then untouched.
pub fn load_checkpoint<M: HasParams, O: OptimizerState>(
    path: impl AsRef<Path>,
    net: &mut M,
    optimizer: &mut O,
) -> Result<Checkpoint, LoadError> {
    let path = path.as_ref();
    let bytes = read(path)?;
    load_checkpoint_bytes(net, optimizer, &bytes, Origin::File(path.to_path_buf()))
}

/// [`load_checkpoint`] from bytes in memory.
///
/// # Errors
/// As [`load_checkpoint`].
pub fn checkpoint_from_bytes<M: HasParams, O: OptimizerState>(
    net: &mut M,
    optimizer: &mut O,
    bytes: &[u8],
) -> Result<Checkpoint, LoadError> {
    load_checkpoint_bytes(net, optimizer, bytes, Origin::Memory)
}

fn load_checkpoint_bytes<M: HasParams, O: OptimizerState>(
    net: &mut M,
    optimizer: &mut O,
    bytes: &[u8],
    origin: Origin,
) -> Result<Checkpoint, LoadError> {
    let file = parse(bytes, &origin)?;
    let meta = metadata(bytes);
    let mut problems = Vec::new();
    let plan = NetworkPlan::check(net, &file, &mut problems);

    match meta.get(OPTIMIZER) {
        None => problems.push(Problem::Metadata {
            key: OPTIMIZER.to_string(),
            reason: "missing: this is a weights file, not a checkpoint".to_string(),
        }),
        Some(kind) if kind != optimizer.kind() => problems.push(Problem::OptimizerKind {
            file: kind.clone(),
            expected: optimizer.kind().to_string(),
        }),
        Some(_) => {}
    }
    let epoch = match meta.get(EPOCH).map(|e| e.parse::<u64>()) {
        Some(Ok(epoch)) => epoch,
        other => {
            problems.push(Problem::Metadata {
                key: EPOCH.to_string(),
                reason: match other {
                    None => "missing".to_string(),
                    Some(_) => format!("`{}` is not a whole number", meta[EPOCH]),
                },
            });
            0
        }
    };

    // The optimizer's state tensors: all of them, or none (a checkpoint taken before the
    // first step).
    let mut known = plan.names.clone();
    let slot_names = optimizer.slot_names();
    let has_state = file.iter().any(|(name, _)| {
        slot_names
            .iter()
            .any(|slot| name.starts_with(&format!("{OPTIMIZER_PREFIX}{slot}.")))
    });
    let mut state_views = Vec::new();
    if has_state {
        for (name, shape) in &plan.param_entries {
            let len = element_count(shape).unwrap_or(usize::MAX);
            for slot in slot_names {
                let tensor = format!("{OPTIMIZER_PREFIX}{slot}.{name}");
                state_views.push(checked(&file, &tensor, shape, len, &mut problems));
                known.insert(tensor);
            }
        }
    }
    report_unexpected(&file, &known, |_| false, &mut problems);
    if !problems.is_empty() {
        return Err(LoadError { origin, problems });
    }

    let tensors: Vec<Box<[f32]>> = state_views
        .iter()
        .flatten()
        .map(|view| {
            let len = element_count(view.shape()).unwrap_or(0);
            let mut values = std::vec![0.0; len].into_boxed_slice();
            copy_into(view, &mut values);
            values
        })
        .collect();
    let scalar = |key: &str| meta.get(&format!("{OPTIMIZER_PREFIX}{key}")).cloned();
    optimizer
        .restore(net, &scalar, tensors)
        .map_err(|e| LoadError::one(origin.clone(), state_problem(e)))?;
    plan.write(net);

    let user = meta
        .iter()
        .filter_map(|(key, value)| Some((key.strip_prefix(USER)?.to_string(), value.clone())))
        .collect();
    Ok(Checkpoint { epoch, user })
}

fn state_problem(e: StateError) -> Problem {
    match e {
        StateError::Scalar { key } => Problem::Metadata {
            key: format!("{OPTIMIZER_PREFIX}{key}"),
            reason: "missing or not a number".to_string(),
        },
        other => Problem::Metadata {
            key: OPTIMIZER.to_string(),
            reason: other.to_string(),
        },
    }
}
