//! Kernel backends: the admin tools made for the job (`nft -f -`, `iptables-restore`,
//! `ipset restore`) run as child processes with argv and stdin, never a shell.
//! Each backend only touches the objects it created (table, chains, sets, jump rules).

pub mod ipset;
pub mod ipt;
pub mod nft;

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::process::{Command, Stdio};
use tripline_core::config::blocking::{BackendKind, BlockingConfig};
use tripline_core::net::IpNet;

/// One change to the kernel's block list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Block `net` for `timeout_secs` (0 = permanent); re-arms an existing element.
    Add {
        /// Network.
        net: IpNet,
        /// Seconds, 0 = permanent.
        timeout_secs: u64,
    },
    /// Remove `net` (no error if it is already gone).
    Del {
        /// Network.
        net: IpNet,
    },
}

/// A kernel mechanism holding blocks.
pub trait Backend: Send {
    /// Which one.
    fn kind(&self) -> BackendKind;
    /// Creates Tripline's objects if missing; with `fresh`, empties them first.
    fn setup(&mut self, fresh: bool) -> Result<()>;
    /// Applies `ops` in order, in one batch where the tool allows.
    fn apply(&mut self, ops: &[Op]) -> Result<()>;
    /// Removes everything this backend ever adds, and nothing else.
    fn flush(&mut self) -> Result<()>;
    /// Whether Tripline's objects are all still in place: an admin's ruleset
    /// reload (`nft flush ruleset`, `iptables-restore`) may have removed them.
    fn intact(&mut self) -> Result<bool>;
}

/// Resolves `auto`: nftables where `nft` runs, else iptables.
pub fn resolve(kind: BackendKind) -> BackendKind {
    match kind {
        BackendKind::Auto if tool_exists("nft") => BackendKind::Nftables,
        BackendKind::Auto => BackendKind::Iptables,
        k => k,
    }
}

/// The backend for `kind` (after [`resolve`]).
pub fn open(kind: BackendKind, cfg: &BlockingConfig) -> Box<dyn Backend> {
    match resolve(kind) {
        BackendKind::Iptables => Box::new(ipt::Iptables::new(cfg)),
        BackendKind::Ipset => Box::new(ipset::Ipset::new(cfg)),
        _ => Box::new(nft::Nft::new(cfg)),
    }
}

/// True if `prog` can be started (found in PATH or the sbin directories).
pub fn tool_exists(prog: &str) -> bool {
    find_tool(prog).is_some()
}

fn find_tool(prog: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(Into::into))
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}

/// Output of a finished tool.
pub struct Out {
    /// Exit success.
    pub ok: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `prog args...` with `stdin` fed in; never through a shell.
pub fn exec(prog: &str, args: &[&str], stdin: Option<&str>) -> Result<Out> {
    let path = find_tool(prog).unwrap_or_else(|| prog.into());
    let mut child = Command::new(&path)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {prog}"))?;
    // Feed stdin from a thread so a tool that writes a lot before reading cannot deadlock.
    let feeder = stdin.map(|text| {
        let mut pipe = child.stdin.take().expect("piped stdin");
        let text = text.to_string();
        std::thread::spawn(move || {
            let _ = pipe.write_all(text.as_bytes());
        })
    });
    let out = child
        .wait_with_output()
        .with_context(|| format!("waiting for {prog}"))?;
    if let Some(f) = feeder {
        let _ = f.join();
    }
    Ok(Out {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Like [`exec`] but a failure is an error quoting the tool's message.
pub fn exec_ok(prog: &str, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let out = exec(prog, args, stdin)?;
    if !out.ok {
        bail!(
            "{prog} {} failed: {}",
            args.join(" "),
            out.stderr
                .trim()
                .lines()
                .take(5)
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    Ok(out.stdout)
}

/// `a.b.c.d/len` / `x::/len` as the tools want it.
pub fn net_text(net: IpNet) -> String {
    format!("{}/{}", net.addr, net.prefix)
}
