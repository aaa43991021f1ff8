//! Working days in the Netherlands, for sale forwarding's "delay in working days" (seeds 000 and 001):
//! weekends and the national holidays an integration counts are skipped, and a sale goes out at a
//! set hour on Amsterdam's clock. Easter comes from the `computus` crate; the other movable feasts
//! follow from it.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Amsterdam;

/// A Dutch national holiday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holiday {
    NewYearsDay,
    GoodFriday,
    EasterMonday,
    /// 27 April, or 26 April when the 27th is a Sunday.
    KingsDay,
    /// 5 May (a day off every year for some, every fifth year for others: configurable).
    LiberationDay,
    AscensionDay,
    WhitMonday,
    ChristmasDay,
    BoxingDay,
}

impl Holiday {
    pub const ALL: [Holiday; 9] = [
        Self::NewYearsDay,
        Self::GoodFriday,
        Self::EasterMonday,
        Self::KingsDay,
        Self::LiberationDay,
        Self::AscensionDay,
        Self::WhitMonday,
        Self::ChristmasDay,
        Self::BoxingDay,
    ];

    /// The setting's name, e.g. `good_friday`.
    pub fn key(self) -> &'static str {
        match self {
            Self::NewYearsDay => "new_years_day",
            Self::GoodFriday => "good_friday",
            Self::EasterMonday => "easter_monday",
            Self::KingsDay => "kings_day",
            Self::LiberationDay => "liberation_day",
            Self::AscensionDay => "ascension_day",
            Self::WhitMonday => "whit_monday",
            Self::ChristmasDay => "christmas_day",
            Self::BoxingDay => "boxing_day",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.key() == key)
    }

    /// The holiday's date in `year`.
    pub fn date(self, year: i32) -> NaiveDate {
        let fixed = |month, day| NaiveDate::from_ymd_opt(year, month, day).expect("a valid date");
        let easter = || computus::gregorian_naive(year).expect("Easter exists for every Gregorian year");
        match self {
            Self::NewYearsDay => fixed(1, 1),
            Self::GoodFriday => easter() - Duration::days(2),
            Self::EasterMonday => easter() + Duration::days(1),
            Self::KingsDay => match fixed(4, 27).weekday() {
                Weekday::Sun => fixed(4, 26),
                _ => fixed(4, 27),
            },
            Self::LiberationDay => fixed(5, 5),
            Self::AscensionDay => easter() + Duration::days(39),
            Self::WhitMonday => easter() + Duration::days(50),
            Self::ChristmasDay => fixed(12, 25),
            Self::BoxingDay => fixed(12, 26),
        }
    }
}

/// Which days count as working days: Monday to Friday, less the holidays listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingDays {
    pub holidays: Vec<Holiday>,
}

impl Default for WorkingDays {
    /// Every national holiday is a day off.
    fn default() -> Self {
        Self { holidays: Holiday::ALL.to_vec() }
    }
}

impl WorkingDays {
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
            && !self.holidays.iter().any(|holiday| holiday.date(date.year()) == date)
    }

    /// The `n`th working day after `date` (`date` itself when `n` is 0).
    pub fn add(&self, date: NaiveDate, n: u32) -> NaiveDate {
        let mut day = date;
        let mut left = n;
        while left > 0 {
            day = day.succ_opt().expect("a date before the end of time");
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// When something that happened at `at` is due after `days` working days, at `hour`:00 on
    /// Amsterdam's clock. With no delay it is due at once.
    pub fn due_at(&self, at: DateTime<Utc>, days: u32, hour: u32) -> DateTime<Utc> {
        if days == 0 {
            return at;
        }
        let local_date = at.with_timezone(&Amsterdam).date_naive();
        let due = self.add(local_date, days).and_hms_opt(hour.min(23), 0, 0).expect("a valid hour");
        // A wall-clock hour that does not exist (the spring-forward gap) is taken as the next one.
        Amsterdam
            .from_local_datetime(&due)
            .earliest()
            .or_else(|| Amsterdam.from_local_datetime(&(due + Duration::hours(1))).earliest())
            .map(|local| local.with_timezone(&Utc))
            .unwrap_or(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_movable_and_fixed_holidays_of_2026() {
        let dates: Vec<_> = Holiday::ALL.iter().map(|h| (h.key(), h.date(2026))).collect();
        assert_eq!(
            dates,
            [
                ("new_years_day", date(2026, 1, 1)),
                ("good_friday", date(2026, 4, 3)),
                ("easter_monday", date(2026, 4, 6)),
                ("kings_day", date(2026, 4, 27)),
                ("liberation_day", date(2026, 5, 5)),
                ("ascension_day", date(2026, 5, 14)),
                ("whit_monday", date(2026, 5, 25)),
                ("christmas_day", date(2026, 12, 25)),
                ("boxing_day", date(2026, 12, 26)),
            ]
        );
    }

    #[test]
    fn kings_day_moves_to_saturday_when_the_27th_is_a_sunday() {
        // 27 April 2025 and 2031 are Sundays.
        assert_eq!(Holiday::KingsDay.date(2025), date(2025, 4, 26));
        assert_eq!(Holiday::KingsDay.date(2031), date(2031, 4, 26));
        assert_eq!(Holiday::KingsDay.date(2027), date(2027, 4, 27));
    }

    #[test]
    fn two_working_days_after_the_thursday_before_easter() {
        let thursday = date(2026, 4, 2);
        assert_eq!(WorkingDays::default().add(thursday, 2), date(2026, 4, 8), "Good Friday and Easter Monday skipped");
        let good_friday_works = WorkingDays { holidays: vec![Holiday::EasterMonday] };
        assert_eq!(good_friday_works.add(thursday, 2), date(2026, 4, 7));
    }

    #[test]
    fn a_weekend_is_skipped_and_no_delay_is_the_same_day() {
        let friday = date(2026, 11, 27);
        assert_eq!(WorkingDays::default().add(friday, 1), date(2026, 11, 30));
        assert_eq!(WorkingDays::default().add(friday, 0), friday);
        // Christmas and Boxing Day on Friday and Saturday in 2026: the Thursday before + 1 is Monday.
        assert_eq!(WorkingDays::default().add(date(2026, 12, 24), 1), date(2026, 12, 28));
    }

    #[test]
    fn due_at_an_hour_on_amsterdams_clock_in_winter_and_summer() {
        let working = WorkingDays::default();
        // Thursday 2 April 2026, 16:30 in Amsterdam (CEST, UTC+2): due Wednesday 8 April 09:00 CEST.
        let at = Utc.with_ymd_and_hms(2026, 4, 2, 14, 30, 0).unwrap();
        assert_eq!(working.due_at(at, 2, 9), Utc.with_ymd_and_hms(2026, 4, 8, 7, 0, 0).unwrap());
        // Friday 27 November 2026 23:30 UTC is already Saturday in Amsterdam (CET, UTC+1): one working
        // day later is Monday 30 November, 09:00 CET.
        let late = Utc.with_ymd_and_hms(2026, 11, 27, 23, 30, 0).unwrap();
        assert_eq!(working.due_at(late, 1, 9), Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap());
        assert_eq!(working.due_at(late, 0, 9), late, "no delay: at once");
    }
}
