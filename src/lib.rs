//! # nn: neural networks whose shapes are checked at compile time
//!
//! Declare a network with [`network!`]; it becomes a plain struct with statically shape-checked
//! forward and backward code. There is no runtime graph and no runtime tape: the tape is a
//! generated struct of preallocated buffers.
//!
//! ```
//! use nn::prelude::*;
//!
//! network! {
//!     /// MNIST classifier
//!     pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut net = Mlp::seeded(0);
//! let mut adam = Adam::new(1e-3);
//! let mut tape = MlpTape::<64>::new(); // every buffer of a batch of 64, made once
//! let mut dlogits = Tensor2::<64, 10>::zeros();
//! let x = Tensor2::<64, 784>::full(0.5);
//! let labels = [3usize; 64];
//!
//! // One training step; after the first, it allocates nothing.
//! let logits = net.forward_train(&x, &mut tape);
//! let loss = softmax_cross_entropy(logits, &labels, &mut dlogits)?;
//! net.zero_grad();
//! net.backward_params(&mut tape, &dlogits);
//! adam.step(&mut net)?;
//!
//! let probabilities: Tensor2<1, 10> = net.forward(&Tensor2::<1, 784>::zeros());
//! assert_eq!(probabilities.shape(), [1, 10]);
//! assert!(loss > 0.0);
//! # Ok(())
//! # }
//! ```
//!
//! # The `network!` syntax
//!
//! ```text
//! network! {
//!     /// docs and attributes pass through
//!     #[weights = "file.safetensors"]   // optional: bake these weights in (see below)
//!     #[baked_only]                     // optional, with `weights`: no heap network
//!     pub struct Name< item, name: item, ... >
//!     // more declarations may follow in the same call
//! }
//! ```
//!
//! | item | meaning | per-sample shape |
//! |---|---|---|
//! | `input(D1, ...)` | declares the input shape (first item only; up to 3 dims) | — → `(D1, ...)` |
//! | `input(T) tokens` | declares an input of `T` token ids per sample (a `Tensor2<B, T>` of whole numbers held as `f32`, exact below 2²⁴), which only `embedding` reads | — → `(T)` ids |
//! | `input(NAME: D1, ...), input(NAME: ..)` | **several named inputs**, first; the next item is a fork that reads them (see [Several inputs](#several-inputs)) | — → `(D1, ...)` each |
//! | `dense(IN -> OUT)` | fully connected, `y = x·Wᵀ + b`, Glorot-uniform init; on a sequence, the same layer at every step (PyTorch's `Linear` on the last axis) | `(IN)` → `(OUT)`, `(T, IN)` → `(T, OUT)` |
//! | `relu` | `max(0, x)` | unchanged, any rank |
//! | `leaky_relu(ALPHA)`, `leaky_relu` | `x` or `ALPHA·x`; default `ALPHA` 0.01 | unchanged, any rank |
//! | `sigmoid`, `tanh` | elementwise | unchanged, any rank |
//! | `elu(ALPHA)`, `elu` | `x`, or `ALPHA·(eˣ − 1)` below 0; default `ALPHA` 1.0 | unchanged, any rank |
//! | `gelu` | `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, PyTorch's `approximate='tanh'` | unchanged, any rank |
//! | `softmax` | probabilities over the features | `(N)` → `(N)` |
//! | `flatten` | one feature vector per sample | `(C, H, W)` → `(C·H·W)` |
//! | `reshape(D1, ...)` | same elements, another shape | same element count |
//! | `conv2d(IN -> OUT, kernel = K)` | 2-D convolution with bias; options, each one number or `(height, width)`: `stride = S` (default 1), `padding = P` (default 0) or `padding = same` (TensorFlow's rule at any stride: `ceil(H / S)` outputs, the odd zero at the bottom/right), `dilation = D`; and `groups = G` (dividing `IN` and `OUT`), `floor`; PyTorch's init and weight layout `(OUT, IN / G, KH, KW)` | `(IN, H, W)` → `(OUT, H', W')`, `H' = (H + 2P − D·(KH − 1) − 1)/S + 1` |
//! | `depthwise(C, kernel = K)`, `depthwise(C -> OUT, kernel = K)` | depthwise 2-D convolution (`conv2d` with `groups = C`, `OUT / C` filters per channel), on a direct kernel of its own; the options of `conv2d` but `groups`; weight `(OUT, 1, KH, KW)` | `(C, H, W)` → `(OUT, H', W')` |
//! | `conv1d(IN -> OUT, kernel = K)` | 1-D convolution with bias over `C` channels of `L` steps (PyTorch's `Conv1d` layout); options `stride = S`, `dilation = D`, `padding = P`, `padding = same` or `padding = causal` (`D·(K − 1)` zeros in front only), `groups = G`, `floor`; weight `(OUT, IN / G, K)` | `(IN, L)` → `(OUT, L')`, `L' = (L + 2P − D·(K − 1) − 1)/S + 1` |
//! | `max_pool(K)`, `avg_pool(K)` | the max or mean of each window, `K` or `(KH, KW)` (default 2); options, each one number or `(height, width)`: `stride = S` (default the window), `padding = P` (at most half the window; `max_pool` pads with −∞) or `padding = same` (TensorFlow's rule), `floor`; `avg_pool` also `count_include_pad = true \| false` (default `true`, PyTorch's, but `false` under `same`, TensorFlow's) | `(C, H, W)` → `(C, H', W')`, `H' = (H + 2P − KH)/S + 1` |
//! | `max_pool1d(K)`, `avg_pool1d(K)` | the same over `C` channels of `L` steps (PyTorch's `MaxPool1d`, `AvgPool1d`); options `stride = S`, `padding = P` or `padding = same`, `floor`, and `count_include_pad` for the average | `(C, L)` → `(C, L')`, `L' = (L + 2P − K)/S + 1` |
//! | `global_avg_pool` | the mean of each channel | `(C, H, W)` → `(C)` |
//! | `upsample(S)`, `upsample(S, bilinear)` | `S` times larger: repeated pixels (`nearest`, the default) or bilinear, PyTorch's `align_corners=False` | `(C, H, W)` → `(C, S·H, S·W)` |
//! | `batch_norm` | normalises over the batch: each feature of a flat sample (`BatchNorm1d`) or each channel of an image (`BatchNorm2d`); momentum 0.1, eps 1e-5 | unchanged, `(N)` or `(C, H, W)` |
//! | `rnn(F -> H)`, `rnn(F -> H, relu)` | Elman RNN, `h_t = act(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh)`, tanh by default; every step's state | `(T, F)` → `(T, H)` |
//! | `gru(F -> H)` | GRU, PyTorch's formulation and gate order (r, z, n) | `(T, F)` → `(T, H)` |
//! | `lstm(F -> H)` | LSTM, PyTorch's gate order (i, f, g, o) | `(T, F)` → `(T, H)` |
//! | `last` | the final step, Keras's `return_sequences=False` | `(T, H)` → `(H)` |
//! | `last(key_padding = 0)` | the last step whose token id is not 0 (`h_n` of a packed sequence) | `(T, H)` → `(H)` |
//! | `mean_pool` | the mean over the steps (`x.mean(dim=1)`, Keras's `GlobalAveragePooling1D`) | `(T, F)` → `(F)` |
//! | `mean_pool(key_padding = 0)` | the mean over the steps whose token id is not 0 (Keras's pooling under an embedding's mask) | `(T, F)` → `(F)` |
//! | `embedding(VOCAB -> D)` | a learned vector per token id, PyTorch's `Embedding`: weight `(VOCAB, D)`, N(0, 1) init; an id that is not a whole number below `VOCAB` gives a NaN row, never a read out of bounds, and `Embedding::check` names its sample and position | `(T)` ids → `(T, D)` |
//! | `positional(sinusoidal)`, `positional(T, D)` | adds the sine/cosine position code of *Attention Is All You Need*, or a learned table (parameter `weight (T, D)`, N(0, 0.02²) init) | unchanged, `(T, D)` |
//! | `layer_norm`, `layer_norm(eps = E)` | PyTorch's `LayerNorm(D)` over the last axis: weight and bias `(D)`; eps 1e-5 | unchanged, `(D)` or `(T, D)` |
//! | `rms_norm`, `rms_norm(eps = E)` | PyTorch's `RMSNorm(D)`: `x / √(mean(x²) + eps) · weight`; eps `f32::EPSILON` | unchanged, `(D)` or `(T, D)` |
//! | `multi_head_attention(D, heads = H)`, `.., causal)` | self-attention, PyTorch's `MultiheadAttention(D, H, batch_first=True)` and its parameters `in_proj_weight (3D, D)`, `in_proj_bias`, `out_proj.weight`, `out_proj.bias`; `H` must divide `D`; `causal` lets step `t` see steps `≤ t` only; `key_padding = PAD_ID` masks the keys whose token id (from the network's `input(T) tokens`) is `PAD_ID` | `(T, D)` → `(T, D)` |
//! | `patches(P)` | cuts an image into `P × P` patches in reading order, each one step of `C·P·P` features (a ViT's input; with `dense` it is PyTorch's `Conv2d(C, D, P, stride=P)`) | `(C, H, W)` → `(H/P · W/P, C·P·P)` |
//! | `dropout(P)`, `dropout` | in training zeroes each value with probability `P` (default 0.5) and scales the rest by `1/(1 − P)`; at inference the identity | unchanged, any rank |
//! | `fork { a: [items], b: [items], c: skip } => MERGE` | branches that read the same input, then merge | see below |
//! | `fork { image => [items], m: meta => [items], meta => skip } => MERGE` | after several inputs: each branch reads the input it names (`image => ..` names the branch after it) | see below |
//! | `Type` or `path::Type` | a layer type the macro did not make, e.g. another network | the type's own |
//!
//! Merges: `concat` joins the branches along the feature axis, as Keras's `Concatenate` and
//! channels-first PyTorch models (`torch.cat(.., dim=1)`) do: the channels C of `(C, H, W)`
//! images (two `(16, 28, 28)` branches give `(32, 28, 28)`, as in an inception or U-Net block),
//! the features F of `(T, F)` sequences, and the only axis of vectors. `concat(AXIS)` joins
//! another axis (from 0, the batch not counted). `stack` puts the branches along a new leading
//! axis, as `torch.stack(.., dim=1)` does: two `(3)` branches give the sequence `(2, 3)`, two
//! `(T, F)` sequences `(2, T, F)`. Images cannot be stacked (a sample has at most three axes):
//! the error says to `concat` their channels or `flatten` them first. `add` sums the branches
//! (the shapes must be equal). A branch written `skip` is the identity, for
//! residual blocks. Branches may hold forks of their own. `multi_head_attention(D, heads = H)`
//! as the merge is cross-attention: the first branch's `(TQ, D)` steps are the queries, the
//! second's `(TK, D)` the keys and values (or the second's the keys and the third's the values),
//! PyTorch's `mha(q, k, v)` with its parameters, named after the fork (`cross.in_proj_weight`);
//! it gives `(TQ, D)`, and a `D` that differs or keys and values of different lengths are errors.
//!
//! Windows must fit. A kernel larger than its padded input is an error, and so is a stride that
//! does not end on the input's edge: `max_pool(2)` after a `(6, 25, 25)` map names the layer and
//! the 25, instead of silently dropping the last row. Add `floor` to a pool or conv to round the
//! output size down and leave out the rows no window reaches, as PyTorch does
//! (`max_pool(2, floor)`). Kernel sizes, strides, paddings and scales are integer literals,
//! since the macro computes the output shape from them; channel counts may be constants.
//!
//! Sizes are integer literals, constants (`dense(IN -> HIDDEN)`, `sizes::OUT`) or const blocks
//! (`{ 2 * HIDDEN }`). The generated code calls its batch parameter `__B` and its mode `__M`,
//! so networks and constants may take any other name (`B`, `N`, `T`, ...).
//!
//! A batch of samples of shape `(N)` is a `Tensor2<B, N>`, of `(T, F)` a `Tensor3<B, T, F>`, of
//! `(C, H, W)` a `Tensor4<B, C, H, W>`: the batch comes first.
//!
//! ## Names
//! Names are optional. An unnamed top-level layer is the field `<keyword>_<position>` (`relu_1`;
//! a type `Encoder` gives `encoder_0`). Parameters are named by the path to their layer:
//!
//! | declaration | field | parameter names |
//! |---|---|---|
//! | `fc1: dense(..)` | `fc1` | `fc1.weight`, `fc1.bias` |
//! | `fork { left: [dense(..), relu], .. }` | `left_0`, `left_1` | `left.0.weight`, `left.0.bias` |
//! | `block: fork { body: [dense(..)], .. }` | `block_body_0` | `block.body.0.weight` |
//! | `fork { left: [fc: dense(..)], .. }` | `fc` | `left.fc.weight` |
//! | `encoder: Encoder` (another network) | `encoder` | `encoder.fc1.weight`, ... |
//!
//! The index in a branch is the layer's position in that branch, from 0. Names are unique across
//! the whole network, branches included.
//!
//! ## Nested networks and hand-written layers
//! A struct made by `network!` can be an item of another: `encoder: Encoder, decoder: Decoder`.
//! So can any type that implements [`layers::Layer`], [`layers::Composable`] (its parameter count
//! and how to build it), `Clone` and `Debug`. The macro cannot see such a type's sizes, so the
//! boundary is a type equality that `cargo check` reports on that layer ("expected `32`, found
//! `16`"), and `flatten` or a merge right after it is an error; `dense` and `reshape` after it are
//! checked by a `const` assert.
//!
//! ## Several inputs
//! A network may take several inputs, each named, as a Keras functional model takes an image and
//! its metadata: `input(image: 784), input(meta: 10)`. The item after them is a `fork` whose
//! every branch names the input it reads: `image => [..]` (the branch takes the input's name)
//! or `img: image => [..]` (for a second branch on the same input, or another name). A branch may
//! be `meta => skip`, the input as it is. Only that fork reads the inputs; its branches may be
//! as long as needed (convs, a flatten, denses), and the merge is any of the four.
//!
//! ```
//! use nn::prelude::*;
//!
//! network! {
//!     pub struct ImageAndMeta<
//!         input(image: 1, 28, 28),
//!         input(meta: 10),
//!         fork {
//!             image => [conv2d(1 -> 4, kernel = 5), relu, max_pool(4), flatten, dense(144 -> 32)],
//!             hint: meta => [dense(10 -> 8), relu],     // params `hint.0.*`
//!         } => concat,                                  // (40)
//!         head: dense(40 -> 10),
//!     >
//! }
//!
//! let mut net = ImageAndMeta::seeded(0);
//! let mut tape = ImageAndMetaTape::<2>::new();
//! let (image, meta) = (Tensor4::<2, 1, 28, 28>::full(0.5), Tensor2::<2, 10>::full(1.0));
//! let logits: &Tensor2<2, 10> = net.forward_train(&image, &meta, &mut tape);
//! assert_eq!(logits.shape(), [2, 10]);
//! let grads = net.backward(&mut tape, &Tensor2::<2, 10>::full(0.1));
//! let (d_image, d_meta): (&Tensor4<2, 1, 28, 28>, &Tensor2<2, 10>) = (grads.image, grads.meta);
//! assert!(d_meta.as_slice().iter().any(|&g| g != 0.0));
//! assert_eq!(d_image.shape(), [2, 1, 28, 28]);
//! assert_eq!((ImageAndMeta::INPUTS_IMAGE, ImageAndMeta::INPUTS_META), (784, 10));
//! let eval: Tensor2<2, 10> = net.forward(&image, &meta);
//! # let _ = eval;
//! ```
//!
//! What changes in the generated API, for inputs `image` and `meta`:
//! - `forward(&image, &meta)`, `infer(&image, &meta, &mut tape)` and
//!   `forward_train(&image, &meta, &mut tape)` take one tensor per input, in declaration order,
//!   each typed (swapped inputs are a type error);
//! - `backward` and `backward_with` return a `NameInputGrads<'_, B>` with one field per input
//!   (`grads.image`, `grads.meta`), which `tape.input_grads()` also gives (in place of
//!   `tape.input_grad()`); the `backward_params` methods skip them;
//! - the consts `INPUTS_IMAGE`, `INPUTS_META` (elements per sample of each) replace `INPUTS`;
//! - named points, `tape.outputs()`, `tape.gradients()` and `backward_with`'s inject work as
//!   for one input;
//! - the network is not a [`layers::Layer`], whose contract has one input type, so it cannot be
//!   nested in another network: `pair: Pair` is an error on `Pair`, "`Pair` is not a layer: it
//!   does not implement `nn::layers::Layer`", with a note saying why. For the same reason
//!   `train::Fit` does not run it: it trains in a loop of your own (`examples/two_inputs.rs`).
//!
//! The rules, each a compile error on the offending tokens (see [`rules`], section
//! `several_inputs`): names are unique, and not `tape`, `dy` or `extra` (parameters of the
//! generated methods); a single input is unnamed; every input comes before the first layer; a
//! branch's first layer expects its input's size; a branch names an input that exists (with a
//! "did you mean"); every input is read by some branch (an unread input is an error, not a
//! warning, as it would still be an argument of every method); and the item after the inputs is
//! that fork: `input(a: 3), input(b: 4), dense(3 -> 2)` is an error saying to write
//! `fork { a => [..], b => [..] } => ..`, not a silent "reads the first input".
//!
//! ## Named outputs and injected gradients
//! Every named layer (and named fork) is a *point*. After a forward pass,
//! `tape.outputs().fc1` is its output, typed; after a backward pass, `tape.gradients().fc1` is
//! the loss gradient there. `backward_with(&mut tape, &dy, &NameInject { fc1: Some(&g),
//! ..Default::default() })` adds `g` to the gradient at `fc1` before backpropagating through
//! it, as a VAE's KL term or a second loss on a hidden layer needs. Asking for a name that is
//! not a point is a compile error (no such field).
//!
//! ```
//! use nn::prelude::*;
//!
//! network! {
//!     pub struct TwoTower<
//!         input(3),
//!         fork {
//!             left: [dense(3 -> 3), relu],
//!             right: [dense(3 -> 3), tanh],
//!         } => concat,                       // (6)
//!         head: dense(6 -> 1),
//!     >
//! }
//!
//! let mut net = TwoTower::seeded(0);
//! let mut tape = TwoTowerTape::<4>::new();
//! let x = Tensor2::<4, 3>::full(0.5);
//! net.forward_train(&x, &mut tape);
//! let head: &Tensor2<4, 1> = tape.outputs().head;
//! assert_eq!(head.shape(), [4, 1]);
//! let extra = Tensor2::<4, 1>::full(0.1);
//! let dy = Tensor2::<4, 1>::full(1.0);
//! net.backward_with(&mut tape, &dy, &TwoTowerInject { head: Some(&extra), ..Default::default() });
//! assert_eq!(tape.gradients().head.as_slice(), &[1.1; 4]);
//! ```
//!
//! ## Weights baked into the binary
//! `#[weights = "path.safetensors"]` on a declaration bakes a trained network into the program:
//!
//! ```
//! use nn::prelude::*;
//!
//! network! {
//!     #[weights = "models/mnist_mlp.safetensors"]   // relative to CARGO_MANIFEST_DIR
//!     pub struct Mlp< fc1: dense(784 -> 128), relu, fc2: dense(128 -> 10) >
//! }
//!
//! let pixels = [0.0f32; 784];                       // one 28 x 28 image, pixels / 255
//! let mut work = [0.0f32; MlpBaked::WORK_LEN];      // the activations; 256 floats here
//! let logits: &[f32; 10] = MlpBaked::infer(&pixels, &mut work);
//! assert_eq!(logits.len(), MlpBaked::OUTPUTS);
//! assert_eq!(MlpBaked::PARAM_COUNT, Mlp::PARAM_COUNT);
//! ```
//!
//! - **Checked while it compiles.** The macro reads the file (safetensors, PyTorch's names and
//!   layouts: `fc1.weight` of `(OUT, IN)`, `fc1.bias` of `(OUT)`) and checks it against the
//!   declaration. A tensor of the wrong shape is an error on its layer ("`fc1`: the weights
//!   file has `fc1.weight` of shape (100, 784), the declaration needs (128, 784)"), and so are a
//!   missing tensor, a dtype other than F32 (F16 and BF16 are widened, exactly) and a NaN or
//!   infinity. An unreadable or malformed file, or a tensor no layer takes, is an error on the
//!   attribute (see [`rules`]).
//! - **What it generates.** Beside the usual `Mlp` (which still trains), a unit struct
//!   `MlpBaked` with `infer(&[f32; INPUTS], &mut [f32; WORK_LEN]) -> &[f32; OUTPUTS]` and the
//!   consts `INPUTS`, `OUTPUTS`, `WORK_LEN`, `PARAM_COUNT`, `WEIGHTS_BYTES`, `WEIGHTS_FILE` (the
//!   absolute path read) and `WEIGHTS_FILE_BYTES`. The weights are `static` arrays of `f32`
//!   literals, 64-byte aligned, in read-only data; `infer` runs the kernels of [`baked`] in the
//!   caller's work buffer and allocates nothing. It gives the same bits as `Mlp::infer` at batch
//!   1 with the same weights, since both run the same kernels.
//! - **Why literals and not `include_bytes!`.** Included bytes are only 1-byte aligned, so
//!   reading them as `f32` would need `unsafe` and an endianness check in every user crate;
//!   literals need neither, and cost about 1.5 s of compile time for the MLP's 101,770 values.
//!   The expansion still holds an `include_bytes!` of the file (`WEIGHTS_FILE_BYTES`, in the
//!   binary only if used), so cargo rebuilds the crate when the file changes.
//! - **The `baked` feature** (on by default) lets the macro read the file; without it the
//!   attribute is an error that names the feature, and the macro builds without safetensors.
//! - **Without a heap.** A crate with `nn = { .., default-features = false, features = ["baked"] }`
//!   has no `alloc`: it cannot build the heap `Mlp`, so it adds `#[baked_only]` after
//!   `#[weights = ..]` and gets only `MlpBaked`. `embedded/mnist-mlp` is such a crate, built for a Cortex-M4F with no
//!   allocator.
//! - **Which layers.** Every kind, forks and several named inputs (`infer` then takes one array
//!   per input); a nested network declared in the same `network!` call bakes inline (one from
//!   elsewhere is an error on its layer). A size written as a named constant takes the value
//!   the file's shapes give it, and a `const` assert checks that the constant has it. The
//!   README's "What bakes, and how" has the table.
//!
//! # Features
//! - `std` (default): file I/O and datasets ([`data`]); implies `alloc`.
//! - `alloc`: heap tensors and everything built on them (layers, losses, optimizers, ops). With
//!   neither, `nn` holds [`network!`] (for `#[baked_only]` declarations), [`baked`], [`linalg`]
//!   and [`Error`].
//! - `threading` (default): a persistent pool of worker threads that splits products,
//!   convolutions, recurrent steps and optimizer updates across cores, to the same bits on any
//!   thread count (`NN_THREADS`, `Fit::threads`; see [`linalg::threads`]).
//!
//! # What it generates, for `struct Mlp< ... >`
//! - `struct Mlp` with one public field per layer, e.g. `mlp.fc1: Dense<784, 128>`;
//! - `struct MlpTape<const B: usize, M: Mode = Train>`: activations, gradients and layer caches
//!   for batches of `B`, with `outputs()` and `gradients()` giving an `MlpPoints` view of the
//!   named points. `MlpTape<B>` is a training tape; `MlpTape<B, Eval>` an inference tape. The
//!   mode is a type, so a layer whose training and inference differ (dropout, batch norm)
//!   cannot run in the wrong one, and backward after an inference pass does not compile;
//! - `struct MlpInject<'g, const B: usize>`: one `Option<&Tensor..>` per named point;
//! - `Mlp::new(&mut rng)`, `Mlp::seeded(seed)`; consts `INPUTS`, `OUTPUTS` (elements per
//!   sample), `PARAM_COUNT`, `LAYER_NAMES` (`INPUTS_<NAME>` per input for
//!   [several inputs](#several-inputs));
//! - `forward(&x) -> Tensor2<B, OUT>` (allocates; for convenience) and
//!   `infer(&x, &mut eval_tape)`, both `&self`; `forward_train(&x, &mut tape)` (`&mut self`:
//!   dropout and batch norm update their own state), `backward(&mut tape, &dy) -> &Tensor2<B, IN>`,
//!   `backward_with(&mut tape, &dy, &inject)`, `backward_params(&mut tape, &dy)` and
//!   `backward_params_with(&mut tape, &dy, &inject)` (both skip the input gradient), `zero_grad()`;
//! - impls of [`param::HasParams`] (the named-parameter visitor optimizers use),
//!   [`layers::Layer`] and [`layers::Composable`], so a generated network is itself a layer
//!   (all but the last two for a network with several inputs).
//!
//! # Training, and weight files
//! `nn::train` (with `std`) is Keras's `fit`: `Fit::new(&mut net, &mut adam, CrossEntropy)`,
//! then `.epochs(..)`, `.metric(..)`, `.validation(..)`, `.callback(..)` and
//! `.run(train.shuffled_batches::<64>(LastBatch::Drop, seed)?)`, returning a `History`; also
//! `evaluate`, `predict`, early stopping, learning-rate schedules, checkpoints and a progress
//! bar (feature `progress`). `nn::weights` (feature `safetensors`) saves and loads any network
//! in PyTorch's names and layouts, and checkpoints with the optimizer's state. A generated
//! network is a [`layers::Layer`], which is all `Fit` needs.
//!
//! # Wrapping `network!` in a library
//! `network!` finds `nn` in the calling crate's manifest, also under another name
//! (`neural = { package = "nn", .. }`; the `renamed` feature, on by default). A library that re-exports it to users who do not depend
//! on `nn` tells it where `nn` is:
//!
//! ```ignore
//! #[doc(hidden)]
//! pub use nn as __nn;
//!
//! #[macro_export]
//! macro_rules! network {
//!     ($($declaration:tt)*) => {
//!         $crate::__nn::network! { #![nn(crate = $crate::__nn)] $($declaration)* }
//!     };
//! }
//! ```
//!
//! Layers passed through a `macro_rules!` as `$($layer:tt)*`, and nested networks as `$inner:ty`,
//! work as written by hand (`tests/ui/pass/hygiene.rs`, `tests/crates/`).
//!
//! # Shape errors
//! A size mismatch is a compile error that names the layer and both sizes:
//!
//! ```text
//! error: `dense(64 -> 10)` expects 64 inputs but `fc1` gives 128; did you mean `dense(128 -> 10)`?
//!  --> src/main.rs:8:9
//!   |
//! 8 |         fc2: dense(64 -> 10),
//!   |         ^^^^^^^^^^^^^^^^^^^^
//! ```
//!
//! Literal sizes are checked by the macro. Sizes written as constants are checked by an
//! item-level `const` assert that `cargo check` evaluates. Passing a tensor of the wrong size to
//! `forward` is a type error (`expected `784`, found `100``). Every rule has a compile-fail case
//! under `tests/ui/<rule>/`, with the exact compiler output in its `.stderr`; the [`rules`] page
//! lists them all with their messages:
//!
//! ```compile_fail
//! use nn::prelude::*;
//! network! { struct Bad< fc1: dense(784 -> 128), relu, fc2: dense(64 -> 10) > }
//! ```
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub use nn_core::{Error, baked, linalg, quant};
#[cfg(feature = "alloc")]
pub use nn_core::{init, layers, loss, metrics, ops, optim, param, tensor, testing};

