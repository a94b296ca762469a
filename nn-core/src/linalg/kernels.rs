//! The matmul kernels, written once against [`Simd`] and instantiated per instruction set.
//!
//! Neither kernel allocates: they read `a` and `b` where they lie, or copy a panel of `b` into
//! a 16 KiB buffer on the stack. That fits the layouts a dense layer produces, where one
//! operand is always contiguous along the axis the kernel walks:
//!
//! - **Broadcast kernel**, when `op(b)`'s rows are contiguous (`a · b` and `aᵀ · b`): a tile of
//!   `MR` rows × two registers of `c` stays in registers while each `a` value is broadcast and
//!   multiplied into a row of `b` (one register and more rows when `c` is one register wide).
//!   Depth is cut into blocks of [`DEPTH_BLOCK`], so the panel of `b` a column block walks
//!   stays in L1 while every row block of `a` passes over it.
//! - **Dot kernel**, when `op(a)`'s rows and `op(b)`'s columns are both contiguous (`a · bᵀ`):
//!   `MR × NR` dot products run side by side, one register of partial sums each, and are summed
//!   across lanes once at the end. That sum costs as much as the products at short depths, so
//!   from [`PACK_FROM_ROWS`] rows on `a · bᵀ` runs the broadcast kernel instead, over panels
//!   of `b` transposed as they are copied ([`Gemm::transposes_b`]).
//!
//! Edge tiles re-read the last valid row or column instead of branching per element, and store
//! only the valid part; columns past the edge are masked loads and stores.

use super::simd::Simd;

/// Depth (the `k` extent) of one pass of the broadcast kernel, read in place: the packed
/// kernel's, so that a product gives the same bits whether it packs or not. Which one runs
/// depends on `m`, and a product split into bands of rows across threads has a smaller `m` in
/// each band (see `threads`).
const DEPTH_BLOCK: usize = PACK_DEPTH;

/// Depth of one packed panel of `b` (see [`broadcast_packed`]): 128 rows of 32 columns are
/// 16 KiB, half an L1 data cache, leaving the other half to the rows of `a` streaming past.
const PACK_DEPTH: usize = 128;

/// The widest panel any instruction set uses: two 16-lane AVX-512 registers.
const PACK_WIDTH: usize = 32;

/// From this many rows of `op(a)` up, the broadcast kernel copies each panel of `b` into a
/// contiguous buffer first ([`broadcast_packed`]): the copy is paid once and read by every row
/// block.
const PACK_FROM_ROWS: usize = 96;

/// One product `c = alpha · op(a) · op(b) + beta · c`, with `op(a)` of `m × k` and `op(b)` of
/// `k × n` given by strides into their storage, and `c` row-major `m × n` with its rows
/// `c_row_stride` apart (`n` for a contiguous `c`; more for a block of columns of a wider
/// matrix, whose other columns no kernel touches).
///
/// Invariants (checked by [`super::gemm`] before any kernel runs): `m, n, k ≥ 1`; for every
/// `i < m, p < k`, `i · a_row_stride + p · a_col_stride < a.len()`; for every `p < k, j < n`,
/// `p · b_row_stride + j · b_col_stride < b.len()`; `c_row_stride ≥ n` and
/// `c` is valid for `(m − 1) · c_row_stride + n` values, of which columns `0..n` of each row are
/// this product's alone while it runs; `c_start`, when set, holds at least `n` values.
pub(super) struct Gemm<'a> {
    pub m: usize,
    /// The rows of the whole product this one is a band of (`m` when it is not a band): the
    /// broadcast kernel packs `b` or not by it, so that every band runs the whole product's
    /// kernel.
    pub whole_m: usize,
    pub n: usize,
    pub k: usize,
    pub alpha: f32,
    pub beta: f32,
    pub a: &'a [f32],
    pub a_row_stride: usize,
    pub a_col_stride: usize,
    pub b: &'a [f32],
    pub b_row_stride: usize,
    pub b_col_stride: usize,
    pub c: Out<'a>,
    pub c_row_stride: usize,
    /// When set, the row (`n` values) every row of `c` starts from instead of its own values:
    /// `c = alpha · op(a) · op(b) + beta · c_start` on each row. A dense layer's bias, read by
    /// the stores rather than copied into every row of `c` before the product.
    pub c_start: Option<&'a [f32]>,
}

