//! SnelStart's JSON shapes (B2B API v2) and their translation into the connectors' neutral shapes.

use crate::connectors::{RemoteCustomer, RemoteInvoice};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A relatie (customer, supplier, …) as `GET /v2/relaties` lists it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relatie {
    pub id: String,
    pub modified_on: Option<String>,
    #[serde(default)]
    pub relatiesoort: Vec<String>,
    /// A number at SnelStart; kept as text.
    pub relatiecode: Option<Value>,
    pub naam: Option<String>,
    pub vestigings_adres: Option<Adres>,
    pub email: Option<String>,
    pub telefoon: Option<String>,
    pub btw_nummer: Option<String>,
    pub kvk_nummer: Option<String>,
    pub iban: Option<String>,
    #[serde(default)]
    pub nonactief: bool,
}

/// The fields of a relatie that field mappings may read (`customer` mappings), by SnelStart's names.
pub const RELATIE_FIELDS: &[(&str, &str)] = &[
    ("relatiecode", "Relatiecode"),
    ("naam", "Naam"),
    ("email", "E-mailadres"),
    ("telefoon", "Telefoon"),
    ("kvkNummer", "KvK-nummer"),
    ("btwNummer", "Btw-nummer"),
    ("iban", "IBAN"),
    ("vestigingsAdres.straat", "Vestigingsadres: straat"),
    ("vestigingsAdres.postcode", "Vestigingsadres: postcode"),
    ("vestigingsAdres.plaats", "Vestigingsadres: plaats"),
    ("vestigingsAdres.landISOCode", "Vestigingsadres: land"),
];

/// The fields of a verkoopfactuur that field mappings may read (`invoice` mappings).
pub const FACTUUR_FIELDS: &[(&str, &str)] = &[
    ("factuurnummer", "Factuurnummer"),
    ("factuurDatum", "Factuurdatum"),
    ("vervalDatum", "Vervaldatum"),
    ("factuurBedrag", "Factuurbedrag"),
    ("openstaandSaldo", "Openstaand saldo"),
];

/// The named fields that have a value, as text.
fn fields_of<'a>(values: impl IntoIterator<Item = (&'a str, Option<String>)>) -> BTreeMap<String, String> {
    values.into_iter().filter_map(|(key, value)| Some((key.to_owned(), text(value)?))).collect()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Adres {
    pub straat: Option<String>,
    pub postcode: Option<String>,
    pub plaats: Option<String>,
    #[serde(rename = "landISOCode")]
    pub land_iso_code: Option<String>,
}

impl Relatie {
    /// A relatie of the kind customer (`Klant`); suppliers and others are not customers.
    pub fn is_customer(&self) -> bool {
        self.relatiesoort.iter().any(|soort| soort.eq_ignore_ascii_case("klant"))
    }
}

fn text(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl From<Relatie> for RemoteCustomer {
    fn from(r: Relatie) -> Self {
        let code = match r.relatiecode {
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::String(s)) => text(Some(s)),
            _ => None,
        };
        let adres = r.vestigings_adres.as_ref();
        let fields = fields_of([
            ("relatiecode", code.clone()),
            ("naam", r.naam.clone()),
            ("email", r.email.clone()),
            ("telefoon", r.telefoon.clone()),
            ("kvkNummer", r.kvk_nummer.clone()),
            ("btwNummer", r.btw_nummer.clone()),
            ("iban", r.iban.clone()),
            ("vestigingsAdres.straat", adres.and_then(|a| a.straat.clone())),
            ("vestigingsAdres.postcode", adres.and_then(|a| a.postcode.clone())),
            ("vestigingsAdres.plaats", adres.and_then(|a| a.plaats.clone())),
            ("vestigingsAdres.landISOCode", adres.and_then(|a| a.land_iso_code.clone())),
        ]);
        let address = r.vestigings_adres.and_then(|a| {
            let street_line = text(a.straat)?;
            let (street, house_number) = split_house_number(&street_line);
            Some(json!({
                "kind": "visit",
                "street": street,
                "houseNumber": house_number,
                "postcode": text(a.postcode).unwrap_or_default(),
                "city": text(a.plaats).unwrap_or_default(),
                "country": text(a.land_iso_code).unwrap_or_else(|| "NL".into()),
            }))
        });
        RemoteCustomer {
            modified_at: r.modified_on.as_deref().and_then(parse_time),
            id: r.id,
            code,
            name: text(r.naam).unwrap_or_default(),
            email: text(r.email),
            phone: text(r.telefoon),
            kvk_number: text(r.kvk_nummer),
            vat_number: text(r.btw_nummer),
            address,
            inactive: r.nonactief,
            fields,
        }
    }
}

/// A verkoopfactuur as `GET /v2/verkoopfacturen` lists it (`factuurDatum` in camel case, as SnelStart's
/// OpenAPI document spells it).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verkoopfactuur {
    pub id: String,
    pub modified_on: Option<String>,
    /// A number or a text at SnelStart; kept as text.
    pub factuurnummer: Option<Value>,
    pub factuur_datum: Option<String>,
    pub verval_datum: Option<String>,
    pub factuur_bedrag: Option<f64>,
    pub openstaand_saldo: Option<f64>,
    pub relatie: Option<Reference>,
}

