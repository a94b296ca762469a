//! PNG charts for the examples: line charts (loss curves), a confusion matrix and a scatter of
//! labelled points, drawn with `plotters` into an RGB buffer and encoded with `image`, in the
//! embedded DejaVu Sans font so that no system font is needed. Included by
//! `examples/batch_norm_lr.rs`, `examples/fashion_mnist.rs` and `examples/vae.rs` with
//! `#[path]`; each uses a part, hence the `allow`.
#![allow(dead_code)]

use std::error::Error;
use std::path::Path;
use std::sync::Once;

pub use plotters::chart::SeriesLabelPosition;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// The font family every chart uses, registered from the `dejavu` crate on first use.
const FONT: &str = "sans-serif";

/// A qualitative palette (Tableau 10's first colours), distinct in print and for most colour
/// vision deficiencies when paired with the line styles the charts use.
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// One curve of a line chart: a legend label, its points and its colour.
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    /// Drawn dashed rather than solid.
    pub dashed: bool,
}

/// How a line chart is labelled and scaled.
pub struct LineChart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// The top of the y axis; points above it are drawn at it. `None` fits the data.
    pub y_max: Option<f64>,
    /// Where the legend goes, out of the curves' way.
    pub legend: SeriesLabelPosition,
    pub width: u32,
    pub height: u32,
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Both fonts are valid TrueType files shipped inside the crate, so this cannot fail;
        // should it, plotters reports the missing font when drawing text.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

/// An exponential moving average of noisy per-step values, `window` steps long (β = 1 − 1/window),
/// debiased at the start as TensorBoard's smoothing is (so the first values are not pulled
/// towards 0). A non-finite value makes the rest non-finite, so a divergence stays visible.
pub fn smooth(values: &[f64], window: usize) -> Vec<f64> {
    let beta = 1.0 - 1.0 / window.max(1) as f64;
    let mut average = 0.0;
    let mut weight = 0.0;
    values
        .iter()
        .map(|&v| {
            average = beta * average + (1.0 - beta) * v;
            weight = beta * weight + (1.0 - beta);
            average / weight
        })
        .collect()
}

/// Writes a line chart of `series` to `path` as a PNG.
pub fn line_chart(path: &Path, chart: &LineChart<'_>, series: &[Series]) -> Result<()> {
    register_font();
    let (width, height) = (chart.width, chart.height);
    let mut buffer = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;

        let finite = || {
            series
                .iter()
                .flat_map(|s| s.points.iter())
                .filter(|(x, y)| x.is_finite() && y.is_finite())
        };
        let x_max = finite().map(|p| p.0).fold(1.0, f64::max);
        let data_y_max = finite().map(|p| p.1).fold(0.0, f64::max);
        let y_max = chart.y_max.map_or(data_y_max, |cap| cap.min(data_y_max)) * 1.05;
        let y_max = if y_max > 0.0 { y_max } else { 1.0 };

        let mut plot = ChartBuilder::on(&root)
            .caption(chart.title, (FONT, 22).into_font().style(FontStyle::Bold))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
        plot.configure_mesh()
            .x_desc(chart.x_label)
            .y_desc(chart.y_label)
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(205, 205, 205))
            .x_labels(8)
            .y_labels(8)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.1}"))
            .draw()?;

        for s in series {
            let points: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .take_while(|(x, y)| x.is_finite() && y.is_finite())
                .map(|(x, y)| (x, y.min(y_max)))
                .collect();
            let style = s.color.stroke_width(2);
            let color = s.color;
            let anno = if s.dashed {
                plot.draw_series(DashedLineSeries::new(points, 7, 5, style))?
            } else {
                plot.draw_series(LineSeries::new(points, style))?
            };
            let dashed = s.dashed;
            anno.label(s.label.as_str()).legend(move |(x, y)| {
                // A 24-pixel sample of the line, in two dashes when dashed.
                let gap = if dashed { 6 } else { 0 };
                EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (9, 0)], color.stroke_width(3))
                    + PathElement::new(vec![(9 + gap, 0), (24, 0)], color.stroke_width(3))
            });
        }
        plot.configure_series_labels()
            .position(chart.legend.clone())
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(160, 160, 160))
            .label_font((FONT, 16))
            .margin(12)
            .draw()?;
        root.present()?;
    }
    save_png(path, buffer, width, height)
}

