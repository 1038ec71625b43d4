//! Named sessions: a persistent interpreter with a files directory, bound to
//! the token that created it, expired by a sweeper after an idle TTL or a
//! maximum lifetime. The routes are in [`routes`]; the files in [`files`].

mod files;

use mung_runtime_wire::ProblemType;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mung_runtime::{Session, SessionOptions, Usage};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::AppState;
use crate::auth::Caller;
use crate::problem::Problem;
use crate::wire::ExecuteRequest;

/// How often the sweeper looks for expired sessions, at most.
const MAX_SWEEP_INTERVAL: Duration = Duration::from_secs(15);
/// How often the sweeper looks, at least (for very short TTLs in tests).
const MIN_SWEEP_INTERVAL: Duration = Duration::from_millis(50);

/// Settings of the session routes (`/v1/sessions`), part of
/// [`ServerConfig`](crate::ServerConfig). Every limit here is both the
/// default and the most a client may ask for.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SessionsConfig {
    /// Sessions alive at once (default: [`SessionsConfig::sized_for_memory`]
    /// with the default memory cap). Each holds a sandbox instance, so the
    /// runtime needs `jobs + max_sessions` instances.
    pub max_sessions: usize,
    /// A session unused this long is removed (default 10 min).
    pub idle_ttl: Duration,
    /// A session is removed this long after its creation however busy it
    /// was (default 1 h); a call still running then finishes first.
    pub max_lifetime: Duration,
    /// The most bytes a session's files may hold (default 256 MiB).
    pub files_quota: u64,
    /// Where session directories are made (default: the system's temporary
    /// directory). Each server makes one directory of its own there and
    /// removes it on shutdown.
    pub dir: Option<PathBuf>,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
        SessionsConfig {
            max_sessions: SessionsConfig::sized_for_memory(mung_runtime::DEFAULT_MEMORY_LIMIT, jobs),
            idle_ttl: Duration::from_secs(10 * 60),
            max_lifetime: Duration::from_secs(60 * 60),
            files_quota: 256 << 20,
            dir: None,
        }
    }
}

impl SessionsConfig {
    /// As many sessions as fit in this machine's memory when every sandbox
    /// (the `jobs` that serve the other routes, and each session) uses its
    /// whole `memory_per_instance`: never overcommitted, at least 1.
    pub fn sized_for_memory(memory_per_instance: u64, jobs: usize) -> usize {
        let total = physical_memory().unwrap_or(8 << 30);
        ((total / memory_per_instance.max(1)) as usize).saturating_sub(jobs).max(1)
    }
}

/// Physical memory in bytes (`MemTotal` of `/proc/meminfo`).
fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib << 10)
}

/// The limits one session runs under (what it asked for, capped).
#[derive(Clone, Copy, Debug)]
struct Limits {
    idle_ttl: Duration,
    memory: u64,
    timeout: Duration,
    files_quota: u64,
}

impl Limits {
    fn json(&self, max_lifetime: Duration) -> Value {
        json!({
            "ttl": self.idle_ttl.as_secs_f64(),
            "max_lifetime": max_lifetime.as_secs_f64(),
            "memory": self.memory,
            "timeout": self.timeout.as_secs_f64(),
            "files_quota": self.files_quota,
        })
    }
}

/// What a session's calls cost so far.
#[derive(Clone, Copy, Debug, Default)]
struct Totals {
    calls: u64,
    wall: Duration,
    fuel: u64,
    memory_peak_bytes: u64,
}

/// One live session.
struct Entry {
    id: String,
    owner: Caller,
    created_at: SystemTime,
    created: Instant,
    limits: Limits,
    last_used: Mutex<Instant>,
    files: mung_runtime::SessionFiles,
    /// The interpreter; its lock serialises calls and file changes.
    session: Arc<tokio::sync::Mutex<Session>>,
    totals: Mutex<Totals>,
    /// This session's place under `max_sessions`.
    _place: OwnedSemaphorePermit,
}

impl Entry {
    fn touch(&self) {
        *lock(&self.last_used) = Instant::now();
    }

