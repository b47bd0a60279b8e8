//! `/metrics` in Prometheus text format: requests by route and status, errors by code,
//! a latency histogram, jobs in flight, and per kernel: jobs by outcome, which kernels
//! serve, swaps and canary rollbacks; output bytes held by responses and responses
//! dropped before their client took them.

use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

/// A job's kernel and outcome (`ok` or the error code).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub role: &'static str,
    pub version: String,
    pub sha256: String,
    pub outcome: &'static str,
}

/// Why a response was dropped before its client took it all: `send_timeout` (the client
/// took nothing for the send timeout) or `stalled` (aborted to free memory for others).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DroppedLabels {
    pub reason: &'static str,
}

/// A kernel serving now, and its role (`primary` or `canary`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KernelLabels {
    pub role: &'static str,
    pub version: String,
    pub sha256: String,
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub errors: Family<ErrorLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
    pub in_flight: Gauge<i64, AtomicI64>,
    pub jobs: Family<JobLabels, Counter>,
    pub kernels: Family<KernelLabels, Gauge>,
    pub swaps: Counter,
    pub rollbacks: Counter,
    pub dropped: Family<DroppedLabels, Counter>,
    /// Bytes of outputs held by responses not yet sent.
    pub outputs_held: Gauge<i64, AtomicI64>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("kiln");
        let requests = Family::<RequestLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 100 µs .. ~100 s
            Histogram::new(exponential_buckets(0.0001, 2.5, 16))
        });
        let in_flight = Gauge::<i64, AtomicI64>::default();
        let jobs = Family::<JobLabels, Counter>::default();
        let kernels = Family::<KernelLabels, Gauge>::default();
        let (swaps, rollbacks) = (Counter::default(), Counter::default());
        let dropped = Family::<DroppedLabels, Counter>::default();
        let outputs_held = Gauge::<i64, AtomicI64>::default();
        registry.register("requests", "HTTP requests by route and status", requests.clone());
        registry.register("errors", "Job errors by stable error code", errors.clone());
        registry.register("request_duration_seconds", "HTTP request latency", latency.clone());
        registry.register("jobs_in_flight", "Jobs running now", in_flight.clone());
        registry.register(
            "jobs",
            "Jobs by kernel (role, version, sha256) and outcome",
            jobs.clone(),
        );
        registry.register("kernel", "Kernels serving now (1), by role", kernels.clone());
        registry.register("kernel_swaps", "Kernels swapped in while serving", swaps.clone());
        registry.register(
            "canary_rollbacks",
            "Canaries rolled back for faulting",
            rollbacks.clone(),
        );
        registry.register(
            "responses_dropped",
            "Responses dropped before their client took them, by reason",
            dropped.clone(),
        );
        registry.register(
            "output_held_bytes",
            "Bytes of outputs held by responses not yet sent",
            outputs_held.clone(),
        );
        Metrics {
            registry,
            requests,
            errors,
            latency,
            in_flight,
            jobs,
            kernels,
            swaps,
            rollbacks,
            dropped,
            outputs_held,
        }
    }

    /// Counts one error by its code.
    pub fn count_error(&self, code: &str) {
        self.errors.get_or_create(&ErrorLabels { code: code.to_owned() }).inc();
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
