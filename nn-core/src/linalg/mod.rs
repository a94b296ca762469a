//! Matrix multiplication: the one module of nn-core with `unsafe`.
//!
//! [`gemm`] is a safe function; under it, SIMD kernels read the operands in place. They use
//! AVX-512 or AVX2 with FMA, picked at run time with the `std` feature and from the build's
//! target features without it, and portable Rust elsewhere (see [`instruction_set`]). Operands are row-major slices, and a transposed operand is read through swapped
//! strides, so `a · bᵀ` and `aᵀ · b` never copy.
//!
//! # Why not `matrixmultiply`
//! The project first used `matrixmultiply::sgemm`. It allocates its packing buffer on every
//! call (`make_packing_buffer` in its `gemm.rs`) and has no way to pass one in, which broke the
//! rule that a training step allocates nothing (see `ARCHITECTURE.md`). The kernels here pack nothing, so they
//! need no workspace; on the MLP's shapes they are also faster (see `benches/gemm.rs`, which
//! runs both). `matrixmultiply` stays as the reference these kernels are tested against.
//!
//! A matrix multiplied many times over (a recurrent layer's `W_hh`, once per step) can be
//! packed first, into a buffer the caller owns: [`pack`] and [`gemm_packed`], and for one row
//! [`pack_rows`] and [`gemv_rows_packed`].
//!
//! # Threads
//! With the `threading` feature, [`gemm`] and [`gemm_packed`] split a product of at least
//! [`SPLIT_FROM_FLOPS`] into bands of `c` (two per thread of the persistent pool in [`threads`],
//! taken as the threads come free; how many threads: [`threads::current`]). The bands are
//! columns when `op(b)` is the larger operand, as a layer's weight is against a batch of a few
//! dozen rows: each thread then reads only its part of the weight, which stays in its own L2
//! (split by rows, the MLP's products gained 1.2 to 1.5 times on 2 threads; by columns, 1.7 to
//! 1.85). Otherwise they are rows. Every value of `c` is the same sum in the same order either
//! way, so the bits do not depend on the thread count. Smaller products stay on the calling
//! thread, where waking a worker would cost more than it saves.
//!
//! Every `unsafe` block carries a `// SAFETY:` comment; [`gemm`] checks every length first, so
//! the kernels' pointer arithmetic stays inside the operands.

pub mod attention;
pub mod chunks;
pub mod conv;
mod depthwise;
mod fpu;
pub mod int8;
mod kernels;
pub mod norm;
pub mod pairs;
pub mod pool;
pub mod recurrent;
pub mod sequence;
mod simd;
pub mod threads;
pub mod upsample;
pub mod vnni;
#[cfg(target_arch = "x86_64")]
mod x86;

use kernels::{Gemm, Out};
use simd::Portable;

/// Whether an operand is read as stored or as its transpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Use the matrix as stored.
    Plain,
    /// Use the transpose of the stored matrix.
    Transposed,
}

/// A read-only view of a row-major matrix of `rows × cols`, as stored.
#[derive(Debug, Clone, Copy)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
}

impl<'a> MatRef<'a> {
    /// Views `data` as a row-major `rows × cols` matrix.
    ///
    /// # Panics
    /// When `data.len() != rows * cols`. Typed callers pass tensors whose length is fixed by
    /// their type, so this never fires for them.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(
            data.len(),
            rows * cols,
            "a {rows}x{cols} matrix needs {} elements",
            rows * cols
        );
        Self { data, rows, cols }
    }
}

/// `c = alpha · op(a) · op(b) + beta · c`, where `c` is row-major `m × n`.
///
/// When `beta == 0`, `c`'s old contents are ignored (NaNs in it do not leak through).
/// Allocates nothing. With the `threading` feature a large product is split across threads
/// (see [the module docs](self#threads)), to the same bits.
///
/// # Panics
/// When the operand shapes do not line up with each other or with `c`'s length.
///
/// ```
/// use nn_core::linalg::{gemm, MatRef, Op};
/// let a = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let b = [1.0, 0.0, 1.0, 1.0]; // [[1, 0], [1, 1]]
/// let mut c = [0.0; 4];
/// gemm(1.0, MatRef::new(&a, 2, 2), Op::Plain, MatRef::new(&b, 2, 2), Op::Transposed, 0.0, &mut c, 2);
/// assert_eq!(c, [1.0, 3.0, 3.0, 7.0]); // a · bᵀ
/// ```
#[allow(
    clippy::too_many_arguments,
    reason = "mirrors BLAS gemm's signature on purpose"
)]
pub fn gemm(
    alpha: f32,
    a: MatRef<'_>,
    op_a: Op,
    b: MatRef<'_>,
    op_b: Op,
    beta: f32,
    c: &mut [f32],
    n: usize,
) {
    // (rows, cols, row stride, col stride) of op(x), read from row-major storage.
    let view = |x: MatRef<'_>, op: Op| match op {
        Op::Plain => (x.rows, x.cols, x.cols, 1),
        Op::Transposed => (x.cols, x.rows, 1, x.cols),
    };
    let (m, k, a_row_stride, a_col_stride) = view(a, op_a);
    let (kb, nb, b_row_stride, b_col_stride) = view(b, op_b);
    assert_eq!(k, kb, "gemm inner dims differ: {m}x{k} times {kb}x{nb}");
    assert_eq!(n, nb, "gemm output has {n} columns but op(b) has {nb}");
    assert_eq!(c.len(), m * n, "gemm output needs {m}x{n} elements");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // An empty sum: c = beta · c.
        if beta == 0.0 {
            c.fill(0.0);
        } else {
            c.iter_mut().for_each(|v| *v *= beta);
        }
        return;
    }
    // `MatRef::new` checked that `a` holds `m · k` values and `b` `k · n`, and the strides above
    // address exactly those row-major blocks, plain or transposed: `Gemm`'s invariants hold.
    let mut product = Gemm {
        m,
        whole_m: m,
        n,
        k,
        alpha,
        beta,
        a: a.data,
        a_row_stride,
        a_col_stride,
        b: b.data,
        b_row_stride,
        b_col_stride,
        c: Out::new(c),
        c_row_stride: n,
        c_start: None,
    };
    split(instruction_set(), &mut product, run_on, None);
}

/// The smallest product [`gemm`] and [`gemm_packed`] split across threads, in floating-point
/// operations: below it (about 10 µs of one core's work), waking a worker costs more than
/// sharing the work saves.
pub const SPLIT_FROM_FLOPS: usize = 1 << 21;

/// Bands per thread of a split product: the threads take bands as they finish, so one that
/// started late or runs slower (its operands in another core's cache) takes fewer.
const BANDS_PER_THREAD: usize = 2;

/// The fewest rows of `c` in one band of rows of a split product.
const MIN_ROWS_PER_BAND: usize = 8;

/// Where the output pointer of a split product is shared from: each band writes only its own
/// values of `c` (disjoint rows, or disjoint columns of every row).
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);

