//! Prometheus metrics: requests by route and status, latency, instances,
//! queue, sandbox stops, sessions, and what scripts cost.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The media type `GET /metrics` answers with.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StopLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    stops: Family<StopLabels, Counter>,
    instances: Family<StateLabels, Gauge>,
    queued: Gauge,
    busy: AtomicI64,
    connections: Gauge,
    refused: Counter,
    sessions_live: Gauge,
    sessions_created: Counter,
    sessions_ended: Family<ReasonLabels, Counter>,
    script_calls: Family<RouteLabels, Counter>,
    script_wall: Family<RouteLabels, Counter<f64, std::sync::atomic::AtomicU64>>,
    script_fuel: Family<RouteLabels, Counter>,
}

impl Metrics {
    /// Empty metrics, registered under the `mung_` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("mung");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered, by route and status", requests.clone());
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 0.5 ms to ~16 s.
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register("http_request_duration_seconds", "Time to answer a request, by route", latency.clone());
        let stops = Family::<StopLabels, Counter>::default();
        registry.register("sandbox_stops", "Calls stopped by the sandbox, by kind", stops.clone());
        let instances = Family::<StateLabels, Gauge>::default();
        registry.register(
            "instances",
            "Sandbox instances: busy (running a request), idle (warm) or prepared (fresh, made ahead of time)",
            instances.clone(),
        );
        let queued = Gauge::default();
        registry.register("queued_requests", "Requests waiting for a free sandbox", queued.clone());
        let connections = Gauge::default();
        registry.register("open_connections", "Client connections open now", connections.clone());
        let refused = Counter::default();
        registry.register(
            "refused_connections",
            "Connections answered 503 or closed at once because the connection limit was reached",
            refused.clone(),
        );
        let sessions_live = Gauge::default();
        registry.register("sessions_live", "Sessions alive now", sessions_live.clone());
        let sessions_created = Counter::default();
        registry.register("sessions_created", "Sessions created", sessions_created.clone());
        let sessions_ended = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "sessions_ended",
            "Sessions ended, by reason (deleted, idle, lifetime); idle and lifetime are expiries",
            sessions_ended.clone(),
        );
        let script_calls = Family::<RouteLabels, Counter>::default();
        registry.register("script_calls", "Scripts run, by route", script_calls.clone());
        let script_wall = Family::<RouteLabels, Counter<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register("script_wall_seconds", "Wall-clock time scripts ran, by route", script_wall.clone());
        let script_fuel = Family::<RouteLabels, Counter>::default();
        registry.register("script_fuel", "Fuel scripts consumed (when metered), by route", script_fuel.clone());
        Metrics {
            registry,
            requests,
            latency,
            stops,
            instances,
            queued,
            busy: AtomicI64::new(0),
            connections,
            refused,
            sessions_live,
            sessions_created,
            sessions_ended,
            script_calls,
            script_wall,
            script_fuel,
        }
    }

    /// A session was created.
    pub(crate) fn session_created(&self) {
        self.sessions_created.inc();
    }

    /// A session ended for `reason`.
    pub(crate) fn session_ended(&self, reason: &str) {
        self.sessions_ended.get_or_create(&ReasonLabels { reason: reason.into() }).inc();
    }

    /// `n` sessions are alive now.
    pub(crate) fn sessions_live(&self, n: usize) {
        self.sessions_live.set(n as i64);
    }

    /// Adds one script's cost to its route's totals.
    pub(crate) fn usage(&self, route: &str, usage: &mung_runtime::Usage) {
        let labels = RouteLabels { route: route.into() };
        self.script_calls.get_or_create(&labels).inc();
        self.script_wall.get_or_create(&labels).inc_by(usage.wall.as_secs_f64());
        if let Some(fuel) = usage.fuel {
            self.script_fuel.get_or_create(&labels).inc_by(fuel);
        }
    }

    /// Counts one answered request.
    pub fn request(&self, route: &str, status: u16, took: Duration) {
        self.requests.get_or_create(&RequestLabels { route: route.into(), status }).inc();
        self.latency.get_or_create(&RouteLabels { route: route.into() }).observe(took.as_secs_f64());
    }

    /// Counts one sandbox stop of `kind` (see `SandboxError::kind`).
    pub fn sandbox_stop(&self, kind: &str) {
        self.stops.get_or_create(&StopLabels { kind: kind.into() }).inc();
    }

    /// A request started or stopped using a sandbox.
    pub(crate) fn busy(&self, delta: i64) {
        let now = self.busy.fetch_add(delta, Ordering::Relaxed) + delta;
        self.instances.get_or_create(&StateLabels { state: "busy".into() }).set(now);
    }

    /// A request started or stopped waiting in the queue.
    pub(crate) fn queued(&self, delta: i64) {
        self.queued.inc_by(delta);
    }

    /// A connection opened or closed.
    pub(crate) fn connections(&self, delta: i64) {
        self.connections.inc_by(delta);
    }

    /// A connection arrived past the limit.
    pub(crate) fn connection_refused(&self) {
        self.refused.inc();
    }

    /// The text exposition, with the idle and prepared instance counts read now.
    pub fn render(&self, idle_instances: usize, prepared_instances: usize) -> String {
        self.instances.get_or_create(&StateLabels { state: "idle".into() }).set(idle_instances as i64);
        self.instances.get_or_create(&StateLabels { state: "prepared".into() }).set(prepared_instances as i64);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let m = Metrics::new();
        m.request("/v1/validate", 200, Duration::from_millis(3));
        m.request("/v1/validate", 200, Duration::from_millis(5));
        m.sandbox_stop("timeout");
        m.busy(1);
        let text = m.render(3, 2);
        assert!(text.contains(r#"mung_http_requests_total{route="/v1/validate",status="200"} 2"#), "{text}");
        assert!(text.contains(r#"mung_sandbox_stops_total{kind="timeout"} 1"#), "{text}");
        assert!(text.contains(r#"mung_instances{state="idle"} 3"#), "{text}");
        assert!(text.contains(r#"mung_instances{state="prepared"} 2"#), "{text}");
        assert!(text.contains(r#"mung_instances{state="busy"} 1"#), "{text}");
        assert!(text.contains("mung_http_request_duration_seconds_bucket"), "{text}");
        assert!(text.trim_end().ends_with("# EOF"), "{text}");
    }
}
