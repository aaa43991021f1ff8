//! What a submitted sale is, as one hash: a retry with the same idempotency key must send the same sale,
//! and a different sale under a used key is refused rather than answered with the first one.

use super::SubmitSaleInput;
use async_graphql::InputType;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// SHA-256 (hex) of the canonical form of everything submitted except the idempotency key itself.
pub fn of(input: &SubmitSaleInput) -> String {
    // The input as GraphQL sees it: every field by its GraphQL name, defaults filled in (an omitted
    // `answers` and `answers: []` are the same sale), enums by name.
    let value = input.to_value().into_json().expect("an input value is JSON");
    let bytes = serde_json::to_vec(&canonical(value)).expect("a JSON value serialises");
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Without the key, answers in question-key order, object keys sorted at every level.
fn canonical(mut value: Value) -> Value {
    if let Value::Object(fields) = &mut value {
        fields.remove("idempotencyKey");
        // Answers are stored by question key, so their order makes no difference to the sale: a client
        // that rebuilds its payload from a map on retry must not be refused. (Contact persons keep their
        // order: each becomes its own record, in that order.)
        if let Some(Value::Array(answers)) = fields.get_mut("answers") {
            answers.sort_by(|a, b| a["questionKey"].as_str().cmp(&b["questionKey"].as_str()));
        }
    }
    // serde_json's maps are sorted already unless its `preserve_order` feature is on somewhere in the
    // build; sorting here keeps the hash stable either way (answer values may be client-ordered objects).
    value.sort_all_objects();
    value
}

#[cfg(test)]
mod tests {
    use super::canonical;
    use serde_json::json;

    fn canonical_form(value: serde_json::Value) -> String {
        serde_json::to_string(&canonical(value)).unwrap()
    }

    #[test]
    fn the_key_answer_order_and_object_key_order_do_not_count() {
        let first = json!({
            "idempotencyKey": "a", "productId": "p",
            "answers": [{"questionKey": "x", "value": {"b": 1, "a": 2}}, {"questionKey": "y", "value": true}],
        });
        let retry = json!({
            "answers": [{"value": true, "questionKey": "y"}, {"questionKey": "x", "value": {"a": 2, "b": 1}}],
            "productId": "p", "idempotencyKey": "b",
        });
        assert_eq!(canonical_form(first), canonical_form(retry));
    }

    #[test]
    fn a_different_answer_or_product_counts() {
        let sale = |product: &str, answer: bool| json!({"idempotencyKey": "a", "productId": product, "answers": [{"questionKey": "y", "value": answer}]});
        assert_ne!(canonical_form(sale("p", true)), canonical_form(sale("p", false)));
        assert_ne!(canonical_form(sale("p", true)), canonical_form(sale("q", true)));
    }
}