#[cfg(feature = "std")]
pub use nn_core::data;

#[cfg(feature = "std")]
pub use nn_core::train;
#[cfg(feature = "safetensors")]
pub use nn_core::weights;

pub use nn_macros::network;

/// The seeded random number generator used for initialisation and shuffling.
#[cfg(feature = "alloc")]
pub use nn_core::init::Rng;

/// Everything a typical training program needs, in one import. Without the `alloc` feature it
/// holds only [`network!`] and [`Error`], what a crate of baked networks needs.
pub mod prelude {
    #[cfg(feature = "alloc")]
    pub use crate::alloc_prelude::*;
    pub use crate::network;
    pub use nn_core::Error;
}

/// The heap part of the prelude.
#[cfg(feature = "alloc")]
mod alloc_prelude {
    pub use nn_core::init::{Init, Rng, seeded};
    // Every layer type, the layer contract and the mode markers (`Train`, `Eval`): a glob, so
    // a new layer kind needs no line here.
    pub use nn_core::layers::*;
    pub use nn_core::loss::{binary_cross_entropy_with_logits, mse, softmax_cross_entropy};
    pub use nn_core::metrics::{accuracy, argmax, correct};
    pub use nn_core::optim::{Adam, AdamW, OptimError, Optimizer, Sgd, clip_grad_norm};
    pub use nn_core::param::{
        BufferRefVisitor, BufferVisitor, HasParams, Param, ParamPath, ParamRef, ParamRefVisitor,
        ParamVisitor,
    };
    pub use nn_core::tensor::{Tensor, Tensor1, Tensor2, Tensor3, Tensor4, Zeroed};
}

#[doc = include_str!("rules.md")]
pub mod rules {}

/// Paths used by code that `network!` generates. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use nn_core::*;
}

/// The README's Rust examples, compiled and run as doc tests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
