//! A node's durable storage: a redb database with a live view on top.
//!
//! - **Durable view**: the redb database (its in-memory backend by default, a file when
//!   the run has an output directory). Only what was committed there survives a crash.
//! - **Live view**: writes the node made that are not durable yet, kept in order. Reads
//!   see them (as a node's own memtable would); a crash drops them.
//!
//! Writes become durable in the order they were made (one writer per node, doing one
//! group commit at a time: see `Writer` in the simulator), and every batch of writes that
//! becomes durable at one instant is committed in one redb transaction.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;

use redb::backends::InMemoryBackend;
use redb::{Database, Durability, ReadableDatabase, TableDefinition};

use crate::bindings::{Entry, WriteOp};

/// A key and its value, as read from redb.
pub type KeyValue = (Vec<u8>, Vec<u8>);

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("node");

/// In-memory databases commit without fsync; every this many commits one durable commit
/// lets redb reclaim the pages the others freed.
const RECLAIM_EVERY: u32 = 256;

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// redb failed (the message names the file when there is one).
    #[error("redb: {0}")]
    Redb(String),
    /// A write was made durable before an older one (the writer's order was broken).
    #[error("write {0} became durable out of order (pending: {1:?})")]
    OutOfOrder(u64, Option<u64>),
}

fn redb_err(e: impl std::fmt::Display) -> StorageError {
    StorageError::Redb(e.to_string())
}

/// A key in the live view: its newest value (None: deleted) and how many pending
/// writes touch it.
struct Overlay {
    value: Option<Vec<u8>>,
    writers: u32,
}

/// One node's database: durable in redb, with the writes not yet durable on top.
pub struct NodeStorage {
    db: Database,
    in_memory: bool,
    pending: VecDeque<(u64, Vec<WriteOp>)>,
    overlay: BTreeMap<Vec<u8>, Overlay>,
    commits: u32,
    /// Bytes of keys and values in the durable view.
    durable_bytes: u64,
    /// Bytes of keys and values in the writes not yet durable.
    pending_bytes: u64,
}

fn op_bytes(op: &WriteOp) -> u64 {
    (op.key.len() + op.value.as_ref().map_or(0, Vec::len)) as u64
}

impl NodeStorage {
    /// A database on redb's in-memory backend.
    pub fn in_memory() -> Result<Self, StorageError> {
        let db = Database::builder()
            .create_with_backend(InMemoryBackend::new())
            .map_err(redb_err)?;
        Self::with_db(db, true)
    }

    /// A database in a file (created if missing).
    pub fn file(path: &Path) -> Result<Self, StorageError> {
        let db = Database::create(path)
            .map_err(|e| StorageError::Redb(format!("opening {}: {e}", path.display())))?;
        Self::with_db(db, false)
    }

    fn with_db(db: Database, in_memory: bool) -> Result<Self, StorageError> {
        let txn = db.begin_write().map_err(redb_err)?;
        txn.open_table(TABLE).map_err(redb_err)?;
        txn.commit().map_err(redb_err)?;
        Ok(NodeStorage {
            db,
            in_memory,
            pending: VecDeque::new(),
            overlay: BTreeMap::new(),
            commits: 0,
            durable_bytes: 0,
            pending_bytes: 0,
        })
    }

    /// Applies a write to the live view; it becomes durable with [`Self::make_durable`].
    pub fn write(&mut self, id: u64, ops: Vec<WriteOp>) {
        for op in &ops {
            self.pending_bytes = self.pending_bytes.saturating_add(op_bytes(op));
            let entry = self.overlay.entry(op.key.clone()).or_insert(Overlay {
                value: None,
                writers: 0,
            });
            entry.value = op.value.clone();
            entry.writers += 1;
        }
        self.pending.push_back((id, ops));
    }

