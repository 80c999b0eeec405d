//! Redis (`SESSION_STORE=redis://host:port`): sessions shared by every server instance, and the
//! lock that makes a token refresh happen once across them.
//!
//! Commands time out after [`COMMAND_TIMEOUT`], so that a Redis that is down yields a 503 at
//! once, and the client reconnects by itself when Redis is back.

use super::{BackendError, UserDigest};
use anyhow::Context;
use fred::{
    prelude::*,
    types::{config::ReconnectPolicy, Expiration, SetOptions},
};
use secrecy::{ExposeSecret, SecretString};
use std::time::{Duration, Instant};
use tower_sessions::session::Id;
use tower_sessions::{
    session::Record,
    session_store::{self, SessionStore},
};

const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// A refresh lock lives this long unless renewed: a holder that dies blocks others no longer.
const LOCK_TTL: Duration = Duration::from_secs(10);
const LOCK_RENEW_EVERY: Duration = Duration::from_secs(3);
const LOCK_POLL: Duration = Duration::from_millis(20);

pub struct RedisBackend {
    pub store: RedisSessions,
    pool: Pool,
    config: Config,
    /// Before every key, and the events channel's name.
    prefix: String,
}

fn backend_error(err: impl std::fmt::Display) -> BackendError {
    BackendError::unavailable(err)
}

impl RedisBackend {
    /// Connects to `url`, which may carry a password: errors name the server without it.
    pub async fn connect(url: &SecretString, prefix: &str) -> anyhow::Result<Self> {
        let url = url.expose_secret();
        let shown = without_password(url);
        let config = Config::from_url(url)
            .map_err(|_| anyhow::anyhow!("SESSION_STORE: `{shown}` is not a Redis URL"))?;
        let pool = builder(&config)
            .build_pool(4)
            .context("SESSION_STORE: Redis client")?;
        pool.init()
            .await
            .with_context(|| format!("SESSION_STORE: cannot connect to {shown}"))?;
        check_eviction_policy(&pool, &shown).await?;
        Ok(RedisBackend {
            store: RedisSessions {
                pool: pool.clone(),
                prefix: format!("{prefix}session:"),
            },
            pool,
            config,
            prefix: prefix.to_owned(),
        })
    }

    /// The channel that carries session events between server instances.
    fn events_channel(&self) -> String {
        format!("{}events", self.prefix)
    }

    /// Sends `message` to every instance's [`RedisBackend::subscribe`]r (this one's included).
    pub async fn publish(&self, message: String) -> Result<(), BackendError> {
        let _: i64 = self
            .pool
            .next()
            .publish(self.events_channel(), message)
            .await
            .map_err(backend_error)?;
        Ok(())
    }

