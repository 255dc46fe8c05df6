//! `tripline analyze`: offline analysis of log files (psad -A), feeding
//! every line through the core engine and building the report model.
//!
//! With `--jobs N > 1` the sources are sharded: the reader hands every
//! chunk of lines to N workers, and each worker runs its own engine on the
//! lines whose source address hashes to it. Per-source state never crosses
//! shards, so the merged report is the serial one. What one engine carries
//! from line to line across sources is shared: the Masscan heuristic ("TCP
//! options were seen before") is noted in every shard at the same line, and
//! the shards' clocks meet at the start of each input ([`ClockSync`]).
//! psad-compat, CSV and `MAX_SCAN_IP_PAIRS` runs are serial.

use crate::cli::{AnalyzeArgs, Format};
use crate::input::{for_each_chunk, for_each_slice, Input};
use crate::report::{self, Report};
use crate::settings;
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::net::IpAddr;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use tripline_core::engine::{Engine, Event, LineOutcome, Rules};
use tripline_core::parse::JournalExport;
use tripline_core::{Config, ParseError, ParseOptions, Timestamp};

/// A line that did not parse, kept for the report.
#[derive(Debug, Clone)]
pub struct Malformed {
    /// Index of the input.
    pub input: usize,
    /// Input name.
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// Why.
    pub error: ParseError,
    /// The line, truncated.
    pub text: String,
}

/// Line counters of one analysis (and of the daemon since its state began).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

impl LineTotals {
    /// Count one line's outcome (`lines` is counted by the reader).
    pub fn count(&mut self, outcome: &LineOutcome) {
        match outcome {
            LineOutcome::NotFirewall => return,
            LineOutcome::Malformed(_) => self.malformed += 1,
            LineOutcome::Ignored(_) => self.ignored += 1,
            LineOutcome::Accepted => self.accepted += 1,
        }
        self.firewall_lines += 1;
    }

    fn add(&mut self, o: &LineTotals) {
        self.lines += o.lines;
        self.firewall_lines += o.firewall_lines;
        self.malformed += o.malformed;
        self.ignored += o.ignored;
        self.accepted += o.accepted;
    }
}

/// A block of complete lines of one input: borrowed from the read buffer
/// when one worker runs, owned when it is shared with several.
struct Chunk<D> {
    input: usize,
    first_line: u64,
    journal: bool,
    data: D,
}

/// Where CSV rows go (`Send`, so a worker can own it).
type Out = Box<dyn Write + Send>;

/// One engine and what it counted.
struct Worker {
    engine: Engine,
    totals: LineTotals,
    malformed: Vec<Malformed>,
    keep: usize,
    csv: Option<report::csv::Writer<Out>>,
    last_time: Timestamp,
    journal: Option<(usize, JournalExport)>,
    /// Packets each source had sent when it first reached DL 1 or more.
    first_report: HashMap<IpAddr, u64>,
    /// This worker's shard and the number of shards.
    shard: (usize, usize),
    /// The input being read, for [`ClockSync`].
    input: Option<usize>,
}

/// Cheap test for a line that may carry TCP options, before asking the engine.
fn may_carry_options(line: &[u8]) -> bool {
    memchr::memmem::find(line, b"OPT (").is_some()
}

/// Is another shard's line worth asking `engine` about (the Masscan marker is
/// on, options not seen yet, and the text could hold some)?
fn may_note_options(engine: &Engine, text: &[u8]) -> bool {
    engine.config().expect_tcp_options && !engine.tcp_options_seen() && may_carry_options(text)
}

impl Worker {
    fn new(
        engine: Engine,
        keep: usize,
        csv: Option<report::csv::Writer<Out>>,
        shard: (usize, usize),
    ) -> Self {
        Worker {
            shard,
            engine,
            totals: LineTotals::default(),
            malformed: Vec::new(),
            keep,
            csv,
            last_time: Timestamp(0),
            journal: None,
            first_report: HashMap::new(),
            input: None,
        }
    }

    /// Before a chunk of `input`: at the start of each input after the
    /// first, meet the other shards' workers (see [`ClockSync`]).
    fn enter(&mut self, input: usize, sync: &ClockSync) {
        if self.input == Some(input) {
            return;
        }
        if self.input.is_some() {
            let t = sync.meet(self.engine.now().max(self.last_time));
            self.engine.advance_clock(t);
            self.last_time = self.last_time.max(t);
        }
        self.input = Some(input);
    }

