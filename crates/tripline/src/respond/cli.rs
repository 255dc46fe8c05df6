//! `tripline block|unblock|blocks|flush|fw-check`: manual control of the blocks. Each
//! command changes the kernel and the database directly; a running daemon picks the
//! database changes up within a few seconds (it expires what the CLI added too).

use super::backend::{self, Op};
use super::db::{BlockDb, BlockRow};
use super::{build_safelist, fwcheck, never_block, unix_now};
use crate::cli::{BackendArg, BlockArgs, BlocksArgs, RespondArgs, UnblockArgs};
use crate::settings;
use anyhow::{bail, Context, Result};
use tripline_core::block::Policy;
use tripline_core::config::blocking::BackendKind;
use tripline_core::net::IpNet;
use tripline_core::Config;

impl BackendArg {
    fn kind(self) -> BackendKind {
        match self {
            BackendArg::Nftables => BackendKind::Nftables,
            BackendArg::Iptables => BackendKind::Iptables,
            BackendArg::Ipset => BackendKind::Ipset,
        }
    }
}

fn load(args: &RespondArgs) -> Result<Config> {
    let loaded = settings::load(&args.config)?;
    for w in &loaded.warnings {
        eprintln!("tripline: warning: {}", crate::term::clean(w));
    }
    Ok(loaded.config)
}

/// The state directory: the flag, else `[daemon] state-dir`, else the default.
fn state_dir(flag: &Option<std::path::PathBuf>, config: &Config) -> std::path::PathBuf {
    flag.clone()
        .or_else(|| config.daemon.state_dir.as_ref().map(Into::into))
        .unwrap_or_else(|| crate::store::DEFAULT_STATE_DIR.into())
}

fn kind(args: &RespondArgs, config: &Config) -> BackendKind {
    backend::resolve(
        args.backend
            .map_or(config.blocking.backend, BackendArg::kind),
    )
}

fn parse_net(s: &str) -> Result<IpNet> {
    let net: IpNet = s
        .parse()
        .map_err(|_| anyhow::anyhow!("{s:?} is not an IPv4/IPv6 address or network"))?;
    // An IPv4-mapped IPv6 address is the IPv4 host.
    Ok(match net.addr {
        std::net::IpAddr::V6(a) if net.prefix == 128 && a.to_ipv4_mapped().is_some() => {
            IpNet::host(net.addr.to_canonical())
        }
        _ => net,
    })
}

/// `tripline block ADDR|CIDR... [--file PATH] [--for DURATION]`: one kernel batch and
/// one database transaction for all targets; any safelisted target stops the command
/// before anything changes.
pub fn block(args: &BlockArgs) -> Result<i32> {
    let config = load(&args.common)?;
    let mut nets = args
        .targets
        .iter()
        .map(|t| parse_net(t))
        .collect::<Result<Vec<_>>>()?;
    if let Some(path) = &args.file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        for (i, line) in text.lines().enumerate() {
            let t = line.split('#').next().unwrap_or("").trim();
            if !t.is_empty() {
                nets.push(parse_net(t).with_context(|| format!("{}:{}", path.display(), i + 1))?);
            }
        }
    }
    let (safe, warnings) = build_safelist(&config);
    for w in warnings {
        eprintln!("tripline: warning: {w}");
    }
    let policy =
        Policy::new(&config.blocking, safe, never_block(&config)).map_err(anyhow::Error::msg)?;
    for &net in &nets {
        if let Some(why) = policy.refuse(net) {
            bail!("refusing to block {net}: {}", why.as_str());
        }
    }
    let secs = match &args.duration {
        Some(d) => tripline_core::config::toml::parse_duration(d).map_err(anyhow::Error::msg)?,
        None => policy.timeout_for(config.blocking.danger_level),
    };
    let kind = kind(&args.common, &config);
    let now = unix_now();
    let what = match nets.as_slice() {
        [one] => one.to_string(),
        many => format!("{} networks", many.len()),
    };
    if config.blocking.dry_run {
        println!("dry run: would block {what} for {}", human(secs));
        return Ok(0);
    }
    let mut b = backend::open(kind, &config.blocking);
    b.setup(false)?;
    let ops: Vec<Op> = nets
        .iter()
        .map(|&net| Op::Add {
            net,
            timeout_secs: secs,
        })
        .collect();
    b.apply(&ops)?;
    let rows: Vec<BlockRow> = nets
        .iter()
        .map(|&net| BlockRow {
            net,
            added: now,
            expires: (secs > 0).then_some(now + secs as i64),
            dl: config.blocking.danger_level,
            reason: "manual".into(),
            backend: kind.as_str().into(),
        })
        .collect();
    BlockDb::open(&state_dir(&args.common.state_dir, &config))?.upsert(&rows)?;
    println!("blocked {what} for {} ({})", human(secs), kind.as_str());
    Ok(0)
}