    /// Delivers every published message to `deliver`, from a connection of its own that
    /// subscribes again after Redis comes back.
    pub async fn subscribe(&self, deliver: super::Deliver) -> anyhow::Result<()> {
        let subscriber = builder(&self.config)
            .build_subscriber_client()
            .context("SESSION_STORE: Redis subscriber")?;
        subscriber
            .init()
            .await
            .context("SESSION_STORE: Redis subscriber")?;
        let _resubscribe = subscriber.manage_subscriptions();
        subscriber
            .subscribe(self.events_channel())
            .await
            .context("SESSION_STORE: subscribe to session events")?;
        let mut messages = subscriber.message_rx();
        let deliver = std::sync::Arc::new(deliver);
        let mut reconnects = subscriber.reconnect_rx();
        tokio::spawn({
            let deliver = deliver.clone();
            async move {
                // Whatever was published while the connection was down is lost.
                while reconnects.recv().await.is_ok() {
                    deliver(None);
                }
            }
        });
        tokio::spawn(async move {
            let _subscriber = subscriber;
            loop {
                match messages.recv().await {
                    Ok(message) => {
                        if let Ok(text) = message.value.convert::<String>() {
                            deliver(Some(text));
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "missed session events from Redis");
                        deliver(None);
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(())
    }

    pub async fn mark(&self, key: &str, at: i64, ttl: Duration) -> Result<(), BackendError> {
        let _: i64 = self
            .pool
            .eval(
                MARK,
                vec![key.to_owned()],
                vec![at.to_string(), ttl.as_secs().max(1).to_string()],
            )
            .await
            .map_err(backend_error)?;
        Ok(())
    }

    /// One `GET` per key, at once: an `MGET` of keys in different slots fails on Redis Cluster.
    pub async fn marks(&self, keys: &[String]) -> Result<Vec<Option<i64>>, BackendError> {
        let reads = keys.iter().map(|key| self.pool.get::<Option<i64>, _>(key));
        futures_util::future::try_join_all(reads)
            .await
            .map_err(backend_error)
    }

    pub async fn claim(&self, key: &str, ttl: Duration) -> Result<bool, BackendError> {
        let set: Option<String> = self
            .pool
            .set(
                key,
                1,
                Some(Expiration::EX(ttl.as_secs().max(1) as i64)),
                Some(SetOptions::NX),
                false,
            )
            .await
            .map_err(backend_error)?;
        Ok(set.is_some())
    }

    pub async fn add_user_session(
        &self,
        user: &UserDigest,
        id: Id,
        at: i64,
        ttl: Duration,
    ) -> Result<Vec<(i64, Id)>, BackendError> {
        let key = format!("{}user-sessions:{user}", self.prefix);
        let _: i64 = self
            .pool
            .zadd(&key, None, None, false, false, (at as f64, id.to_string()))
            .await
            .map_err(backend_error)?;
        let _: i64 = self
            .pool
            .expire(&key, ttl.as_secs().max(1) as i64, None)
            .await
            .map_err(backend_error)?;
        let held: Vec<(String, f64)> = self
            .pool
            .zrange(&key, 0, -1, None, false, None, true)
            .await
            .map_err(backend_error)?;
        Ok(held
            .into_iter()
            .filter_map(|(id, at)| Some((at as i64, id.parse().ok()?)))
            .collect())
    }

    pub async fn remove_user_sessions(
        &self,
        user: &UserDigest,
        ids: &[Id],
    ) -> Result<(), BackendError> {
        let key = format!("{}user-sessions:{user}", self.prefix);
        let members: Vec<String> = ids.iter().map(Id::to_string).collect();
        let _: i64 = self.pool.zrem(&key, members).await.map_err(backend_error)?;
        Ok(())
    }

    /// Waits up to `wait` for the lock `name`.
    pub async fn lock(&self, name: &str, wait: Duration) -> Result<RedisLock, BackendError> {
        let key = format!("{}lock:{name}", self.prefix);
        let token = crate::headers::random_token(32);
        let deadline = Instant::now() + wait;
        loop {
            let acquired: Option<String> = self
                .pool
                .set(
                    &key,
                    &token,
                    Some(Expiration::PX(LOCK_TTL.as_millis() as i64)),
                    Some(SetOptions::NX),
                    false,
                )
                .await
                .map_err(backend_error)?;
            if acquired.is_some() {
                break;
            }
            if Instant::now() >= deadline {
                return Err(BackendError::Busy(format!(
                    "lock {name} still held after {wait:?}"
                )));
            }
            tokio::time::sleep(LOCK_POLL).await;
        }
        let renewer = {
            let (pool, key, token) = (self.pool.clone(), key.clone(), token.clone());
            tokio::spawn(async move {
                // Keeps the lock while a slow IdP answers; stops when the holder releases it.
                loop {
                    tokio::time::sleep(LOCK_RENEW_EVERY).await;
                    let renewed: Result<i64, _> = pool
                        .eval(
                            RENEW,
                            vec![key.clone()],
                            vec![token.clone(), LOCK_TTL.as_millis().to_string()],
                        )
                        .await;
                    if !matches!(renewed, Ok(1)) {
                        return;
                    }
                }
            })
        };
        Ok(RedisLock {
            pool: self.pool.clone(),
            key,
            token,
            renewer,
            released: false,
        })
    }
}

/// Sessions in Redis, one key each (`<prefix>session:<id>`), their data as JSON, expiring with
/// the record (`EXAT`). Creating never overwrites an existing id; saving only updates a key that
/// still exists (`XX`), so a session that ended is never written back.
#[derive(Clone)]
pub struct RedisSessions {
    pool: Pool,
    prefix: String,
}

impl std::fmt::Debug for RedisSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisSessions({}…)", self.prefix)
    }
}

impl RedisSessions {
    fn key(&self, id: &tower_sessions::session::Id) -> String {
        format!("{}{id}", self.prefix)
    }

    /// `SET key data EXAT expiry NX|XX`: whether Redis wrote it.
    async fn set(&self, record: &Record, condition: SetOptions) -> session_store::Result<bool> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let value = format!("{}\n{data}", record.expiry_date.unix_timestamp());
        let expiry = record.expiry_date.unix_timestamp().max(1);
        let written: Option<String> = self
            .pool
            .set(
                self.key(&record.id),
                value,
                Some(Expiration::EXAT(expiry)),
                Some(condition),
                false,
            )
            .await
            .map_err(|e| session_store::Error::Backend(e.to_string()))?;
        Ok(written.is_some())
    }
}

#[async_trait::async_trait]
impl SessionStore for RedisSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        while !self.set(record, SetOptions::NX).await? {
            record.id = tower_sessions::session::Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.set(record, SetOptions::XX).await.map(|_| ())
    }

    async fn load(
        &self,
        id: &tower_sessions::session::Id,
    ) -> session_store::Result<Option<Record>> {
        let value: Option<String> = self
            .pool
            .get(self.key(id))
            .await
            .map_err(|e| session_store::Error::Backend(e.to_string()))?;
        let Some(value) = value else {
            return Ok(None);
        };
        let decode = |why: &str| session_store::Error::Decode(why.to_owned());
        let (expiry, data) = value.split_once('\n').ok_or_else(|| decode("no expiry"))?;
        let expiry = expiry
            .parse::<i64>()
            .ok()
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .ok_or_else(|| decode("a malformed expiry"))?;
        let data = serde_json::from_str(data).map_err(|e| decode(&e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date: expiry,
        }))
    }