    /// Another shard's line, in log order. The Masscan marker rests on "TCP
    /// options seen so far" in the whole log: when this line would set it,
    /// this engine notes it too, as one engine over the whole log would.
    fn other_shards_line(&mut self, bytes: &[u8], opts: &ParseOptions) {
        if !may_note_options(&self.engine, bytes) {
            return;
        }
        let text = String::from_utf8_lossy(bytes);
        if self.engine.would_see_tcp_options(&text, opts) {
            self.engine.note_tcp_options_seen();
        }
    }

    /// Process the lines of `chunk` that belong to this worker's shard;
    /// returns the number of the line after the chunk.
    fn chunk(&mut self, c: &Chunk<impl AsRef<[u8]>>, names: &[String], opts: &ParseOptions) -> u64 {
        let (me, n) = self.shard;
        let mut sharder = Sharder::new(n);
        let name = &names[c.input];
        // UTF-8 is checked per line, just before the parser reads it (still
        // in cache), and only for the lines of this shard.
        let data = c.data.as_ref();
        let (mut line_no, mut start) = (c.first_line, 0);
        while start < data.len() {
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
            let (from, this) = (start, line_no);
            start = end + 1;
            line_no += 1;
            if n > 1 && !c.journal && sharder.shard(&data[from..end]) != me {
                self.other_shards_line(&data[from..end], opts);
                continue;
            }
            self.raw_line(c.input, name, this, &data[from..end], c.journal, opts);
        }
        line_no
    }

    /// One line as read, without its `\n`.
    #[inline]
    fn raw_line(
        &mut self,
        input: usize,
        name: &str,
        line_no: u64,
        bytes: &[u8],
        journal: bool,
        opts: &ParseOptions,
    ) {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        match simdutf8::basic::from_utf8(bytes) {
            Ok(text) => self.line(input, name, line_no, text, journal, opts),
            Err(_) => {
                let s = String::from_utf8_lossy(bytes);
                self.line(input, name, line_no, &s, journal, opts)
            }
        }
    }

    fn line(
        &mut self,
        input: usize,
        name: &str,
        line_no: u64,
        line: &str,
        journal: bool,
        opts: &ParseOptions,
    ) {
        if journal {
            // Every worker decodes a journal export whole (a record spans
            // many lines) and keeps the records of its shard; worker 0
            // counts the lines.
            if self.shard.0 == 0 {
                self.totals.lines += 1;
            }
            if self.journal.as_ref().is_none_or(|(i, _)| *i != input) {
                self.finish_journal(name);
                self.journal = Some((input, JournalExport::new()));
            }
            let Some((_, j)) = self.journal.as_mut() else {
                return;
            };
            if let Some(rec) = j.push_line(line) {
                if !owns(self.shard, &rec.message) {
                    if may_note_options(&self.engine, rec.message.as_bytes())
                        && self
                            .engine
                            .message_would_see_tcp_options(&rec.message, rec.header)
                    {
                        self.engine.note_tcp_options_seen();
                    }
                    return;
                }
                let outcome = self
                    .engine
                    .handle_message(&rec.message, rec.header, self.last_time);
                let msg = rec.message.into_owned();
                self.record(outcome, input, name, line_no, &msg, opts);
            }
        } else {
            self.totals.lines += 1;
            let outcome = self.engine.handle_line(line, opts, self.last_time);
            self.record(outcome, input, name, line_no, line, opts);
        }
        self.last_time = self.engine.now().max(self.last_time);
        self.drain();
    }

    /// Drain the engine's events after every line (they would pile up otherwise).
    fn drain(&mut self) {
        while let Some(ev) = self.engine.poll_event() {
            if let Event::DangerRaised { src, from: 0, .. } = ev {
                let seen = self.engine.source(src).map_or(0, |s| s.packets_seen());
                self.first_report.entry(src).or_insert(seen);
            }
        }
    }

    /// A journal export input may end without the blank line that closes its last record.
    fn finish_journal(&mut self, name: &str) {
        if let Some((input, mut j)) = self.journal.take() {
            if let Some(rec) = j.finish().filter(|r| owns(self.shard, &r.message)) {
                let outcome = self
                    .engine
                    .handle_message(&rec.message, rec.header, self.last_time);
                let (line, msg) = (self.totals.lines, rec.message.into_owned());
                self.record(outcome, input, name, line, &msg, &ParseOptions::default());
            }
        }
    }