// SAFETY: the bands that share the pointer write disjoint values, and `threads::for_each`
// returns only after every band is done, while the caller's `&mut` to `c` is still held.
unsafe impl Sync for SharedOut {}
// SAFETY: as for `Sync`.
unsafe impl Send for SharedOut {}

impl SharedOut {
    /// The pointer. A method, so that a closure captures the whole `SharedOut` (which is `Sync`)
    /// and not its field (which is not).
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Runs `product` with `run`, split into bands across [`threads`] when it is large enough:
/// bands of columns when `op(b)` is the larger operand (a layer's weight, against a batch of a
/// few dozen rows: each thread then reads only its part of the weight, which fits its own L2),
/// else bands of rows. A band is the same product on fewer rows or columns, with every kernel
/// decision (pack or not, depth blocks) the whole product's, so each value of `c` gets the same
/// bits as unsplit. `packed_width` is the panel width of a `b` that [`pack`] laid out.
fn split(
    isa: InstructionSet,
    product: &mut Gemm<'_>,
    run: fn(InstructionSet, &mut Gemm<'_>),
    packed_width: Option<usize>,
) {
    let (m, n, k) = (product.m, product.n, product.k);
    let threads = threads::parts();
    if threads < 2 || 2 * m * n * k < SPLIT_FROM_FLOPS {
        return run(isa, product);
    }
    let align = panel_width(isa);
    let parts = BANDS_PER_THREAD * threads;
    let by_columns = n >= 2 * align && (n >= m || m < 2 * MIN_ROWS_PER_BAND);
    if !by_columns && m < 2 * MIN_ROWS_PER_BAND {
        return run(isa, product);
    }
    let Gemm {
        whole_m,
        alpha,
        beta,
        a,
        a_row_stride,
        a_col_stride,
        b,
        b_row_stride,
        b_col_stride,
        c_row_stride,
        c_start,
        ..
    } = *product;
    let out = SharedOut(product.c.as_mut_ptr());
    let (band, extent) = if by_columns {
        (threads::band_rows(n, parts, align, align), n)
    } else {
        (threads::band_rows(m, parts, 1, MIN_ROWS_PER_BAND), m)
    };
    threads::for_each(0..extent.div_ceil(band), |index, _| {
        let first = index * band;
        let len = band.min(extent - first);
        let (rows, cols, a_offset, b_offset, c_offset) = if by_columns {
            let b_offset = match packed_width {
                // Panels of `width` columns, `k` rows each; `first` is a multiple of `width`.
                Some(width) => first / width * k * width,
                None => first * b_col_stride,
            };
            (m, len, 0, b_offset, first)
        } else {
            (len, n, first * a_row_stride, 0, first * c_row_stride)
        };
        let mut part = Gemm {
            m: rows,
            whole_m,
            n: cols,
            k,
            alpha,
            beta,
            a: &a[a_offset..],
            a_row_stride,
            a_col_stride,
            b: &b[b_offset..],
            b_row_stride,
            b_col_stride,
            // SAFETY: `c_offset` is the band's first value, inside `c`; the band writes only
            // its rows or columns (disjoint from every other band's) of `c`, which the caller
            // holds by `&mut` until `for_each` has returned.
            c: unsafe { Out::from_raw(out.get().add(c_offset)) },
            c_row_stride,
            // A band of columns starts from its own part of the row.
            c_start: c_start.map(|start| if by_columns { &start[first..] } else { start }),
        };
        run(isa, &mut part);
    });
}

/// `c = a · b + c` on a block of `b.cols` columns of a wider matrix: `a` is `m × k`, `b`
/// `k × n`, and row `i` of the product adds onto `c[i · c_row_stride..][..n]`; nothing else in
/// `c` changes. The same kernels as [`gemm`] with the same operands, so every value gets the
/// same bits as there. Single-threaded: the convolution's tiles (its caller) are small.
///
/// # Panics
/// When the operands disagree, `c_row_stride < n`, or `c` is shorter than its last row's end.
pub(crate) fn gemm_add_into_rows(a: MatRef<'_>, b: MatRef<'_>, c: &mut [f32], c_row_stride: usize) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(
        k, b.rows,
        "gemm inner dims differ: {m}x{k} times {}x{n}",
        b.rows
    );
    assert!(c_row_stride >= n, "the rows of c overlap");
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let c_len = (m - 1) * c_row_stride + n;
    assert!(
        c.len() >= c_len,
        "c is shorter than {m} rows {c_row_stride} apart"
    );
    // `MatRef::new` checked that `a` holds `m · k` values and `b` `k · n`, read as plain
    // row-major blocks, and `c` is cut to `(m − 1) · c_row_stride + n`: `Gemm`'s invariants hold.
    let mut product = Gemm {
        m,
        whole_m: m,
        n,
        k,
        alpha: 1.0,
        beta: 1.0,
        a: a.data,
        a_row_stride: k,
        a_col_stride: 1,
        b: b.data,
        b_row_stride: n,
        b_col_stride: 1,
        c: Out::new(&mut c[..c_len]),
        c_row_stride,
        c_start: None,
    };
    run_on(instruction_set(), &mut product);
}

/// A matrix read in place from `data`: `rows × cols`, its rows `row_stride` apart and its
/// columns `col_stride` apart (a window of a wider matrix, or every `col_stride`-th column).
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl View<'_> {
    /// Whether every value of the view is inside `data`.
    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride
                < self.data.len()
    }
}

/// `c = a · b + c` on views of both operands (`b`'s columns adjacent): row `i` of the product
/// adds onto `c[i · c_row_stride..][..n]`, nothing else in `c` changes. The kernels of
/// [`gemm`], split across threads as there, so every value gets the bits it would get from
/// `gemm` on copies of the views. A convolution's shifted products
/// ([`conv`]'s `forward_shifted`): one tap's column of the weight by a window of the padded
/// input, neither copied.
///
/// # Panics
/// When the views do not fit their data, the inner sizes differ, `b`'s columns are not
/// adjacent, `c_row_stride < n`, or `c` is shorter than its last row's end.
pub(crate) fn gemm_add_views(a: View<'_>, b: View<'_>, c: &mut [f32], c_row_stride: usize) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(
        k, b.rows,
        "gemm inner dims differ: {m}x{k} times {}x{n}",
        b.rows
    );
    assert!(a.fits() && b.fits(), "a view reaches past its data");
    assert_eq!(b.col_stride, 1, "b's columns are not adjacent");
    assert!(c_row_stride >= n, "the rows of c overlap");
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let c_len = (m - 1) * c_row_stride + n;
    assert!(
        c.len() >= c_len,
        "c is shorter than {m} rows {c_row_stride} apart"
    );
    // The asserts above are `Gemm`'s invariants: every value of both views is inside its
    // data, and `c` is cut to `(m − 1) · c_row_stride + n`.
    let mut product = Gemm {
        m,
        whole_m: m,
        n,
        k,
        alpha: 1.0,
        beta: 1.0,
        a: a.data,
        a_row_stride: a.row_stride,
        a_col_stride: a.col_stride,
        b: b.data,
        b_row_stride: b.row_stride,
        b_col_stride: 1,
        c: Out::new(&mut c[..c_len]),
        c_row_stride,
        c_start: None,
    };
    split(instruction_set(), &mut product, run_on, None);
}

