//! PNG charts for the sequence examples: log-log panels of measurements against sequence length
//! (`examples/relu_vs_tanh.rs`) and a forecast against the truth over time
//! (`examples/forecast.rs`). Drawn with `plotters` into an RGB buffer and encoded as PNG by
//! `nn::train::plot`, in its embedded DejaVu Sans font, so that no system font is needed.

use std::error::Error;
use std::path::Path;

use nn::train::plot::{FONT, Pixels, register_font, write_png};
use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;
use plotters::style::FontStyle;
use plotters::style::text_anchor::{HPos, Pos, VPos};

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// Tableau 10's first colours: distinct in print and for most colour vision deficiencies when
/// paired with the line styles below.
pub const BLUE: RGBColor = RGBColor(31, 119, 180);
pub const ORANGE: RGBColor = RGBColor(255, 127, 14);
pub const GREEN: RGBColor = RGBColor(44, 160, 44);
pub const RED: RGBColor = RGBColor(214, 39, 40);
pub const GREY: RGBColor = RGBColor(150, 150, 150);

/// How a curve is drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A solid line.
    Line,
    /// A dashed line.
    Dashed,
    /// A solid line with a dot at every point.
    LineDots,
    /// A dashed line with a hollow circle at every point.
    DashedCircles,
    /// Dots only.
    Dots,
}

/// One curve: a legend label, its points and how it is drawn.
pub struct Curve {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    pub style: Style,
    /// Line width in pixels.
    pub width: u32,
}

/// A text placed at a data point of a panel: drawn just above it, ending at its left (so that a
/// note on the last point of a curve stays inside the panel).
pub struct Note {
    pub at: (f64, f64),
    pub text: String,
    pub color: RGBColor,
}

/// One panel of a chart.
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub curves: Vec<Curve>,
    pub notes: Vec<Note>,
}

/// A log axis' tick label: only the `mantissas` times a power of ten are labelled (`[1, 2, 5]`
/// gives `10`, `20`, `50`, `100`, ...; the other grid lines stay unlabelled, so that labels do not
/// run together), and powers of ten outside 0.1–1000 as `1e4`.
fn log_tick(x: f64, mantissas: &[f64]) -> String {
    if x <= 0.0 || !x.is_finite() {
        return String::new();
    }
    let exponent = x.log10().floor();
    let mantissa = x / 10f64.powf(exponent);
    if !mantissas
        .iter()
        .any(|m| (mantissa - m).abs() < 1e-6 || (mantissa - 10.0 * m).abs() < 1e-6)
    {
        return String::new();
    }
    let exponent = x.log10().round();
    if (x.log10() - exponent).abs() < 1e-9 && !(-1.0..=3.0).contains(&exponent) {
        format!("1e{exponent:.0}")
    } else if x >= 1.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

/// Writes side-by-side panels with logarithmic x and y axes to `path` as a PNG. Points that
/// are not positive and finite cannot be drawn on a log axis and are left out; each panel's
/// y range spans its data (rounded out to powers of ten), its x range `x_range`.
pub fn log_log_panels(
    path: &Path,
    title: &str,
    panels: &[Panel],
    x_range: (f64, f64),
    (width, height): (u32, u32),
) -> Result<()> {
    register_font();
    let mut buffer = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(title, (FONT, 22).into_font().style(FontStyle::Bold))?;
        let areas = root.split_evenly((1, panels.len().max(1)));
        for (panel, area) in panels.iter().zip(&areas) {
            let drawable = || {
                panel
                    .curves
                    .iter()
                    .flat_map(|c| c.points.iter())
                    .map(|p| p.1)
                    .filter(|y| y.is_finite() && *y > 0.0)
            };
            let low = drawable().fold(f64::INFINITY, f64::min);
            let high = drawable().fold(0.0, f64::max);
            let (low, high) = if low.is_finite() && high > 0.0 {
                (
                    10f64.powf(low.log10().floor()),
                    10f64.powf(high.log10().ceil()),
                )
            } else {
                (0.1, 10.0)
            };
            let high = if high <= low { low * 10.0 } else { high };
            // Over more than three decades only the powers of ten are labelled.
            let y_mantissas: &[f64] = if high / low > 1e3 {
                &[1.0]
            } else {
                &[1.0, 2.0, 5.0]
            };
            let mut chart = ChartBuilder::on(area)
                .caption(&panel.title, (FONT, 18))
                .margin(14)
                .x_label_area_size(46)
                .y_label_area_size(62)
                .build_cartesian_2d((x_range.0..x_range.1).log_scale(), (low..high).log_scale())?;
            chart
                .configure_mesh()
                .x_desc(panel.x_label.as_str())
                .y_desc(panel.y_label.as_str())
                .label_style((FONT, 15))
                .axis_desc_style((FONT, 16))
                .light_line_style(RGBColor(238, 238, 238))
                .bold_line_style(RGBColor(210, 210, 210))
                .x_label_formatter(&|x| log_tick(*x, &[1.0, 2.0, 5.0]))
                .y_label_formatter(&|y| log_tick(*y, y_mantissas))
                .draw()?;
            let positive =
                |(x, y): &(f64, f64)| x.is_finite() && y.is_finite() && *x > 0.0 && *y > 0.0;
            draw_curves(&mut chart, &panel.curves, positive)?;
            draw_notes(&mut chart, &panel.notes)?;
            legend(&mut chart)?;
        }
        root.present()?;
    }
    Ok(write_png(path, &buffer, width, height, Pixels::Rgb, 1)?)
}