impl Gemm<'_> {
    /// What the rows of a tile held before the product, the tile of columns `col..` whose
    /// first row of `c` is `c_tile`, in the depth block from `depth_start`: `c_start` (each
    /// row the same, row stride 0) for the first depth block, else `c` itself (later blocks add
    /// onto what the first wrote). A stride rather than a choice per row, so the stores do
    /// not branch: on the Cortex-M4 a choice there cost 4 % of a ViT's instructions.
    #[inline(always)]
    fn before(&self, depth_start: usize, col: usize, c_tile: *mut f32) -> Before {
        match self.c_start {
            Some(start) if depth_start == 0 => Before {
                first: start[col..].as_ptr(),
                row_stride: 0,
            },
            _ => Before {
                first: c_tile.cast_const(),
                row_stride: self.c_row_stride,
            },
        }
    }

    /// Column `j`'s starting value for the kernels without depth blocks: `c_start[j]`, or
    /// `c`'s own value at `out`.
    ///
    /// # Safety
    /// `out` is readable when `c_start` is `None`.
    #[inline(always)]
    unsafe fn start_value(&self, j: usize, out: *const f32) -> f32 {
        match self.c_start {
            Some(start) => start[j],
            // SAFETY: the caller's contract.
            None => unsafe { *out },
        }
    }
}

/// Where a product writes: `c`'s first value. A pointer and not a `&mut [f32]`, because the
/// column bands of a product split across threads interleave in memory: each band's rows lie
/// between the other bands' rows, and two `&mut` slices may not overlap even where neither
/// writes.
#[derive(Clone, Copy)]
pub(super) struct Out<'a> {
    first: *mut f32,
    _c: core::marker::PhantomData<&'a mut [f32]>,
}

impl<'a> Out<'a> {
    /// All of `c`.
    pub fn new(c: &'a mut [f32]) -> Self {
        Self {
            first: c.as_mut_ptr(),
            _c: core::marker::PhantomData,
        }
    }

    /// From a pointer to the first value.
    ///
    /// # Safety
    /// `first` is valid for every value the product writes, for `'a`, and nothing else reads or
    /// writes those values meanwhile.
    pub unsafe fn from_raw(first: *mut f32) -> Self {
        Self {
            first,
            _c: core::marker::PhantomData,
        }
    }

    pub fn as_mut_ptr(&mut self) -> *mut f32 {
        self.first
    }
}

/// Which kernel fits a product's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kernel {
    Broadcast,
    Dot,
    /// Neither operand is contiguous the way a kernel needs (`aᵀ · bᵀ`); a plain loop.
    Strided,
}

impl Gemm<'_> {
    pub fn kernel(&self) -> Kernel {
        if self.b_col_stride == 1 {
            Kernel::Broadcast
        } else if self.a_col_stride == 1 && self.b_row_stride == 1 {
            Kernel::Dot
        } else {
            Kernel::Strided
        }
    }

    /// Whether a dot-layout product runs the broadcast kernel on a transposed copy of `b`
    /// instead: from [`PACK_FROM_ROWS`] rows of the whole product, so that every band of it
    /// (a thread's rows, a single row included) takes the same path and gives the same bits.
    pub fn transposes_b(&self) -> bool {
        self.kernel() == Kernel::Dot && self.whole_m >= PACK_FROM_ROWS
    }
}

