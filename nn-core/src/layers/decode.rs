//! Step-by-step inference over a sequence: [`Decode`], which a layer implements when it can
//! compute step `t` from step `t`'s input and what it kept of the steps before, and
//! [`Decoder`], which feeds a network one token (or one step of features) at a time.
//!
//! A causal language model sampled one token at a time needs this: the full forward would redo
//! every earlier step for each new token (`T` steps of work per token, `T²` per sequence);
//! step by step, attention keeps each step's keys and values (the key/value cache) and the
//! other layers, which see one step at a time anyway, keep nothing.
//!
//! Which layers decode: [`Embedding`](super::Embedding), both positional encodings,
//! [`LayerNorm`](super::LayerNorm) and [`RmsNorm`](super::RmsNorm) over `(T, D)`,
//! [`SequenceDense`](super::SequenceDense), the elementwise activations and
//! [`Dropout`](super::Dropout) (the identity, as at inference) over `(T, F)`, and causal
//! [`MultiHeadAttention`](super::MultiHeadAttention). A network made by `network!` decodes when
//! every layer does and its merges are `add` or `concat`; a non-causal attention, one with a
//! key-padding mask, a pool over the steps or a recurrent layer has no step form, so such a
//! network does not implement `Decode`.
//!
//! An encoder-decoder decodes too: a network of two inputs whose cross-attention
//! (`fork { .. } => multi_head_attention(..)`) takes its queries from the decoded input and its
//! keys and values from the other, the *memory* (the source sentence, an image). The memory is
//! read whole once per sequence ([`Decoder::with_memory`]): its branch runs as in the full
//! forward, and each cross-attention keeps its keys and values ([`CrossDecode`]); then each
//! step runs the decoded branch and attends to them.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::layers::TokenError;
use crate::linalg::sequence::token;

/// A layer over `(T, F)` sequences that can run one step at a time, in order, given what it
/// kept of the earlier steps in its [`Decode::DecodeState`].
///
/// Step `t`'s output equals row `t` of the full inference forward on any sequence that starts
/// with the same `t + 1` steps (up to the order of floating-point sums).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot run one step at a time: it does not implement `nn::layers::Decode`",
    note = "a network decodes step by step when every layer of its decoded branch does: embeddings, positional encodings, norms, dense layers and activations on sequences, dropout, causal attention, and cross-attention to a second input; an attention that is not `causal` (it sees the later steps), one with `key_padding`, a pool over the steps or a recurrent layer has no step form"
)]
pub trait Decode {
    /// The longest sequence: the steps a decode state has room for.
    const STEPS: usize;
    /// Values in one step of the input (1 for token ids).
    const STEP_INPUTS: usize;
    /// Values in one step of the output.
    const STEP_OUTPUTS: usize;
    /// The vocabulary of a step's token id, when a step is one: [`Decoder`] refuses an id
    /// that is not a whole number below it.
    const STEP_VOCAB: Option<usize> = None;
    /// Values of the memory, a second input read whole once per sequence (an
    /// encoder-decoder's source); 0 for a network without one.
    const MEMORY: usize = 0;
    /// The vocabulary of the memory's token ids, when it is token ids.
    const MEMORY_VOCAB: Option<usize> = None;
    /// What the layer keeps between steps (attention's keys and values), with its working
    /// space; allocated once by [`Decode::decode_state`].
    type DecodeState;

    /// A state for a new sequence.
    fn decode_state(&self) -> Self::DecodeState;

    /// Reads the memory of a new sequence (`MEMORY` values) into `state`, before its first
    /// step. Nothing to do for a layer or network without one.
    fn decode_memory(&self, memory: &[f32], state: &mut Self::DecodeState) {
        let _ = (memory, state);
    }

    /// Writes the output of step `position` (`STEP_OUTPUTS` values) into `y`, from that step's
    /// input `x` (`STEP_INPUTS` values) and the steps `0..position`, which must have been
    /// decoded with this `state`, in order.
    ///
    /// # Panics
    /// When `position ≥ STEPS` or a slice has the wrong length.
    fn decode_step(&self, x: &[f32], y: &mut [f32], state: &mut Self::DecodeState, position: usize);
}

/// A layer or network that reads no memory, as [`Decoder::new`] requires besides [`Decode`].
/// Every layer that decodes is one, and so is every generated network of one input (whether it
/// decodes or not, so that a network that does not decode gets only `Decode`'s error); an
/// encoder-decoder is not, so `Decoder::new` on it is an error at the call, which says to give
/// the memory ([`Decoder::with_memory`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` attends to a second input, its memory: make the decoder with `Decoder::with_memory(&network, &memory)`",
    note = "`Decoder::new` takes a network that decodes from its one input alone"
)]
pub trait WithoutMemory {}