/// The width of one column panel of a [`pack`]ed matrix with `isa`'s kernels: two registers.
fn panel_width(isa: InstructionSet) -> usize {
    use simd::Simd;
    match isa {
        #[cfg(target_arch = "x86_64")]
        InstructionSet::Avx512 => 2 * <x86::Avx512 as Simd>::LANES,
        #[cfg(target_arch = "x86_64")]
        InstructionSet::Avx2 => 2 * <x86::Avx2 as Simd>::LANES,
        InstructionSet::Portable => 2 * <Portable as Simd>::LANES,
    }
}

/// How many values [`pack`] writes for a `k × n` matrix on this machine: `k` rows of `n`
/// columns rounded up to whole panels.
pub fn packed_len(k: usize, n: usize) -> usize {
    let width = panel_width(instruction_set());
    k * n.div_ceil(width) * width
}

/// Copies `op(b)` (`k × n`) into `packed` (of [`packed_len`]`(k, n)` values) in the layout
/// [`gemm_packed`] reads: column panels as wide as two of this machine's registers, each `k`
/// contiguous rows, zero past the last column. Pack a matrix once and multiply by it many
/// times: a recurrent layer's `W_hh` at every step of a sequence.
///
/// # Panics
/// When `packed.len() != packed_len(k, n)`.
pub fn pack(b: MatRef<'_>, op: Op, packed: &mut [f32]) {
    let (k, n) = match op {
        Op::Plain => (b.rows, b.cols),
        Op::Transposed => (b.cols, b.rows),
    };
    assert_eq!(
        packed.len(),
        packed_len(k, n),
        "pack needs packed_len(k, n) values"
    );
    if k == 0 || n == 0 {
        return;
    }
    let width = panel_width(instruction_set());
    for (panel, dst) in packed.chunks_exact_mut(k * width).enumerate() {
        let col = panel * width;
        let cols = width.min(n - col);
        match op {
            Op::Plain => {
                for (p, row) in dst.chunks_exact_mut(width).enumerate() {
                    row[..cols].copy_from_slice(&b.data[p * n + col..][..cols]);
                    row[cols..].fill(0.0);
                }
            }
            Op::Transposed => {
                // Column `col + j` of `op(b)` is row `col + j` of `b`, read contiguously.
                for j in 0..width {
                    if j < cols {
                        let src = &b.data[(col + j) * k..][..k];
                        for (p, &v) in src.iter().enumerate() {
                            dst[p * width + j] = v;
                        }
                    } else {
                        (0..k).for_each(|p| dst[p * width + j] = 0.0);
                    }
                }
            }
        }
    }
}

/// `c = alpha · a · b + beta · c`, where `a` is row-major `m × k`, `b` (`k × n`) is what
/// [`pack`] wrote, and `c` is row-major `m × n`. Split across threads as [`gemm`] is.
///
/// When `beta == 0`, `c`'s old contents are ignored (NaNs in it do not leak through).
///
/// # Panics
/// When `packed.len() != packed_len(k, n)` or `c.len() != m · n`.
///
/// ```
/// use nn_core::linalg::{gemm_packed, pack, packed_len, MatRef, Op};
/// let a = [1.0, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let b = [1.0, 0.0, 1.0, 1.0]; // [[1, 0], [1, 1]]
/// let mut packed = vec![0.0; packed_len(2, 2)];
/// pack(MatRef::new(&b, 2, 2), Op::Transposed, &mut packed);
/// let mut c = [0.0; 4];
/// gemm_packed(1.0, MatRef::new(&a, 2, 2), &packed, 0.0, &mut c, 2);
/// assert_eq!(c, [1.0, 3.0, 3.0, 7.0]); // a · bᵀ
/// ```
pub fn gemm_packed(alpha: f32, a: MatRef<'_>, packed: &[f32], beta: f32, c: &mut [f32], n: usize) {
    let (m, k) = (a.rows, a.cols);
    assert_eq!(
        packed.len(),
        packed_len(k, n),
        "gemm_packed needs packed_len(k, n) values"
    );
    assert_eq!(c.len(), m * n, "gemm output needs {m}x{n} elements");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if beta == 0.0 {
            c.fill(0.0);
        } else {
            c.iter_mut().for_each(|v| *v *= beta);
        }
        return;
    }
    let isa = instruction_set();
    // `a` is `m × k` row-major (checked by `MatRef::new`), `c` is `m × n` (asserted), and
    // `packed` has the panels of `panel_width(isa)` that `broadcast_prepacked` needs.
    let mut product = Gemm {
        m,
        whole_m: m,
        n,
        k,
        alpha,
        beta,
        a: a.data,
        a_row_stride: k,
        a_col_stride: 1,
        b: packed,
        b_row_stride: panel_width(isa),
        b_col_stride: 1,
        c: Out::new(c),
        c_row_stride: n,
        c_start: None,
    };
    split(isa, &mut product, run_prepacked, Some(panel_width(isa)));
}

/// Runs a [`gemm_packed`] product (`b` in panels of [`panel_width`]) with `isa`'s kernels.
fn run_prepacked(isa: InstructionSet, product: &mut Gemm<'_>) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        InstructionSet::Avx512 => {
            assert!(supports(isa), "this CPU lacks AVX-512F");
            // SAFETY: the CPU has AVX-512F (asserted); the layout is as stated above.
            unsafe { x86::gemm_prepacked_avx512(product) }
        }
        #[cfg(target_arch = "x86_64")]
        InstructionSet::Avx2 => {
            assert!(supports(isa), "this CPU lacks AVX2 or FMA");
            // SAFETY: the CPU has AVX2 and FMA (asserted); the layout is as stated above.
            unsafe { x86::gemm_prepacked_avx2(product) }
        }
        InstructionSet::Portable => {
            // SAFETY: plain Rust, valid on every CPU; the layout is as stated above.
            unsafe { kernels::broadcast_prepacked::<Portable, 3>(product) }
        }
    }
}

/// How many values [`pack_rows`] writes for `n` rows of `k`: both rounded up to 16.
pub const fn packed_rows_len(n: usize, k: usize) -> usize {
    n.div_ceil(16) * 16 * k.div_ceil(16) * 16
}