/// Runs the kernel that fits `gemm`'s layout with registers `S`: broadcast tiles of
/// `BROADCAST_ROWS` rows (`NARROW_ROWS` for a product one register wide), dot tiles of
/// `DOT_ROWS × DOT_COLS`, or `1 × SINGLE_ROW_COLS` when there are fewer rows than a dot tile.
///
/// # Safety
/// The CPU supports `S`'s instruction set, and `gemm` satisfies [`Gemm`]'s invariants.
#[inline(always)]
pub(super) unsafe fn run<
    S: Simd,
    const BROADCAST_ROWS: usize,
    const NARROW_ROWS: usize,
    const DOT_ROWS: usize,
    const DOT_COLS: usize,
    const SINGLE_ROW_COLS: usize,
>(
    gemm: &mut Gemm<'_>,
) {
    // SAFETY (the three calls): forwarded from this function's contract.
    match gemm.kernel() {
        Kernel::Broadcast => unsafe { broadcast::<S, BROADCAST_ROWS, NARROW_ROWS>(gemm) },
        // A single row (batch-1 inference) would waste most of a multi-row tile: give it twice
        // the columns instead, so each load of `a` feeds more products.
        Kernel::Dot if gemm.whole_m < DOT_ROWS => unsafe { dot::<S, 1, SINGLE_ROW_COLS>(gemm) },
        // Many rows: transposing `b` into panels once lets the broadcast tiles run, which
        // keep every sum in a lane. The dot tiles end each output in a sum across lanes, as
        // many instructions as the whole run of FMAs at a depth of 64 (a transformer's).
        Kernel::Dot if gemm.transposes_b() && 2 * S::LANES <= PACK_WIDTH => {
            if S::OUTLINE {
                unsafe { broadcast_packed_outlined::<S, BROADCAST_ROWS>(gemm) }
            } else {
                unsafe { broadcast_packed::<S, BROADCAST_ROWS>(gemm) }
            }
        }
        Kernel::Dot => unsafe { dot::<S, DOT_ROWS, DOT_COLS>(gemm) },
        Kernel::Strided => strided(gemm),
    }
}

/// The broadcast kernel's loops over tiles. Needs `gemm.b_col_stride == 1`.
///
/// # Safety
/// As for [`run`].
#[inline(always)]
unsafe fn broadcast<S: Simd, const MR: usize, const NARROW_MR: usize>(gemm: &mut Gemm<'_>) {
    if gemm.n <= S::LANES {
        // SAFETY: forwarded from this function's contract.
        return unsafe { broadcast_narrow::<S, NARROW_MR>(gemm) };
    }
    let width = 2 * S::LANES;
    if gemm.whole_m >= PACK_FROM_ROWS && width <= PACK_WIDTH && gemm.b_row_stride != width {
        // The packed kernel's 16 KiB panel would otherwise be reserved in the frame of every
        // product, the batch-1 ones included: on a microcontroller that is most of the stack
        // of an inference. Outlined, only the products that pack pay for it.
        if S::OUTLINE {
            // SAFETY: forwarded from this function's contract; `width <= PACK_WIDTH`.
            return unsafe { broadcast_packed_outlined::<S, MR>(gemm) };
        }
        // SAFETY: forwarded from this function's contract; `width <= PACK_WIDTH`.
        return unsafe { broadcast_packed::<S, MR>(gemm) };
    }
    let (m, n, k) = (gemm.m, gemm.n, gemm.k);
    let (a, b, c) = (gemm.a.as_ptr(), gemm.b.as_ptr(), gemm.c.as_mut_ptr());
    for col in (0..n).step_by(width) {
        let cols = width.min(n - col);
        for depth_start in (0..k).step_by(DEPTH_BLOCK) {
            let depth = DEPTH_BLOCK.min(k - depth_start);
            // Later depth blocks add to what the first one wrote.
            let beta = if depth_start == 0 { gemm.beta } else { 1.0 };
            for row in (0..m).step_by(MR) {
                // SAFETY: `row < m`, `depth_start < k` and `col < n`, so each offset addresses
                // an element of its operand (the invariants of `Gemm`); the tile stays inside
                // `rows × depth` of `a`, `depth × cols` of `b` and `rows × cols` of `c`.
                unsafe {
                    let tile = Tile {
                        a: a.add(row * gemm.a_row_stride + depth_start * gemm.a_col_stride),
                        a_row_stride: gemm.a_row_stride,
                        a_col_stride: gemm.a_col_stride,
                        b: b.add(depth_start * gemm.b_row_stride + col),
                        b_row_stride: gemm.b_row_stride,
                        c: c.add(row * gemm.c_row_stride + col),
                        c_row_stride: gemm.c_row_stride,
                        before: gemm.before(depth_start, col, c.add(row * gemm.c_row_stride + col)),
                        rows: MR.min(m - row),
                        cols,
                        depth,
                        alpha: gemm.alpha,
                        beta,
                    };
                    if cols == width {
                        broadcast_tile::<S, MR, 2, true, true>(&tile);
                    } else {
                        broadcast_tile::<S, MR, 2, false, false>(&tile);
                    }
                }
            }
        }
    }
}