    /// Commits the oldest pending writes, which must be `ids` in order, in one transaction.
    pub fn make_durable(&mut self, ids: &[u64]) -> Result<(), StorageError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut batch = Vec::with_capacity(ids.len());
        for &id in ids {
            match self.pending.front() {
                Some((front, _)) if *front == id => {
                    batch.push(self.pending.pop_front().expect("front exists").1)
                }
                other => {
                    return Err(StorageError::OutOfOrder(id, other.map(|(f, _)| *f)));
                }
            }
        }
        let mut txn = self.db.begin_write().map_err(redb_err)?;
        self.commits += 1;
        let durability = if self.in_memory && !self.commits.is_multiple_of(RECLAIM_EVERY) {
            Durability::None
        } else {
            Durability::Immediate
        };
        txn.set_durability(durability).map_err(redb_err)?;
        {
            let mut table = txn.open_table(TABLE).map_err(redb_err)?;
            for ops in &batch {
                for op in ops {
                    self.pending_bytes = self.pending_bytes.saturating_sub(op_bytes(op));
                    let old = match &op.value {
                        Some(v) => {
                            self.durable_bytes += (op.key.len() + v.len()) as u64;
                            table
                                .insert(op.key.as_slice(), v.as_slice())
                                .map_err(redb_err)?
                        }
                        None => table.remove(op.key.as_slice()).map_err(redb_err)?,
                    };
                    if let Some(old) = old {
                        let freed = (op.key.len() + old.value().len()) as u64;
                        self.durable_bytes = self.durable_bytes.saturating_sub(freed);
                    }
                }
            }
        }
        txn.commit().map_err(redb_err)?;
        for ops in batch {
            for op in ops {
                if let Some(entry) = self.overlay.get_mut(&op.key) {
                    entry.writers -= 1;
                    if entry.writers == 0 {
                        self.overlay.remove(&op.key);
                    }
                }
            }
        }
        Ok(())
    }

    /// A crash: every write that is not durable is lost.
    pub fn crash(&mut self) {
        self.pending.clear();
        self.overlay.clear();
        self.pending_bytes = 0;
    }

    /// Bytes of keys and values the database holds, durable or about to be (writes that
    /// overwrite a key count twice until they are durable).
    pub fn bytes(&self) -> u64 {
        self.durable_bytes.saturating_add(self.pending_bytes)
    }

    /// Writes made but not yet durable.
    pub fn pending_writes(&self) -> usize {
        self.pending.len()
    }

    /// The newest value of `key`, durable or not.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        if let Some(entry) = self.overlay.get(key) {
            return Ok(entry.value.clone());
        }
        let txn = self.db.begin_read().map_err(redb_err)?;
        let table = txn.open_table(TABLE).map_err(redb_err)?;
        Ok(table
            .get(key)
            .map_err(redb_err)?
            .map(|v| v.value().to_vec()))
    }

    /// What survives a crash: the durable keys in `start..end` and their values, in key order.
    pub fn durable_range(&self, start: &[u8], end: &[u8]) -> Result<Vec<KeyValue>, StorageError> {
        let txn = self.db.begin_read().map_err(redb_err)?;
        let table = txn.open_table(TABLE).map_err(redb_err)?;
        table
            .range(start..end)
            .map_err(redb_err)?
            .map(|item| {
                item.map(|(k, v)| (k.value().to_vec(), v.value().to_vec()))
                    .map_err(redb_err)
            })
            .collect()
    }

    /// `start <= key < end` in key order (descending with `reverse`), at most `limit`.
    pub fn scan(
        &self,
        start: &[u8],
        end: &[u8],
        limit: u32,
        reverse: bool,
    ) -> Result<Vec<Entry>, StorageError> {
        if start >= end || limit == 0 {
            return Ok(Vec::new());
        }
        let limit = limit as usize;
        let txn = self.db.begin_read().map_err(redb_err)?;
        let table = txn.open_table(TABLE).map_err(redb_err)?;
        let mut durable = table.range(start..end).map_err(redb_err)?;
        let mut live = self.overlay.range(start.to_vec()..end.to_vec());
        let mut out = Vec::new();
        // Merge the two ordered streams; the live view wins on equal keys.
        let mut next_durable = |reverse: bool| -> Result<Option<KeyValue>, StorageError> {
            let item = if reverse {
                durable.next_back()
            } else {
                durable.next()
            };
            item.transpose()
                .map_err(redb_err)
                .map(|o| o.map(|(k, v)| (k.value().to_vec(), v.value().to_vec())))
        };
        let mut next_live = |reverse: bool| {
            let item = if reverse {
                live.next_back()
            } else {
                live.next()
            };
            item.map(|(k, o)| (k.clone(), o.value.clone()))
        };
        let mut d = next_durable(reverse)?;
        let mut l = next_live(reverse);
        while out.len() < limit {
            let (take_live, shadowed) = match (&d, &l) {
                (None, None) => break,
                (None, Some(_)) => (true, false),
                (Some(_), None) => (false, false),
                (Some((dk, _)), Some((lk, _))) => {
                    if dk == lk {
                        (true, true)
                    } else {
                        ((lk < dk) != reverse, false)
                    }
                }
            };
            if shadowed {
                d = next_durable(reverse)?;
            }
            if take_live {
                let (key, value) = l.take().expect("chosen above");
                if let Some(value) = value {
                    out.push(Entry { key, value });
                }
                l = next_live(reverse);
            } else {
                let (key, value) = d.take().expect("chosen above");
                out.push(Entry { key, value });
                d = next_durable(reverse)?;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &[u8], v: &[u8]) -> WriteOp {
        WriteOp {
            key: k.to_vec(),
            value: Some(v.to_vec()),
        }
    }

    fn keys(entries: &[Entry]) -> Vec<Vec<u8>> {
        entries.iter().map(|e| e.key.clone()).collect()
    }

    #[test]
    fn a_crash_loses_exactly_what_was_not_durable() {
        let mut s = NodeStorage::in_memory().unwrap();
        s.write(1, vec![put(b"a", b"1")]);
        s.write(2, vec![put(b"b", b"2")]);
        s.make_durable(&[1]).unwrap();
        assert_eq!(
            s.get(b"b").unwrap(),
            Some(b"2".to_vec()),
            "live view sees it"
        );
        s.crash();
        assert_eq!(s.get(b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(s.get(b"b").unwrap(), None);
    }

    #[test]
    fn durability_follows_write_order() {
        let mut s = NodeStorage::in_memory().unwrap();
        s.write(1, vec![put(b"a", b"1")]);
        s.write(2, vec![put(b"a", b"2")]);
        assert!(s.make_durable(&[2]).is_err());
        s.make_durable(&[1]).unwrap();
        assert_eq!(
            s.get(b"a").unwrap(),
            Some(b"2".to_vec()),
            "newest pending wins"
        );
        s.make_durable(&[2]).unwrap();
        s.crash();
        assert_eq!(s.get(b"a").unwrap(), Some(b"2".to_vec()));
    }

    #[test]
    fn scans_merge_live_and_durable_views_both_ways() {
        let mut s = NodeStorage::in_memory().unwrap();
        s.write(1, vec![put(b"a", b"1"), put(b"c", b"3"), put(b"e", b"5")]);
        s.make_durable(&[1]).unwrap();
        s.write(
            2,
            vec![
                put(b"b", b"2"),
                WriteOp {
                    key: b"c".to_vec(),
                    value: None,
                },
                put(b"e", b"55"),
            ],
        );
        let fwd = s.scan(b"a", b"z", 10, false).unwrap();
        assert_eq!(
            keys(&fwd),
            vec![b"a".to_vec(), b"b".to_vec(), b"e".to_vec()]
        );
        assert_eq!(fwd[2].value, b"55".to_vec());
        let back = s.scan(b"a", b"z", 2, true).unwrap();
        assert_eq!(keys(&back), vec![b"e".to_vec(), b"b".to_vec()]);
        assert!(s.scan(b"z", b"a", 10, false).unwrap().is_empty());
    }

    #[test]
    fn file_databases_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("logsandbox-storage-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("n1.redb");
        let _ = std::fs::remove_file(&path);
        {
            let mut s = NodeStorage::file(&path).unwrap();
            s.write(1, vec![put(b"k", b"v")]);
            s.make_durable(&[1]).unwrap();
        }
        let s = NodeStorage::file(&path).unwrap();
        assert_eq!(s.get(b"k").unwrap(), Some(b"v".to_vec()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
