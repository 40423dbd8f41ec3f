//! The report: rows of medians, min–max and ratios, printed as a Markdown table.

use controlroom_bench::summarize;

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    name: String,
    median: String,
    range: String,
    extra: String,
    ratio: Option<f64>,
    note: String,
}

fn f(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

impl Row {
    /// Throughput samples in MB/s.
    pub fn rate(name: &str, samples: &[f64], ratio: Option<f64>) -> Row {
        let s = summarize(samples);
        Row {
            name: name.into(),
            median: format!("{} MB/s", f(s.median)),
            range: format!("{}–{}", f(s.min), f(s.max)),
            extra: format!("n={}", s.n),
            ratio,
            note: String::new(),
        }
    }

    /// Latency samples in ms.
    pub fn latency(name: &str, samples: &[f64], ratio: Option<f64>) -> Row {
        let s = summarize(samples);
        Row {
            name: name.into(),
            median: format!("{} ms", f(s.median)),
            range: format!("{}–{}", f(s.min), f(s.max)),
            extra: format!("p99 {} ms, n={}", f(s.p99), s.n),
            ratio,
            note: String::new(),
        }
    }

    /// Repeated measurements of a quantity in `unit`.
    pub fn samples(name: &str, samples: &[f64], unit: &str, ratio: Option<f64>) -> Row {
        let s = summarize(samples);
        Row {
            name: name.into(),
            median: format!("{} {unit}", f(s.median)),
            range: format!("{}–{}", f(s.min), f(s.max)),
            extra: format!("n={}", s.n),
            ratio,
            note: String::new(),
        }
    }

    /// A single measured value.
    pub fn value(name: &str, v: f64, unit: &str) -> Row {
        Row {
            name: name.into(),
            median: format!("{} {unit}", f(v)),
            range: String::new(),
            extra: String::new(),
            ratio: None,
            note: String::new(),
        }
    }

    /// Adds a note.
    pub fn with_note(mut self, note: String) -> Row {
        self.note = note;
        self
    }
}

/// Rows and notes of a run.
#[derive(Debug, Default)]
pub struct Report {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Report {
    /// Adds a row and prints it at once (long runs show progress).
    pub fn row(&mut self, row: Row) {
        eprintln!("  {}: {} ({}) {}", row.name, row.median, row.range, row.extra);
        self.rows.push(row);
    }

    /// Adds a note under the table.
    pub fn note(&mut self, note: &str) {
        if !self.notes.iter().any(|n| n == note) {
            self.notes.push(note.into());
        }
    }

    /// The Markdown table and notes.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| measurement | median | min–max | more | ratio | note |\n|---|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            let ratio = r.ratio.map(|v| format!("{v:.2}×")).unwrap_or_default();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                r.name, r.median, r.range, r.extra, ratio, r.note
            ));
        }
        for n in &self.notes {
            out.push_str(&format!("\n- {n}"));
        }
        out.push('\n');
        out
    }
}