    /// When the sweeper may remove it: idle TTL or lifetime, whichever ends first.
    fn expires(&self, max_lifetime: Duration) -> Instant {
        (*lock(&self.last_used) + self.limits.idle_ttl).min(self.created + max_lifetime)
    }

    fn expires_at(&self, max_lifetime: Duration) -> String {
        let left = self.expires(max_lifetime).saturating_duration_since(Instant::now());
        rfc3339(SystemTime::now() + left)
    }

    /// Waits up to the session's timeout for its lock: 409 if another call
    /// holds it that long.
    async fn lock(&self) -> Result<OwnedMutexGuard<Session>, Problem> {
        match tokio::time::timeout(self.limits.timeout, self.session.clone().lock_owned()).await {
            Ok(guard) => Ok(guard),
            Err(_) => Err(Problem::new(
                ProblemType::SESSION_BUSY,
                format!(
                    "another call on this session ran for the whole deadline of {:.1} s; calls on one session run \
                     one at a time",
                    self.limits.timeout.as_secs_f64()
                ),
            )),
        }
    }

    fn record(&self, usage: &Usage) {
        let mut t = lock(&self.totals);
        t.calls += 1;
        t.wall += usage.wall;
        t.fuel += usage.fuel.unwrap_or(0);
        t.memory_peak_bytes = t.memory_peak_bytes.max(usage.memory_peak_bytes);
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        // Removed from the table, and the last request using it is done.
        if let Err(e) = std::fs::remove_dir_all(self.files.dir()) {
            tracing::warn!(session = %self.id, error = %e, "removing a session directory failed");
        }
    }
}

/// Why a session ended, for the metrics.
#[derive(Clone, Copy, Debug)]
pub(crate) enum EndReason {
    Deleted,
    Idle,
    Lifetime,
}

impl EndReason {
    pub(crate) fn label(self) -> &'static str {
        match self {
            EndReason::Deleted => "deleted",
            EndReason::Idle => "idle",
            EndReason::Lifetime => "lifetime",
        }
    }
}

/// Every live session of a server.
pub(crate) struct Sessions {
    config: SessionsConfig,
    /// Places under `max_sessions` (MCP connections take theirs here too).
    pub(crate) places: Arc<Semaphore>,
    table: Mutex<HashMap<String, Arc<Entry>>>,
    /// This server's directory of session directories, made on first use.
    root: Mutex<Option<tempfile::TempDir>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // No invariant spans a panic here: the data stays usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Sessions {
    pub(crate) fn new(config: SessionsConfig) -> Sessions {
        let places = Arc::new(Semaphore::new(config.max_sessions));
        Sessions { config, places, table: Mutex::new(HashMap::new()), root: Mutex::new(None) }
    }

    pub(crate) fn config(&self) -> &SessionsConfig {
        &self.config
    }

    pub(crate) fn live(&self) -> usize {
        lock(&self.table).len()
    }

    /// A new directory for one session (or one MCP connection).
    pub(crate) fn new_dir(&self) -> std::io::Result<tempfile::TempDir> {
        let mut root = lock(&self.root);
        if root.is_none() {
            let parent = self.config.dir.clone().unwrap_or_else(std::env::temp_dir);
            *root = Some(tempfile::Builder::new().prefix("mung-sessions-").tempdir_in(parent)?);
        }
        let root = root.as_ref().expect("made above").path();
        tempfile::Builder::new().prefix("s-").tempdir_in(root)
    }

    /// The session `id` if `caller` owns it and it has not expired (404
    /// otherwise: another token's session does not exist for this one).
    fn get(&self, id: &str, caller: Caller) -> Result<Arc<Entry>, Problem> {
        let entry = lock(&self.table).get(id).cloned();
        match entry {
            Some(e) if e.owner == caller && e.expires(self.config.max_lifetime) > Instant::now() => {
                e.touch();
                Ok(e)
            }
            _ => Err(Problem::new(
                ProblemType::NO_SESSION,
                format!("there is no session {id:?} (it may have expired; create one with POST /v1/sessions)"),
            )),
        }
    }