/// Copies `b` (`n × k`, row-major) into `packed` (of [`packed_rows_len`]`(n, k)` values) in the
/// layout [`gemv_rows_packed`] reads: blocks of sixteen rows, each the sixteen rows' first
/// 16-value pieces, then their second ones, and so on, zero past the last row and column.
///
/// The layout does not depend on where `packed` lies, so it can be made ahead of time (a baked
/// network's `static` weights are); a `packed` that starts on a 64-byte boundary keeps every
/// 16-value piece on one cache line, which [`gemv_rows_packed`]'s loads are faster for.
///
/// # Panics
/// When `packed.len() != packed_rows_len(n, k)`.
pub fn pack_rows(b: MatRef<'_>, packed: &mut [f32]) {
    let (n, k) = (b.rows, b.cols);
    assert_eq!(
        packed.len(),
        packed_rows_len(n, k),
        "pack_rows needs packed_rows_len(n, k)"
    );
    let steps = k.div_ceil(16);
    if steps == 0 {
        return;
    }
    for (block, pieces) in packed.chunks_exact_mut(steps * 256).enumerate() {
        for (step, pieces) in pieces.chunks_exact_mut(256).enumerate() {
            let start = step * 16;
            let len = 16.min(k - start);
            for (q, piece) in pieces.chunks_exact_mut(16).enumerate() {
                let row = block * 16 + q;
                if row < n && len == 16 {
                    // Fixed-size, so one 64-byte move and not a call to `memcpy`.
                    let whole: &mut [f32; 16] = piece.try_into().expect("16 values");
                    *whole = b.data[row * k + start..][..16]
                        .try_into()
                        .expect("16 values");
                } else if row < n {
                    piece[..len].copy_from_slice(&b.data[row * k + start..][..len]);
                    piece[len..].fill(0.0);
                } else {
                    piece.fill(0.0);
                }
            }
        }
    }
}

/// `c += a · bᵀ` for one row `a` (`k` values) and `b` (`c.len() × k`) as [`pack_rows`] left it:
/// a batch-1 recurrent step's `h · W_hhᵀ`.
///
/// # Panics
/// When `b.len() != packed_rows_len(c.len(), a.len())`.
pub fn gemv_rows_packed(a: &[f32], b: &[f32], c: &mut [f32]) {
    gemv_rows_packed_on(instruction_set(), a, b, c);
}

/// [`gemv_rows_packed`] with the kernel for `isa`.
fn gemv_rows_packed_on(isa: InstructionSet, a: &[f32], b: &[f32], c: &mut [f32]) {
    let (n, k) = (c.len(), a.len());
    assert_eq!(
        b.len(),
        packed_rows_len(n, k),
        "gemv_rows_packed needs packed_rows_len(n, k)"
    );
    let steps = k.div_ceil(16);
    match isa {
        #[cfg(target_arch = "x86_64")]
        InstructionSet::Avx512 => {
            assert!(supports(isa), "this CPU lacks AVX-512F");
            // SAFETY: the CPU has AVX-512F (asserted); `b` holds the pieces of `n` rows of `k`.
            unsafe { x86::gemv_rows_packed_avx512(a, b, c, k) }
        }
        #[cfg(target_arch = "x86_64")]
        InstructionSet::Avx2 => {
            assert!(supports(isa), "this CPU lacks AVX2 or FMA");
            // SAFETY: the CPU has AVX2 and FMA (asserted); `b` holds the pieces of `n` rows of `k`.
            unsafe { x86::gemv_rows_packed_avx2(a, b, c, k) }
        }
        InstructionSet::Portable => {
            for (row, out) in c.iter_mut().enumerate() {
                let block = &b[(row / 16) * steps * 256..][..steps * 256];
                let q = row % 16;
                let mut sum = 0.0;
                for (step, x) in a.chunks(16).enumerate() {
                    sum += dot(x, &block[(step * 16 + q) * 16..][..x.len()]);
                }
                *out += sum;
            }
        }
    }
}

/// Runs `product` with the kernels for `isa`.
fn run_on(isa: InstructionSet, product: &mut Gemm<'_>) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        InstructionSet::Avx512 => {
            assert!(supports(isa), "this CPU lacks AVX-512F");
            // SAFETY: the CPU has AVX-512F (asserted); `product`'s invariants hold.
            unsafe { x86::gemm_avx512(product) }
        }
        #[cfg(target_arch = "x86_64")]
        InstructionSet::Avx2 => {
            assert!(supports(isa), "this CPU lacks AVX2 or FMA");
            // SAFETY: the CPU has AVX2 and FMA (asserted); `product`'s invariants hold.
            unsafe { x86::gemm_avx2(product) }
        }
        InstructionSet::Portable => {
            // SAFETY: `Portable` is plain Rust, valid on every CPU; `product`'s invariants hold.
            unsafe { kernels::run::<Portable, 3, 6, 2, 2, 4>(product) }
        }
    }
}

/// The SIMD instruction set [`gemm`]'s kernels use on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstructionSet {
    /// 16-lane AVX-512F registers.
    #[cfg(target_arch = "x86_64")]
    Avx512,
    /// 8-lane AVX2 registers with fused multiply-add.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// Plain Rust, vectorized by the compiler for the build's target features.
    Portable,
}

/// The instruction set [`gemm`] uses here: the widest that [`supports`] finds.
pub fn instruction_set() -> InstructionSet {
    #[cfg(target_arch = "x86_64")]
    for isa in [InstructionSet::Avx512, InstructionSet::Avx2] {
        if supports(isa) {
            return isa;
        }
    }
    InstructionSet::Portable
}

/// Whether this machine can run `isa`: with `std`, what the CPU reports at run time (cached by
/// the standard library, so this is a load and a test); without it, what the build enables
/// (`-C target-feature` or `-C target-cpu`).
pub fn supports(isa: InstructionSet) -> bool {
    match isa {
        #[cfg(all(target_arch = "x86_64", feature = "std"))]
        InstructionSet::Avx512 => std::is_x86_feature_detected!("avx512f"),
        #[cfg(all(target_arch = "x86_64", feature = "std"))]
        InstructionSet::Avx2 => {
            std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
        }
        #[cfg(all(target_arch = "x86_64", not(feature = "std")))]
        InstructionSet::Avx512 => cfg!(target_feature = "avx512f"),
        #[cfg(all(target_arch = "x86_64", not(feature = "std")))]
        InstructionSet::Avx2 => cfg!(all(target_feature = "avx2", target_feature = "fma")),
        InstructionSet::Portable => true,
    }
}

/// Element-wise work for [`vectorized`]: `run` holds the loops, and must be
/// `#[inline(always)]` so that it is compiled into `vectorized`'s wide entry points.
pub trait Vectorize {
    /// What `run` returns.
    type Output;
    /// Does the work.
    fn run(self) -> Self::Output;
}

