//! The append-only, hash-chained audit log of every outcome and override.
//!
//! Each entry's hash is SHA-256 over the previous entry's hash and the entry's fields (each
//! length-prefixed, so no two different entries hash the same). The head of the chain (count
//! and last hash) is kept in `meta`, so [`verify`] detects an edited entry (hash mismatch), a
//! deleted entry (gap in the sequence or broken link) and a truncated log (head mismatch).
//! Triggers refuse UPDATE and DELETE; [`verify`] is for someone who bypasses them.

use crate::db::Migration;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Audit table.
pub const MIGRATIONS: &[Migration] = &[Migration {
    name: "store_003_audit",
    sql: "CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        order_no TEXT,
        operator TEXT,
        data TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
}];

/// `meta` key of the chain head (`<count>:<hash>`).
pub const HEAD_KEY: &str = "audit_head";
/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn sql(op: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
    move |source| Error::Sqlite { op, source }
}

/// One entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// When (injected time).
    pub at: DateTime<Utc>,
    /// What: an outcome name (`over_scan`, `override_accepted`…) or an action (`import`).
    pub kind: &'a str,
    /// The order concerned.
    pub order_no: Option<&'a str>,
    /// The operator signed in.
    pub operator: Option<&'a str>,
    /// Details as JSON.
    pub data: &'a str,
}

/// The chain head: number of entries and the last hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    /// Number of entries.
    pub count: i64,
    /// Hash of the last entry ([`GENESIS`] when empty).
    pub hash: String,
}

fn hash_entry(
    prev: &str,
    seq: i64,
    at: &str,
    e_kind: &str,
    order_no: Option<&str>,
    operator: Option<&str>,
    data: &str,
) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    field(prev.as_bytes());
    field(&seq.to_le_bytes());
    field(at.as_bytes());
    field(e_kind.as_bytes());
    // A missing value and an empty one hash differently.
    for opt in [order_no, operator] {
        match opt {
            Some(v) => {
                field(b"1");
                field(v.as_bytes());
            }
            None => field(b"0"),
        }
    }
    field(data.as_bytes());
    hex::encode(h.finalize())
}

/// The chain head recorded in `meta`.
pub fn head(conn: &Connection) -> Result<Head> {
    let v: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")
        .and_then(|mut s| s.query_row([HEAD_KEY], |r| r.get(0)).optional())
        .map_err(sql("read audit head"))?;
    match v {
        None => Ok(Head {
            count: 0,
            hash: GENESIS.to_string(),
        }),
        Some(v) => {
            let (n, h) = v.split_once(':').ok_or_else(|| Error::Invalid {
                place: format!("meta.{HEAD_KEY}"),
                message: format!("malformed audit head {v:?}"),
            })?;
            let count = n.parse().map_err(|_| Error::Invalid {
                place: format!("meta.{HEAD_KEY}"),
                message: format!("malformed audit count {n:?}"),
            })?;
            Ok(Head {
                count,
                hash: h.to_string(),
            })
        }
    }
}

/// Appends an entry (call inside the caller's transaction) and returns the new head.
pub fn append(conn: &Connection, e: &Entry<'_>) -> Result<Head> {
    let prev = head(conn)?;
    let seq = prev.count + 1;
    let at = e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let hash = hash_entry(&prev.hash, seq, &at, e.kind, e.order_no, e.operator, e.data);
    conn.prepare_cached(
        "INSERT INTO audit (seq, at, kind, order_no, operator, data, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            seq, at, e.kind, e.order_no, e.operator, e.data, prev.hash, hash
        ])
    })
    .map_err(sql("append audit entry"))?;
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )
    .and_then(|mut s| s.execute(params![HEAD_KEY, format!("{seq}:{hash}")]))
    .map_err(sql("write audit head"))?;
    Ok(Head { count: seq, hash })
}

/// One problem found by [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The entry (sequence number) where the chain breaks, or the head.
    pub seq: i64,
    /// What is wrong.
    pub what: String,
}

/// The result of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Entries checked.
    pub entries: i64,
    /// The head recorded in `meta`.
    pub head: Head,
    /// Problems, in order; empty when the log is intact.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether the log is intact.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Walks the whole chain and compares its end with the recorded head.
