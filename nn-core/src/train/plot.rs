//! PNG charts (the `plots` feature): a training [`History`]'s curves, a
//! [`ConfusionMatrix`], and the line charts they are made of. Drawn with `plotters` into an RGB
//! buffer and encoded with `image`, in the embedded DejaVu Sans font, so that no system font
//! is needed.

use std::format;
use std::path::Path;
use std::string::{String, ToString};
use std::sync::Once;
use std::vec;
use std::vec::Vec;

pub use plotters::chart::SeriesLabelPosition;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{ConfusionMatrix, History};

/// Why a chart could not be drawn or written.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlotError(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(error: DrawingAreaErrorKind<E>) -> Self {
        Self(format!("cannot draw the chart: {error}"))
    }
}

type Result<T, E = PlotError> = core::result::Result<T, E>;

/// The font family every chart here uses: DejaVu Sans from the `dejavu` crate, registered by
/// [`register_font`]. A chart of your own drawn with plotters can use it too.
pub const FONT: &str = "sans-serif";

/// A qualitative palette (Tableau 10), distinct in print and for most colour
/// vision deficiencies when paired with the line styles the charts use.
pub const PALETTE: [RGBColor; 10] = [
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

/// One curve of a line chart: a legend label, its points and its colour.
pub struct Series {
    /// The legend label.
    pub label: String,
    /// The points, in x order; drawing stops at the first non-finite one.
    pub points: Vec<(f64, f64)>,
    /// The colour.
    pub color: RGBColor,
    /// Drawn dashed rather than solid.
    pub dashed: bool,
}

/// How a line chart is labelled and scaled.
pub struct LineChart<'a> {
    /// The title above the chart.
    pub title: &'a str,
    /// The x axis' label.
    pub x_label: &'a str,
    /// The y axis' label.
    pub y_label: &'a str,
    /// The top of the y axis; points above it are drawn at it. `None` fits the data.
    pub y_max: Option<f64>,
    /// Where the legend goes, out of the curves' way.
    pub legend: SeriesLabelPosition,
    /// The image's width in pixels.
    pub width: u32,
    /// The image's height in pixels.
    pub height: u32,
}

/// Registers DejaVu Sans (regular and bold) as [`FONT`] with plotters, once per process, so that
/// text needs no system font.
pub fn register_font() {
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
///
/// # Errors
/// [`PlotError`] when drawing fails or the file cannot be written.
pub fn line_chart(path: &Path, chart: &LineChart<'_>, series: &[Series]) -> Result<()> {
    register_font();
    let (width, height) = (chart.width, chart.height);
    let mut buffer = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        draw_line_chart(&root, chart, series)?;
        root.present()?;
    }
    save_png(path, buffer, width, height)
}

/// Draws a line chart of `series` on `area` (the chart's own size is not used).
fn draw_line_chart(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    chart: &LineChart<'_>,
    series: &[Series],
) -> Result<()> {
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

    let mut plot = ChartBuilder::on(area)
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
    Ok(())
}

/// Writes a confusion matrix (see [`ConfusionMatrix::write_png`]) to `path` as a PNG: row `i`, column `j` holds how many samples of
/// class `i` were predicted as `j`, shaded by the fraction of row `i` it holds (so that rows of
/// different sizes compare), with the count printed in the cell and each row's recall at its
/// right.
///
/// # Errors
/// [`PlotError`] when drawing fails or the file cannot be written.
pub fn confusion_matrix_png(
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

/// How a pixel buffer given to [`write_png`] is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pixels {
    /// One byte per pixel, 0 black to 255 white.
    Grey,
    /// Three bytes per pixel: red, green, blue.
    Rgb,
}

impl Pixels {
    fn bytes(self) -> usize {
        match self {
            Pixels::Grey => 1,
            Pixels::Rgb => 3,
        }
    }
}

