//! Turning command-line configuration arguments into a validated `Config`
//! and the `Rules` (signatures, ICMP tables, fwsnort rules). The only place
//! that reads configuration files.
//!
//! Without any configuration file Tripline uses psad's defaults and its own
//! built-in signature and ICMP tables. With `--psad-conf` (or a TOML file
//! that names a psad.conf) it reads the files that psad.conf points to
//! (`SIGS_FILE`, `AUTO_DL_FILE`, `ICMP_TYPES_FILE`, ...), as psad does.

use crate::cli::ConfigArgs;
use anyhow::{Context, Result};
use std::net::ToSocketAddrs;
use std::path::Path;
use tripline_core::config::{AutoDl, ConfigBuilder, TomlConfig};
use tripline_core::engine::Rules;
use tripline_core::fingerprint::{Fingerprints, P0f3, PfOs, Posf};
use tripline_core::icmp::IcmpTypes;
use tripline_core::signature::{Classification, RuleDl, SigParseOptions, SignatureSet, SnortRules};
use tripline_core::{Config, Timestamp};

/// A loaded configuration.
pub struct Loaded {
    /// The effective configuration.
    pub config: Config,
    /// Signatures and ICMP tables.
    pub rules: Rules,
    /// Non-fatal problems to show the user.
    pub warnings: Vec<String>,
}

/// Wall-clock now, for the parser's year guess.
pub fn wall_clock() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(d.as_micros() as i64)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_optional(path: &str) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {path}")),
    }
}