pub fn verify(conn: &Connection) -> Result<Report> {
    let recorded = head(conn)?;
    let mut problems = Vec::new();
    let mut st = conn
        .prepare("SELECT seq, at, kind, order_no, operator, data, prev_hash, hash FROM audit ORDER BY seq")
        .map_err(sql("read audit"))?;
    let mut rows = st.query([]).map_err(sql("read audit"))?;
    let mut expected_seq = 1i64;
    let mut prev = GENESIS.to_string();
    let mut entries = 0i64;
    while let Some(r) = rows.next().map_err(sql("read audit"))? {
        let read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<_> {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
            ))
        };
        let (seq, at, kind, order_no, operator, data, prev_hash, hash) = match read(r) {
            Ok(v) => v,
            Err(e) => {
                problems.push(Problem {
                    seq: expected_seq,
                    what: format!("unreadable entry: {e}"),
                });
                expected_seq += 1;
                continue;
            }
        };
        entries += 1;
        if seq != expected_seq {
            problems.push(Problem {
                seq,
                what: format!("entries {expected_seq}..{} are missing (deleted)", seq - 1),
            });
        }
        if prev_hash != prev {
            problems.push(Problem {
                seq,
                what: "link to the previous entry is broken (an entry before it was deleted or edited)".into(),
            });
        }
        let recomputed = hash_entry(
            &prev_hash,
            seq,
            &at,
            &kind,
            order_no.as_deref(),
            operator.as_deref(),
            &data,
        );
        if recomputed != hash {
            problems.push(Problem {
                seq,
                what: "content does not match its hash (edited)".into(),
            });
        }
        prev = hash;
        expected_seq = seq + 1;
    }
    let last_seq = expected_seq - 1;
    if recorded.count != last_seq || recorded.hash != prev {
        problems.push(Problem {
            seq: last_seq,
            what: format!(
                "the log ends at entry {last_seq} but the recorded head is entry {} (truncated or head tampered)",
                recorded.count
            ),
        });
    }
    Ok(Report {
        entries,
        head: recorded,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(n: i64) -> Connection {
        let c = crate::db::open(":memory:").unwrap();
        for i in 0..n {
            let data = format!("{{\"i\":{i}}}");
            append(
                &c,
                &Entry {
                    at: DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(i),
                    kind: "item_accepted",
                    order_no: Some("O1"),
                    operator: None,
                    data: &data,
                },
            )
            .unwrap();
        }
        c.execute_batch("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
            .unwrap();
        c
    }

    fn check(tamper: &str, expect_ok: bool, seq: Option<i64>) {
        let c = log(5);
        c.execute_batch(tamper).unwrap();
        let r = verify(&c).unwrap();
        assert_eq!(r.ok(), expect_ok, "{tamper}: {:?}", r.problems);
        if let Some(s) = seq {
            assert_eq!(r.problems[0].seq, s, "{tamper}: {:?}", r.problems);
        }
    }

    #[test]
    fn detects_edits_deletions_and_truncation() {
        check("", true, None);
        check(
            "UPDATE audit SET data = '{\"i\":9}' WHERE seq = 3",
            false,
            Some(3),
        );
        check(
            "UPDATE audit SET order_no = NULL WHERE seq = 2",
            false,
            Some(2),
        );
        check(
            "UPDATE audit SET at = '2030-01-01T00:00:00.000Z' WHERE seq = 1",
            false,
            Some(1),
        );
        check("DELETE FROM audit WHERE seq = 3", false, Some(4));
        check("DELETE FROM audit WHERE seq >= 4", false, Some(3));
        check("DELETE FROM audit", false, Some(0));
        check("DELETE FROM meta WHERE key = 'audit_head'", false, None);
    }

    #[test]
    fn triggers_refuse_changes() {
        let c = crate::db::open(":memory:").unwrap();
        append(
            &c,
            &Entry {
                at: DateTime::<Utc>::UNIX_EPOCH,
                kind: "k",
                order_no: None,
                operator: None,
                data: "{}",
            },
        )
        .unwrap();
        assert!(c.execute("UPDATE audit SET kind = 'x'", []).is_err());
        assert!(c.execute("DELETE FROM audit", []).is_err());
        assert_eq!(verify(&c).unwrap().entries, 1);
    }
}
