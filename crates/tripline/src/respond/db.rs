//! The `blocks` table in the daemon's state database (`<state-dir>/tripline.db`), shared
//! with the daemon's store and the CLI: WAL mode and a busy timeout let them take turns.

use anyhow::{Context, Result};
use rusqlite::{params, Connection};
use std::path::Path;
use tripline_core::net::IpNet;

/// One block as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRow {
    /// The blocked network.
    pub net: IpNet,
    /// Unix seconds when it was added (or last renewed).
    pub added: i64,
    /// Unix seconds when it lapses; `None` = permanent.
    pub expires: Option<i64>,
    /// Danger level at the time (0 for manual blocks without one).
    pub dl: u8,
    /// Why: `auto: ...` or `manual`.
    pub reason: String,
    /// Backend name (`nftables`, `iptables`, `ipset`).
    pub backend: String,
}

/// The database handle.
pub struct BlockDb {
    conn: Connection,
}

impl BlockDb {
    /// Opens (creating) `<state_dir>/tripline.db` and the `blocks` table.
    pub fn open(state_dir: &Path) -> Result<BlockDb> {
        // The daemon's database, with its pragmas (WAL, busy timeout, 0700 directory).
        let conn = crate::store::open_db(state_dir)?;
        let path = crate::store::db_path(state_dir);
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS blocks (
                net TEXT PRIMARY KEY,
                added INTEGER NOT NULL,
                expires INTEGER,
                dl INTEGER NOT NULL,
                reason TEXT NOT NULL,
                backend TEXT NOT NULL
            );",
        )
        .with_context(|| format!("cannot create the blocks table in {}", path.display()))?;
        Ok(BlockDb { conn })
    }

    /// Opens an existing database to read only (no table is created).
    pub fn open_read_only(state_dir: &Path) -> Result<BlockDb> {
        Ok(BlockDb {
            conn: crate::store::open_db_read_only(state_dir)?,
        })
    }

    /// Inserts or replaces rows in one transaction.
    pub fn upsert(&mut self, rows: &[BlockRow]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT OR REPLACE INTO blocks (net, added, expires, dl, reason, backend)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for r in rows {
                st.execute(params![
                    r.net.to_string(),
                    r.added,
                    r.expires,
                    r.dl,
                    r.reason,
                    r.backend
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Removes rows.
    pub fn remove(&mut self, nets: &[IpNet]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached("DELETE FROM blocks WHERE net = ?1")?;
            for n in nets {
                st.execute([n.to_string()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Removes every row.
    pub fn clear(&mut self) -> Result<usize> {
        Ok(self.conn.execute("DELETE FROM blocks", [])?)
    }

    /// Every row, oldest first. Rows whose network does not parse are skipped.
    pub fn all(&self) -> Result<Vec<BlockRow>> {
        let mut st = self.conn.prepare_cached(
            "SELECT net, added, expires, dl, reason, backend FROM blocks ORDER BY added, net",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (net, added, expires, dl, reason, backend) = row?;
            let Ok(net) = net.parse() else { continue };
            out.push(BlockRow {
                net,
                added,
                expires,
                dl: u8::try_from(dl).unwrap_or(0),
                reason,
                backend,
            });
        }
        Ok(out)
    }

    /// Removes the rows that lapsed at `now` (unix seconds) and returns them.
    pub fn take_expired(&mut self, now: i64) -> Result<Vec<BlockRow>> {
        let gone: Vec<BlockRow> = self
            .all()?
            .into_iter()
            .filter(|r| r.expires.is_some_and(|e| e <= now))
            .collect();
        let nets: Vec<IpNet> = gone.iter().map(|r| r.net).collect();
        self.remove(&nets)?;
        Ok(gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_roundtrip_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = BlockDb::open(dir.path()).unwrap();
        let row = |n: &str, exp: Option<i64>| BlockRow {
            net: n.parse().unwrap(),
            added: 100,
            expires: exp,
            dl: 5,
            reason: "auto".into(),
            backend: "nftables".into(),
        };
        db.upsert(&[row("198.51.100.7", Some(150)), row("2001:db8::/64", None)])
            .unwrap();
        // A second handle (the CLI) sees the same rows.
        let other = BlockDb::open(dir.path()).unwrap();
        assert_eq!(other.all().unwrap().len(), 2);
        let gone = db.take_expired(150).unwrap();
        assert_eq!(gone, vec![row("198.51.100.7", Some(150))]);
        assert_eq!(other.all().unwrap(), vec![row("2001:db8::/64", None)]);
        assert_eq!(db.clear().unwrap(), 1);
    }
}
