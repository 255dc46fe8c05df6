//! `--csv`: one row per accepted packet, with psad's packet field names.

use anyhow::{bail, Result};
use std::io::{self, Write};
use tripline_core::{parse_line, Packet, ParseOptions};

/// psad's default `--CSV` fields.
pub const DEFAULT_FIELDS: &str = "timestamp src dst sp dp proto flags ip_len intf chain log_prefix";

/// Every field name `--csv-fields` accepts.
pub const FIELDS: &[&str] = &[
    "timestamp",
    "src",
    "dst",
    "sp",
    "dp",
    "proto",
    "flags",
    "ip_len",
    "ttl",
    "ip_id",
    "tos",
    "win",
    "itype",
    "icode",
    "icmp_seq",
    "icmp_id",
    "tcp_seq",
    "tcp_ack",
    "tcp_opts",
    "ip_opts",
    "udp_len",
    "intf",
    "chain",
    "log_prefix",
    "syslog_host",
    "src_mac",
    "frag_bit",
    "hop_limit",
    "flow_label",
    "tc",
    "is_ipv6",
];

/// A CSV writer.
pub struct Writer<W: Write> {
    fields: Vec<&'static str>,
    out: io::BufWriter<W>,
    error: Option<io::Error>,
}

impl<W: Write> Writer<W> {
    /// A writer for the named fields (`None` = psad's defaults).
    pub fn new(fields: Option<&str>, out: W) -> Result<Self> {
        let spec = fields.unwrap_or(DEFAULT_FIELDS);
        let mut picked = Vec::new();
        for f in spec
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty())
        {
            match FIELDS.iter().find(|k| k.eq_ignore_ascii_case(f)) {
                Some(k) => picked.push(*k),
                None => bail!(
                    "unknown CSV field {f:?}; valid fields: {}",
                    FIELDS.join(" ")
                ),
            }
        }
        if picked.is_empty() {
            bail!("--csv-fields names no field");
        }
        Ok(Writer {
            fields: picked,
            out: io::BufWriter::new(out),
            error: None,
        })
    }

    /// Write the row of an accepted line; IO errors are kept for `finish`.
    pub fn write_line(&mut self, line: &str, opts: &ParseOptions) {
        if self.error.is_some() {
            return;
        }
        if let Ok(Some(p)) = parse_line(line, opts) {
            let row: Vec<String> = self.fields.iter().map(|f| field(&p, f)).collect();
            if let Err(e) = writeln!(self.out, "{}", row.join(", ")) {
                self.error = Some(e);
            }
        }
    }

    /// Flush and report the first write error.
    pub fn finish(mut self) -> Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e.into());
        }
        self.out.flush()?;
        Ok(())
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-1".to_string(), |x| x.to_string())
}

fn csv_text(s: &str) -> String {
    // Values are attacker-influenced text: keep them on one CSV cell.
    s.chars().filter(|c| !c.is_control() && *c != ',').collect()
}

fn field(p: &Packet<'_>, name: &str) -> String {
    match name {
        "timestamp" => p
            .header
            .time
            .map(crate::report::rfc3339)
            .unwrap_or_default(),
        "src" => p.src.to_string(),
        "dst" => p.dst.to_string(),
        "sp" => opt(p.sport),
        "dp" => opt(p.dport),
        "proto" => p.proto.to_string(),
        "flags" => p.tcp.map(|t| t.flags.to_string()).unwrap_or_default(),
        "ip_len" => p.len.to_string(),
        "ttl" => p.ttl.to_string(),
        "ip_id" => opt(p.ip_id),
        "tos" => p.tos.to_string(),
        "win" => opt(p.tcp.map(|t| t.window)),
        "itype" => opt(p.icmp.map(|i| i.kind)),
        "icode" => opt(p.icmp.map(|i| i.code)),
        "icmp_seq" => opt(p.icmp.and_then(|i| i.seq)),
        "icmp_id" => opt(p.icmp.and_then(|i| i.id)),
        "tcp_seq" => opt(p.tcp.and_then(|t| t.seq)),
        "tcp_ack" => opt(p.tcp.and_then(|t| t.ack)),
        "tcp_opts" => csv_text(p.tcp.map(|t| t.options).unwrap_or_default()),
        "ip_opts" => csv_text(p.ip_options),
        "udp_len" => opt(p.udp_len),
        "intf" => csv_text(p.interface()),
        "chain" => p.chain.to_string(),
        "log_prefix" => p
            .prefix
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '_')
            .collect(),
        "syslog_host" => csv_text(p.header.host.unwrap_or_default()),
        "src_mac" => csv_text(p.mac),
        "frag_bit" => u8::from(p.ip_flags.mf || p.frag.is_some_and(|f| f > 0)).to_string(),
        "hop_limit" => {
            if p.is_ipv6() {
                p.ttl.to_string()
            } else {
                "-1".into()
            }
        }
        "flow_label" => opt(p.flow_label),
        "tc" => {
            if p.is_ipv6() {
                p.tos.to_string()
            } else {
                "-1".into()
            }
        }
        "is_ipv6" => u8::from(p.is_ipv6()).to_string(),
        _ => String::new(),
    }
}
