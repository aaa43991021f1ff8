//! Problems with data: which record or input field, what kind of problem, and why. The engine reports a
//! remote record it cannot store this way; the API turns the same values into a mutation's `userErrors`.
//! A collector ([`Problems`]) gathers every problem of one input, so that all are reported at once.

/// What a problem is, so that clients can react without parsing messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProblemCode {
    /// A value is required but missing or empty.
    Required,
    /// A value is malformed or out of range.
    Invalid,
    /// A value is longer than allowed.
    TooLong,
    /// A file is larger than allowed, or does not fit in what the account may store.
    TooLarge,
    /// A value is not one of the allowed options.
    NotAnOption,
    /// A referenced record does not exist (in this account, or at the remote).
    NotFound,
    /// The value is already used by another record.
    Taken,
    /// The value was already used for something else (e.g. an idempotency key sent again with a
    /// different sale).
    Conflict,
    /// A value is not known (e.g. an extra field or a question that does not exist).
    Unknown,
}

/// One problem, naming the field it is about: an input path such as `remoteIds.3` or `answers.rehousing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub code: ProblemCode,
    pub message: String,
}

/// Data that was refused, with every reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused: {}", .0.iter().map(|p| format!("{}: {}", p.field, p.message)).collect::<Vec<_>>().join("; "))]
pub struct Rejected(pub Vec<Problem>);

/// Collects the problems of one input.
#[derive(Debug, Default)]
pub struct Problems(Vec<Problem>);

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, code: impl Into<ProblemCode>, message: impl Into<String>) {
        self.0.push(Problem { field: field.into(), code: code.into(), message: message.into() });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn into_problems(self) -> Vec<Problem> {
        self.0
    }

    /// `Ok(())` when nothing was found, else every problem at once.
    pub fn into_result(self) -> Result<(), Rejected> {
        if self.0.is_empty() { Ok(()) } else { Err(Rejected(self.0)) }
    }
}

/// Control characters other than tab and line breaks: PostgreSQL refuses NUL outright, and none of them
/// belongs in a name or an answer.
pub fn has_control_characters(value: &str) -> bool {
    value.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

fn check_characters(problems: &mut Problems, field: &str, value: &str) {
    if has_control_characters(value) {
        problems.add(field, ProblemCode::Invalid, format!("{field} contains control characters"));
    }
}

/// A required text: trimmed, not empty, at most `max` characters.
pub fn required(problems: &mut Problems, field: &str, value: &str, max: usize) -> String {
    let value = value.trim();
    check_characters(problems, field, value);
    if value.is_empty() {
        problems.add(field, ProblemCode::Required, format!("{field} is required"));
    } else if value.chars().count() > max {
        problems.add(field, ProblemCode::TooLong, format!("{field} must be at most {max} characters"));
    }
    value.to_owned()
}

/// An optional text: trimmed, empty becomes None, at most `max` characters.
pub fn optional(problems: &mut Problems, field: &str, value: Option<&str>, max: usize) -> Option<String> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    check_characters(problems, field, value);
    if value.chars().count() > max {
        problems.add(field, ProblemCode::TooLong, format!("{field} must be at most {max} characters"));
    }
    Some(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_kept_in_order() {
        let mut problems = Problems::new();
        required(&mut problems, "name", "  ", 10);
        required(&mut problems, "sku", "x".repeat(11).as_str(), 10);
        optional(&mut problems, "city", Some("Utrecht\u{7}"), 100);
        optional(&mut problems, "notes", Some("line one\nline two\tand a tab"), 100);
        let Err(Rejected(found)) = problems.into_result() else { panic!("expected problems") };
        let found: Vec<_> = found.iter().map(|p| (p.field.as_str(), p.code)).collect();
        assert_eq!(
            found,
            [("name", ProblemCode::Required), ("sku", ProblemCode::TooLong), ("city", ProblemCode::Invalid)]
        );
    }
}