/// The broadcast kernel for a product no wider than one register (an attention head's
/// `probabilities · values`, 16 columns): tiles of `NARROW_MR` rows × one register, where the
/// two-register tiles would multiply a register of zeros for every one of data. The same
/// depth blocks as the other forms, so the same bits.
///
/// # Safety
/// As for [`run`], and `gemm.n <= S::LANES`.
#[inline(always)]
unsafe fn broadcast_narrow<S: Simd, const NARROW_MR: usize>(gemm: &mut Gemm<'_>) {
    let (m, n, k) = (gemm.m, gemm.n, gemm.k);
    let (a, b, c) = (gemm.a.as_ptr(), gemm.b.as_ptr(), gemm.c.as_mut_ptr());
    for depth_start in (0..k).step_by(DEPTH_BLOCK) {
        let depth = DEPTH_BLOCK.min(k - depth_start);
        // Later depth blocks add to what the first one wrote.
        let beta = if depth_start == 0 { gemm.beta } else { 1.0 };
        for row in (0..m).step_by(NARROW_MR) {
            // SAFETY: as in `broadcast`, with the one column block `0..n`, `n <= LANES`.
            unsafe {
                let tile = Tile {
                    a: a.add(row * gemm.a_row_stride + depth_start * gemm.a_col_stride),
                    a_row_stride: gemm.a_row_stride,
                    a_col_stride: gemm.a_col_stride,
                    b: b.add(depth_start * gemm.b_row_stride),
                    b_row_stride: gemm.b_row_stride,
                    c: c.add(row * gemm.c_row_stride),
                    c_row_stride: gemm.c_row_stride,
                    before: gemm.before(depth_start, 0, c.add(row * gemm.c_row_stride)),
                    rows: NARROW_MR.min(m - row),
                    cols: n,
                    depth,
                    alpha: gemm.alpha,
                    beta,
                };
                if n == S::LANES {
                    broadcast_tile::<S, NARROW_MR, 1, true, true>(&tile);
                } else {
                    broadcast_tile::<S, NARROW_MR, 1, false, false>(&tile);
                }
            }
        }
    }
}

/// [`broadcast_packed`] in a frame of its own, for instruction sets with [`Simd::OUTLINE`].
///
/// # Safety
/// As for [`broadcast_packed`].
#[inline(never)]
unsafe fn broadcast_packed_outlined<S: Simd, const MR: usize>(gemm: &mut Gemm<'_>) {
    // SAFETY: forwarded from this function's contract.
    unsafe { broadcast_packed::<S, MR>(gemm) }
}

