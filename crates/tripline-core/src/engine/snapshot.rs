//! Saving, restoring and bounding the engine's state.
//!
//! The daemon persists the engine incrementally: [`Engine::take_changed`]
//! names the sources changed since the last save, [`Engine::snapshot_source`]
//! captures each, and [`Engine::snapshot`] the engine-wide part (interned
//! names, counters). [`Engine::restore`] rebuilds an engine from them, so a
//! restart continues exactly where the last save stopped. Snapshots are
//! plain serde values; the shell picks the encoding.
//!
//! Signature hits are stored by index into the signature set; a snapshot
//! carries the keys (sid / psad_id) of the set it was taken with, so a
//! restore (or a reload) with a different set maps each hit to the same
//! rule, and drops hits of rules that are gone.

use super::state::{NameId, Source, NO_NAME};
use super::trw::TrwState;
use super::{Engine, EngineError, Stats, FWSNORT_SIG};
use crate::fingerprint::OsState;
use crate::packet::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::net::IpAddr;

/// Addresses of the sources changed since the last save.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    set: HashSet<IpAddr, foldhash::fast::RandomState>,
}

impl Changes {
    pub fn mark(&mut self, ip: IpAddr) {
        self.set.insert(ip);
    }
}

/// The state of one source: counters, pairs, danger level, OS evidence.
/// Opaque; serialize it with serde.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceSnapshot {
    source: Source,
    os: Option<(OsState, u16, u64)>,
    trw: Option<TrwState>,
}

impl SourceSnapshot {
    /// The source address.
    pub fn src(&self) -> IpAddr {
        self.source.src
    }

    /// Its danger level.
    pub fn danger_level(&self) -> u8 {
        self.source.dl
    }

    /// Packets counted for it.
    pub fn packets(&self) -> u32 {
        self.source.packets
    }

    /// Time of its latest packet, seconds since the epoch.
    pub fn last_seen(&self) -> i64 {
        last_seen(&self.source).into()
    }
}

/// The engine-wide state: interned names, global counters, the clock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineSnapshot {
    names: Vec<Box<str>>,
    prefix_counts: Vec<u64>,
    stats: Stats,
    now: Timestamp,
    last_sweep: Option<Timestamp>,
    seen_tcp_options: bool,
    /// Keys (sid / psad_id) of the signature set, by index.
    sig_keys: Vec<u32>,
}

impl EngineSnapshot {
    /// The latest time the engine had seen.
    pub fn now(&self) -> Timestamp {
        self.now
    }
}

/// Serde for the 256-entry protocol table (serde derives stop at 32).
pub(crate) mod boxed_table {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(t: &[u64; 256], s: S) -> Result<S::Ok, S::Error> {
        t.as_slice().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Box<[u64; 256]>, D::Error> {
        let v = Vec::<u64>::deserialize(d)?;
        let mut t = Box::new([0u64; 256]);
        for (slot, x) in t.iter_mut().zip(v) {
            *slot = x;
        }
        Ok(t)
    }
}

fn last_seen(s: &Source) -> u32 {
    s.pairs.as_slice().iter().map(|p| p.last).max().unwrap_or(0)
}

impl Engine {
    /// Start recording which sources change, for [`Engine::take_changed`].
    pub fn track_changes(&mut self) {
        self.changes.get_or_insert_with(Changes::default);
    }

    /// The sources changed (or evicted) since the last call; empty unless
    /// [`Engine::track_changes`] was called. An address whose
    /// [`Engine::snapshot_source`] is `None` was evicted.
    pub fn take_changed(&mut self) -> Vec<IpAddr> {
        match &mut self.changes {
            Some(c) => c.set.drain().collect(),
            None => Vec::new(),
        }
    }

    /// How many sources changed since the last [`Engine::take_changed`].
    pub fn changed_count(&self) -> usize {
        self.changes.as_ref().map_or(0, |c| c.set.len())
    }

    /// Report every source as changed (after a reload renumbered signatures).
    pub fn mark_all_changed(&mut self) {
        if let Some(c) = &mut self.changes {
            c.set.extend(self.sources.iter().map(|s| s.src));
        }
    }

    pub(crate) fn mark_changed(&mut self, si: usize) {
        if let Some(c) = &mut self.changes {
            c.mark(self.sources[si].src);
        }
    }

    /// One source's state, if tracked.
    pub fn snapshot_source(&self, ip: IpAddr) -> Option<SourceSnapshot> {
        let si = self.find_source(ip)?;
        Some(SourceSnapshot {
            source: self.sources[si].clone(),
            os: self.os.get(&(si as u32)).cloned(),
            trw: self.trw.get(&ip).cloned(),
        })
    }

    /// The engine-wide state. Take it after [`Engine::end_interval`]: the
    /// open interval is not part of a snapshot.
    pub fn snapshot(&self) -> EngineSnapshot {
        EngineSnapshot {
            names: self.names.clone(),
            prefix_counts: self.prefix_counts.clone(),
            stats: self.stats.clone(),
            now: self.now,
            last_sweep: self.last_sweep,
            seen_tcp_options: self.seen_tcp_options,
            sig_keys: self.rules.signatures.sigs.iter().map(|s| s.key).collect(),
        }
    }

