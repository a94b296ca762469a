//! How `fit` shows progress: a progress bar on a terminal (with the `progress` feature), plain
//! lines otherwise.

use std::time::Instant;

use super::EpochLog;
use super::metric::BoxedMetric;
use crate::data::Targets;

/// How [`Fit`](super::Fit) shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// A bar when stderr is a terminal and the `progress` feature is on, else [`Progress::Lines`].
    #[default]
    Auto,
    /// A bar per epoch on stderr with the running loss, throughput and ETA (needs the
    /// `progress` feature; without it, lines), then the epoch's line.
    Bar,
    /// One line per epoch on stdout: its loss and metrics, time and throughput.
    Lines,
    /// Nothing.
    Silent,
}

/// Draws the progress of one `fit` run.
pub(crate) struct Reporter {
    lines: bool,
    #[cfg(feature = "progress")]
    bar: Option<indicatif::ProgressBar>,
    #[cfg(feature = "progress")]
    use_bar: bool,
}

impl Reporter {
    pub(crate) fn new(progress: Progress) -> Self {
        #[cfg(feature = "progress")]
        let use_bar = match progress {
            Progress::Bar => true,
            Progress::Auto => std::io::IsTerminal::is_terminal(&std::io::stderr()),
            Progress::Lines | Progress::Silent => false,
        };
        Self {
            lines: progress != Progress::Silent,
            #[cfg(feature = "progress")]
            bar: None,
            #[cfg(feature = "progress")]
            use_bar,
        }
    }

    pub(crate) fn begin_epoch(&mut self, epoch: usize, epochs: usize, steps: usize) {
        #[cfg(feature = "progress")]
        if self.use_bar {
            let style = indicatif::ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len}  {msg}  eta {eta}",
            )
            .map(|style| style.progress_chars("=> "))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            self.bar = Some(
                indicatif::ProgressBar::new(steps as u64)
                    .with_style(style)
                    .with_prefix(std::format!("epoch {epoch}/{epochs}")),
            );
        }
        let _ = (epoch, epochs, steps);
    }

    /// After each step: redraws the bar every 16 steps (drawing is not free) with the running
    /// loss, the metrics so far and the throughput.
    pub(crate) fn step<T: Targets>(
        &mut self,
        step: usize,
        mean_loss: f64,
        samples: usize,
        start: Instant,
        metrics: &[BoxedMetric<'_, T>],
    ) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar
            && step.is_multiple_of(16)
        {
            use core::fmt::Write as _;
            let rate = samples as f64 / start.elapsed().as_secs_f64().max(1e-9);
            let mut message = std::format!("loss {mean_loss:.4}");
            for metric in metrics {
                let _ = write!(message, "  {} {:.4}", metric.name(), metric.value());
            }
            let _ = write!(message, "  {:.1}k samples/s", rate / 1e3);
            bar.set_position(step as u64);
            bar.set_message(message);
        }
        let _ = (step, mean_loss, samples, start, metrics);
    }

    pub(crate) fn end_epoch(&mut self, log: &EpochLog, epochs: usize) {
        #[cfg(feature = "progress")]
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.lines {
            std::println!("{}", epoch_line(log, epochs));
        }
    }
}

/// `epoch 3/10: loss 0.1234  accuracy 0.9650  val_loss ...  1.02 s  58.7k samples/s`.
pub(crate) fn epoch_line(log: &EpochLog, epochs: usize) -> std::string::String {
    use core::fmt::Write as _;
    let mut line = std::format!("epoch {}/{epochs}:", log.epoch);
    for (name, value) in log.columns() {
        let _ = write!(line, " {name} {value:.4} ");
    }
    let rate = log.samples as f64 / log.seconds.max(1e-9);
    let _ = write!(line, " {:.2} s  {:.1}k samples/s", log.seconds, rate / 1e3);
    line
}