    fn record(
        &mut self,
        outcome: LineOutcome,
        input: usize,
        file: &str,
        line_no: u64,
        line: &str,
        opts: &ParseOptions,
    ) {
        self.totals.count(&outcome);
        match outcome {
            LineOutcome::NotFirewall | LineOutcome::Ignored(_) => {}
            LineOutcome::Malformed(error) => {
                if self.malformed.len() < self.keep {
                    self.malformed.push(Malformed {
                        input,
                        file: file.to_string(),
                        line: line_no,
                        error,
                        text: line.chars().take(300).collect(),
                    });
                }
            }
            LineOutcome::Accepted => {
                if let Some(w) = self.csv.as_mut() {
                    w.write_line(line, opts);
                }
            }
        }
    }

    fn finish(mut self, names: &[String]) -> Self {
        if let Some((i, _)) = &self.journal {
            let name = names[*i].clone();
            self.finish_journal(&name);
        }
        self.engine.end_interval(self.last_time);
        self.drain();
        self
    }
}

/// Which shard a line belongs to: a hash of its source address (IPv6 parsed,
/// so compressed and full forms of one address agree). Lines without one go
/// to 0. Every worker skims every line, so this is on the hot path of each:
/// a line whose ` SRC=` value sits where the previous line's did, with the
/// same bytes, reuses that line's shard (scans come in runs from one source).
struct Sharder {
    finder: memchr::memmem::Finder<'static>,
    n: usize,
    /// Offset of the previous line's address, its bytes and its shard.
    last: Option<(usize, [u8; 48], usize, usize)>,
}

impl Sharder {
    fn new(n: usize) -> Self {
        Sharder {
            finder: memchr::memmem::Finder::new(b" SRC="),
            n,
            last: None,
        }
    }

    fn shard(&mut self, line: &[u8]) -> usize {
        if let Some((off, addr, len, shard)) = &self.last {
            let (off, len) = (*off, *len);
            if line.get(off - 5..off) == Some(b" SRC=")
                && line.get(off..off + len) == Some(&addr[..len])
                && line.get(off + len).is_none_or(|&c| c == b' ')
            {
                return *shard;
            }
        }
        let Some(i) = self.finder.find(line) else {
            return 0;
        };
        let off = i + 5;
        let rest = &line[off..];
        let addr = &rest[..memchr::memchr(b' ', rest).unwrap_or(rest.len())];
        let shard = shard_of_addr(addr, self.n);
        self.last = (addr.len() <= 48).then(|| {
            let mut a = [0u8; 48];
            a[..addr.len()].copy_from_slice(addr);
            (off, a, addr.len(), shard)
        });
        shard
    }
}

/// Whether a decoded journal message belongs to `shard` (me, of n).
fn owns((me, n): (usize, usize), message: &str) -> bool {
    n < 2 || Sharder::new(n).shard(message.as_bytes()) == me
}

