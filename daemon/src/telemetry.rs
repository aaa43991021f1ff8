//! The engine's Prometheus figures: what it records as it works (claim latency, pass durations,
//! records by action, alerts, webhook deliveries), through the `metrics` facade.
//!
//! Why the facade and `metrics-exporter-prometheus` rather than the `prometheus` crate: the engine
//! records with a macro wherever it is, without a registry threaded through [`crate::Context`] and every
//! job; the exporter keeps one process-wide recorder and renders it as Prometheus text. So the daemon
//! running inside `koppel serve` shows on the server's `/metrics` (which appends [`render`]), and a
//! separate `koppel daemon` serves the same text on `KOPPEL_DAEMON_METRICS_ADDR`. Figures are per
//! process (counters restart with it); the queue's and runs' totals, which every replica should agree
//! on, are read from the database by the API instead.

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

pub const CLAIM_LATENCY: &str = "koppel_job_claim_latency_seconds";
pub const PASS_DURATION: &str = "koppel_pass_duration_seconds";
pub const RECORDS: &str = "koppel_records_total";
pub const ALERTS_RAISED: &str = "koppel_alerts_raised_total";
pub const WEBHOOK_DELIVERIES: &str = "koppel_alert_webhook_deliveries_total";

/// From a few milliseconds (a worker idle and polling) to a queue that is an hour behind.
const CLAIM_BUCKETS: [f64; 14] = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0];
/// From a pass with nothing to do to a large catalogue.
const PASS_BUCKETS: [f64; 13] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder (once; later calls do nothing). Without it the figures go nowhere.
pub fn install() {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(CLAIM_LATENCY.into()), &CLAIM_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(PASS_DURATION.into()), &PASS_BUCKETS));
        let handle = match builder.map(PrometheusBuilder::install_recorder) {
            Ok(Ok(handle)) => handle,
            Ok(Err(error)) | Err(error) => {
                // Another recorder was installed first (Koppel embedded in a program with its own).
                tracing::warn!(%error, "the engine's metrics are not exported");
                return None;
            }
        };
        describe_histogram!(CLAIM_LATENCY, Unit::Seconds, "Time from a job's run_after to its claim by a worker.");
        describe_histogram!(PASS_DURATION, Unit::Seconds, "How long reconcile passes took, by entity and outcome.");
        describe_counter!(RECORDS, "Records reconcile passes went through, by entity and action.");
        describe_counter!(ALERTS_RAISED, "Alert events raised, by action (held_back, failed, dead).");
        describe_counter!(
            WEBHOOK_DELIVERIES,
            "Alert webhook delivery attempts by outcome (delivered, failed: retried, refused: not retried)."
        );
        Some(handle)
    });
}

/// The figures as Prometheus text; empty when no recorder is installed.
pub fn render() -> String {
    match HANDLE.get() {
        Some(Some(handle)) => {
            handle.run_upkeep();
            handle.render()
        }
        _ => String::new(),
    }
}

/// A worker claimed a job of `kind` this long after it was due.
pub fn job_claimed(kind: &str, latency: Duration) {
    histogram!(CLAIM_LATENCY, "kind" => kind.to_owned()).record(latency.as_secs_f64());
}

/// A pass of `entity` ended in `outcome` (`succeeded`, `failed`) after `duration`.
pub fn pass_finished(entity: &'static str, outcome: &'static str, duration: Duration) {
    histogram!(PASS_DURATION, "entity" => entity, "outcome" => outcome).record(duration.as_secs_f64());
}

/// A pass went through `count` records of `entity` with `action` (`update`, `unchanged`, …).
pub fn records(entity: &'static str, action: &'static str, count: u64) {
    counter!(RECORDS, "entity" => entity, "action" => action).increment(count);
}

pub fn alert_raised(action: &'static str) {
    counter!(ALERTS_RAISED, "action" => action).increment(1);
}

/// `delivered`, `failed` (the queue tries again) or `refused` (permanently).
pub fn webhook_delivery(outcome: &'static str) {
    counter!(WEBHOOK_DELIVERIES, "outcome" => outcome).increment(1);
}