    fn remove(&self, id: &str) -> Option<Arc<Entry>> {
        lock(&self.table).remove(id)
    }

    /// Sessions past their expiry that no request is using.
    fn expired(&self) -> Vec<(Arc<Entry>, EndReason)> {
        let now = Instant::now();
        let lifetime = self.config.max_lifetime;
        let mut table = lock(&self.table);
        let ids: Vec<String> = table
            .values()
            // Only the table holds it: no request is using it.
            .filter(|e| e.expires(lifetime) <= now && Arc::strong_count(e) == 1)
            .map(|e| e.id.clone())
            .collect();
        ids.into_iter()
            .filter_map(|id| table.remove(&id))
            .map(|e| {
                let reason = if e.created + lifetime <= now { EndReason::Lifetime } else { EndReason::Idle };
                (e, reason)
            })
            .collect()
    }

    /// Seconds until the first session may expire (for `Retry-After`).
    fn retry_after(&self) -> u32 {
        let now = Instant::now();
        let lifetime = self.config.max_lifetime;
        let first = lock(&self.table).values().map(|e| e.expires(lifetime)).min();
        first.map_or(1, |t| t.saturating_duration_since(now).as_secs().clamp(1, 3600) as u32)
    }

    /// Ends every session and removes the server's session directory.
    pub(crate) fn close(&self) -> usize {
        let all: Vec<_> = lock(&self.table).drain().collect();
        let n = all.len();
        drop(all);
        if let Some(root) = lock(&self.root).take()
            && let Err(e) = root.close()
        {
            tracing::warn!(error = %e, "removing the session directories failed");
        }
        n
    }
}

/// Drops sessions on a blocking thread: removing a directory a script
/// filled may take a while.
async fn end(state: &AppState, ended: Vec<(Arc<Entry>, EndReason)>) {
    if ended.is_empty() {
        return;
    }
    for (_, reason) in &ended {
        state.metrics.session_ended(reason.label());
    }
    state.metrics.sessions_live(state.sessions.live());
    let _ = tokio::task::spawn_blocking(move || {
        drop(ended);
        give_back_freed_memory();
    })
    .await;
}

/// Returns the heap memory that ended sessions freed to the system. glibc
/// keeps freed chunks in its arenas (one per thread that allocated), so
/// without this a churn of sessions leaves the RSS at its high-water mark.
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's own
    // arenas; it takes no pointer and is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Removes expired sessions until the server is gone or shutting down.
pub(crate) fn start_sweeper(state: &Arc<AppState>) {
    let config = state.sessions.config();
    let interval = (config.idle_ttl.min(config.max_lifetime) / 4).clamp(MIN_SWEEP_INTERVAL, MAX_SWEEP_INTERVAL);
    let weak: Weak<AppState> = Arc::downgrade(state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(state) = weak.upgrade() else { return };
            if state.shutting_down.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            let ended = state.sessions.expired();
            end(&state, ended).await;
        }
    });
}

/// The session routes, with their layers.
pub(crate) fn routes(state: &AppState) -> axum::Router<Arc<AppState>> {
    let timeout = TimeoutLayer::with_status_code(StatusCode::GATEWAY_TIMEOUT, state.config.request_deadline());
    let json = axum::Router::new()
        .route("/v1/sessions", post(create))
        .route("/v1/sessions/{id}", get(describe).delete(delete))
        .route("/v1/sessions/{id}/execute", post(execute))
        .layer(RequestBodyLimitLayer::new(state.config.max_body));
    // File bodies are bounded by the session's quota while they stream.
    axum::Router::new().merge(json).merge(files::routes()).layer(DefaultBodyLimit::disable()).layer(timeout)
}

fn caller(caller: Option<axum::Extension<Caller>>) -> Caller {
    caller.map_or(Caller(None), |c| c.0)
}

fn require_execute(state: &AppState) -> Result<(), Problem> {
    if state.config.allow_execute {
        return Ok(());
    }
    Err(Problem::new(
        ProblemType::EXECUTE_DISABLED,
        "this server does not run scripts; start it with `mung-runtime serve --allow-execute`",
    ))
}