/// The broadcast kernel over packed panels of `b`: each `PACK_DEPTH × 2·LANES` block of
/// `op(b)` is first copied, zero-padded past the last column, into a contiguous buffer on the
/// stack (16 KiB), which every row block of `a` then reads. A `b` stored the other way round
/// (`a · bᵀ`) is transposed by the copy ([`pack_columns`]). Read in place, the rows of a panel
/// are `b_row_stride` apart; at the recurrent layers' widths (512 or 128 floats, 2 KiB or
/// 512 bytes) they all fall into a few L1 sets and evict each other, so the panel came from L2
/// at every row block. Packed, it stays in L1.
///
/// # Safety
/// As for [`run`], and `2 · S::LANES <= PACK_WIDTH`.
#[inline(always)]
unsafe fn broadcast_packed<S: Simd, const MR: usize>(gemm: &mut Gemm<'_>) {
    let lanes = S::LANES;
    let width = 2 * lanes;
    let (m, n, k) = (gemm.m, gemm.n, gemm.k);
    let (a, b, c) = (gemm.a.as_ptr(), gemm.b.as_ptr(), gemm.c.as_mut_ptr());
    let mut panel = [0.0f32; PACK_DEPTH * PACK_WIDTH];
    let packed = panel.as_mut_ptr();
    for col in (0..n).step_by(width) {
        let cols = width.min(n - col);
        let (low_cols, high_cols) = (cols.min(lanes), cols.saturating_sub(lanes));
        for depth_start in (0..k).step_by(PACK_DEPTH) {
            let depth = PACK_DEPTH.min(k - depth_start);
            if gemm.b_col_stride != 1 {
                // SAFETY: `op(b)`'s columns `col + j < n` hold rows `depth_start + p < k` in
                // bounds (the invariants of `Gemm`); `p · width + j < PACK_DEPTH · PACK_WIDTH`.
                unsafe { pack_columns(gemm, depth_start, depth, col, cols, width, packed) };
            } else {
                // SAFETY: the caller guarantees the instruction set. Row `depth_start + p < k` of
                // `op(b)` holds columns `col..col + cols` in bounds (the invariants of `Gemm`, with
                // column stride 1), read whole or through masked loads of exactly the valid
                // columns; `p · width + width <= PACK_DEPTH · PACK_WIDTH` bounds the stores.
                unsafe {
                    for p in 0..depth {
                        let src = b.add((depth_start + p) * gemm.b_row_stride + col);
                        let dst = packed.add(p * width);
                        if cols == width {
                            S::store(dst, S::load(src));
                            S::store(dst.add(lanes), S::load(src.add(lanes)));
                        } else {
                            S::store(dst, S::load_first(src, low_cols));
                            S::store(
                                dst.add(lanes),
                                S::load_first(src.wrapping_add(lanes), high_cols),
                            );
                        }
                    }
                }
            }
            // Later depth blocks add to what the first one wrote.
            let beta = if depth_start == 0 { gemm.beta } else { 1.0 };
            for row in (0..m).step_by(MR) {
                // SAFETY: as in `broadcast`, for `a` and `c`; `b` is the packed panel, `depth`
                // rows of `width` values (zero past `cols`), so full-width loads stay inside it.
                unsafe {
                    let tile = Tile {
                        a: a.add(row * gemm.a_row_stride + depth_start * gemm.a_col_stride),
                        a_row_stride: gemm.a_row_stride,
                        a_col_stride: gemm.a_col_stride,
                        b: packed,
                        b_row_stride: width,
                        c: c.add(row * gemm.c_row_stride + col),
                        c_row_stride: gemm.c_row_stride,
                        before: gemm.before(depth_start, col, c.add(row * gemm.c_row_stride + col)),
                        rows: MR.min(m - row),
                        cols,
                        depth,
                        alpha: gemm.alpha,
                        beta,
                    };
                    if cols == width {
                        broadcast_tile::<S, MR, 2, true, true>(&tile);
                    } else {
                        broadcast_tile::<S, MR, 2, true, false>(&tile);
                    }
                }
            }
        }
    }
}

