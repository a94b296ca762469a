//! The record of a training run: one [`EpochLog`] per epoch, exportable to CSV and JSON.

use core::fmt::Write as _;
use std::path::Path;
use std::string::String;
use std::vec::Vec;

/// What one epoch measured.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochLog {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The mean training loss over the epoch's samples.
    pub loss: f64,
    /// The training metrics, `(name, value)`, in the order they were added.
    pub metrics: Vec<(String, f64)>,
    /// The validation loss, when there is validation data.
    pub val_loss: Option<f64>,
    /// The validation metrics, `(name, value)` (names without the `val_` prefix).
    pub val_metrics: Vec<(String, f64)>,
    /// The learning rate the epoch trained with.
    pub learning_rate: f32,
    /// Training steps taken in the epoch.
    pub steps: usize,
    /// Samples trained on in the epoch.
    pub samples: usize,
    /// Wall time of the epoch's training steps, in seconds (validation not included).
    pub seconds: f64,
}

impl EpochLog {
    /// The value logged under `name`: `loss`, `val_loss`, a metric (`accuracy`) or a
    /// validation metric (`val_accuracy`), `learning_rate`, `seconds`.
    ///
    /// ```
    /// use nn_core::train::EpochLog;
    /// let log = EpochLog {
    ///     epoch: 1, loss: 0.5, metrics: vec![("accuracy".into(), 0.9)], val_loss: Some(0.6),
    ///     val_metrics: vec![("accuracy".into(), 0.8)], learning_rate: 1e-3, steps: 10,
    ///     samples: 640, seconds: 1.0,
    /// };
    /// assert_eq!(log.get("val_accuracy"), Some(0.8));
    /// assert_eq!(log.get("val_loss"), Some(0.6));
    /// assert_eq!(log.get("top_5"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<f64> {
        let find = |list: &[(String, f64)], name: &str| {
            list.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
        };
        match name {
            "loss" => Some(self.loss),
            "val_loss" => self.val_loss,
            "learning_rate" => Some(f64::from(self.learning_rate)),
            "seconds" => Some(self.seconds),
            _ => match name.strip_prefix("val_") {
                Some(metric) => find(&self.val_metrics, metric),
                None => find(&self.metrics, name),
            },
        }
    }

    /// Every logged name and value, in column order: `loss`, the metrics, `val_loss`, the
    /// validation metrics.
    pub fn columns(&self) -> Vec<(String, f64)> {
        let mut columns = std::vec![(String::from("loss"), self.loss)];
        columns.extend(self.metrics.iter().cloned());
        if let Some(val_loss) = self.val_loss {
            columns.push(("val_loss".into(), val_loss));
        }
        columns.extend(
            self.val_metrics
                .iter()
                .map(|(name, value)| (std::format!("val_{name}"), *value)),
        );
        columns
    }
}

/// Per-epoch losses and metrics of a `fit` run, as Keras's `History`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// One entry per epoch trained, in order.
    pub epochs: Vec<EpochLog>,
    /// The epoch an early stop or a callback ended training after, if one did.
    pub stopped_early_after: Option<usize>,
}

impl History {
    /// The values logged under `name` (see [`EpochLog::get`]), one per epoch that has it.
    pub fn series(&self, name: &str) -> Vec<f64> {
        self.epochs.iter().filter_map(|log| log.get(name)).collect()
    }

    /// The last epoch's log.
    pub fn last(&self) -> Option<&EpochLog> {
        self.epochs.last()
    }

    /// CSV with a header row: `epoch`, the logged columns, `learning_rate`, `seconds`.
    ///
    /// ```
    /// use nn_core::train::{EpochLog, History};
    /// let log = |epoch, loss| EpochLog {
    ///     epoch, loss, metrics: vec![("accuracy".into(), 0.5)], val_loss: None,
    ///     val_metrics: vec![], learning_rate: 0.01, steps: 1, samples: 8, seconds: 0.25,
    /// };
    /// let history = History { epochs: vec![log(1, 0.75), log(2, 0.5)], stopped_early_after: None };
    /// assert_eq!(
    ///     history.to_csv(),
    ///     "epoch,loss,accuracy,learning_rate,seconds\n1,0.75,0.5,0.01,0.25\n2,0.5,0.5,0.01,0.25\n"
    /// );
    /// ```
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let Some(first) = self.epochs.first() else {
            return out;
        };
        let names: Vec<String> = first.columns().into_iter().map(|(n, _)| n).collect();
        out.push_str("epoch");
        for name in &names {
            let _ = write!(out, ",{name}");
        }
        out.push_str(",learning_rate,seconds\n");
        for log in &self.epochs {
            let _ = write!(out, "{}", log.epoch);
            for name in &names {
                match log.get(name) {
                    Some(value) => {
                        let _ = write!(out, ",{value}");
                    }
                    None => out.push(','),
                }
            }
            let _ = writeln!(out, ",{},{}", log.learning_rate, log.seconds);
        }
        out
    }

    /// JSON, as Keras's `history.history`: an object of arrays, one per logged name, plus
    /// `epoch`; a non-finite value is written as `null` (JSON has no NaN).
    ///
    /// ```
    /// use nn_core::train::{EpochLog, History};
    /// let log = EpochLog {
    ///     epoch: 1, loss: f64::NAN, metrics: vec![], val_loss: Some(0.5), val_metrics: vec![],
    ///     learning_rate: 0.5, steps: 1, samples: 8, seconds: 2.0,
    /// };
    /// let history = History { epochs: vec![log], stopped_early_after: None };
    /// assert_eq!(
    ///     history.to_json(),
    ///     r#"{"epoch":[1],"loss":[null],"val_loss":[0.5],"learning_rate":[0.5],"seconds":[2]}"#
    /// );
    /// ```
    pub fn to_json(&self) -> String {
        let number = |value: f64| {
            if value.is_finite() {
                std::format!("{value}")
            } else {
                String::from("null")
            }
        };
        let mut names: Vec<String> = self
            .epochs
            .first()
            .map(|log| log.columns().into_iter().map(|(n, _)| n).collect())
            .unwrap_or_default();
        names.push("learning_rate".into());
        names.push("seconds".into());
        let mut out = String::from("{\"epoch\":[");
        let epochs: Vec<String> = self.epochs.iter().map(|l| l.epoch.to_string()).collect();
        out.push_str(&epochs.join(","));
        out.push(']');
        for name in &names {
            let values: Vec<String> = self
                .epochs
                .iter()
                .map(|log| match name.as_str() {
                    // As the f32 it is, so that 0.001 does not print as 0.0010000000474974513.
                    "learning_rate" if log.learning_rate.is_finite() => {
                        std::format!("{}", log.learning_rate)
                    }
                    _ => log.get(name).map_or_else(|| "null".into(), number),
                })
                .collect();
            let _ = write!(out, ",{}:[{}]", json_string(name), values.join(","));
        }
        out.push('}');
        out
    }

    /// Writes [`History::to_csv`] to `path`.
    ///
    /// # Errors
    /// The I/O error of writing the file.
    pub fn write_csv(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.to_csv())
    }

    /// Writes [`History::to_json`] to `path`.
    ///
    /// # Errors
    /// The I/O error of writing the file.
    pub fn write_json(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.to_json())
    }
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

use std::string::ToString as _;
