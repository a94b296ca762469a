//! A scatter of labelled points as a PNG (the VAE's latent means, coloured by digit), drawn with
//! `plotters` into an RGB buffer and encoded as PNG by `nn::train::plot`, in its embedded DejaVu
//! Sans font so that no system font is needed.

use std::error::Error;
use std::path::Path;

use nn::train::plot::{FONT, PALETTE, Pixels, register_font, write_png};
use plotters::prelude::*;
use plotters::style::FontStyle;

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

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
            .filter(|p| p.2 < classes.len().min(PALETTE.len()))
            .filter(|p| x_range.contains(&p.0) && y_range.contains(&p.1))
            .map(|p| {
                // A crisp 4 x 4 square: no anti-aliased edge colours to encode.
                EmptyElement::at((p.0, p.1))
                    + Rectangle::new([(-2, -2), (2, 2)], PALETTE[p.2].filled())
            });
        plot.draw_series(dots)?;
        for (class, name) in classes.iter().enumerate().take(PALETTE.len()) {
            let color = PALETTE[class];
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
    Ok(write_png(path, &buffer, width, height, Pixels::Rgb, 1)?)
}