/// Why [`Decoder::step`] refused a step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DecodeError {
    /// Every position of the sequence is taken: [`Decoder::reset`] starts a new one.
    Full {
        /// The longest sequence, the network's `T`.
        steps: usize,
    },
    /// The token id is not below the vocabulary size.
    Token(TokenError),
    /// The step's input has the wrong number of values.
    Width {
        /// Values one step takes.
        expected: usize,
        /// Values given.
        given: usize,
    },
    /// The memory has the wrong number of values.
    MemoryWidth {
        /// Values the memory takes.
        expected: usize,
        /// Values given.
        given: usize,
    },
    /// A token id of the memory is not below its vocabulary size.
    MemoryToken(TokenError),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Full { steps } => write!(
                f,
                "the sequence is full: all {steps} positions are decoded; call `reset` to start a new one"
            ),
            DecodeError::Token(error) => write!(f, "{error}"),
            DecodeError::Width { expected, given } => {
                write!(
                    f,
                    "a step takes {} but {} given",
                    values(*expected),
                    were(*given)
                )
            }
            DecodeError::MemoryWidth { expected, given } => write!(
                f,
                "the memory takes {} but {} given",
                values(*expected),
                were(*given)
            ),
            DecodeError::MemoryToken(TokenError {
                position,
                value,
                vocab,
                ..
            }) => write!(
                f,
                "the memory's token {value} at position {position} is not below the vocabulary size {vocab}"
            ),
        }
    }
}

impl core::error::Error for DecodeError {}

/// "1 value", "3 values".
fn values(count: usize) -> alloc::string::String {
    alloc::format!("{count} value{}", if count == 1 { "" } else { "s" })
}

/// "1 was", "3 were".
fn were(count: usize) -> alloc::string::String {
    alloc::format!("{count} {}", if count == 1 { "was" } else { "were" })
}

/// Runs a network that implements [`Decode`] one step at a time: feed it a token with
/// [`step_token`](Decoder::step_token) (or a step of features with [`step`](Decoder::step)) and
/// read that step's output, without recomputing the earlier steps.
///
/// Everything is allocated by [`Decoder::new`]; a step allocates nothing. A decoder holds one
/// sequence of at most `N::STEPS` steps (the network's `T`); [`Decoder::reset`] starts the next.
///
/// ```
/// use nn_core::layers::{Decoder, Layer, MultiHeadAttention};
/// use nn_core::tensor::{Tensor, Tensor3, Zeroed};
///
/// // Causal attention over 4 steps of 2 features: decoding step by step gives the rows of
/// // the full forward.
/// let mha = MultiHeadAttention::<4, 2, 1, true>::new(&mut nn_core::init::seeded(0));
/// let x = Tensor3::<1, 4, 2>::from_slice(&[0.5, -1.0, 2.0, 0.0, -0.5, 1.5, 1.0, 1.0])?;
/// let mut full = Tensor3::<1, 4, 2>::zeros();
/// mha.forward(&x, &mut full, &mut Zeroed::zeroed());
///
/// let mut decoder = Decoder::new(&mha);
/// for (step, expected) in x.as_slice().chunks(2).zip(full.as_slice().chunks(2)) {
///     let y = decoder.step(step)?;
///     assert!(y.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-6));
/// }
/// // Four steps fill the sequence; `reset` starts the next.
/// assert!(decoder.step(&[0.0, 0.0]).is_err());
/// decoder.reset();
/// assert_eq!(decoder.position(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Decoder<'n, N: Decode> {
    network: &'n N,
    state: N::DecodeState,
    position: usize,
    output: Vec<f32>,
}

impl<'n, N: Decode + WithoutMemory> Decoder<'n, N> {
    /// A decoder at position 0, with its state and output allocated. A network with a memory
    /// (an encoder-decoder) takes [`Decoder::with_memory`] instead: here it does not compile.
    pub fn new(network: &'n N) -> Self {
        Self::allocated(network)
    }
}

impl<'n, N: Decode> Decoder<'n, N> {
    /// A decoder at position 0 of a sequence attending to `memory` (`N::MEMORY` values: an
    /// encoder-decoder's source ids, say), which it reads whole now: the memory's branch of
    /// the network runs once, and each step then attends to what it gave.
    ///
    /// # Errors
    /// [`DecodeError::MemoryWidth`] when `memory` is not `N::MEMORY` values, and
    /// [`DecodeError::MemoryToken`] for a token id of it that is not below its vocabulary.
    pub fn with_memory(network: &'n N, memory: &[f32]) -> Result<Self, DecodeError> {
        let mut decoder = Self::allocated(network);
        decoder.remember(memory)?;
        Ok(decoder)
    }

