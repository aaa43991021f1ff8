//! Schedules and their slots, as pure functions: when is a scheduled job due?
//!
//! A schedule names instants (its *slots*). The scheduler queues, at every tick, the latest slot at or
//! before now ([`Schedule::latest_at_or_before`]) under a dedupe key naming that slot's scheduled time, so
//! a slot runs once however many daemons tick, and a daemon that starts mid-slot still queues it.
//!
//! Wall-clock schedules (a cron expression, times of day) are read on Europe/Amsterdam's clock
//! ([`ZONE`]), the clock Koppel's users live by, with its daylight saving time: 07:00 is 06:00 UTC in
//! winter and 05:00 UTC in summer. A time that does not exist on the spring-forward night (02:30) runs at
//! the first minute after the gap; a time that happens twice on the fall-back night runs once, the first
//! time (croner's rules, after the Open Cron Pattern Specification).

use chrono::{DateTime, NaiveTime, SubsecRound, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use std::time::Duration;

/// The clock wall-clock schedules are read on.
pub const ZONE: Tz = chrono_tz::Europe::Amsterdam;

/// When something runs.
#[derive(Debug, Clone)]
pub struct Schedule {
    rule: Rule,
    text: String,
}

#[derive(Debug, Clone)]
enum Rule {
    /// Slots `every` seconds apart, counted from 1970-01-01T00:00Z (the operator's default interval).
    Every(i64),
    /// The union of the instants these patterns name on [`ZONE`]'s clock.
    Cron(Vec<Cron>),
}

impl Schedule {
    /// Every `every` (at least a second), aligned to midnight UTC: every 15 minutes is :00, :15, :30, :45.
    pub fn every(every: Duration) -> Self {
        let seconds = every.as_secs().max(1);
        let text = if seconds.is_multiple_of(60) {
            format!("every {} minutes", seconds / 60)
        } else {
            format!("every {seconds} seconds")
        };
        Self { rule: Rule::Every(seconds as i64), text }
    }

    /// A cron expression of five fields — minute, hour, day of month, month, day of week — on
    /// Amsterdam's clock, e.g. `*/15 * * * *` or `0 6-18 * * 1-5`. The error says what is wrong.
    pub fn cron(expression: &str) -> Result<Self, String> {
        let expression = expression.split_whitespace().collect::<Vec<_>>().join(" ");
        if expression.split(' ').count() != 5 {
            return Err("must be a cron expression of five fields (minute hour day month weekday), \
                        e.g. */15 * * * * for every 15 minutes"
                .into());
        }
        let cron = parser().parse(&expression).map_err(|e| format!("is not a valid cron expression: {e}"))?;
        // A pattern that never matches (30 February) would make every search run to its limit.
        if cron.find_next_occurrence(&Utc::now().with_timezone(&ZONE), false).is_err() {
            return Err("never happens: check the day and month".into());
        }
        Ok(Self { rule: Rule::Cron(vec![cron]), text: expression })
    }

    /// Times of day (`HH:MM`, 24-hour clock) on Amsterdam's clock, e.g. `["07:00", "19:00"]`.
    pub fn times_of_day<S: AsRef<str>>(times: &[S]) -> Result<Self, String> {
        if times.is_empty() {
            return Err("must name at least one time of day, e.g. 07:00".into());
        }
        let mut parsed = Vec::with_capacity(times.len());
        for time in times {
            let time = time.as_ref().trim();
            let at = NaiveTime::parse_from_str(time, "%H:%M")
                .map_err(|_| format!("has {time:?}, which is not a time of day like 07:00 or 19:30"))?;
            parsed.push(at);
        }
        parsed.sort();
        parsed.dedup();
        let crons = parsed
            .iter()
            .map(|at| parser().parse(&at.format("%M %H * * *").to_string()).expect("a valid daily pattern"))
            .collect();
        let text = parsed.iter().map(|at| at.format("%H:%M").to_string()).collect::<Vec<_>>().join(", ");
        Ok(Self { rule: Rule::Cron(crons), text })
    }

    /// How people read it, e.g. `*/15 * * * *`, `07:00, 19:00` or `every 15 minutes`.
    pub fn describe(&self) -> &str {
        &self.text
    }

    /// Whether it is read on [`ZONE`]'s clock (an interval is not).
    pub fn is_wall_clock(&self) -> bool {
        matches!(self.rule, Rule::Cron(_))
    }

    /// The latest slot at or before `now`: the one a tick at `now` queues.
    pub fn latest_at_or_before(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.rule {
            Rule::Every(every) => Utc.timestamp_opt(now.timestamp().div_euclid(*every) * every, 0).single(),
            Rule::Cron(crons) => {
                let local = whole_seconds(now).with_timezone(&ZONE);
                crons
                    .iter()
                    .filter_map(|cron| cron.find_previous_occurrence(&local, true).ok())
                    .map(|at| at.with_timezone(&Utc))
                    .max()
            }
        }
    }

    /// The first slot after `now`: when the next pass is queued.
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.rule {
            Rule::Every(every) => Utc.timestamp_opt((now.timestamp().div_euclid(*every) + 1) * every, 0).single(),
            Rule::Cron(crons) => {
                let local = whole_seconds(now).with_timezone(&ZONE);
                crons
                    .iter()
                    .filter_map(|cron| cron.find_next_occurrence(&local, false).ok())
                    .map(|at| at.with_timezone(&Utc))
                    .min()
            }
        }
    }
}

