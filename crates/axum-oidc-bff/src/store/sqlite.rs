//! SQLite (`SESSION_STORE=sqlite://path/to/file.db`): sessions survive a restart of the one
//! server process that owns the file.

use super::{BackendError, UserDigest};
use anyhow::Context;
use std::time::Duration;
use tower_sessions::session::Id;
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions_sqlx_store::{
    sqlx::{sqlite::SqliteConnectOptions, SqlitePool},
    SqliteStore,
};

pub struct SqliteBackend {
    pub store: SqliteStore,
    pool: SqlitePool,
    /// `{prefix}_marks` and `{prefix}_user_sessions`.
    marks: String,
    users: String,
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn backend_error(err: impl std::fmt::Display) -> BackendError {
    BackendError::unavailable(err)
}

impl SqliteBackend {
    pub async fn connect(url: &str, table_prefix: &str) -> anyhow::Result<Self> {
        let (marks, users) = (
            format!("{table_prefix}_marks"),
            format!("{table_prefix}_user_sessions"),
        );
        let options: SqliteConnectOptions = url
            .parse::<SqliteConnectOptions>()
            .with_context(|| format!("SESSION_STORE: `{url}` is not a SQLite URL"))?
            .create_if_missing(true)
            // Several writers, one file: wait rather than fail when it is busy.
            .busy_timeout(Duration::from_secs(5))
            .journal_mode(tower_sessions_sqlx_store::sqlx::sqlite::SqliteJournalMode::Wal);
        let pool = SqlitePool::connect_with(options)
            .await
            .with_context(|| format!("SESSION_STORE: cannot open {url}"))?;
        let store = SqliteStore::new(pool.clone());
        store
            .migrate()
            .await
            .context("SESSION_STORE: create the sessions table")?;
        tower_sessions_sqlx_store::sqlx::query(&format!(
            "create table if not exists {marks} (key text primary key not null, \
             at integer not null, expires integer not null)"
        ))
        .execute(&pool)
        .await
        .context("SESSION_STORE: create the marks table")?;
        tower_sessions_sqlx_store::sqlx::query(&format!(
            "create table if not exists {users} (user text not null, \
             id text not null, at integer not null, expires integer not null, \
             primary key (user, id))"
        ))
        .execute(&pool)
        .await
        .context("SESSION_STORE: create the user sessions table")?;
        Ok(SqliteBackend {
            store,
            pool,
            marks,
            users,
        })
    }

    pub async fn mark(&self, key: &str, at: i64, ttl: Duration) -> Result<(), BackendError> {
        tower_sessions_sqlx_store::sqlx::query(&format!(
            "insert into {m} (key, at, expires) values (?, ?, ?) \
             on conflict(key) do update set at = max(at, excluded.at), \
             expires = max(expires, excluded.expires)",
            m = self.marks
        ))
        .bind(key)
        .bind(at)
        .bind(unix_now() + ttl.as_secs() as i64)
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    pub async fn marks(&self, keys: &[String]) -> Result<Vec<Option<i64>>, BackendError> {
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            let at: Option<i64> = tower_sessions_sqlx_store::sqlx::query_scalar(&format!(
                "select at from {m} where key = ? and expires > ?",
                m = self.marks
            ))
            .bind(key)
            .bind(unix_now())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend_error)?;
            found.push(at);
        }
        Ok(found)
    }

    pub async fn claim(&self, key: &str, ttl: Duration) -> Result<bool, BackendError> {
        let now = unix_now();
        let mut tx = self.pool.begin().await.map_err(backend_error)?;
        tower_sessions_sqlx_store::sqlx::query(&format!(
            "delete from {m} where key = ? and expires <= ?",
            m = self.marks
        ))
        .bind(key)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?;
        let inserted = tower_sessions_sqlx_store::sqlx::query(&format!(
            "insert or ignore into {m} (key, at, expires) values (?, 0, ?)",
            m = self.marks
        ))
        .bind(key)
        .bind(now + ttl.as_secs() as i64)
        .execute(&mut *tx)
        .await
        .map_err(backend_error)?
        .rows_affected();
        tx.commit().await.map_err(backend_error)?;
        Ok(inserted == 1)
    }

    pub async fn add_user_session(
        &self,
        user: &UserDigest,
        id: Id,
        at: i64,
        ttl: Duration,
    ) -> Result<Vec<(i64, Id)>, BackendError> {
        let user = user.to_string();
        tower_sessions_sqlx_store::sqlx::query(&format!(
            "insert into {u} (user, id, at, expires) values (?, ?, ?, ?) \
             on conflict(user, id) do update set at = excluded.at, expires = excluded.expires",
            u = self.users
        ))
        .bind(&user)
        .bind(id.to_string())
        .bind(at)
        .bind(unix_now() + ttl.as_secs() as i64)
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        let rows: Vec<(i64, String)> = tower_sessions_sqlx_store::sqlx::query_as(&format!(
            "select at, id from {u} where user = ? order by at",
            u = self.users
        ))
        .bind(&user)
        .fetch_all(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|(at, id)| Some((at, id.parse().ok()?)))
            .collect())
    }

    pub async fn remove_user_sessions(
        &self,
        user: &UserDigest,
        ids: &[Id],
    ) -> Result<(), BackendError> {
        for id in ids {
            tower_sessions_sqlx_store::sqlx::query(&format!(
                "delete from {u} where user = ? and id = ?",
                u = self.users
            ))
            .bind(user.to_string())
            .bind(id.to_string())
            .execute(&self.pool)
            .await
            .map_err(backend_error)?;
        }
        Ok(())
    }

    pub async fn delete_expired(&self) -> Result<(), BackendError> {
        self.store.delete_expired().await.map_err(backend_error)?;
        tower_sessions_sqlx_store::sqlx::query(&format!(
            "delete from {m} where expires <= ?",
            m = self.marks
        ))
        .bind(unix_now())
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        tower_sessions_sqlx_store::sqlx::query(&format!(
            "delete from {u} where expires <= ?",
            u = self.users
        ))
        .bind(unix_now())
        .execute(&self.pool)
        .await
        .map_err(backend_error)?;
        Ok(())
    }
}
