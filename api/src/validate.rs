//! Field checks shared by every mutation. Each check records a problem naming the field and returns
//! the cleaned value, so that one call reports every problem of an input at once.

use crate::error::{Problems, UserErrorCode};
pub use koppel_daemon::problems::{has_control_characters, optional, required};

/// An optional e-mail address.
pub fn email(problems: &mut Problems, field: &str, value: Option<&str>) -> Option<String> {
    let value = optional(problems, field, value, 254)?;
    if !is_email(&value) {
        problems.add(field, UserErrorCode::Invalid, format!("{field} is not an e-mail address"));
    }
    Some(value)
}

pub fn is_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

/// A machine key: 1–64 characters of a–z, 0–9 and `_`, starting with a letter.
pub fn key(problems: &mut Problems, field: &str, value: &str) -> String {
    let value = value.trim();
    let valid = !value.is_empty()
        && value.len() <= 64
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        problems.add(
            field,
            UserErrorCode::Invalid,
            format!("{field} must be 1–64 characters of a–z, 0–9 and _, starting with a letter"),
        );
    }
    value.to_owned()
}

/// Reports `field` as taken when another row of the account (not `except`) has `value` in `column`.
pub async fn unique<E: koppel_entity::Scoped>(
    db: &impl sea_orm::ConnectionTrait,
    problems: &mut Problems,
    (account_id, column, field, what): (uuid::Uuid, E::Column, &str, &str),
    value: &str,
    except: Option<uuid::Uuid>,
) -> Result<(), sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter};
    if value.is_empty() {
        return Ok(());
    }
    let mut select = E::find_in(account_id).filter(column.eq(value));
    if let Some(except) = except {
        select = select.filter(E::id_column().ne(except));
    }
    if select.one(db).await?.is_some() {
        problems.add(field, UserErrorCode::Taken, format!("{what} {value} already exists"));
    }
    Ok(())
}

/// A Dutch Chamber of Commerce (KvK) number: exactly 8 digits.
pub fn kvk_number(problems: &mut Problems, field: &str, value: Option<&str>) -> Option<String> {
    let value = optional(problems, field, value, 8)?;
    if value.len() != 8 || !value.chars().all(|c| c.is_ascii_digit()) {
        problems.add(field, UserErrorCode::Invalid, format!("{field} must be 8 digits"));
    }
    Some(value)
}

/// A decimal amount such as `0.23451` or `-12.5`.
pub fn is_decimal(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let mut parts = digits.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let fraction = parts.next();
    !whole.is_empty()
        && whole.chars().all(|c| c.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.len() <= 10 && f.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_the_field() {
        let mut problems = Problems::new();
        required(&mut problems, "name", "  ", 10);
        required(&mut problems, "sku", "x".repeat(11).as_str(), 10);
        email(&mut problems, "email", Some("nope"));
        key(&mut problems, "key", "Bad Key");
        kvk_number(&mut problems, "kvkNumber", Some("1234567"));
        let Err(koppel_daemon::problems::Rejected(errors)) = problems.into_result() else {
            panic!("expected problems")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "sku", "email", "key", "kvkNumber"]);
    }

    #[test]
    fn decimals() {
        for ok in ["0", "0.23451", "-12.5", "100"] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", ".5", "1.", "1,5", "abc", "1.2.3", "--1"] {
            assert!(!is_decimal(bad), "{bad}");
        }
        assert!(is_email("a@b.nl") && !is_email("a@b") && !is_email("a b@c.nl"));
    }
}