/// croner keeps the fraction of a second it starts from (07:25:15.9 gives 02:30:00.9): a slot must be
/// the scheduled second itself, the same for every daemon, so the search starts on a whole second.
fn whole_seconds(now: DateTime<Utc>) -> DateTime<Utc> {
    now.trunc_subsecs(0)
}

/// Five fields, no seconds and no year: the crontab everybody knows. Day of month and day of week
/// both restrict (`0 7 1 * 1` is a Monday the 1st), which is what people expect of a restriction.
fn parser() -> CronParser {
    CronParser::builder().seconds(Seconds::Disallowed).year(Year::Disallowed).dom_and_dow(true).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn every_fifteen_minutes_is_aligned_to_the_quarter_hour() {
        let every = Schedule::every(Duration::from_secs(15 * 60));
        assert_eq!(every.latest_at_or_before(utc(2026, 12, 2, 7, 14, 59)), Some(utc(2026, 12, 2, 7, 0, 0)));
        assert_eq!(every.latest_at_or_before(utc(2026, 12, 2, 7, 15, 0)), Some(utc(2026, 12, 2, 7, 15, 0)));
        assert_eq!(every.next_after(utc(2026, 12, 2, 7, 15, 0)), Some(utc(2026, 12, 2, 7, 30, 0)));
        assert_eq!(every.describe(), "every 15 minutes");
        assert!(!every.is_wall_clock());
    }

    #[test]
    fn a_fifteen_minute_cron_matches_the_interval() {
        let cron = Schedule::cron("*/15 * * * *").unwrap();
        let every = Schedule::every(Duration::from_secs(15 * 60));
        // Amsterdam is a whole number of hours off UTC: the quarter hours are the same instants.
        for at in [utc(2026, 12, 2, 7, 14, 59), utc(2026, 7, 1, 23, 59, 0), utc(2026, 3, 29, 1, 0, 0)] {
            assert_eq!(cron.latest_at_or_before(at), every.latest_at_or_before(at), "{at}");
            assert_eq!(cron.next_after(at), every.next_after(at), "{at}");
        }
    }

    #[test]
    fn a_custom_cron_runs_on_amsterdam_working_hours() {
        // At minute 0 of 06:00–18:00, Monday to Friday, Amsterdam time.
        let cron = Schedule::cron("0 6-18  * * 1-5").unwrap();
        assert_eq!(cron.describe(), "0 6-18 * * 1-5", "spaces are normalised");
        // Wednesday 2 December 2026, 10:20 UTC = 11:20 CET: the 11:00 CET slot is 10:00 UTC.
        assert_eq!(cron.latest_at_or_before(utc(2026, 12, 2, 10, 20, 0)), Some(utc(2026, 12, 2, 10, 0, 0)));
        // Saturday 5 December 09:00 UTC: the latest slot is Friday 18:00 CET = 17:00 UTC.
        assert_eq!(cron.latest_at_or_before(utc(2026, 12, 5, 9, 0, 0)), Some(utc(2026, 12, 4, 17, 0, 0)));
        // …and the next one Monday 06:00 CET = 05:00 UTC.
        assert_eq!(cron.next_after(utc(2026, 12, 5, 9, 0, 0)), Some(utc(2026, 12, 7, 5, 0, 0)));
    }

    #[test]
    fn seven_and_nineteen_hundred_in_amsterdam_follow_daylight_saving_time() {
        let times = Schedule::times_of_day(&["19:00", "07:00"]).unwrap();
        assert_eq!(times.describe(), "07:00, 19:00");
        // Winter (CET, UTC+1): 07:00 is 06:00 UTC, 19:00 is 18:00 UTC.
        assert_eq!(times.latest_at_or_before(utc(2026, 1, 15, 12, 0, 0)), Some(utc(2026, 1, 15, 6, 0, 0)));
        assert_eq!(times.latest_at_or_before(utc(2026, 1, 15, 18, 0, 0)), Some(utc(2026, 1, 15, 18, 0, 0)));
        assert_eq!(times.latest_at_or_before(utc(2026, 1, 15, 5, 59, 59)), Some(utc(2026, 1, 14, 18, 0, 0)));
        assert_eq!(times.next_after(utc(2026, 1, 15, 6, 0, 0)), Some(utc(2026, 1, 15, 18, 0, 0)));
        // Summer (CEST, UTC+2): 07:00 is 05:00 UTC, 19:00 is 17:00 UTC.
        assert_eq!(times.latest_at_or_before(utc(2026, 7, 15, 12, 0, 0)), Some(utc(2026, 7, 15, 5, 0, 0)));
        assert_eq!(times.latest_at_or_before(utc(2026, 7, 15, 17, 30, 0)), Some(utc(2026, 7, 15, 17, 0, 0)));
        // Across the switches: Sunday 29 March 2026 (02:00 → 03:00) and Sunday 25 October (03:00 → 02:00).
        assert_eq!(times.next_after(utc(2026, 3, 28, 20, 0, 0)), Some(utc(2026, 3, 29, 5, 0, 0)));
        assert_eq!(times.latest_at_or_before(utc(2026, 3, 29, 4, 59, 0)), Some(utc(2026, 3, 28, 18, 0, 0)));
        assert_eq!(times.next_after(utc(2026, 10, 24, 20, 0, 0)), Some(utc(2026, 10, 25, 6, 0, 0)));
        assert_eq!(times.latest_at_or_before(utc(2026, 10, 25, 12, 0, 0)), Some(utc(2026, 10, 25, 6, 0, 0)));
    }

    #[test]
    fn a_time_in_the_spring_gap_runs_once_after_it_and_a_doubled_one_once() {
        let night = Schedule::times_of_day(&["02:30"]).unwrap();
        // 29 March 2026 has no 02:30 in Amsterdam: it runs at 03:00 CEST = 01:00 UTC, once.
        assert_eq!(night.next_after(utc(2026, 3, 28, 12, 0, 0)), Some(utc(2026, 3, 29, 1, 0, 0)));
        assert_eq!(night.next_after(utc(2026, 3, 29, 1, 0, 0)), Some(utc(2026, 3, 30, 0, 30, 0)));
        // 25 October 2026 has 02:30 twice (CEST, then CET): it runs the first time only.
        assert_eq!(night.next_after(utc(2026, 10, 24, 12, 0, 0)), Some(utc(2026, 10, 25, 0, 30, 0)));
        assert_eq!(night.next_after(utc(2026, 10, 25, 0, 30, 0)), Some(utc(2026, 10, 26, 1, 30, 0)));
    }

    #[test]
    fn a_slot_is_the_scheduled_second_whatever_the_fraction_of_now() {
        let now = utc(2026, 12, 2, 7, 25, 15) + chrono::Duration::nanoseconds(946_738_574);
        for schedule in [Schedule::cron("*/15 * * * *").unwrap(), Schedule::times_of_day(&["07:00"]).unwrap()] {
            let latest = schedule.latest_at_or_before(now).unwrap();
            let next = schedule.next_after(now).unwrap();
            assert_eq!(latest.timestamp_subsec_nanos(), 0, "{latest}");
            assert_eq!(next.timestamp_subsec_nanos(), 0, "{next}");
            assert!(latest <= now && now < next);
        }
        let every = Schedule::every(Duration::from_secs(15 * 60));
        assert_eq!(every.latest_at_or_before(now), Some(utc(2026, 12, 2, 7, 15, 0)));
    }

    #[test]
    fn bad_schedules_say_what_is_wrong() {
        assert!(Schedule::cron("every 15 minutes").unwrap_err().contains("five fields"));
        assert!(Schedule::cron("0 7 * *").unwrap_err().contains("five fields"));
        assert!(Schedule::cron("0 0 7 * * *").unwrap_err().contains("five fields"), "no seconds");
        assert!(Schedule::cron("61 * * * *").unwrap_err().contains("not a valid cron expression"));
        assert!(Schedule::cron("0 0 30 2 *").unwrap_err().contains("never"));
        assert!(Schedule::times_of_day(&["7 uur"]).unwrap_err().contains("\"7 uur\""));
        assert!(Schedule::times_of_day(&["25:00"]).is_err());
        assert!(Schedule::times_of_day::<&str>(&[]).is_err());
    }
}
