//! Leadership on PostgreSQL: a session-level advisory lock held on a connection of
//! its own, outside the pool.
//!
//! The lock lives exactly as long as the session: if the leader dies, hangs past TCP
//! keep-alive or loses the network, PostgreSQL ends the session and the lock is free
//! for a follower. The leader writes its cycles through the same connection
//! ([`super::SqlStore`]'s `fenced`), so a leader whose session is gone cannot commit:
//! two replicas never both act, even for a moment.
//!
//! On SQLite (one file, usually one process) leadership is a lease row renewed by
//! every write; see `SqlStore::lead`.

use sqlx::{AnyConnection, Connection, Row};

/// The lock connection, when this replica leads.
#[derive(Debug, Default)]
pub struct Leadership {
    conn: Option<AnyConnection>,
}

impl Leadership {
    /// The connection holding the lock.
    pub fn connection(&mut self) -> Option<&mut AnyConnection> {
        self.conn.as_mut()
    }

    /// Forgets the lock connection (dropping it ends the session and frees the lock).
    pub fn drop_lock(&mut self) {
        self.conn = None;
    }

    /// Keeps or takes the lock: a held lock is checked by a round trip on its session;
    /// a free one is tried without waiting.
    pub async fn lead_postgres(&mut self, url: &str, key: i64) -> Result<bool, super::StoreError> {
        if let Some(conn) = &mut self.conn {
            if conn.ping().await.is_ok() {
                return Ok(true);
            }
            self.conn = None;
        }
        let mut conn = AnyConnection::connect(url).await?;
        let got: bool = sqlx::query("SELECT pg_try_advisory_lock($1) AS got")
            .bind(key)
            .fetch_one(&mut conn)
            .await?
            .try_get("got")?;
        if got {
            self.conn = Some(conn);
        } else {
            let _ = conn.close().await;
        }
        Ok(got)
    }

    /// Releases the lock and closes its session.
    pub async fn resign_postgres(&mut self, key: i64) {
        if let Some(mut conn) = self.conn.take() {
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(key)
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        }
    }
}