fn shard_of_addr(addr: &[u8], n: usize) -> usize {
    let h = if addr.contains(&b':') {
        std::str::from_utf8(addr)
            .ok()
            .and_then(|a| a.parse::<std::net::Ipv6Addr>().ok())
            .map_or(0, |a| {
                let v = u128::from(a);
                (v as u64) ^ ((v >> 64) as u64)
            })
    } else {
        // Eight bytes a step: a byte-wise hash was a tenth of a worker's time.
        addr.chunks(8).fold(addr.len() as u64, |h, w| {
            let mut a = [0u8; 8];
            a[..w.len()].copy_from_slice(w);
            (h ^ u64::from_le_bytes(a)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        })
    };
    (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize % n
}

/// Run the analysis and print the report.
pub fn run(args: &AnalyzeArgs) -> Result<i32> {
    crate::heap::grow_in_big_steps();
    let loaded = settings::load(&args.config)?;
    for w in &loaded.warnings {
        eprintln!("tripline: warning: {}", crate::term::clean(w));
    }
    let mut config = loaded.config;
    // The source cap protects the daemon's memory; an offline analysis
    // reports every source, as psad -A does.
    config.max_sources = 0;
    let config = Arc::new(config);
    let rules = Arc::new(loaded.rules);
    let format = args.format();
    let opts = ParseOptions {
        now: settings::wall_clock(),
        ..ParseOptions::default()
    };
    let inputs: Vec<Input> = args
        .files
        .iter()
        .map(|p| Input { path: p.clone() })
        .collect();
    let names: Vec<String> = inputs.iter().map(Input::display).collect();
    let total_bytes: u64 = inputs.iter().filter_map(Input::len).sum();
    let progress = (!args.no_progress && std::io::stderr().is_terminal() && total_bytes > 32 << 20)
        .then(|| crate::progress::bar(total_bytes));
    // The pair cap is global and order-dependent: keep such runs serial.
    let jobs = match (format, config.psad_compat || config.max_scan_ip_pairs > 0) {
        (Format::Csv, _) | (_, true) => 1,
        _ => args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8))),
    }
    .max(1);

    let stdout = std::io::stdout();
    let read_all = |send: &mut dyn FnMut(Chunk<&[u8]>)| -> Result<()> {
        for (idx, input) in inputs.iter().enumerate() {
            let reader = input.open()?;
            let mut line_no = 1u64;
            let mut journal = None;
            for_each_chunk(
                reader,
                |n| {
                    if let Some(pb) = &progress {
                        pb.inc(n)
                    }
                },
                |data| {
                    let journal = *journal.get_or_insert_with(|| data.starts_with(b"__CURSOR="));
                    let first_line = line_no;
                    line_no += memchr::memchr_iter(b'\n', data).count() as u64;
                    send(Chunk {
                        input: idx,
                        first_line,
                        journal,
                        data,
                    });
                },
            )
            .with_context(|| format!("error reading {}", names[idx]))?;
        }
        Ok(())
    };

    // Plain files are mapped (mapped.rs); gzip and stdin are streamed.
    let mapped = !args.no_mmap && inputs.iter().all(Input::is_plain_file);
    let workers: Vec<Worker> =
        // (CSV runs have one job.)
        if mapped && jobs > 1 {
            mapped_shards(
                jobs,
                &config,
                &rules,
                args.show_malformed,
                &inputs,
                &names,
                &opts,
                progress.as_ref(),
            )?
        } else if jobs == 1 {
            let csv = match format {
                Format::Csv => Some(report::csv::Writer::new(
                    args.csv_fields.as_deref(),
                    Box::new(std::io::stdout()) as Out,
                )?),
                _ => None,
            };
            let mut w = Worker::new(
                new_engine(&config, &rules)?,
                args.show_malformed,
                csv,
                (0, 1),
            );
            if mapped {
                feed_mapped(&mut w, &inputs, &names, &opts, progress.as_ref())?;
            } else {
                read_all(&mut |c: Chunk<&[u8]>| {
                    w.chunk(&c, &names, &opts);
                })?;
            }
            vec![w.finish(&names)]
        } else {
            sharded(
                jobs,
                &config,
                &rules,
                args.show_malformed,
                &names,
                &opts,
                read_all,
            )?
        };
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }

    let mut totals = LineTotals::default();
    let mut malformed = Vec::new();
    let mut engines = Vec::new();
    let mut first_report = HashMap::new();
    for w in workers {
        first_report.extend(w.first_report);
        totals.add(&w.totals);
        malformed.extend(w.malformed);
        if let Some(csv) = w.csv {
            csv.finish()?;
            return Ok(0);
        }
        engines.push(w.engine);
    }
    malformed.sort_by_key(|m| (m.input, m.line));
    let min_dl = args.min_dl.unwrap_or(config.min_danger_level);
    let mut report = Report::build(
        &engines,
        &totals,
        &malformed,
        args.show_malformed,
        min_dl,
        &args.ip,
        &inputs,
    );
    for s in &mut report.sources {
        s.packets_before_report = first_report.get(&s.src).copied();
    }
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
    // The process ends next: handing the state to the OS whole is cheaper
    // than freeing each source's allocations (5% of a run on big logs).
    std::mem::forget(report);
    std::mem::forget(engines);
    Ok(0)
}