/// A size as bytes (a JSON number) or text such as `"512M"`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Size {
    Bytes(u64),
    Text(String),
}

impl Size {
    fn bytes(&self, what: &str) -> Result<u64, Problem> {
        match self {
            Size::Bytes(n) => Ok(*n),
            Size::Text(t) => crate::parse_size(t).map_err(|e| Problem::bad_request(format!("`{what}`: {e}"))),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    ttl: Option<f64>,
    memory: Option<Size>,
    timeout: Option<f64>,
    files_quota: Option<Size>,
}

fn seconds(value: Option<f64>, what: &str, max: Duration) -> Result<Duration, Problem> {
    match value {
        None => Ok(max),
        Some(s) if s.is_finite() && s > 0.0 => Ok(Duration::try_from_secs_f64(s).unwrap_or(max).min(max)),
        Some(s) => Err(Problem::bad_request(format!("`{what}` must be a positive number of seconds, not {s}"))),
    }
}

async fn create(
    State(state): State<Arc<AppState>>,
    who: Option<axum::Extension<Caller>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    require_execute(&state)?;
    let request: CreateRequest =
        if body.is_empty() { CreateRequest::default() } else { crate::body::json_body(&headers, &body)? };
    let config = state.sessions.config();
    let info = state.runtime.info();
    let memory_max = info.limits.memory;
    let memory = match &request.memory {
        Some(size) => size.bytes("memory")?.min(memory_max),
        None => memory_max,
    };
    if memory < mung_runtime::MIN_MEMORY_LIMIT {
        return Err(Problem::bad_request(format!(
            "`memory` must be at least {} MiB for the interpreter to start",
            mung_runtime::MIN_MEMORY_LIMIT >> 20
        )));
    }
    let limits = Limits {
        idle_ttl: seconds(request.ttl, "ttl", config.idle_ttl)?,
        memory,
        timeout: seconds(request.timeout, "timeout", info.limits.timeout)?,
        files_quota: match &request.files_quota {
            Some(size) => size.bytes("files_quota")?.min(config.files_quota),
            None => config.files_quota,
        },
    };
    let Ok(place) = state.sessions.places.clone().try_acquire_owned() else {
        let mut p = Problem::new(
            ProblemType::SESSIONS_FULL,
            format!(
                "this server holds its maximum of {} live sessions; delete one or retry when one expires",
                config.max_sessions
            ),
        );
        p.retry_after = Some(state.sessions.retry_after());
        return Err(p);
    };
    let dir = state.sessions.new_dir().map_err(|e| Problem::internal(format!("making a session directory: {e}")))?;
    let options = SessionOptions::new()
        .files(dir.path())
        .files_quota(limits.files_quota)
        .memory_limit(limits.memory)
        .timeout(limits.timeout);
    let session = state.runtime.session_with(options).map_err(|e| Problem::internal(mung_runtime::error_chain(&e)))?;
    let files = session.files().expect("made with a directory").clone();
    let id = new_id();
    let now = Instant::now();
    let entry = Arc::new(Entry {
        id: id.clone(),
        owner: caller(who),
        created_at: SystemTime::now(),
        created: now,
        limits,
        last_used: Mutex::new(now),
        files,
        session: Arc::new(tokio::sync::Mutex::new(session)),
        totals: Mutex::new(Totals::default()),
        _place: place,
    });
    // The entry removes the directory from now on.
    let _ = dir.keep();
    lock(&state.sessions.table).insert(id.clone(), entry.clone());
    state.metrics.session_created();
    state.metrics.sessions_live(state.sessions.live());
    let location = format!("/v1/sessions/{id}");
    let body = json!({
        "id": id,
        "expires_at": entry.expires_at(config.max_lifetime),
        "limits": limits.json(config.max_lifetime),
    });
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response.headers_mut().insert(header::LOCATION, HeaderValue::from_str(&location).expect("hex is a valid header"));
    Ok(response)
}

/// 128 random bits, as 32 hex digits.
fn new_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `t` as an RFC 3339 UTC timestamp, to the second.
fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn describe(
    State(state): State<Arc<AppState>>,
    who: Option<axum::Extension<Caller>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Response, Problem> {
    let entry = state.sessions.get(&id, caller(who))?;
    let lifetime = state.sessions.config().max_lifetime;
    let totals = *lock(&entry.totals);
    let started = entry.session.try_lock().map(|s| s.is_started()).ok();
    let files = entry.files.clone();
    let used = tokio::task::spawn_blocking(move || files.used()).await.ok().and_then(Result::ok);
    Ok(Json(json!({
        "id": entry.id,
        "created_at": rfc3339(entry.created_at),
        "expires_at": entry.expires_at(lifetime),
        "limits": entry.limits.json(lifetime),
        // `null` while a call runs.
        "interpreter_started": started,
        "busy": started.is_none(),
        "files_used": used,
        "usage": {
            "calls": totals.calls,
            "wall_ms": totals.wall.as_secs_f64() * 1e3,
            "memory_peak_bytes": totals.memory_peak_bytes,
            "fuel": totals.fuel,
        },
    }))
    .into_response())
}

async fn delete(
    State(state): State<Arc<AppState>>,
    who: Option<axum::Extension<Caller>>,
    UrlPath(id): UrlPath<String>,
) -> Result<StatusCode, Problem> {
    let entry = state.sessions.get(&id, caller(who))?;
    let removed = state.sessions.remove(&entry.id);
    drop(entry);
    // A call still running keeps its entry alive until it answers.
    end(&state, removed.map(|e| (e, EndReason::Deleted)).into_iter().collect()).await;
    Ok(StatusCode::NO_CONTENT)
}

async fn execute(
    State(state): State<Arc<AppState>>,
    who: Option<axum::Extension<Caller>>,
    UrlPath(id): UrlPath<String>,
    request: axum::extract::Request,
) -> Result<Response, Problem> {
    require_execute(&state)?;
    let entry = state.sessions.get(&id, caller(who))?;
    let (parts, body) = request.into_parts();
    crate::body::check_json(&parts.headers)?;
    // Admitted before the body is read, as every sandbox call.
    let admitted = state.admission.admitted()?;
    let body = crate::body::read_body(&parts.headers, body, state.config.max_body, state.config.idle_timeout).await?;
    let request: ExecuteRequest = crate::body::json_body(&parts.headers, &body)?;
    drop(body);
    let globals = request.globals.unwrap_or_else(|| json!({}));
    if !globals.is_object() {
        return Err(Problem::bad_request("`globals` must be a JSON object"));
    }
    let mut session = entry.lock().await?;
    let (result, started) = admitted
        .run(&state, move |_| {
            let result = session.execute(&request.code, &globals).map_err(Box::new);
            (result, session.is_started())
        })
        .await?;
    entry.touch();
    let usage = match &result {
        Ok(done) => done.usage,
        Err(e) => e.usage,
    };
    entry.record(&usage);
    state.metrics.usage("/v1/sessions/{id}/execute", &usage);
    match result {
        Ok(done) => Ok(Json(crate::wire::execution_json(&done)).into_response()),
        Err(e) => {
            let lost = !started;
            let mut p = Problem::from(*e).with("state_lost", lost);
            if lost {
                p.detail.push_str(
                    "; the session's interpreter ended (its names and imports are gone, its files are kept) and \
                     the next call starts a new one",
                );
            }
            Err(p)
        }
    }
}

impl From<mung_runtime::FileError> for Problem {
    fn from(e: mung_runtime::FileError) -> Problem {
        use mung_runtime::FileError as F;
        match &e {
            F::InvalidPath { .. } | F::Link { .. } => Problem::new(ProblemType::BAD_PATH, e.to_string()),
            F::NotFound { .. } => Problem::new(ProblemType::NO_FILE, e.to_string()),
            F::Quota { needed, quota, .. } if needed > quota => Problem::new(ProblemType::TOO_LARGE, e.to_string()),
            F::Quota { .. } => Problem::new(ProblemType::QUOTA, e.to_string()),
            _ => Problem::internal(mung_runtime::error_chain(&e)),
        }
    }
}