/// `{id, uri}`: another record of SnelStart.
#[derive(Debug, Deserialize)]
pub struct Reference {
    pub id: String,
}

impl From<Verkoopfactuur> for RemoteInvoice {
    fn from(f: Verkoopfactuur) -> Self {
        let number = match f.factuurnummer {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.trim().to_owned(),
            _ => String::new(),
        };
        let fields = fields_of([
            ("factuurnummer", Some(number.clone())),
            ("factuurDatum", f.factuur_datum.clone()),
            ("vervalDatum", f.verval_datum.clone()),
            ("factuurBedrag", f.factuur_bedrag.map(|euros| format!("{euros:.2}"))),
            ("openstaandSaldo", f.openstaand_saldo.map(|euros| format!("{euros:.2}"))),
        ]);
        RemoteInvoice {
            fields,
            modified_at: f.modified_on.as_deref().and_then(parse_time),
            number: if number.is_empty() { f.id.clone() } else { number },
            id: f.id,
            customer_id: f.relatie.map(|r| r.id),
            date: f.factuur_datum.as_deref().and_then(parse_date),
            due_date: f.verval_datum.as_deref().and_then(parse_date),
            amount_cents: cents(f.factuur_bedrag.unwrap_or(0.0)),
            open_cents: cents(f.openstaand_saldo.unwrap_or(0.0)),
        }
    }
}

/// Euros as SnelStart writes them (a JSON number with two decimals) in cents.
fn cents(euros: f64) -> i64 {
    (euros * 100.0).round() as i64
}

/// A date, or the date of a date-time (`2024-03-01T00:00:00`).
fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

/// `Dorpsstraat 1a` → (`Dorpsstraat`, `1a`): SnelStart keeps the house number in the street line.
fn split_house_number(line: &str) -> (String, String) {
    match line.rsplit_once(' ') {
        Some((street, number)) if number.starts_with(|c: char| c.is_ascii_digit()) => {
            (street.trim().to_owned(), number.to_owned())
        }
        _ => (line.to_owned(), String::new()),
    }
}

/// SnelStart's date-times carry no zone (`2024-03-01T10:15:30.123`, up to seven decimals): Koppel keeps
/// them as if they were UTC, so that a cursor written back into a filter is the moment SnelStart wrote.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|t| t.and_utc())
        .ok()
        .or_else(|| DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc)))
}

/// A `ModifiedOn gt datetime'…'` filter (UpperCamelCase: SnelStart's filter names are case-sensitive).
/// Milliseconds: a record modified within the same millisecond is listed once more, never missed.
pub fn modified_after(at: DateTime<Utc>) -> String {
    format!("ModifiedOn gt datetime'{}'", at.naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relatie_becomes_a_remote_customer() {
        let relatie: Relatie = serde_json::from_value(json!({
            "id": "8c3e", "modifiedOn": "2024-03-01T10:15:30.1234567", "relatiesoort": ["Klant"],
            "relatiecode": 1001, "naam": " Bakkerij De Korenschoof ", "email": "info@korenschoof.nl",
            "telefoon": "", "kvkNummer": "69599068", "btwNummer": null, "nonactief": false,
            "vestigingsAdres": {"straat": "Dorpsstraat 12a", "postcode": "1234 AB", "plaats": "Utrecht", "landISOCode": "NL"},
        }))
        .unwrap();
        assert!(relatie.is_customer());
        let customer = RemoteCustomer::from(relatie);
        assert_eq!(customer.code.as_deref(), Some("1001"));
        assert_eq!(customer.name, "Bakkerij De Korenschoof");
        assert_eq!(customer.phone, None);
        assert_eq!(customer.address.as_ref().unwrap()["houseNumber"], "12a");
        assert_eq!(customer.label(), "1001 Bakkerij De Korenschoof");
        let at = customer.modified_at.unwrap();
        assert_eq!(modified_after(at), "ModifiedOn gt datetime'2024-03-01T10:15:30.123'");
    }

    #[test]
    fn a_verkoopfactuur_becomes_a_remote_invoice() {
        let factuur: Verkoopfactuur = serde_json::from_value(json!({
            "id": "f1", "modifiedOn": "2024-03-02T08:00:00", "factuurnummer": 2024001,
            "factuurDatum": "2024-03-01T00:00:00", "vervalDatum": "2024-03-31T00:00:00",
            "factuurBedrag": 121.1, "openstaandSaldo": 21.1, "relatie": {"id": "8c3e", "uri": "/relaties/8c3e"},
        }))
        .unwrap();
        let invoice = RemoteInvoice::from(factuur);
        assert_eq!(invoice.number, "2024001");
        assert_eq!((invoice.amount_cents, invoice.open_cents), (12110, 2110));
        assert_eq!(invoice.customer_id.as_deref(), Some("8c3e"));
        assert_eq!(invoice.due_date, NaiveDate::from_ymd_opt(2024, 3, 31));
    }
}
