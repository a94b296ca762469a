//! PNG helpers for the vision examples: a grid of small square tiles, colour maps (grey,
//! diverging blue-white-red, a heat map) and heat-map overlays, saved upscaled with nearest
//! neighbours so each pixel stays a crisp square. Used by
//! `examples/feature_maps.rs`, `examples/grad_cam.rs` and `examples/conv_autoencoder.rs`.

use std::path::Path;

use nn::train::plot::{Pixels, write_png};

/// An RGB colour.
pub type Colour = [u8; 3];

/// The background between tiles.
pub const GAP_COLOUR: Colour = [48, 48, 48];

/// A grey level for `v` in `[0, 1]` (clamped): 0 black, 1 white.
pub fn grey(v: f32) -> Colour {
    let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    [g, g, g]
}

/// A diverging colour for `v` in `[-1, 1]` (clamped): blue below 0, white at 0, red above.
pub fn diverging(v: f32) -> Colour {
    let v = v.clamp(-1.0, 1.0);
    let fade = |t: f32| (255.0 * (1.0 - t)).round() as u8;
    if v >= 0.0 {
        [255, fade(v * 0.85), fade(v)]
    } else {
        [fade(-v), fade(-v * 0.7), 255]
    }
}

/// A heat colour for `v` in `[0, 1]` (clamped): black, purple, red, orange, yellow, white (like
/// matplotlib's `inferno`).
pub fn heat(v: f32) -> Colour {
    const STOPS: [(f32, [f32; 3]); 6] = [
        (0.0, [0.0, 0.0, 4.0]),
        (0.2, [66.0, 10.0, 104.0]),
        (0.4, [147.0, 38.0, 103.0]),
        (0.6, [221.0, 81.0, 58.0]),
        (0.8, [252.0, 165.0, 10.0]),
        (1.0, [252.0, 255.0, 164.0]),
    ];
    let v = v.clamp(0.0, 1.0);
    let i = STOPS
        .windows(2)
        .position(|w| v <= w[1].0)
        .unwrap_or(STOPS.len() - 2);
    let ((a, ca), (b, cb)) = (STOPS[i], STOPS[i + 1]);
    let t = (v - a) / (b - a);
    std::array::from_fn(|k| (ca[k] + t * (cb[k] - ca[k])).round() as u8)
}

/// `heat(h)` laid over the grey pixel `g` (both in `[0, 1]`), `alpha` of the way to the heat.
pub fn overlay(g: f32, h: f32, alpha: f32) -> Colour {
    let (base, top) = (grey(g), heat(h));
    std::array::from_fn(|k| {
        (f32::from(base[k]) * (1.0 - alpha) + f32::from(top[k]) * alpha).round() as u8
    })
}

/// Maps every value to `colour(v / max|v|)`, the largest magnitude to ±1 (an all-zero tile stays
/// at 0): for signed maps such as kernels and conv responses with [`diverging`].
pub fn signed_tile(values: &[f32], colour: impl Fn(f32) -> Colour) -> Vec<Colour> {
    let max = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let scale = if max > 0.0 { 1.0 / max } else { 0.0 };
    values.iter().map(|&v| colour(v * scale)).collect()
}

/// Tiles of `side x side` pixels in `rows x cols`, `gap` pixels apart, with an extra `gap` at
/// the edges; rows may be separated further with [`Grid::with_row_gaps`].
pub struct Grid {
    side: usize,
    gap: usize,
    rows: usize,
    cols: usize,
    /// Extra space above each row (for grouping rows), in pixels.
    row_offsets: Vec<usize>,
    width: usize,
    height: usize,
    /// RGB, row-major.
    pixels: Vec<u8>,
}

impl Grid {
    /// An empty grid, every tile the gap colour.
    pub fn new(rows: usize, cols: usize, side: usize, gap: usize) -> Self {
        Self::with_row_gaps(rows, cols, side, gap, &[])
    }

    /// An empty grid with `extra[r]` more pixels of space above row `r` (missing entries are 0).
    pub fn with_row_gaps(
        rows: usize,
        cols: usize,
        side: usize,
        gap: usize,
        extra: &[usize],
    ) -> Self {
        let mut row_offsets = Vec::with_capacity(rows);
        let mut y = gap;
        for r in 0..rows {
            y += extra.get(r).copied().unwrap_or(0);
            row_offsets.push(y);
            y += side + gap;
        }
        let width = cols * (side + gap) + gap;
        let pixels = GAP_COLOUR.repeat(width * y);
        Self {
            side,
            gap,
            rows,
            cols,
            row_offsets,
            width,
            height: y,
            pixels,
        }
    }

    /// Writes one tile: `pixels` is `side * side` colours, row-major.
    pub fn put(&mut self, row: usize, col: usize, pixels: &[Colour]) {
        assert!(
            row < self.rows && col < self.cols,
            "tile ({row}, {col}) is outside the grid"
        );
        assert_eq!(
            pixels.len(),
            self.side * self.side,
            "a tile is {0} x {0}",
            self.side
        );
        let (top, left) = (
            self.row_offsets[row],
            self.gap + col * (self.side + self.gap),
        );
        for (i, &colour) in pixels.iter().enumerate() {
            let (y, x) = (i / self.side, i % self.side);
            let at = ((top + y) * self.width + left + x) * 3;
            self.pixels[at..at + 3].copy_from_slice(&colour);
        }
    }

    /// A grey tile from values in `[0, 1]`.
    pub fn put_grey(&mut self, row: usize, col: usize, values: &[f32]) {
        let pixels: Vec<Colour> = values.iter().map(|&v| grey(v)).collect();
        self.put(row, col, &pixels);
    }

    /// A tile of a smaller `h x w` map, each value repeated to fill the `side x side` tile
    /// (`side` must be a multiple of `h` and `w`), so maps of every size line up.
    pub fn put_scaled(&mut self, row: usize, col: usize, pixels: &[Colour], h: usize, w: usize) {
        assert!(self.side.is_multiple_of(h) && self.side.is_multiple_of(w));
        let (sy, sx) = (self.side / h, self.side / w);
        let big: Vec<Colour> = (0..self.side * self.side)
            .map(|i| pixels[(i / self.side / sy) * w + (i % self.side) / sx])
            .collect();
        self.put(row, col, &big);
    }

    /// Saves the grid `scale` times larger (nearest neighbour) as a PNG, making the folder.
    pub fn save(&self, path: &Path, scale: u32) -> Result<(), String> {
        let (width, height) = (self.width as u32, self.height as u32);
        write_png(path, &self.pixels, width, height, Pixels::Rgb, scale).map_err(|e| e.to_string())
    }
}
