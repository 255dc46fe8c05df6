//! `tripline analyze`: offline analysis of log files (psad -A), feeding
//! every line through the core engine and building the report model.

use crate::cli::{AnalyzeArgs, Format};
use crate::input::{for_each_line, Input};
use crate::report::{self, Report};
use crate::settings;
use anyhow::{Context, Result};
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use tripline_core::engine::{Engine, LineOutcome};
use tripline_core::parse::JournalExport;
use tripline_core::{ParseError, ParseOptions, Timestamp};

/// A line that did not parse, kept for the report.
#[derive(Debug, Clone)]
pub struct Malformed {
    /// Input name.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// Why.
    pub error: ParseError,
    /// The line, truncated.
    pub text: String,
}

/// Line counters of one analysis.
#[derive(Debug, Clone, Default)]
pub struct LineTotals {
    /// Lines read.
    pub lines: u64,
    /// Lines that look like firewall lines (IN= ... OUT=).
    pub firewall_lines: u64,
    /// Firewall lines that did not parse.
    pub malformed: u64,
    /// Parsed lines filtered out by configuration.
    pub ignored: u64,
    /// Packets counted.
    pub accepted: u64,
}

/// Run the analysis and print the report.
pub fn run(args: &AnalyzeArgs) -> Result<i32> {
    let loaded = settings::load(&args.config)?;
    for w in &loaded.warnings {
        eprintln!("tripline: warning: {w}");
    }
    let config = Arc::new(loaded.config);
    let rules = Arc::new(loaded.rules);
    let mut engine = Engine::new(Arc::clone(&config), rules).context("invalid configuration")?;
    let format = args.format();
    let now = settings::wall_clock();
    let opts = ParseOptions {
        now,
        ..ParseOptions::default()
    };

    let inputs: Vec<Input> = args
        .files
        .iter()
        .map(|p| Input { path: p.clone() })
        .collect();
    let total_bytes: u64 = inputs.iter().filter_map(Input::len).sum();
    let progress = (!args.no_progress && std::io::stderr().is_terminal() && total_bytes > 32 << 20)
        .then(|| crate::progress::bar(total_bytes));

    let stdout = std::io::stdout();
    let csv = match format {
        Format::Csv => Some(report::csv::Writer::new(
            args.csv_fields.as_deref(),
            stdout.lock(),
        )?),
        _ => None,
    };
    let mut tally = Tally {
        totals: LineTotals::default(),
        malformed: Vec::new(),
        keep: args.show_malformed,
        csv,
    };
    let mut last_time = Timestamp(0);
    for input in &inputs {
        let name = input.display();
        let reader = input.open()?;
        let mut journal: Option<JournalExport> = None;
        let res = for_each_line(
            reader,
            |n| {
                if let Some(pb) = &progress {
                    pb.inc(n)
                }
            },
            |line_no, line| {
                tally.totals.lines += 1;
                // systemd's export format spreads one record over many lines.
                if line_no == 1 && line.starts_with("__CURSOR=") {
                    journal = Some(JournalExport::new());
                }
                match journal.as_mut() {
                    Some(j) => {
                        if let Some(rec) = j.push_line(line) {
                            let outcome =
                                engine.handle_message(&rec.message, rec.header, last_time);
                            tally.record(outcome, &name, line_no, &rec.message, &opts);
                        }
                    }
                    None => {
                        let outcome = engine.handle_line(line, &opts, last_time);
                        tally.record(outcome, &name, line_no, line, &opts);
                    }
                }
                last_time = engine.now().max(last_time);
            },
        );
        res.with_context(|| format!("error reading {name}"))?;
        if let Some(rec) = journal.as_mut().and_then(JournalExport::finish) {
            let outcome = engine.handle_message(&rec.message, rec.header, last_time);
            tally.record(outcome, &name, tally.totals.lines, &rec.message, &opts);
        }
    }
    let Tally {
        totals,
        malformed,
        csv,
        ..
    } = tally;
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    engine.end_interval(last_time);
    while engine.poll_event().is_some() {}

    if let Some(w) = csv {
        w.finish()?;
        return Ok(0);
    }
    let min_dl = args.min_dl.unwrap_or(config.min_danger_level);
    let report = Report::build(
        &engine,
        &totals,
        &malformed,
        args.show_malformed,
        min_dl,
        &args.ip,
        &inputs,
    );
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        _ => {
            let color = crate::term::use_color(args.color);
            report::text::write(&mut out, &report, args.summary, color)?;
        }
    }
    out.flush()?;
    Ok(0)
}

/// Counts line outcomes and keeps the first malformed lines.
struct Tally<W: Write> {
    totals: LineTotals,
    malformed: Vec<Malformed>,
    keep: usize,
    csv: Option<report::csv::Writer<W>>,
}

impl<W: Write> Tally<W> {
    fn record(
        &mut self,
        outcome: LineOutcome,
        file: &str,
        line_no: u64,
        line: &str,
        opts: &ParseOptions,
    ) {
        let t = &mut self.totals;
        match outcome {
            LineOutcome::NotFirewall => {}
            LineOutcome::Malformed(error) => {
                t.firewall_lines += 1;
                t.malformed += 1;
                if self.malformed.len() < self.keep {
                    self.malformed.push(Malformed {
                        file: file.to_string(),
                        line: line_no,
                        error,
                        text: line.chars().take(300).collect(),
                    });
                }
            }
            LineOutcome::Ignored(_) => {
                t.firewall_lines += 1;
                t.ignored += 1;
            }
            LineOutcome::Accepted => {
                t.firewall_lines += 1;
                t.accepted += 1;
                if let Some(w) = self.csv.as_mut() {
                    w.write_line(line, opts);
                }
            }
        }
    }
}