/// `tripline unblock ADDR|CIDR`.
pub fn unblock(args: &UnblockArgs) -> Result<i32> {
    let config = load(&args.common)?;
    let net = parse_net(&args.target)?;
    let mut db = BlockDb::open(&state_dir(&args.common.state_dir, &config))?;
    let row = db.all()?.into_iter().find(|r| r.net == net);
    let kind = match (&args.common.backend, &row) {
        (None, Some(r)) => BackendKind::parse(&r.backend).unwrap_or(BackendKind::Auto),
        _ => kind(&args.common, &config),
    };
    let mut b = backend::open(kind, &config.blocking);
    b.setup(false)?;
    b.apply(&[Op::Del { net }])?;
    db.remove(&[net])?;
    if row.is_some() {
        println!("unblocked {net}");
        Ok(0)
    } else {
        println!("{net} was not in the block list (removed from the kernel if it was there)");
        Ok(1)
    }
}

fn human(secs: u64) -> String {
    if secs == 0 {
        "ever (until unblocked)".into()
    } else {
        format!("{secs} s")
    }
}

/// `tripline blocks`: the current blocks with expiry and reason.
pub fn blocks(args: &BlocksArgs) -> Result<i32> {
    let config = settings::load(&args.config)?.config;
    let db = BlockDb::open(&state_dir(&args.state_dir, &config))?;
    let now = unix_now();
    let rows: Vec<BlockRow> = db
        .all()?
        .into_iter()
        .filter(|r| r.expires.is_none_or(|e| e > now))
        .collect();
    if args.json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "net": r.net.to_string(), "added": r.added, "expires": r.expires,
                    "remaining": r.expires.map(|e| e - now), "dl": r.dl,
                    "reason": r.reason, "backend": r.backend,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(v));
        return Ok(0);
    }
    if rows.is_empty() {
        println!("no blocks");
    }
    for r in &rows {
        let left = match r.expires {
            Some(e) => format!("{} s left", e - now),
            None => "permanent".into(),
        };
        println!(
            "{:<24} {:<14} DL {}  {:<9} {}",
            r.net.to_string(),
            left,
            r.dl,
            r.backend,
            crate::term::clean(&r.reason)
        );
    }
    Ok(0)
}

/// `tripline flush`: removes every table, chain, set and rule Tripline adds (all three
/// backends, where their tools exist) and empties the block list.
pub fn flush(args: &RespondArgs) -> Result<i32> {
    let config = load(args)?;
    let kinds: Vec<BackendKind> = match args.backend {
        Some(b) => vec![b.kind()],
        None => vec![
            BackendKind::Nftables,
            BackendKind::Iptables,
            BackendKind::Ipset,
        ],
    };
    let tool = |k: BackendKind| match k {
        BackendKind::Nftables => "nft",
        BackendKind::Ipset => "ipset",
        _ => "iptables",
    };
    // The database first: a running daemon that re-creates its objects after
    // a reload puts back what the database holds, and that must be nothing.
    let n = BlockDb::open(&state_dir(&args.state_dir, &config))?.clear()?;
    for k in kinds {
        if backend::tool_exists(tool(k)) {
            backend::open(k, &config.blocking).flush()?;
        }
    }
    println!("flushed ({n} blocks removed)");
    Ok(0)
}

/// `tripline fw-check`: 0 when drops are logged, 1 when not.
pub fn fw_check(args: &RespondArgs) -> Result<i32> {
    let config = load(args)?;
    let checks = fwcheck::check_live(&config.blocking.table);
    print!("{}", fwcheck::report(&checks));
    Ok(if fwcheck::looks_good(&checks) { 0 } else { 1 })
}

/// The core's backend kind for a `--backend` value.
pub fn backend_kind(b: BackendArg) -> BackendKind {
    b.kind()
}