/// Writes one panel with linear axes to `path` as a PNG: `x_range` by the data's y range, with a
/// margin of 5 % below and room for the legend (in the upper left) above. Non-finite points are
/// left out.
pub fn line_panel(
    path: &Path,
    panel: &Panel,
    x_range: (f64, f64),
    (width, height): (u32, u32),
) -> Result<()> {
    register_font();
    let mut buffer = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let ys = || {
            panel
                .curves
                .iter()
                .flat_map(|c| c.points.iter())
                .map(|p| p.1)
                .filter(|y| y.is_finite())
        };
        let low = ys().fold(f64::INFINITY, f64::min);
        let high = ys().fold(f64::NEG_INFINITY, f64::max);
        let (low, high) = if low < high { (low, high) } else { (-1.0, 1.0) };
        let pad = 0.05 * (high - low);
        let legend_room = 0.12 * (panel.curves.len() as f64) * (high - low);
        let mut chart = ChartBuilder::on(&root)
            .caption(&panel.title, (FONT, 21).into_font().style(FontStyle::Bold))
            .margin(16)
            .x_label_area_size(46)
            .y_label_area_size(58)
            .build_cartesian_2d(x_range.0..x_range.1, (low - pad)..(high + legend_room))?;
        chart
            .configure_mesh()
            .x_desc(panel.x_label.as_str())
            .y_desc(panel.y_label.as_str())
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 16))
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(212, 212, 212))
            .x_labels(10)
            .y_labels(8)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.1}"))
            .draw()?;
        let finite = |(x, y): &(f64, f64)| x.is_finite() && y.is_finite();
        draw_curves(&mut chart, &panel.curves, finite)?;
        draw_notes(&mut chart, &panel.notes)?;
        legend(&mut chart)?;
        root.present()?;
    }
    Ok(write_png(path, &buffer, width, height, Pixels::Rgb, 1)?)
}

type Chart<'a, X, Y> = ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>;

fn draw_curves<X, Y>(
    chart: &mut Chart<'_, X, Y>,
    curves: &[Curve],
    drawable: impl Fn(&(f64, f64)) -> bool,
) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for curve in curves {
        let points: Vec<(f64, f64)> = curve.points.iter().copied().filter(&drawable).collect();
        let color = curve.color;
        let line = color.stroke_width(curve.width);
        // The marks first, so that the labelled series is the last one drawn for the curve.
        let mark = match curve.style {
            Style::LineDots => Some(color.filled()),
            Style::DashedCircles => Some(color.stroke_width(2)),
            _ => None,
        };
        if let Some(mark) = mark {
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 5, mark)))?;
        }
        let anno = match curve.style {
            Style::Line | Style::LineDots => {
                chart.draw_series(LineSeries::new(points.iter().copied(), line))?
            }
            Style::Dashed | Style::DashedCircles => {
                chart.draw_series(DashedLineSeries::new(points.iter().copied(), 7, 5, line))?
            }
            Style::Dots => chart.draw_series(
                points
                    .iter()
                    .map(|&p| Circle::new(p, curve.width.max(2), color.filled())),
            )?,
        };
        let style = curve.style;
        anno.label(curve.label.as_str()).legend(move |(x, y)| {
            // A 24-pixel sample of the curve: two dashes when dashed, a dot or circle on it.
            let gap = if matches!(style, Style::Dashed | Style::DashedCircles) {
                6
            } else {
                0
            };
            let stroke = if style == Style::Dots {
                TRANSPARENT.stroke_width(0)
            } else {
                color.stroke_width(3)
            };
            let mark = match style {
                Style::LineDots | Style::Dots => color.filled(),
                Style::DashedCircles => color.stroke_width(2),
                _ => TRANSPARENT.filled(),
            };
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (9, 0)], stroke)
                + PathElement::new(vec![(9 + gap, 0), (24, 0)], stroke)
                + Circle::new((12, 0), 4, mark)
        });
    }
    Ok(())
}

fn draw_notes<X, Y>(chart: &mut Chart<'_, X, Y>, notes: &[Note]) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for note in notes {
        let text = Text::new(
            note.text.clone(),
            (-4, -9),
            (FONT, 14)
                .into_font()
                .color(&note.color)
                .pos(Pos::new(HPos::Right, VPos::Bottom)),
        );
        chart.draw_series(std::iter::once(EmptyElement::at(note.at) + text))?;
    }
    Ok(())
}

fn legend<X, Y>(chart: &mut Chart<'_, X, Y>) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.88))
        .border_style(RGBColor(160, 160, 160))
        .label_font((FONT, 15))
        .margin(10)
        .draw()?;
    Ok(())
}