/// Writes a confusion matrix to `path` as a PNG: row `i`, column `j` holds how many samples of
/// class `i` were predicted as `j`, shaded by the fraction of row `i` it holds (so that rows of
/// different sizes compare), with the count printed in the cell and each row's recall at its
/// right.
pub fn confusion_matrix(
    path: &Path,
    title: &str,
    classes: &[&str],
    counts: &[Vec<usize>],
) -> Result<()> {
    register_font();
    let n = classes.len();
    let cell = 62i32;
    let (left, top) = (150i32, 70i32);
    let (right, bottom) = (90i32, 130i32);
    let side = cell * n as i32;
    let (width, height) = ((left + side + right) as u32, (top + side + bottom) as u32);
    let mut buffer = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let font = |size: f64| (FONT, size).into_font();
        let centered = |size: f64, color: RGBColor| {
            font(size)
                .color(&color)
                .pos(Pos::new(HPos::Center, VPos::Center))
        };
        root.draw(&Text::new(
            title.to_string(),
            (width as i32 / 2, 24),
            font(20.0)
                .style(FontStyle::Bold)
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;

        for (i, row) in counts.iter().enumerate().take(n) {
            let total: usize = row.iter().sum();
            for (j, &count) in row.iter().enumerate().take(n) {
                let share = count as f64 / total.max(1) as f64;
                // White to dark blue, through a gamma so that a few percent is still visible.
                let t = share.powf(0.5);
                let shade = |white: f64, full: f64| (white + (full - white) * t).round() as u8;
                let fill = RGBColor(shade(255.0, 8.0), shade(255.0, 48.0), shade(255.0, 107.0));
                let (x, y) = (left + j as i32 * cell, top + i as i32 * cell);
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    fill.filled(),
                ))?;
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    RGBColor(220, 220, 220),
                ))?;
                if count > 0 {
                    let ink = if t > 0.55 { WHITE } else { BLACK };
                    root.draw(&Text::new(
                        count.to_string(),
                        (x + cell / 2, y + cell / 2),
                        centered(15.0, ink),
                    ))?;
                }
            }
            let recall = row.get(i).copied().unwrap_or(0) as f64 / total.max(1) as f64;
            root.draw(&Text::new(
                format!("{:.1} %", 100.0 * recall),
                (left + side + right / 2, top + i as i32 * cell + cell / 2),
                centered(15.0, BLACK),
            ))?;
        }
        // Row labels (true class) on the left, column labels (predicted) below, turned.
        for (i, name) in classes.iter().enumerate() {
            let y = top + i as i32 * cell + cell / 2;
            root.draw(&Text::new(
                name.to_string(),
                (left - 8, y),
                font(15.0)
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            let x = left + i as i32 * cell + cell / 2;
            root.draw(&Text::new(
                name.to_string(),
                (x, top + side + 8),
                font(15.0)
                    .transform(FontTransform::Rotate270)
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
        root.draw(&Text::new(
            "recall",
            (left + side + right / 2, top - 14),
            centered(15.0, BLACK),
        ))?;
        root.draw(&Text::new(
            "predicted class",
            (left + side / 2, height as i32 - 14),
            centered(17.0, BLACK),
        ))?;
        root.draw(&Text::new(
            "true class",
            (18, top + side / 2),
            font(17.0)
                .transform(FontTransform::Rotate270)
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        root.present()?;
    }
    save_png(path, buffer, width, height)
}

/// Ten qualitative colours (Tableau 10), one per class of a scatter.
pub const CLASS_COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// How a scatter is labelled and sized.
pub struct Scatter<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub width: u32,
    pub height: u32,
}

/// Writes a scatter of `points` (`x`, `y`, class) to `path` as a PNG: one small square per point
/// in its class's colour (up to ten classes, named by `classes` in the legend). The
/// axes fit the 0.5 % to 99.5 % range of the points, so a few outliers do not squeeze the rest.
pub fn scatter(
    path: &Path,
    chart: &Scatter<'_>,
    points: &[(f64, f64, usize)],
    classes: &[&str],
) -> Result<()> {
    register_font();
    let range = |pick: fn(&(f64, f64, usize)) -> f64| {
        let mut values: Vec<f64> = points.iter().map(pick).filter(|v| v.is_finite()).collect();
        values.sort_by(f64::total_cmp);
        let at = |q: f64| {
            values
                .get(((values.len() as f64 - 1.0) * q) as usize)
                .copied()
        };
        let (low, high) = (at(0.005).unwrap_or(-1.0), at(0.995).unwrap_or(1.0));
        let pad = 0.05 * (high - low).max(1e-6);
        (low - pad)..(high + pad)
    };
    let (x_range, y_range) = (range(|p| p.0), range(|p| p.1));
    let (width, height) = (chart.width, chart.height);
    let mut buffer = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut plot = ChartBuilder::on(&root)
            .caption(chart.title, (FONT, 20).into_font().style(FontStyle::Bold))
            .margin(14)
            .x_label_area_size(44)
            .y_label_area_size(52)
            .build_cartesian_2d(x_range.clone(), y_range.clone())?;
        plot.configure_mesh()
            .x_desc(chart.x_label)
            .y_desc(chart.y_label)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 16))
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215))
            .x_label_formatter(&|x| format!("{x:.1}"))
            .y_label_formatter(&|y| format!("{y:.1}"))
            .draw()?;
        // In the points' own order, so that no class is always drawn on top of the others;
        // opaque and square, so the PNG keeps few colours and stays small.
        let dots = points
            .iter()
            .filter(|p| p.2 < classes.len().min(CLASS_COLOURS.len()))
            .filter(|p| x_range.contains(&p.0) && y_range.contains(&p.1))
            .map(|p| {
                // A crisp 4 x 4 square: no anti-aliased edge colours to encode.
                EmptyElement::at((p.0, p.1))
                    + Rectangle::new([(-2, -2), (2, 2)], CLASS_COLOURS[p.2].filled())
            });
        plot.draw_series(dots)?;
        for (class, name) in classes.iter().enumerate().take(CLASS_COLOURS.len()) {
            let color = CLASS_COLOURS[class];
            plot.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x + 3, y - 5), (x + 13, y + 5)], color.filled())
                });
        }
        plot.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(160, 160, 160))
            .label_font((FONT, 15))
            .margin(10)
            .draw()?;
        root.present()?;
    }
    save_png(path, buffer, width, height)
}

/// Encodes an RGB buffer as a PNG at `path` (best compression: the charts are flat colours),
/// creating its folder.
fn save_png(path: &Path, buffer: Vec<u8>, width: u32, height: u32) -> Result<()> {
    use image::ImageEncoder;
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};

    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    }
    let cannot_write =
        |e: &dyn std::fmt::Display| format!("cannot write `{}`: {e}", path.display());
    let file = std::fs::File::create(path).map_err(|e| cannot_write(&e))?;
    PngEncoder::new_with_quality(
        std::io::BufWriter::new(file),
        CompressionType::Best,
        FilterType::Adaptive,
    )
    .write_image(&buffer, width, height, image::ExtendedColorType::Rgb8)
    .map_err(|e| cannot_write(&e))?;
    Ok(())
}