/// Copies rows `depth_start..+depth` of `op(b)`'s columns `col..col + cols` into `packed` as a
/// panel of `depth` rows of `width` values, zero past `cols`: the transpose, for a `b` whose
/// columns are the contiguous runs (`a · bᵀ`, a dense layer's forward).
///
/// # Safety
/// Every `op(b)[depth_start + p][col + j]` with `p < depth`, `j < cols` is inside `gemm.b` (the
/// invariants of [`Gemm`]), and `packed` is writable for `depth · width` values.
#[inline(always)]
unsafe fn pack_columns(
    gemm: &Gemm<'_>,
    depth_start: usize,
    depth: usize,
    col: usize,
    cols: usize,
    width: usize,
    packed: *mut f32,
) {
    let b = gemm.b.as_ptr();
    for j in 0..width {
        // SAFETY: the caller's contract bounds every read (`j < cols`) and write.
        unsafe {
            let dst = packed.add(j);
            if j < cols {
                let src = b.add(depth_start * gemm.b_row_stride + (col + j) * gemm.b_col_stride);
                for p in 0..depth {
                    *dst.add(p * width) = *src.add(p * gemm.b_row_stride);
                }
            } else {
                for p in 0..depth {
                    *dst.add(p * width) = 0.0;
                }
            }
        }
    }
}

/// The broadcast kernel over a `b` that [`super::pack`] already laid out as column panels: panel
/// `j` holds columns `j · 2·LANES ..` of all `k` rows, each row `2 · LANES` values (zero past
/// `n`), panels one after another. Every `PACK_DEPTH` block of a panel is then contiguous and
/// stays in L1 while the row blocks of `a` pass, as in [`broadcast_packed`], without copying
/// `b` at every call: a recurrent layer packs `W_hh` once per sequence and multiplies by it at
/// every step.
///
/// # Safety
/// The CPU supports `S`'s instruction set; `m, n, k ≥ 1`; `a` and `c` satisfy [`Gemm`]'s
/// invariants; `b_col_stride == 1`, `b_row_stride == 2 · S::LANES` and `b.len()` is `k` times
/// `n` rounded up to whole panels of `2 · S::LANES`.
#[inline(always)]
pub(super) unsafe fn broadcast_prepacked<S: Simd, const MR: usize>(gemm: &mut Gemm<'_>) {
    let width = 2 * S::LANES;
    debug_assert_eq!(gemm.b_row_stride, width);
    let (m, n, k) = (gemm.m, gemm.n, gemm.k);
    let (a, b, c) = (gemm.a.as_ptr(), gemm.b.as_ptr(), gemm.c.as_mut_ptr());
    for (panel, col) in (0..n).step_by(width).enumerate() {
        let cols = width.min(n - col);
        for depth_start in (0..k).step_by(PACK_DEPTH) {
            let depth = PACK_DEPTH.min(k - depth_start);
            // Later depth blocks add to what the first one wrote.
            let beta = if depth_start == 0 { gemm.beta } else { 1.0 };
            for row in (0..m).step_by(MR) {
                // SAFETY: as in `broadcast`, for `a` and `c`; rows `depth_start..+depth` of
                // panel `panel` lie inside `b` (its length, the caller's contract), each
                // `width` values readable (zero past `cols`).
                unsafe {
                    let tile = Tile {
                        a: a.add(row * gemm.a_row_stride + depth_start * gemm.a_col_stride),
                        a_row_stride: gemm.a_row_stride,
                        a_col_stride: gemm.a_col_stride,
                        b: b.add((panel * k + depth_start) * width),
                        b_row_stride: width,
                        c: c.add(row * gemm.c_row_stride + col),
                        c_row_stride: gemm.c_row_stride,
                        before: gemm.before(depth_start, col, c.add(row * gemm.c_row_stride + col)),
                        rows: MR.min(m - row),
                        cols,
                        depth,
                        alpha: gemm.alpha,
                        beta,
                    };
                    if cols == width {
                        broadcast_tile::<S, MR, 2, true, true>(&tile);
                    } else {
                        broadcast_tile::<S, MR, 2, true, false>(&tile);
                    }
                }
            }
        }
    }
}

/// The values a tile's rows of `c` start from: row `r` at `first + r · row_stride`.
#[derive(Clone, Copy)]
struct Before {
    first: *const f32,
    row_stride: usize,
}