    async fn delete(&self, id: &tower_sessions::session::Id) -> session_store::Result<()> {
        let _: i64 = self
            .pool
            .del(self.key(id))
            .await
            .map_err(|e| session_store::Error::Backend(e.to_string()))?;
        Ok(())
    }
}

/// Logout marks and used `jti`s must not be evicted under memory pressure (a logged-out
/// session would come back, a logout token could be replayed): the server needs
/// `maxmemory-policy noeviction`. Checked when Redis lets us ask.
async fn check_eviction_policy(pool: &Pool, shown: &str) -> anyhow::Result<()> {
    let answer: Result<Vec<String>, _> = pool
        .next()
        .custom(fred::cmd!("CONFIG"), vec!["GET", "maxmemory-policy"])
        .await;
    match answer {
        Ok(pair) => match pair.get(1).map(String::as_str) {
            Some("noeviction") | None => Ok(()),
            Some(policy) => Err(anyhow::anyhow!(
                "SESSION_STORE: Redis at {shown} evicts keys (maxmemory-policy {policy}); logout \
                 marks could be evicted and logged-out sessions come back. Set maxmemory-policy \
                 noeviction (redis.conf, or CONFIG SET maxmemory-policy noeviction)"
            )),
        },
        Err(err) => {
            tracing::warn!(error = %crate::log::chain(&err), "could not read Redis's maxmemory-policy (CONFIG is not allowed?); it must be noeviction");
            Ok(())
        }
    }
}

/// `redis://user:password@host:6379/0` → `redis://user:…@host:6379/0`, for messages.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("…"));
            }
            parsed.to_string()
        }
        Err(_) => "(an unreadable URL)".to_owned(),
    }
}

fn builder(config: &Config) -> Builder {
    let mut builder = Builder::from_config(config.clone());
    builder
        .with_connection_config(|c| {
            c.connection_timeout = COMMAND_TIMEOUT;
            c.internal_command_timeout = COMMAND_TIMEOUT;
            c.max_command_attempts = 1;
        })
        .with_performance_config(|p| p.default_command_timeout = COMMAND_TIMEOUT)
        // Retry forever, every half second: the app recovers when Redis comes back.
        .set_policy(ReconnectPolicy::new_constant(0, 500));
    builder
}

/// Sets a logout mark to `ARGV[1]` unless it already holds a later time (marks only move
/// forward), and keeps it at least `ARGV[2]` seconds.
const MARK: &str = "local at = tonumber(ARGV[1]) local ttl = tonumber(ARGV[2]) \
    local old = tonumber(redis.call('get', KEYS[1])) \
    if old == nil or old < at then redis.call('set', KEYS[1], at, 'EX', ttl) \
    elseif redis.call('ttl', KEYS[1]) < ttl then redis.call('expire', KEYS[1], ttl) end \
    return 1";
/// Extends the lock only if we still hold it.
const RENEW: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
/// Deletes the lock only if we still hold it.
const RELEASE: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/// A held lock. Released by [`RedisLock::release`], or when dropped (a cancelled request):
/// either way its renewal stops at once and the key is deleted if it is still ours.
pub struct RedisLock {
    pool: Pool,
    key: String,
    token: String,
    renewer: tokio::task::JoinHandle<()>,
    released: bool,
}

impl RedisLock {
    pub async fn release(mut self) {
        self.renewer.abort();
        self.released = true;
        release(&self.pool, &self.key, &self.token).await;
    }
}

impl Drop for RedisLock {
    fn drop(&mut self) {
        self.renewer.abort();
        if self.released {
            return;
        }
        let (pool, key, token) = (self.pool.clone(), self.key.clone(), self.token.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { release(&pool, &key, &token).await });
        }
    }
}

async fn release(pool: &Pool, key: &str, token: &str) {
    let released: Result<i64, _> = pool
        .eval(RELEASE, vec![key.to_owned()], vec![token.to_owned()])
        .await;
    if let Err(err) = released {
        // It expires by itself within LOCK_TTL.
        tracing::warn!(error = %crate::log::chain(&err), "could not release a Redis lock");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_never_carry_the_password() {
        let shown = super::without_password("redis://app:hunter2@127.0.0.1:6379/0");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("127.0.0.1:6379"), "{shown}");
        assert!(!super::without_password("redis://:s3cr3t@h:1").contains("s3cr3t"));
    }
}
