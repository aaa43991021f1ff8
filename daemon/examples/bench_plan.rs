//! The plan over a large catalogue: N linked local products against N remote ones (1 % changed, 0.1 %
//! gone, as many new), the remote arriving in pages of 100 as a pass reads it, and N unchanged records
//! planned again (which must change nothing). Prints wall time and peak memory (`VmHWM`).
//!
//! `cargo run --release -p koppel-daemon --example bench_plan -- --records 1000000`
//!
//! `cargo test -p koppel-daemon --example bench_plan` runs the same code at 10,000 records.

#[allow(dead_code)]
mod support;

use koppel_daemon::reconcile::{ContentHash, LocalRecord, MissingAction, PlanLimits, Planner};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use support::{peak_mib, reset_peak};
use uuid::Uuid;

/// The targets of issue 7 at 1,000,000 records.
const TARGET_TIME: Duration = Duration::from_secs(10);
const TARGET_PEAK_MIB: u64 = 256;

fn main() {
    let records = support::Options::from_args().number("--records", 1_000_000);
    let figures = run(records);
    println!("{figures}");
    if records >= 1_000_000 {
        let within = figures.plan_time <= TARGET_TIME && figures.peak_mib <= TARGET_PEAK_MIB;
        println!(
            "target: plan ≤ {} s and peak ≤ {TARGET_PEAK_MIB} MiB: {}",
            TARGET_TIME.as_secs(),
            if within { "met" } else { "MISSED" }
        );
    }
}

struct Figures {
    records: usize,
    build_time: Duration,
    plan_time: Duration,
    unchanged_time: Duration,
    updated: usize,
    missing: usize,
    new: usize,
    peak_mib: u64,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "records:               {} local, {} remote", self.records, self.records)?;
        writeln!(f, "building the locals:   {:.2} s (not part of the plan)", self.build_time.as_secs_f64())?;
        writeln!(
            f,
            "plan (1 % changed):    {:.2} s — {} to update, {} missing, {} new",
            self.plan_time.as_secs_f64(),
            self.updated,
            self.missing,
            self.new
        )?;
        writeln!(f, "plan (all unchanged):  {:.2} s — changes nothing", self.unchanged_time.as_secs_f64())?;
        write!(f, "peak memory (VmHWM):   {} MiB", self.peak_mib)
    }
}

fn hash_of(i: usize, version: u32) -> ContentHash {
    ContentHash::from_digest(
        Sha256::new().chain_update(i.to_le_bytes()).chain_update(version.to_le_bytes()).finalize().into(),
    )
}

/// A remote id as a peer shows one (a UUID), the same for the same `i`.
fn remote_id(i: usize) -> String {
    Uuid::from_u64_pair(0x0190_0000_0000_7000, i as u64).to_string()
}

fn locals(records: usize) -> Vec<LocalRecord<Uuid>> {
    (0..records)
        .map(|i| LocalRecord {
            local_id: Uuid::from_u64_pair(0x0191_0000_0000_7000, i as u64),
            remote_id: remote_id(i),
            content_hash: hash_of(i, 1),
            active: true,
            deletable: i % 7 != 0,
            deactivated_by_sync: false,
        })
        .collect()
}

/// Reads "the remote" in pages of 100 into the planner, in an order unrelated to the local one.
/// `changes`: whether 1 % changed, 0.1 % are gone and as many are new.
fn read_remote(planner: &mut Planner<Uuid>, records: usize, changes: bool) {
    // A stride coprime with the count visits every record once, scattered.
    let stride = (records / 2 + 1..).find(|s| gcd(*s, records) == 1).unwrap_or(1);
    let mut page = Vec::with_capacity(100);
    let mut i = 0usize;
    for n in 0..records {
        let gone = changes && n % 1000 == 0;
        let record = if gone {
            // The local record `i` is left unseen (gone at the remote); a new one takes its place.
            (remote_id(records + n), hash_of(records + n, 1))
        } else {
            let version = if changes && n % 100 == 1 { 2 } else { 1 };
            (remote_id(i), hash_of(i, version))
        };
        page.push(record);
        if page.len() == 100 || n + 1 == records {
            for (id, hash) in page.drain(..) {
                planner.observe(&id, hash);
            }
        }
        i = (i + stride) % records;
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn run(records: usize) -> Figures {
    let started = Instant::now();
    let local = locals(records);
    let build_time = started.elapsed();
    reset_peak();

    let started = Instant::now();
    let mut planner = Planner::new(local);
    read_remote(&mut planner, records, true);
    let plan = planner.finish(MissingAction::Deactivate, PlanLimits::default());
    let plan_time = started.elapsed();
    let (updated, missing, new) = (plan.update.len(), plan.missing.len(), plan.new_remote.len());
    assert_eq!(updated, records / 100, "1 % changed");
    assert_eq!(missing, records.div_ceil(1000), "0.1 % gone");
    assert_eq!(plan.held_back, None);
    assert_eq!(plan.unchanged.len() + updated + missing, records);
    drop(plan);

    let local = locals(records);
    let started = Instant::now();
    let mut planner = Planner::new(local);
    read_remote(&mut planner, records, false);
    let plan = planner.finish(MissingAction::Deactivate, PlanLimits::default());
    let unchanged_time = started.elapsed();
    assert!(plan.changes_nothing(), "an unchanged catalogue plans nothing");
    assert_eq!(plan.unchanged.len(), records);
    Figures { records, build_time, plan_time, unchanged_time, updated, missing, new, peak_mib: peak_mib() }
}

#[test]
fn the_plan_at_ci_size() {
    let figures = run(10_000);
    assert_eq!((figures.updated, figures.missing, figures.new), (100, 10, 10));
}