/// One tile's operands: `rows × depth` of `a` at `a`, `depth × cols` of `b` at `b`,
/// `rows × cols` of `c` at `c`, and the `rows × cols` values `before` points at (`c`'s own, or
/// one row of `c_start` read for every row), all in bounds.
struct Tile {
    a: *const f32,
    a_row_stride: usize,
    a_col_stride: usize,
    b: *const f32,
    b_row_stride: usize,
    c: *mut f32,
    c_row_stride: usize,
    /// What the tile's rows held before the product (see [`Gemm::before`]).
    before: Before,
    rows: usize,
    cols: usize,
    depth: usize,
    alpha: f32,
    beta: f32,
}

/// `MR` rows × `REGS · LANES` columns of `c` (`REGS` is 1 or 2). `FULL` says all columns are
/// valid (no masking); `LOAD_FULL` that `b`'s rows may be read `REGS · LANES` wide even so (a
/// zero-padded panel).
///
/// # Safety
/// `S`'s instruction set is available; `tile` is in bounds with `1 ≤ rows ≤ MR`, `1 ≤ cols`,
/// `cols ≤ REGS · LANES` (equal when `FULL`), `b`'s column stride 1 (its rows `REGS · LANES`
/// readable when `LOAD_FULL`), and `c`'s rows contiguous.
#[inline(always)]
unsafe fn broadcast_tile<
    S: Simd,
    const MR: usize,
    const REGS: usize,
    const LOAD_FULL: bool,
    const FULL: bool,
>(
    tile: &Tile,
) {
    let lanes = S::LANES;
    // The valid columns of each register.
    let counts: [usize; REGS] =
        core::array::from_fn(|h| tile.cols.saturating_sub(h * lanes).min(lanes));
    // Rows past the edge re-read the last valid row; their sums are never stored.
    let a_rows: [*const f32; MR] = core::array::from_fn(|r| {
        // SAFETY: `r.min(rows - 1) < rows`, a valid row of the tile.
        unsafe { tile.a.add(r.min(tile.rows - 1) * tile.a_row_stride) }
    });
    // SAFETY: the caller guarantees the instruction set; every pointer below stays inside the
    // tile: `p < depth`, rows clamped as above, and a register's columns are only read
    // (through a masked load of its valid lanes, possibly none) when they exist.
    unsafe {
        let mut acc = [[S::zero(); REGS]; MR];
        for p in 0..tile.depth {
            let b_row = tile.b.add(p * tile.b_row_stride);
            let row: [S::V; REGS] = core::array::from_fn(|h| {
                if FULL || LOAD_FULL {
                    S::load(b_row.add(h * lanes))
                } else {
                    S::load_first(b_row.wrapping_add(h * lanes), counts[h])
                }
            });
            for r in 0..MR {
                let x = S::splat(*a_rows[r].add(p * tile.a_col_stride));
                for h in 0..REGS {
                    acc[r][h] = S::mul_add(x, row[h], acc[r][h]);
                }
            }
        }
        let alpha = S::splat(tile.alpha);
        let beta = S::splat(tile.beta);
        for (r, sums) in acc.iter().enumerate().take(tile.rows) {
            let c_row = tile.c.add(r * tile.c_row_stride);
            for (h, &sum) in sums.iter().enumerate() {
                let (out, count) = (c_row.wrapping_add(h * lanes), counts[h]);
                let mut value = S::mul(alpha, sum);
                // beta == 0 ignores `c` entirely, so stale NaNs in it cannot leak through.
                if tile.beta != 0.0 {
                    let from = tile
                        .before
                        .first
                        .wrapping_add(r * tile.before.row_stride + h * lanes);
                    let old = if FULL {
                        S::load(from)
                    } else {
                        S::load_first(from, count)
                    };
                    value = S::mul_add(beta, old, value);
                }
                if FULL {
                    S::store(out, value);
                } else {
                    S::store_first(out, value, count);
                }
            }
        }
    }
}