/// Writes a `width × height` picture, row-major, as a PNG at `path`, `scale` times larger with
/// each pixel a crisp `scale × scale` square (nearest neighbour), at high compression; makes
/// the folder. For pictures of digits, feature maps and the like, where every pixel counts.
///
/// # Errors
/// [`PlotError`] when `pixels` does not hold `width × height` pixels or the file cannot be
/// written.
///
/// ```no_run
/// use nn_core::train::plot::{Pixels, write_png};
/// // A 2 × 2 checkerboard, 64 times larger.
/// write_png("target/checkers.png", &[0, 255, 255, 0], 2, 2, Pixels::Grey, 64)?;
/// # Ok::<(), nn_core::train::plot::PlotError>(())
/// ```
pub fn write_png(
    path: impl AsRef<Path>,
    pixels: &[u8],
    width: u32,
    height: u32,
    layout: Pixels,
    scale: u32,
) -> Result<()> {
    let path = path.as_ref();
    let (w, h, per) = (width as usize, height as usize, layout.bytes());
    if pixels.len() != w * h * per {
        return Err(PlotError(format!(
            "cannot write `{}`: {} bytes are not {width} x {height} pixels of {per} bytes",
            path.display(),
            pixels.len()
        )));
    }
    let scale = scale.max(1) as usize;
    let big: Vec<u8> = if scale == 1 {
        pixels.to_vec()
    } else {
        let mut big = Vec::with_capacity(pixels.len() * scale * scale);
        for row in pixels.chunks_exact(w * per) {
            let mut wide = Vec::with_capacity(row.len() * scale);
            for pixel in row.chunks_exact(per) {
                for _ in 0..scale {
                    wide.extend_from_slice(pixel);
                }
            }
            for _ in 0..scale {
                big.extend_from_slice(&wide);
            }
        }
        big
    };
    let scale = scale as u32;
    encode_png(path, &big, width * scale, height * scale, layout)
}

/// Encodes a pixel buffer as a PNG at `path` (high compression: charts and pictures here are
/// flat colours), creating its folder.
fn encode_png(path: &Path, buffer: &[u8], width: u32, height: u32, layout: Pixels) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| PlotError(format!("cannot create `{}`: {e}", dir.display())))?;
    }
    let cannot_write =
        |e: &dyn core::fmt::Display| PlotError(format!("cannot write `{}`: {e}", path.display()));
    let file = std::fs::File::create(path).map_err(|e| cannot_write(&e))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(match layout {
        Pixels::Grey => png::ColorType::Grayscale,
        Pixels::Rgb => png::ColorType::Rgb,
    });
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().map_err(|e| cannot_write(&e))?;
    writer
        .write_image_data(buffer)
        .map_err(|e| cannot_write(&e))?;
    writer.finish().map_err(|e| cannot_write(&e))?;
    Ok(())
}

/// Encodes a chart's RGB buffer as a PNG at `path`.
fn save_png(path: &Path, buffer: Vec<u8>, width: u32, height: u32) -> Result<()> {
    encode_png(path, &buffer, width, height, Pixels::Rgb)
}

impl History {
    /// Writes the loss curves (training and, with validation data, `val_loss`) and, when the
    /// run had metrics, the first metric's curves, side by side, to `path` as a PNG (the
    /// `plots` feature).
    ///
    /// # Errors
    /// [`PlotError`] when drawing fails or the file cannot be written.
    pub fn write_png(&self, path: impl AsRef<Path>, title: &str) -> Result<()> {
        let path = path.as_ref();
        let curves = |name: &str| -> Vec<Series> {
            let mut series = Vec::new();
            for (i, key) in [name.to_string(), format!("val_{name}")]
                .into_iter()
                .enumerate()
            {
                let points: Vec<(f64, f64)> = self
                    .epochs
                    .iter()
                    .filter_map(|log| log.get(&key).map(|v| (log.epoch as f64, v)))
                    .collect();
                if !points.is_empty() {
                    let label = if i == 0 {
                        format!("training {name}")
                    } else {
                        format!("validation {name}")
                    };
                    series.push(Series {
                        label,
                        points,
                        color: PALETTE[i],
                        dashed: i == 1,
                    });
                }
            }
            series
        };
        let metric = self
            .epochs
            .first()
            .and_then(|log| log.metrics.first().map(|(name, _)| name.clone()));
        let loss_chart = LineChart {
            title,
            x_label: "epoch",
            y_label: "loss",
            y_max: None,
            legend: SeriesLabelPosition::UpperRight,
            width: 640,
            height: 420,
        };
        let Some(metric) = metric else {
            return line_chart(path, &loss_chart, &curves("loss"));
        };
        let metric_chart = LineChart {
            title: &metric,
            y_label: &metric,
            legend: SeriesLabelPosition::LowerRight,
            ..loss_chart
        };
        register_font();
        let (width, height) = (2 * loss_chart.width, loss_chart.height);
        let mut buffer = vec![255u8; width as usize * height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
            root.fill(&WHITE)?;
            let (left, right) = root.split_horizontally(loss_chart.width);
            draw_line_chart(&left, &loss_chart, &curves("loss"))?;
            draw_line_chart(&right, &metric_chart, &curves(&metric))?;
            root.present()?;
        }
        save_png(path, buffer, width, height)
    }
}