/// An engine for this analysis: nothing expires, so each source's times
/// are its own packets' (the same whatever the order of the files and the
/// shard that reads them).
fn new_engine(config: &Arc<Config>, rules: &Arc<Rules>) -> Result<Engine> {
    Engine::new(Arc::clone(config), Arc::clone(rules))
        .context("invalid configuration")
        .map(Engine::with_logged_times)
}

/// Feed every input, memory-mapped, to the one worker `w`, in slices of
/// whole lines.
fn feed_mapped(
    w: &mut Worker,
    inputs: &[Input],
    names: &[String],
    opts: &ParseOptions,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<()> {
    for (idx, input) in inputs.iter().enumerate() {
        let (mut line_no, mut journal) = (1u64, None);
        input.for_each_window(|window| {
            let journal = *journal.get_or_insert_with(|| window.starts_with(b"__CURSOR="));
            for_each_slice(window, |piece| {
                if let Some(pb) = progress {
                    pb.inc(piece.len() as u64);
                }
                let c = Chunk {
                    input: idx,
                    first_line: line_no,
                    journal,
                    data: piece,
                };
                line_no = w.chunk(&c, names, opts);
            });
        })?;
    }
    Ok(())
}

/// A mapped window shared by the workers, with where each shard's lines are.
struct Routed {
    input: usize,
    journal: bool,
    /// Number of the window's first line in its input.
    first_line: u64,
    window: crate::mapped::Window,
    /// Per shard: (start, end, index in the window) of its lines. Empty for
    /// a journal export, which every worker reads whole.
    shards: Vec<Vec<(usize, usize, u32)>>,
    /// From this line of the window on, TCP options have been seen in the
    /// log (see [`Worker::other_shards_line`]).
    options_from: Option<u32>,
}

/// The main thread's look at every line for the first that sets "TCP
/// options seen", so each worker can note it at the same place in the log.
struct OptionsProbe<'a> {
    engine: Engine,
    opts: &'a ParseOptions,
    seen: bool,
    /// The Masscan marker is on (`EXPECT_TCP_OPTIONS`): else no line is looked at.
    wanted: bool,
}

impl OptionsProbe<'_> {
    #[inline]
    fn sets_options(&mut self, line: &[u8]) -> bool {
        if self.seen || !self.wanted || !may_carry_options(line) {
            return false;
        }
        let text = String::from_utf8_lossy(line);
        self.seen = self.engine.would_see_tcp_options(&text, self.opts);
        self.seen
    }
}

impl Routed {
    /// Find the lines of `window` and the shard of each, once for all workers.
    fn new(
        input: usize,
        journal: bool,
        first_line: u64,
        window: crate::mapped::Window,
        n: usize,
        probe: &mut OptionsProbe<'_>,
    ) -> (Self, u64) {
        let mut shards = vec![Vec::new(); n];
        let mut lines = 0u64;
        let mut options_from = probe.seen.then_some(0);
        if journal {
            lines = memchr::memchr_iter(b'\n', &window).count() as u64;
        } else {
            let mut sharder = Sharder::new(n);
            let mut start = 0;
            while start < window.len() {
                let end =
                    memchr::memchr(b'\n', &window[start..]).map_or(window.len(), |i| start + i);
                let line = &window[start..end];
                shards[sharder.shard(line)].push((start, end, lines as u32));
                if probe.sets_options(line) {
                    options_from = Some(lines as u32 + 1);
                }
                lines += 1;
                start = end + 1;
            }
        }
        let routed = Routed {
            input,
            journal,
            first_line,
            window,
            shards,
            options_from,
        };
        (routed, first_line + lines)
    }
}