    /// Load saved state into a fresh engine (one that has seen no packet).
    /// Refuses snapshots that do not fit together (a corrupt store) rather
    /// than building an engine that would panic later.
    pub fn restore(
        &mut self,
        snap: EngineSnapshot,
        sources: impl IntoIterator<Item = SourceSnapshot>,
    ) -> Result<(), EngineError> {
        if !self.sources.is_empty() || !self.names.is_empty() {
            return Err(EngineError("restore needs a fresh engine".into()));
        }
        if snap.prefix_counts.len() != snap.names.len() || snap.names.len() > NO_NAME as usize {
            return Err(EngineError("snapshot: name table is inconsistent".into()));
        }
        // Old signature index -> new index, by key.
        let by_key: HashMap<u32, u32> = self
            .rules
            .signatures
            .sigs
            .iter()
            .enumerate()
            .map(|(i, s)| (s.key, i as u32))
            .collect();
        let remap = |old: u32| -> Option<u32> {
            if old & FWSNORT_SIG != 0 || old == u32::MAX {
                return Some(old);
            }
            by_key.get(snap.sig_keys.get(old as usize)?).copied()
        };
        let names = snap.names.len();
        let name_ok = |id: NameId| id == NO_NAME || (id as usize) < names;
        let mut restored = Vec::new();
        for s in sources {
            let SourceSnapshot {
                mut source,
                os,
                trw,
            } = s;
            if source.pairs.len() == 0 || source.dl > 5 {
                return Err(EngineError(format!("snapshot of {}: invalid", source.src)));
            }
            for p in source.pairs.as_mut_slice() {
                let c = p.combo;
                let mut ok = name_ok(c.intf) && name_ok(c.prefix) && name_ok(c.host);
                if let Some(d) = &mut p.detail {
                    ok &= d.chains.iter().all(|x| name_ok(x.intf));
                    ok &= d.prefixes.iter().all(|x| name_ok(x.prefix));
                    ok &= d.hosts.iter().all(|&h| name_ok(h));
                    d.sigs.retain_mut(|h| match remap(h.sig) {
                        Some(n) => {
                            h.sig = n;
                            true
                        }
                        None => false,
                    });
                }
                if !ok {
                    return Err(EngineError(format!(
                        "snapshot of {}: unknown name id",
                        source.src
                    )));
                }
            }
            restored.push((source, os, trw));
        }
        let mut stats = snap.stats;
        stats.signatures = stats
            .signatures
            .into_iter()
            .filter_map(|(k, v)| Some((remap(k)?, v)))
            .collect();
        self.name_ids = snap
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as NameId))
            .collect();
        self.names = snap.names;
        self.name_fwsnort = self.names.iter().map(|n| self.fwsnort_of(n)).collect();
        self.prefix_counts = snap.prefix_counts;
        self.stats = stats;
        self.now = self.now.max(snap.now);
        self.last_sweep = snap.last_sweep;
        self.seen_tcp_options = snap.seen_tcp_options;
        for (source, os, trw) in restored {
            if self.find_source(source.src).is_some() {
                return Err(EngineError(format!("snapshot: {} twice", source.src)));
            }
            let ip = source.src;
            self.tracked_pairs += source.pairs.len() as u64;
            for p in source.pairs.as_slice() {
                for h in p.detail.iter().flat_map(|d| d.sigs.iter()) {
                    self.sig_sources.entry(h.sig).or_default().insert(ip);
                }
            }
            let si = self.add_source(source);
            if let Some(os) = os {
                self.os.insert(si as u32, os);
            }
            if let Some(t) = trw {
                self.trw.insert(ip, t);
            }
        }
        Ok(())
    }

    /// Make room under `MAX_SOURCES` for one more source: evict the least
    /// dangerous, longest-quiet sources, an eighth of the cap at a time so
    /// the rebuild cost is shared by many insertions.
    pub(crate) fn make_room(&mut self) {
        let cap = self.config.max_sources as usize;
        if cap == 0 || self.sources.len() < cap {
            return;
        }
        let keep = cap - (cap / 8).max(1);
        let mut order: Vec<(u8, u32, u32)> = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, s)| (s.dl, last_seen(s), i as u32))
            .collect();
        let cut = order.len() - keep;
        order.select_nth_unstable(cut);
        let mut gone = vec![false; self.sources.len()];
        for &(_, _, i) in &order[..cut] {
            gone[i as usize] = true;
        }
        self.remove_sources(&gone);
    }

    /// Drop the sources flagged in `gone`, renumbering what refers to them.
    fn remove_sources(&mut self, gone: &[bool]) {
        let mut new_index = vec![u32::MAX; self.sources.len()];
        let mut kept = Vec::with_capacity(self.sources.len());
        for (i, s) in std::mem::take(&mut self.sources).into_iter().enumerate() {
            if gone[i] {
                self.tracked_pairs = self.tracked_pairs.saturating_sub(s.pairs.len() as u64);
                self.trw.remove(&s.src);
                if let Some(c) = &mut self.changes {
                    c.mark(s.src);
                }
                self.stats.evicted += 1;
            } else {
                new_index[i] = kept.len() as u32;
                kept.push(s);
            }
        }
        self.sources = kept;
        self.os = std::mem::take(&mut self.os)
            .into_iter()
            .filter_map(|(i, v)| {
                let n = new_index[i as usize];
                (n != u32::MAX).then_some((n, v))
            })
            .collect();
        self.interval = self
            .interval
            .iter()
            .filter_map(|&i| {
                let n = new_index[i as usize];
                (n != u32::MAX).then_some(n)
            })
            .collect();
        self.index.clear();
        let (sources, hasher) = (&self.sources, &self.hasher);
        for (i, s) in sources.iter().enumerate() {
            let h = hasher.hash_one(s.src);
            self.index
                .insert_unique(h, i as u32, |&j| hasher.hash_one(sources[j as usize].src));
        }
    }
}