/// The dot kernel's loops over tiles. Needs `gemm.a_col_stride == 1` and `gemm.b_row_stride ==
/// 1`: row `i` of `op(a)` and column `j` of `op(b)` are contiguous runs of `k` values.
///
/// # Safety
/// As for [`run`].
#[inline(always)]
unsafe fn dot<S: Simd, const MR: usize, const NR: usize>(gemm: &mut Gemm<'_>) {
    let (m, n, k) = (gemm.m, gemm.n, gemm.k);
    let (a, b, c) = (gemm.a.as_ptr(), gemm.b.as_ptr(), gemm.c.as_mut_ptr());
    let lanes = S::LANES;
    let full_steps = k / lanes;
    let tail = k % lanes;
    for col in (0..n).step_by(NR) {
        let cols = NR.min(n - col);
        for row in (0..m).step_by(MR) {
            let rows = MR.min(m - row);
            // Rows and columns past the edge re-read the last valid one; never stored.
            let a_rows: [*const f32; MR] = core::array::from_fn(|r| {
                // SAFETY: row `row + min(r, rows - 1) < m`.
                unsafe { a.add((row + r.min(rows - 1)) * gemm.a_row_stride) }
            });
            let b_cols: [*const f32; NR] = core::array::from_fn(|q| {
                // SAFETY: column `col + min(q, cols - 1) < n`.
                unsafe { b.add((col + q.min(cols - 1)) * gemm.b_col_stride) }
            });
            // SAFETY: the caller guarantees the instruction set; each run of `a_rows[r]` and
            // `b_cols[q]` holds `k` contiguous values (the layout this kernel needs), and the
            // loads read `full_steps · lanes + tail = k` of them. The stores write `c[i][j]`
            // for valid `i < m`, `j < n` only.
            unsafe {
                let mut acc = [[S::zero(); NR]; MR];
                for step in 0..full_steps {
                    let offset = step * lanes;
                    let xs: [S::V; MR] = core::array::from_fn(|r| S::load(a_rows[r].add(offset)));
                    for q in 0..NR {
                        let w = S::load(b_cols[q].add(offset));
                        for r in 0..MR {
                            acc[r][q] = S::mul_add(xs[r], w, acc[r][q]);
                        }
                    }
                }
                if tail > 0 {
                    let offset = full_steps * lanes;
                    let xs: [S::V; MR] =
                        core::array::from_fn(|r| S::load_first(a_rows[r].add(offset), tail));
                    for q in 0..NR {
                        let w = S::load_first(b_cols[q].add(offset), tail);
                        for r in 0..MR {
                            acc[r][q] = S::mul_add(xs[r], w, acc[r][q]);
                        }
                    }
                }
                for (r, sums) in acc.iter().enumerate().take(rows) {
                    for (q, &sum) in sums.iter().enumerate().take(cols) {
                        let out = c.add((row + r) * gemm.c_row_stride + col + q);
                        let value = gemm.alpha * S::sum(sum);
                        // beta == 0 ignores `c`, so stale NaNs in it cannot leak through.
                        *out = if gemm.beta == 0.0 {
                            value
                        } else {
                            gemm.beta * gemm.start_value(col + q, out) + value
                        };
                    }
                }
            }
        }
    }
}

/// Any layout, one element at a time, with bounds-checked indexing. Only `aᵀ · bᵀ` lands here,
/// which no layer uses.
fn strided(gemm: &mut Gemm<'_>) {
    for i in 0..gemm.m {
        for j in 0..gemm.n {
            let sum: f32 = (0..gemm.k)
                .map(|p| {
                    gemm.a[i * gemm.a_row_stride + p * gemm.a_col_stride]
                        * gemm.b[p * gemm.b_row_stride + j * gemm.b_col_stride]
                })
                .sum();
            // SAFETY: `i < m` and `j < n`, inside `c` by `Gemm`'s invariants.
            let out = unsafe { &mut *gemm.c.as_mut_ptr().add(i * gemm.c_row_stride + j) };
            let value = gemm.alpha * sum;
            *out = if gemm.beta == 0.0 {
                value
            } else {
                // SAFETY: `out` is inside `c`, as above.
                gemm.beta * unsafe { gemm.start_value(j, out) } + value
            };
        }
    }
}