    /// Starts a new sequence at position 0 that attends to `memory`, read whole now (see
    /// [`Decoder::with_memory`]). On an error nothing changes.
    ///
    /// # Errors
    /// As [`Decoder::with_memory`].
    pub fn remember(&mut self, memory: &[f32]) -> Result<(), DecodeError> {
        if memory.len() != N::MEMORY {
            return Err(DecodeError::MemoryWidth {
                expected: N::MEMORY,
                given: memory.len(),
            });
        }
        if let Some(vocab) = N::MEMORY_VOCAB
            && let Some((position, &value)) = memory
                .iter()
                .enumerate()
                .find(|&(_, &id)| token(id, vocab).is_none())
        {
            return Err(DecodeError::MemoryToken(TokenError {
                sample: 0,
                position,
                value,
                vocab,
            }));
        }
        self.network.decode_memory(memory, &mut self.state);
        self.position = 0;
        Ok(())
    }

    fn allocated(network: &'n N) -> Self {
        Decoder {
            network,
            state: network.decode_state(),
            position: 0,
            output: vec![0.0; N::STEP_OUTPUTS],
        }
    }

    /// The number of steps decoded so far: the position the next step takes.
    pub fn position(&self) -> usize {
        self.position
    }

    /// The longest sequence, the network's `T`.
    pub fn steps(&self) -> usize {
        N::STEPS
    }

    /// Starts a new sequence at position 0. What the state kept of the old one is overwritten
    /// as the new one goes, never read.
    pub fn reset(&mut self) {
        self.position = 0;
    }

    /// Decodes the next step from its input features (`N::STEP_INPUTS` values) and returns its
    /// output. A network that reads token ids takes the id as its one value; prefer
    /// [`Decoder::step_token`], which checks it.
    pub fn step(&mut self, x: &[f32]) -> Result<&[f32], DecodeError> {
        if x.len() != N::STEP_INPUTS {
            return Err(DecodeError::Width {
                expected: N::STEP_INPUTS,
                given: x.len(),
            });
        }
        if let Some(vocab) = N::STEP_VOCAB
            && token(x[0], vocab).is_none()
        {
            return Err(DecodeError::Token(TokenError {
                sample: 0,
                position: self.position,
                value: x[0],
                vocab,
            }));
        }
        if self.position >= N::STEPS {
            return Err(DecodeError::Full { steps: N::STEPS });
        }
        self.network
            .decode_step(x, &mut self.output, &mut self.state, self.position);
        self.position += 1;
        Ok(&self.output)
    }

    /// Decodes the next token id and returns that step's output (a language model's logits
    /// for the token after it).
    pub fn step_token(&mut self, id: usize) -> Result<&[f32], DecodeError> {
        // Ids past 2²⁴ are not exact in `f32`; every one of them is past any vocabulary a
        // network holds, and stays an error as the nearest float.
        self.step(&[id as f32])
    }
}

/// Cross-attention's step form: the keys and values of the memory are projected once per
/// sequence ([`CrossDecode::remember`]), and each step's query attends to them
/// ([`CrossDecode::attend`]), which gives row `t` of the full forward (up to the order of
/// floating-point sums). What a generated encoder-decoder's [`Decode`] runs for each of its
/// cross-attentions.
pub trait CrossDecode {
    /// The memory's projected keys and values, its keys' mask, and working space.
    type CrossState;

    /// A state with room for the memory's keys and values.
    fn cross_state(&self) -> Self::CrossState;

    /// Keeps the memory: its keys' and values' rows (`TK × D` each, the layer's inputs) through
    /// their projections, and the keys' token ids (`TK` values) for a layer that masks by
    /// them (others ignore `ids`).
    fn remember(&self, keys: &[f32], values: &[f32], ids: &[f32], state: &mut Self::CrossState);

    /// One step: the query row `x` (`D` values) attends to the memory; its output into `y`.
    fn attend(&self, x: &[f32], y: &mut [f32], state: &mut Self::CrossState);
}

/// The row of `values` (rows of `width`) at `position`.
pub(crate) fn row(values: &[f32], width: usize, position: usize) -> &[f32] {
    &values[position * width..(position + 1) * width]
}