/// Runs `work` compiled for the widest SIMD this machine has: its `run` (with everything it
/// inlines) is inlined into a `#[target_feature]` function for AVX-512 or AVX2 + FMA, picked at
/// run time as [`gemm`]'s kernels are, so loops the compiler vectorizes itself run 16 or 8
/// lanes wide instead of the 4 of the build's baseline SSE2. Element-wise loops give the same
/// bits either way: Rust never fuses a multiply and an add on its own.
///
/// ```
/// use nn_core::linalg::{Vectorize, vectorized};
/// struct Double<'a>(&'a mut [f32]);
/// impl Vectorize for Double<'_> {
///     type Output = ();
///     #[inline(always)]
///     fn run(self) {
///         self.0.iter_mut().for_each(|x| *x *= 2.0);
///     }
/// }
/// let mut v = [1.0f32, 2.0, 3.0];
/// vectorized(Double(&mut v));
/// assert_eq!(v, [2.0, 4.0, 6.0]);
/// ```
#[inline(always)]
pub fn vectorized<W: Vectorize>(work: W) -> W::Output {
    match instruction_set() {
        #[cfg(target_arch = "x86_64")]
        InstructionSet::Avx512 => {
            assert!(supports(InstructionSet::Avx512), "this CPU lacks AVX-512F");
            // SAFETY: the CPU has AVX-512F (asserted), all `wide_avx512` needs.
            unsafe { x86::wide_avx512(work) }
        }
        #[cfg(target_arch = "x86_64")]
        InstructionSet::Avx2 => {
            assert!(supports(InstructionSet::Avx2), "this CPU lacks AVX2 or FMA");
            // SAFETY: the CPU has AVX2 and FMA (asserted), all `wide_avx2` needs.
            unsafe { x86::wide_avx2(work) }
        }
        InstructionSet::Portable => work.run(),
    }
}

/// `y = x · Wᵀ + b` over `rows` rows of `inputs` features, with `W` of `out × inputs` row-major
/// (PyTorch's `Linear` layout, `out = bias.len()`): every row of `y` starts at `b` and [`gemm`]
/// accumulates the product on top. [`Dense`](crate::layers::Dense) and the baked networks of
/// [`baked`](crate::baked) both run this, so a baked network gives the heap network's bits.
///
/// # Panics
/// When the slice lengths do not match `rows`, `inputs` and `bias.len()`.
///
/// ```
/// let w = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0]; // 2 outputs × 3 inputs
/// let mut y = [0.0; 2];
/// nn_core::linalg::affine(&w, &[0.5, -0.5], &[1.0, 2.0, 3.0], &mut y, 1, 3);
/// assert_eq!(y, [1.5, 5.5]);
/// ```
pub fn affine(weight: &[f32], bias: &[f32], x: &[f32], y: &mut [f32], rows: usize, inputs: usize) {
    let out = bias.len();
    // A Cortex-M FPU: the register-blocked loops of `fpu` (see there why not `gemm`).
    if cfg!(all(
        target_arch = "arm",
        target_os = "none",
        target_abi = "eabihf"
    )) {
        assert_eq!(weight.len(), out * inputs, "a {out}x{inputs} weight");
        assert_eq!(x.len(), rows * inputs, "{rows} rows of {inputs} inputs");
        assert_eq!(y.len(), rows * out, "{rows} rows of {out} outputs");
        return fpu::affine(weight, bias, x, y, inputs);
    }
    let (x, weight) = (
        MatRef::new(x, rows, inputs),
        MatRef::new(weight, out, inputs),
    );
    assert_eq!(y.len(), rows * out, "{rows} rows of {out} outputs");
    if rows == 0 || out == 0 {
        return;
    }
    if inputs == 0 {
        // An empty product: every row is the bias.
        for row in y.chunks_exact_mut(out) {
            row.copy_from_slice(bias);
        }
        return;
    }
    // Fused bias: the kernels' stores start every row from `b` and add `x · Wᵀ` (beta = 1),
    // the bits of copying `b` into each row first, without the copy. `MatRef::new` checked
    // that `x` holds `rows · inputs` values and `weight` `out · inputs`, read here as `x · Wᵀ`,
    // `y` is `rows · out` and the bias `out`: `Gemm`'s invariants hold.
    let mut product = Gemm {
        m: rows,
        whole_m: rows,
        n: out,
        k: inputs,
        alpha: 1.0,
        beta: 1.0,
        a: x.data,
        a_row_stride: inputs,
        a_col_stride: 1,
        b: weight.data,
        b_row_stride: 1,
        b_col_stride: inputs,
        c: Out::new(y),
        c_row_stride: out,
        c_start: Some(bias),
    };
    split(instruction_set(), &mut product, run_on, None);
}

/// The dot product of two equal-length slices.
///
/// Sixteen independent partial sums let the compiler vectorize the loop; small-batch dense
/// layers use this instead of [`gemm`], which would repack the whole weight for one row.
///
/// ```
/// assert_eq!(nn_core::linalg::dot(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 32.0);
/// ```
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut partial = [0.0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            partial[lane] += x[lane] * y[lane];
        }
    }
    partial.iter().sum::<f32>() + tail
}