/// Load everything `args` names.
pub fn load(args: &ConfigArgs) -> Result<Loaded> {
    let mut builder = ConfigBuilder::new();
    let mut psad_files = false;
    let mut toml_files: Vec<&str> = Vec::new();
    let toml;
    if let Some(p) = &args.config {
        toml = TomlConfig::parse(&p.display().to_string(), &read(p)?)?;
        builder.add_toml(&toml);
        if toml.sets("SIGS_FILE") {
            toml_files.push("SIGS_FILE");
        }
        if toml.sets("AUTO_DL_FILE") {
            toml_files.push("AUTO_DL_FILE");
        }
        if let Some(pc) = toml.psad_conf_path() {
            builder.add_psad_conf(pc, &read(Path::new(pc))?)?;
            psad_files = true;
        }
    }
    if let Some(p) = &args.psad_conf {
        builder.add_psad_conf(&p.display().to_string(), &read(p)?)?;
        psad_files = true;
    }
    let built = builder.build()?;
    let mut config = built.config;
    let mut warnings: Vec<String> = built.warnings.iter().map(ToString::to_string).collect();
    config.psad_compat |= args.psad_compat;
    if args.no_signatures {
        config.signatures_enabled = false;
    }
    if args.no_icmp_types {
        config.icmp_validation = false;
        config.icmp6_validation = false;
    }
    let uses = |var: &str| psad_files || toml_files.contains(&var);

    // Signatures: an explicit file, psad's when configured, else our own set.
    let vars = |name: &str| config.vars.get(name).cloned();
    let classification = match config.var("SNORT_RULES_DIR") {
        Some(dir) if psad_files => read_optional(&format!("{dir}/classification.config"))?
            .map(|t| Classification::parse(&t)),
        _ => None,
    };
    let sig_opts = SigParseOptions {
        strict: config.var_bool("ENABLE_SNORT_SIG_STRICT").unwrap_or(true),
        classification: classification.as_ref(),
        ip_options: None,
    };
    let sig_path = match &args.signatures {
        Some(p) => Some(p.display().to_string()),
        None if uses("SIGS_FILE") => Some(config.sigs_file().to_string()),
        None => None,
    };
    let mut signatures = match &sig_path {
        Some(p) => SignatureSet::parse_with(&read(Path::new(p))?, p, &vars, &sig_opts)?,
        None => SignatureSet::builtin_with(&vars),
    };
    warnings.extend(signatures.warnings.iter().map(ToString::to_string));
    let mut rule_dl = RuleDl::default();
    if psad_files {
        if let Some(path) = config.var("SNORT_RULE_DL_FILE") {
            if let Some(t) = read_optional(path)? {
                rule_dl = RuleDl::parse(&t);
                signatures.apply_rule_dl(&rule_dl);
            }
        }
    }

    // ICMP tables.
    let (icmp4, icmp6) = if psad_files {
        let load = |var: &str, builtin: fn() -> IcmpTypes| -> Result<IcmpTypes> {
            match config.var(var) {
                Some(path) => match read_optional(path)? {
                    Some(t) => Ok(IcmpTypes::parse(&t, path)?),
                    None => Ok(builtin()),
                },
                None => Ok(builtin()),
            }
        };
        (
            load("ICMP_TYPES_FILE", IcmpTypes::builtin_v4)?,
            load("ICMP6_TYPES_FILE", IcmpTypes::builtin_v6)?,
        )
    } else {
        (IcmpTypes::builtin_v4(), IcmpTypes::builtin_v6())
    };

    // fwsnort: the snort rules its SIDs refer to.
    let mut fwsnort = SnortRules::default();
    if psad_files {
        for var in ["SNORT_RULES_DIR", "FWSNORT_RULES_DIR"] {
            let Some(dir) = config.var(var) else { continue };
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut files: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "rules"))
                .collect();
            files.sort();
            for f in files {
                fwsnort.add(&read(&f)?);
            }
        }
    }

    // auto_dl.
    let auto_dl_path = match &args.auto_dl {
        Some(p) => Some(p.display().to_string()),
        None if uses("AUTO_DL_FILE") => Some(config.auto_dl_file().to_string()),
        None => None,
    };
    if let Some(path) = auto_dl_path {
        let text = if args.auto_dl.is_some() {
            Some(read(Path::new(&path))?)
        } else {
            read_optional(&path)?
        };
        if let Some(text) = text {
            let parsed = AutoDl::parse(&path, &text);
            warnings.extend(parsed.warnings.iter().map(ToString::to_string));
            let mut table = parsed.table;
            for host in &parsed.unresolved {
                match (host.name.as_str(), 0).to_socket_addrs() {
                    Ok(addrs) => {
                        let ips: Vec<_> = addrs.map(|a| a.ip()).collect();
                        table.add_resolved(host, &ips);
                    }
                    Err(e) => warnings.push(format!(
                        "{}:{}: cannot resolve {:?}: {e}",
                        host.file, host.line, host.name
                    )),
                }
            }
            config.auto_dl = table;
        }
    }

    let fingerprints =
        load_fingerprints(&config, psad_files, args.p0f_db.as_deref(), &mut warnings)?;
    let rules = Rules {
        signatures,
        icmp4,
        icmp6,
        fwsnort,
        rule_dl,
        fingerprints,
    };
    Ok(Loaded {
        config,
        rules,
        warnings,
    })
}

/// Where Debian's p0f package keeps its v3 database.
const P0F_DB: &str = "/etc/p0f/p0f.fp";

/// pf.os and posf: psad's files when psad.conf is in use, else our own;
/// p0f v3 signatures from `--p0f-db`, or Debian's p0f database when installed.
fn load_fingerprints(
    config: &Config,
    psad_files: bool,
    p0f_db: Option<&Path>,
    warnings: &mut Vec<String>,
) -> Result<Fingerprints> {
    let mut fps = Fingerprints::builtin();
    if psad_files {
        if let Some(path) = config.var("P0F_FILE") {
            if let Some(t) = read_optional(path)? {
                fps.pfos = PfOs::parse(&t, path)?;
            }
        }
        if let Some(path) = config.var("POSF_FILE") {
            if let Some(t) = read_optional(path)? {
                fps.posf = Posf::parse(&t, path)?;
            }
        }
    }
    warnings.extend(fps.posf.warnings().iter().map(ToString::to_string));
    fps.max_hops = config.max_hops;
    let p0f = match p0f_db {
        Some(p) => Some((p.display().to_string(), read(p)?)),
        None => read_optional(P0F_DB)?.map(|t| (P0F_DB.to_string(), t)),
    };
    if let Some((path, text)) = p0f {
        fps.p0f3 = Some(P0f3::parse(&text, &path)?);
    }
    Ok(fps)
}