/// Run `jobs` workers over the mapped inputs, each keeping the lines of its
/// shard: no copies, nothing shared but the configuration. This thread maps
/// each window once, ahead of the workers, finds its lines and their shards
/// (so no worker reads another's lines) and hands it to all of them; it is
/// unmapped when the last one is done with it.
fn mapped_shards(
    jobs: usize,
    config: &Arc<Config>,
    rules: &Arc<Rules>,
    keep: usize,
    inputs: &[Input],
    names: &[String],
    opts: &ParseOptions,
    progress: Option<&indicatif::ProgressBar>,
) -> Result<Vec<Worker>> {
    let sync = ClockSync::new(jobs);
    std::thread::scope(|scope| {
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for me in 0..jobs {
            // One window queued per worker: at most 2 * jobs + 1 are mapped.
            let (tx, rx) = sync_channel::<Arc<Routed>>(1);
            senders.push(tx);
            let mut w = Worker::new(new_engine(config, rules)?, keep, None, (me, jobs));
            let sync = &sync;
            handles.push(scope.spawn(move || {
                let _member = Member(sync);
                for r in rx {
                    w.enter(r.input, sync);
                    let name = &names[r.input];
                    if r.journal {
                        // (The main thread only looks into plain text.)
                        if r.options_from.is_some() {
                            w.engine.note_tcp_options_seen();
                        }
                        let c = Chunk {
                            input: r.input,
                            first_line: r.first_line,
                            journal: true,
                            data: &r.window[..],
                        };
                        w.chunk(&c, names, opts);
                        continue;
                    }
                    let from = r.options_from.filter(|_| !w.engine.tcp_options_seen());
                    for &(start, end, i) in &r.shards[me] {
                        if from.is_some_and(|f| i >= f) && !w.engine.tcp_options_seen() {
                            w.engine.note_tcp_options_seen();
                        }
                        let line_no = r.first_line + u64::from(i);
                        w.raw_line(r.input, name, line_no, &r.window[start..end], false, opts);
                    }
                    // Seen within this window: so before the next one.
                    if from.is_some() {
                        w.engine.note_tcp_options_seen();
                    }
                }
                w.finish(names)
            }));
        }
        let mut probe = OptionsProbe {
            engine: new_engine(config, rules)?,
            opts,
            seen: false,
            wanted: config.expect_tcp_options,
        };
        let mapped = inputs.iter().enumerate().try_for_each(|(idx, input)| {
            let (mut journal, mut line_no) = (None, 1u64);
            input.for_each_owned_window(|window| {
                let j = *journal.get_or_insert_with(|| window.starts_with(b"__CURSOR="));
                if let Some(pb) = progress {
                    pb.inc(window.len() as u64);
                }
                let (routed, next) = Routed::new(idx, j, line_no, window, jobs, &mut probe);
                line_no = next;
                let routed = Arc::new(routed);
                for tx in &senders {
                    // A worker that is gone panicked: join_all reports it.
                    let _ = tx.send(Arc::clone(&routed));
                }
            })
        });
        drop(senders);
        let workers = join_all(handles)?;
        mapped?;
        Ok(workers)
    })
}

/// Keeps the clocks of the shards' engines together at the start of each
/// input. One engine enters a file with the latest time of every line before
/// it, and an undated (dmesg) file's lines take that time. So every shard's
/// engine must enter the file with that same time, the latest of all shards:
/// each worker waits here for the others to finish the previous input. A
/// worker that ends (or panics) stops being waited for.
struct ClockSync {
    state: std::sync::Mutex<SyncState>,
    met: std::sync::Condvar,
}

struct SyncState {
    members: usize,
    arrived: usize,
    round: u64,
    latest: Timestamp,
    /// The latest time when the last round was complete.
    agreed: Timestamp,
}

impl ClockSync {
    fn new(members: usize) -> Self {
        ClockSync {
            state: std::sync::Mutex::new(SyncState {
                members,
                arrived: 0,
                round: 0,
                latest: Timestamp(i64::MIN),
                agreed: Timestamp(i64::MIN),
            }),
            met: std::sync::Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wait for every member with this one's clock; the latest of all.
    fn meet(&self, now: Timestamp) -> Timestamp {
        let mut s = self.lock();
        s.latest = s.latest.max(now);
        s.arrived += 1;
        let round = s.round;
        if s.arrived >= s.members {
            Self::complete(&mut s);
            self.met.notify_all();
        }
        while s.round == round {
            s = self.met.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.agreed
    }

    fn complete(s: &mut SyncState) {
        s.arrived = 0;
        s.round += 1;
        s.agreed = s.latest;
    }

    fn leave(&self) {
        let mut s = self.lock();
        s.members = s.members.saturating_sub(1);
        if s.arrived > 0 && s.arrived >= s.members {
            Self::complete(&mut s);
            self.met.notify_all();
        }
    }
}

/// A worker thread's membership of a [`ClockSync`], ended on drop (also
/// when the worker panics, so the others never wait for it in vain).
struct Member<'a>(&'a ClockSync);

impl Drop for Member<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

/// Wait for every worker thread; a panic becomes an error.
fn join_all<T>(handles: Vec<std::thread::ScopedJoinHandle<'_, T>>) -> Result<Vec<T>> {
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .map_err(|_| anyhow::anyhow!("analysis worker panicked"))
        })
        .collect()
}