/// `w_t = wᵀ`: `w` is `rows × cols`, `w_t` is `cols × rows`. How a recurrent layer's
/// `W_ih` is laid out for its input projection (see [`recurrent`]).
///
/// By blocks of 16 rows: each output row then receives 16 contiguous values, and the 16 input
/// rows being read stay in L1. Row by row, every value went to a different line of `w_t`
/// (`rows` apart), and transposing `W_ih` took a fifth of a batch-1 forward.
///
/// # Panics
/// When `w` or `w_t` does not hold `rows · cols` values.
pub fn transpose(w: &[f32], w_t: &mut [f32], rows: usize, cols: usize) {
    const BLOCK: usize = 16;
    assert_eq!(w.len(), rows * cols, "a {rows}x{cols} matrix");
    assert_eq!(w_t.len(), rows * cols, "a {cols}x{rows} transpose");
    if cols == 0 {
        return;
    }
    for start in (0..rows).step_by(BLOCK) {
        let block = BLOCK.min(rows - start);
        let src = &w[start * cols..][..block * cols];
        for c in 0..cols {
            let dst = &mut w_t[c * rows + start..][..block];
            for (r, d) in dst.iter_mut().enumerate() {
                *d = src[r * cols + c];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A product cut into bands of rows at any row gives the bits of the whole product, with
    /// every kernel (broadcast, its packed form from `PACK_FROM_ROWS` rows, dot, prepacked) and
    /// every instruction set here: what makes the thread count invisible in the results.
    #[test]
    fn bands_of_rows_give_the_bits_of_the_whole_product() {
        let mut rng = crate::init::seeded(3);
        let mut random = |len: usize| -> alloc::vec::Vec<f32> {
            (0..len)
                .map(|_| crate::init::uniform(&mut rng, -1.0, 1.0))
                .collect()
        };
        for isa in runnable_instruction_sets() {
            for (m, k, n) in [(200, 300, 37), (64, 784, 128), (130, 33, 70)] {
                let (a, b) = (random(m * k), random(k * n));
                let width = panel_width(isa);
                let mut packed = alloc::vec![0.0; k * n.div_ceil(width) * width];
                for (j, panel) in packed.chunks_exact_mut(k * width).enumerate() {
                    for p in 0..k {
                        for q in 0..width {
                            let col = j * width + q;
                            panel[p * width + q] = if col < n { b[p * n + col] } else { 0.0 };
                        }
                    }
                }
                // (op(a) strides, op(b) strides and storage, runner) for each kernel.
                type Layout<'b> = (usize, usize, &'b [f32], usize, usize, Runner);
                type Runner = fn(InstructionSet, &mut Gemm<'_>);
                let layouts: [Layout<'_>; 4] = [
                    (k, 1, &b, n, 1, run_on), // a · b: broadcast
                    (1, m, &b, n, 1, run_on), // aᵀ · b (a read as k × m storage)
                    (k, 1, &b, 1, k, run_on), // a · bᵀ (b read as n × k storage): dot
                    (k, 1, &packed, width, 1, run_prepacked),
                ];
                for (layout, &(a_row, a_col, b_data, b_row, b_col, run)) in
                    layouts.iter().enumerate()
                {
                    let product = |c: &mut [f32], first: usize, rows: usize| {
                        let mut part = Gemm {
                            m: rows,
                            whole_m: m,
                            n,
                            k,
                            alpha: 0.5,
                            beta: 1.0,
                            a: &a[first * a_row..],
                            a_row_stride: a_row,
                            a_col_stride: a_col,
                            b: b_data,
                            b_row_stride: b_row,
                            b_col_stride: b_col,
                            c: Out::new(&mut c[first * n..][..rows * n]),
                            c_row_stride: n,
                            c_start: None,
                        };
                        run(isa, &mut part);
                    };
                    let start: alloc::vec::Vec<f32> = (0..m * n).map(|i| i as f32 * 1e-3).collect();
                    let mut whole = start.clone();
                    product(&mut whole, 0, m);
                    for cut in [1, 7, 8, 13, 32, m / 2, m - 3] {
                        let mut bands = start.clone();
                        product(&mut bands, 0, cut);
                        product(&mut bands, cut, m - cut);
                        assert_eq!(
                            bands, whole,
                            "{isa:?}, {m}x{k}x{n}, layout {layout}, cut at {cut}"
                        );
                    }
                    // Bands of columns, cut where `split` may cut them: at whole panels.
                    let columns = |c: &mut [f32], first: usize, cols: usize| {
                        let b_offset = if layout == 3 {
                            first / width * k * width
                        } else {
                            first * b_col
                        };
                        let mut part = Gemm {
                            m,
                            whole_m: m,
                            n: cols,
                            k,
                            alpha: 0.5,
                            beta: 1.0,
                            a: &a,
                            a_row_stride: a_row,
                            a_col_stride: a_col,
                            b: &b_data[b_offset..],
                            b_row_stride: b_row,
                            b_col_stride: b_col,
                            c: Out::new(&mut c[first..][..(m - 1) * n + cols]),
                            c_row_stride: n,
                            c_start: None,
                        };
                        run(isa, &mut part);
                    };
                    for cut in (width..n).step_by(width) {
                        let mut bands = start.clone();
                        columns(&mut bands, 0, cut);
                        columns(&mut bands, cut, n - cut);
                        assert_eq!(
                            bands, whole,
                            "{isa:?}, {m}x{k}x{n}, layout {layout}, columns cut at {cut}"
                        );
                    }
                }
            }
        }
    }

    /// The pool's splits, by rows or by columns, give the single thread's bits.
    /// A product that starts from a row (`affine`'s bias) gives the bits of one that starts
    /// from that row copied into every row of `c`, with every kernel (dot, transposed, narrow,
    /// broadcast, single row) and instruction set, and across threads (bands of rows or of
    /// columns, which start from their part of the row).
    #[test]
    fn starting_from_a_row_gives_the_bits_of_copying_it() {
        let mut rng = crate::init::seeded(11);
        let mut random = |len: usize| -> alloc::vec::Vec<f32> {
            (0..len)
                .map(|_| crate::init::uniform(&mut rng, -1.0, 1.0))
                .collect()
        };
        for isa in runnable_instruction_sets() {
            for (m, k, n) in [
                (1, 64, 40),
                (7, 3, 5),
                (100, 64, 16),
                (200, 300, 70),
                (64, 9, 256),
            ] {
                let (a, b, row) = (random(m * k), random(k * n), random(n));
                // (op(b) row stride, column stride): a · b, then a · bᵀ.
                for (b_row_stride, b_col_stride) in [(n, 1), (1, k)] {
                    let product = |c: &mut [f32], c_start: Option<&[f32]>| {
                        let mut gemm = Gemm {
                            m,
                            whole_m: m,
                            n,
                            k,
                            alpha: 1.0,
                            beta: 1.0,
                            a: &a,
                            a_row_stride: k,
                            a_col_stride: 1,
                            b: &b,
                            b_row_stride,
                            b_col_stride,
                            c: Out::new(c),
                            c_row_stride: n,
                            c_start,
                        };
                        split(isa, &mut gemm, run_on, None);
                    };
                    let mut copied: alloc::vec::Vec<f32> =
                        row.iter().copied().cycle().take(m * n).collect();
                    product(&mut copied, None);
                    let mut started = alloc::vec![f32::NAN; m * n];
                    product(&mut started, Some(&row));
                    assert_eq!(
                        started, copied,
                        "{isa:?}, {m}x{k}x{n}, b strides {b_row_stride}"
                    );
                }
            }
        }
        #[cfg(feature = "threading")]
        {
            // Bands of columns (64 rows, 256 columns), then of rows (300 rows).
            for (rows, inputs, out) in [(64, 64, 256), (300, 64, 256)] {
                let (x, w, bias) = (random(rows * inputs), random(out * inputs), random(out));
                let run = |threads: usize| {
                    let mut y = alloc::vec![0.0; rows * out];
                    threads::with_threads(threads, || affine(&w, &bias, &x, &mut y, rows, inputs));
                    y
                };
                assert_eq!(run(1), run(threads::available().max(2)), "{rows} rows");
            }
        }
    }

    /// A product one register wide (an attention head's `probabilities · values`) runs tiles
    /// of one register; its columns are the same bits as in a wider product that takes the
    /// two-register tiles, with and without packing.
    #[test]
    fn narrow_products_give_the_bits_of_wide_ones() {
        let mut rng = crate::init::seeded(5);
        let mut random = |len: usize| -> alloc::vec::Vec<f32> {
            (0..len)
                .map(|_| crate::init::uniform(&mut rng, -1.0, 1.0))
                .collect()
        };
        for isa in runnable_instruction_sets() {
            for (m, k) in [(64, 64), (37, 300), (200, 19)] {
                let (wide, a) = (48, random(m * k));
                let b = random(k * wide);
                let product = |n: usize, b_row_stride: usize| {
                    let mut c = alloc::vec![0.0; m * n];
                    let mut gemm = Gemm {
                        m,
                        whole_m: m,
                        n,
                        k,
                        alpha: 1.0,
                        beta: 0.0,
                        a: &a,
                        a_row_stride: k,
                        a_col_stride: 1,
                        b: &b,
                        b_row_stride,
                        b_col_stride: 1,
                        c: Out::new(&mut c),
                        c_row_stride: n,
                        c_start: None,
                    };
                    run_on(isa, &mut gemm);
                    c
                };
                let whole = product(wide, wide);
                for n in [5, 8, 16] {
                    let narrow = product(n, wide);
                    for (row, got) in narrow.chunks_exact(n).enumerate() {
                        assert_eq!(got, &whole[row * wide..][..n], "{isa:?}, {m}x{k}x{n}");
                    }
                }
            }
        }
    }

    #[cfg(feature = "threading")]
    #[test]
    fn products_on_every_thread_count_give_the_same_bits() {
        let mut rng = crate::init::seeded(4);
        let mut random = |len: usize| -> alloc::vec::Vec<f32> {
            (0..len)
                .map(|_| crate::init::uniform(&mut rng, -1.0, 1.0))
                .collect()
        };
        for (m, k, n) in [
            (64, 784, 128),
            (128, 64, 784),
            (300, 200, 40),
            (64, 128, 512),
        ] {
            let (a, b) = (random(m * k), random(n * k));
            let product = |op_b: Op| {
                let b_view = match op_b {
                    Op::Plain => MatRef::new(&b, k, n),
                    Op::Transposed => MatRef::new(&b, n, k),
                };
                let mut c = alloc::vec![0.25; m * n];
                gemm(
                    0.5,
                    MatRef::new(&a, m, k),
                    Op::Plain,
                    b_view,
                    op_b,
                    1.0,
                    &mut c,
                    n,
                );
                let mut packed = alloc::vec![0.0; packed_len(k, n)];
                pack(b_view, op_b, &mut packed);
                let mut d = alloc::vec![0.25; m * n];
                gemm_packed(0.5, MatRef::new(&a, m, k), &packed, 1.0, &mut d, n);
                (c, d)
            };
            for op_b in [Op::Plain, Op::Transposed] {
                let one = threads::with_threads(1, || product(op_b));
                let all = threads::with_threads(threads::available(), || product(op_b));
                assert_eq!(one, all, "{m}x{k}x{n}, {op_b:?}");
            }
        }
    }

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> alloc::vec::Vec<f32> {
        let mut c = alloc::vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    fn transpose(x: &[f32], rows: usize, cols: usize) -> alloc::vec::Vec<f32> {
        let mut t = alloc::vec![0.0; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                t[c * rows + r] = x[r * cols + c];
            }
        }
        t
    }

    #[test]
    fn every_transpose_combination_matches_naive() {
        let (m, k, n) = (5, 7, 3);
        let a: alloc::vec::Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: alloc::vec::Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let want = naive(&a, &b, m, k, n);
        let at = transpose(&a, m, k);
        let bt = transpose(&b, k, n);
        for (a_data, a_rows, a_cols, op_a) in [(&a, m, k, Op::Plain), (&at, k, m, Op::Transposed)] {
            for (b_data, b_rows, b_cols, op_b) in
                [(&b, k, n, Op::Plain), (&bt, n, k, Op::Transposed)]
            {
                let mut c = alloc::vec![f32::NAN; m * n];
                gemm(
                    1.0,
                    MatRef::new(a_data, a_rows, a_cols),
                    op_a,
                    MatRef::new(b_data, b_rows, b_cols),
                    op_b,
                    0.0,
                    &mut c,
                    n,
                );
                for (got, want) in c.iter().zip(&want) {
                    assert!(
                        (got - want).abs() < 1e-5,
                        "{op_a:?} {op_b:?}: {got} vs {want}"
                    );
                }
            }
        }
    }

    /// Packed `b`, plain and transposed, over shapes that leave partial panels, several depth
    /// blocks and partial row tiles, with `beta` 0 (over NaNs) and 1.
    #[test]
    fn packed_products_match_naive() {
        for (m, k, n) in [(1, 1, 1), (5, 7, 3), (9, 130, 37), (64, 300, 64)] {
            let a: alloc::vec::Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: alloc::vec::Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
            let want = naive(&a, &b, m, k, n);
            let bt = transpose(&b, k, n);
            for (data, rows, cols, op) in [(&b, k, n, Op::Plain), (&bt, n, k, Op::Transposed)] {
                let mut packed = alloc::vec![f32::NAN; packed_len(k, n)];
                pack(MatRef::new(data, rows, cols), op, &mut packed);
                let mut c = alloc::vec![f32::NAN; m * n];
                gemm_packed(1.0, MatRef::new(&a, m, k), &packed, 0.0, &mut c, n);
                let mut twice = c.clone();
                gemm_packed(1.0, MatRef::new(&a, m, k), &packed, 1.0, &mut twice, n);
                for ((got, doubled), want) in c.iter().zip(&twice).zip(&want) {
                    let tolerance = 1e-4 * (1.0 + want.abs());
                    assert!(
                        (got - want).abs() < tolerance,
                        "{m}x{k}x{n} {op:?}: {got} vs {want}"
                    );
                    assert!((doubled - 2.0 * want).abs() < 2.0 * tolerance);
                }
            }
        }
    }

    #[test]
    fn row_packed_products_match_naive() {
        let shapes = [
            (1, 1),
            (5, 7),
            (8, 16),
            (9, 17),
            (37, 130),
            (512, 128),
            (20, 600),
        ];
        for (isa, (n, k)) in runnable_instruction_sets()
            .into_iter()
            .flat_map(|isa| shapes.map(|shape| (isa, shape)))
        {
            let a: alloc::vec::Vec<f32> = (0..k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: alloc::vec::Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.11).cos()).collect();
            let want = naive(&a, &transpose(&b, n, k), 1, k, n);
            let mut packed = alloc::vec![f32::NAN; packed_rows_len(n, k)];
            pack_rows(MatRef::new(&b, n, k), &mut packed);
            let mut c = alloc::vec![1.0; n];
            gemv_rows_packed_on(isa, &a, &packed, &mut c);
            for (got, want) in c.iter().zip(&want) {
                assert!(
                    (got - 1.0 - want).abs() < 1e-4 * (1.0 + want.abs()),
                    "{isa:?} {n}x{k}: {got} vs {want}"
                );
            }
        }
    }

    /// Every instruction set this machine can run, so each kernel instantiation is tested here
    /// and not only the widest.
    fn runnable_instruction_sets() -> alloc::vec::Vec<InstructionSet> {
        let all = [
            #[cfg(target_arch = "x86_64")]
            InstructionSet::Avx512,
            #[cfg(target_arch = "x86_64")]
            InstructionSet::Avx2,
            InstructionSet::Portable,
        ];
        all.into_iter().filter(|&isa| supports(isa)).collect()
    }

    /// `matrixmultiply::sgemm` on the same operands: the reference.
    #[allow(clippy::too_many_arguments, reason = "one product's full description")]
    fn reference(
        alpha: f32,
        a: &[f32],
        (m, k, rsa, csa): (usize, usize, usize, usize),
        b: &[f32],
        (n, rsb, csb): (usize, usize, usize),
        beta: f32,
        c: &mut [f32],
    ) {
        // SAFETY: the strides address `m × k` values of `a` and `k × n` of `b` (the callers build
        // them from row-major storage of exactly that size), and `c` holds `m × n`.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                alpha,
                a.as_ptr(),
                rsa as isize,
                csa as isize,
                b.as_ptr(),
                rsb as isize,
                csb as isize,
                beta,
                c.as_mut_ptr(),
                n as isize,
                1,
            );
        }
    }

    #[test]
    fn every_kernel_matches_matrixmultiply_on_edge_shapes() {
        let mut rng = crate::init::seeded(7);
        let mut random = |len: usize| -> alloc::vec::Vec<f32> {
            (0..len)
                .map(|_| crate::init::uniform(&mut rng, -1.0, 1.0))
                .collect()
        };
        // Sizes around every tile and lane width (1, 2, 4, 6, 8, 16, 32) and the depth block
        // (256), plus the MLP's.
        let sizes = [1, 3, 7, 8, 9, 15, 17, 31, 33, 64, 257];
        let mut cases = 0;
        for isa in runnable_instruction_sets() {
            for (index, &m) in sizes.iter().enumerate() {
                let n = sizes[(index * 3 + 1) % sizes.len()];
                for &k in &[1, 5, 16, 17, 300] {
                    for (op_a, op_b) in [
                        (Op::Plain, Op::Plain),
                        (Op::Transposed, Op::Plain),
                        (Op::Plain, Op::Transposed),
                        (Op::Transposed, Op::Transposed),
                    ] {
                        let a = random(m * k);
                        let b = random(k * n);
                        let c0 = random(m * n);
                        for (alpha, beta) in [(1.0, 0.0), (0.5, 1.0), (-2.0, 0.25)] {
                            let mut got = c0.clone();
                            let mut product = Gemm {
                                m,
                                whole_m: m,
                                n,
                                k,
                                alpha,
                                beta,
                                a: &a,
                                a_row_stride: if op_a == Op::Plain { k } else { 1 },
                                a_col_stride: if op_a == Op::Plain { 1 } else { m },
                                b: &b,
                                b_row_stride: if op_b == Op::Plain { n } else { 1 },
                                b_col_stride: if op_b == Op::Plain { 1 } else { k },
                                c: Out::new(&mut got),
                                c_row_stride: n,
                                c_start: None,
                            };
                            let strides_a = (m, k, product.a_row_stride, product.a_col_stride);
                            let strides_b = (n, product.b_row_stride, product.b_col_stride);
                            run_on(isa, &mut product);
                            let mut want = c0.clone();
                            reference(alpha, &a, strides_a, &b, strides_b, beta, &mut want);
                            for (index, (g, w)) in got.iter().zip(&want).enumerate() {
                                assert!(
                                    (g - w).abs() <= 1e-4 * (1.0 + w.abs()) * (k as f32).sqrt(),
                                    "{isa:?} {m}x{k}x{n} {op_a:?}/{op_b:?} alpha {alpha} \
                                     beta {beta}: c[{index}] = {g}, want {w}"
                                );
                            }
                            cases += 1;
                        }
                    }
                }
            }
        }
        assert!(cases >= 660, "only {cases} cases ran");
    }

    #[test]
    fn beta_zero_ignores_nans_in_c_for_every_kernel() {
        let a = [1.0; 6 * 20];
        for isa in runnable_instruction_sets() {
            for op_b in [Op::Plain, Op::Transposed] {
                let b = [2.0; 20 * 5];
                let mut c = [f32::NAN; 6 * 5];
                let mut product = Gemm {
                    m: 6,
                    whole_m: 6,
                    n: 5,
                    k: 20,
                    alpha: 1.0,
                    beta: 0.0,
                    a: &a,
                    a_row_stride: 20,
                    a_col_stride: 1,
                    b: &b,
                    b_row_stride: if op_b == Op::Plain { 5 } else { 1 },
                    b_col_stride: if op_b == Op::Plain { 1 } else { 20 },
                    c: Out::new(&mut c),
                    c_row_stride: 5,
                    c_start: None,
                };
                run_on(isa, &mut product);
                assert!(c.iter().all(|&v| v == 40.0), "{isa:?} {op_b:?}: {c:?}");
            }
        }
    }

    /// A block of columns of a wider `c` gets `gemm`'s bits (both the plain and the packed
    /// broadcast kernel: 5 and 100 rows), and the columns beside it are left alone.
    #[test]
    fn adding_into_rows_of_a_wider_c_matches_gemm() {
        for (m, k, n, stride) in [(5, 27, 12, 19), (100, 30, 28, 196), (1, 300, 4, 4)] {
            let values = |len: usize, seed: usize| -> alloc::vec::Vec<f32> {
                (0..len)
                    .map(|i| ((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0 - 1.0)
                    .collect()
            };
            let (a, b, start) = (values(m * k, 1), values(k * n, 2), values(m * n, 3));
            let mut want = start.clone();
            gemm(
                1.0,
                MatRef::new(&a, m, k),
                Op::Plain,
                MatRef::new(&b, k, n),
                Op::Plain,
                1.0,
                &mut want,
                n,
            );
            let mut wide = alloc::vec![f32::NAN; (m - 1) * stride + n + 3];
            for (i, row) in start.chunks_exact(n).enumerate() {
                wide[i * stride..][..n].copy_from_slice(row);
            }
            gemm_add_into_rows(
                MatRef::new(&a, m, k),
                MatRef::new(&b, k, n),
                &mut wide,
                stride,
            );
            for (i, v) in wide.iter().enumerate() {
                let (row, col) = (i / stride, i % stride);
                if row < m && col < n {
                    assert_eq!(
                        v.to_bits(),
                        want[row * n + col].to_bits(),
                        "{m}x{k}x{n} at {i}"
                    );
                } else {
                    assert!(v.is_nan(), "{m}x{k}x{n}: {i} outside the block changed");
                }
            }
        }
    }

    #[test]
    fn beta_one_accumulates() {
        let a = [1.0, 2.0];
        let b = [3.0, 4.0];
        let mut c = [10.0];
        gemm(
            1.0,
            MatRef::new(&a, 1, 2),
            Op::Plain,
            MatRef::new(&b, 2, 1),
            Op::Plain,
            1.0,
            &mut c,
            1,
        );
        assert_eq!(c, [21.0]);
    }

    #[test]
    #[should_panic(expected = "inner dims differ")]
    fn mismatched_inner_dims_panic() {
        let a = [0.0; 6];
        let mut c = [0.0; 4];
        gemm(
            1.0,
            MatRef::new(&a, 2, 3),
            Op::Plain,
            MatRef::new(&a, 3, 2),
            Op::Transposed,
            0.0,
            &mut c,
            2,
        );
    }
}
