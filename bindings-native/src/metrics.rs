//! `/metrics` in Prometheus text format: requests by route and status, errors by code,
//! a latency histogram, and jobs in flight.

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

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub errors: Family<ErrorLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
    pub in_flight: Gauge<i64, AtomicI64>,
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
        registry.register("requests", "HTTP requests by route and status", requests.clone());
        registry.register("errors", "Job errors by stable error code", errors.clone());
        registry.register("request_duration_seconds", "HTTP request latency", latency.clone());
        registry.register("jobs_in_flight", "Jobs running now", in_flight.clone());
        Metrics {
            registry,
            requests,
            errors,
            latency,
            in_flight,
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