impl ConfusionMatrix {
    /// Writes the matrix to `path` as a PNG (the `plots` feature): row `i`, column `j` is how
    /// many samples of class `i` were predicted as `j`, shaded by the share of row `i`, with
    /// each row's recall at its right. `class_names` labels the rows and columns (the class
    /// numbers when empty).
    ///
    /// # Errors
    /// [`PlotError`] when drawing fails or the file cannot be written.
    pub fn write_png(
        &self,
        path: impl AsRef<Path>,
        title: &str,
        class_names: &[&str],
    ) -> Result<()> {
        let numbers: Vec<String> = (0..self.classes()).map(|c| c.to_string()).collect();
        let names: Vec<&str> = if class_names.len() == self.classes() {
            class_names.to_vec()
        } else {
            numbers.iter().map(String::as_str).collect()
        };
        confusion_matrix_png(path.as_ref(), title, &names, self.counts())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::EpochLog;

    fn history() -> History {
        let log = |epoch: usize| EpochLog {
            epoch,
            loss: 1.0 / epoch as f64,
            metrics: vec![("accuracy".into(), 1.0 - 0.5 / epoch as f64)],
            val_loss: Some(1.2 / epoch as f64),
            val_metrics: vec![("accuracy".into(), 1.0 - 0.6 / epoch as f64)],
            learning_rate: 1e-3,
            steps: 10,
            samples: 640,
            seconds: 0.5,
        };
        History {
            epochs: (1..=5).map(log).collect(),
            stopped_early_after: None,
        }
    }

    /// The decoded image's size, and how many of its pixels are not white.
    fn inked(path: &Path) -> (u32, u32, usize) {
        let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
        let mut reader = png::Decoder::new(file).read_info().expect("a PNG");
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).expect("one frame");
        assert_eq!(info.color_type, png::ColorType::Rgb);
        let ink = pixels[..info.buffer_size()]
            .chunks_exact(3)
            .filter(|p| p != &[255, 255, 255])
            .count();
        (info.width, info.height, ink)
    }

    #[test]
    fn history_and_confusion_pngs_are_drawn() {
        let dir = std::env::temp_dir().join(format!("nn-plot-test-{}", std::process::id()));
        let curves = dir.join("history.png");
        history().write_png(&curves, "test run").unwrap();
        let (width, height, ink) = inked(&curves);
        // Two charts side by side, with axes, curves and text on them.
        assert_eq!((width, height), (1280, 420));
        assert!(ink > 5_000, "{ink} inked pixels");

        let outputs = [2.0, 0.0, 0.0, 1.0, 3.0, 1.0];
        let matrix = ConfusionMatrix::from_outputs(2, &outputs, &[0, 1, 1]).unwrap();
        let grid = dir.join("confusion.png");
        matrix.write_png(&grid, "test", &["zero", "one"]).unwrap();
        let (_, _, ink) = inked(&grid);
        assert!(ink > 1_000, "{ink} inked pixels");

        // An unwritable path is an error, not a panic.
        let blocked = curves.join("inside-a-file.png");
        assert!(history().write_png(&blocked, "x").is_err());
        // NN_KEEP_PLOTS=1 keeps the pictures, to look at them.
        if std::env::var_os("NN_KEEP_PLOTS").is_none() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