/// Run `jobs` workers, each on its shard of sources; the caller's `read_all` feeds the chunks.
fn sharded(
    jobs: usize,
    config: &Arc<Config>,
    rules: &Arc<Rules>,
    keep: usize,
    names: &[String],
    opts: &ParseOptions,
    read_all: impl FnOnce(&mut dyn FnMut(Chunk<&[u8]>)) -> Result<()>,
) -> Result<Vec<Worker>> {
    let sync = ClockSync::new(jobs);
    std::thread::scope(|scope| {
        let mut senders = Vec::new();
        let mut handles = Vec::new();
        for me in 0..jobs {
            let (tx, rx) = sync_channel::<Arc<Chunk<Vec<u8>>>>(8);
            senders.push(tx);
            let mut w = Worker::new(new_engine(config, rules)?, keep, None, (me, jobs));
            let sync = &sync;
            handles.push(scope.spawn(move || {
                let _member = Member(sync);
                for c in rx {
                    w.enter(c.input, sync);
                    w.chunk(&c, names, opts);
                }
                w.finish(names)
            }));
        }
        let res = read_all(&mut |c: Chunk<&[u8]>| {
            let c = Arc::new(Chunk {
                input: c.input,
                first_line: c.first_line,
                journal: c.journal,
                data: c.data.to_vec(),
            });
            for tx in &senders {
                // A worker only stops early by panicking; join reports that below.
                let _ = tx.send(Arc::clone(&c));
            }
        });
        drop(senders);
        let workers = join_all(handles)?;
        res.map(|()| workers)
    })
}

#[cfg(test)]
mod tests {
    use super::{ClockSync, Member, Sharder};
    use tripline_core::Timestamp;

    /// Members meet on the latest clock, round after round; one that ends
    /// (here: panics) is no longer waited for.
    #[test]
    fn clock_sync_agrees_on_the_latest_and_never_waits_for_the_gone() {
        let sync = ClockSync::new(3);
        let got: Vec<Vec<Timestamp>> = std::thread::scope(|s| {
            let quitter = s.spawn(|| {
                let _m = Member(&sync);
                assert_eq!(sync.meet(Timestamp(7)), Timestamp(9));
                panic!("a worker's bug");
            });
            let members: Vec<_> = [5, 9]
                .map(|t| {
                    let sync = &sync;
                    s.spawn(move || {
                        let _m = Member(sync);
                        vec![sync.meet(Timestamp(t)), sync.meet(Timestamp(t / 5))]
                    })
                })
                .into_iter()
                .collect();
            assert!(quitter.join().is_err());
            members.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for g in got {
            assert_eq!(g, [Timestamp(9), Timestamp(9)]);
        }
    }

    #[test]
    fn the_previous_line_shortcut_never_changes_a_shard() {
        let lines: &[&[u8]] = &[
            b"k: IN=e OUT= SRC=198.51.100.4 DST=203.0.113.1 LEN=40",
            b"k: IN=e OUT= SRC=198.51.100.4 DST=203.0.113.1 LEN=44",
            // Same place, longer address that starts with the previous one.
            b"k: IN=e OUT= SRC=198.51.100.45 DST=203.0.113.1 LEN=44",
            b"k: IN=e OUT= SRC=198.51.100.4",
            b"k: IN=eth1 OUT= SRC=198.51.100.4 DST=203.0.113.1",
            b"k: IN=e OUT= SRC=198.51.100.44 DST=203.0.113.1",
            b"no address here",
            b"k: IN=e OUT= SRC=2001:db8::1 DST=2001:db8::2",
            b"k: IN=e OUT= SRC=2001:0db8:0000:0000:0000:0000:0000:0001 DST=2001:db8::2",
        ];
        for n in 2..6 {
            let mut warm = Sharder::new(n);
            for l in lines {
                assert_eq!(warm.shard(l), Sharder::new(n).shard(l), "{n} {l:?}");
            }
        }
        // The IPv6 spellings of one address land together.
        let mut s = Sharder::new(7);
        assert_eq!(s.shard(lines[7]), s.shard(lines[8]));
    }
}
