//! Seed 004 end to end: Koppel pulls customers (relaties), invoices (verkoopfacturen) and what is paid
//! of them from SnelStart's B2B API, over real HTTP to a fake of that API (`fakes::snelstart`) whose
//! behaviour `fake.rs` pins to what `../shared/REMOTES.md` says of the real one.

mod connection;
mod fake;
mod invoices;
mod mappings;
mod schedules;
mod setup;
mod sync;

use serde_json::{Value, json};

/// A relatie as SnelStart lists it (a customer: `relatiesoort: ["Klant"]`).
pub(super) fn relatie(id: &str, code: i64, naam: &str, email: &str, kvk: &str) -> Value {
    json!({
        "id": id,
        "relatiesoort": ["Klant"],
        "relatiecode": code,
        "naam": naam,
        "vestigingsAdres": {
            "contactpersoon": null, "straat": "Dorpsstraat 1", "postcode": "1234 AB",
            "plaats": "Utrecht", "landISOCode": "NL",
        },
        "email": email,
        "telefoon": "030-1234567",
        "btwNummer": null,
        "kvkNummer": kvk,
        "iban": null,
        "nonactief": false,
    })
}

/// A verkoopfactuur as SnelStart lists it.
pub(super) fn factuur(id: &str, number: i64, relatie: &str, amount: f64, open: f64) -> Value {
    json!({
        "id": id, "factuurnummer": number, "factuurDatum": "2024-03-01T00:00:00",
        "vervalDatum": "2024-03-31T00:00:00", "factuurBedrag": amount, "openstaandSaldo": open,
        "relatie": {"id": relatie, "uri": format!("/relaties/{relatie}")}, "verkoopBoeking": null,
        "verkoopOrders": [], "uri": format!("/verkoopfacturen/{id}"),
    })
}
