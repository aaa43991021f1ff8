//! A sale pushed to an ERP as a sales order (seed 002), written once over the connector trait so that
//! every ERP target (Exact Online now, Exact Globe next) runs the same steps and only speaks its own
//! API in [`Connector::find_order`], [`Connector::items_by_code`], [`Connector::upsert_customer`] and
//! [`Connector::create_order`]:
//!
//! 1. an order the ERP already has under the transmission's reference (its idempotency key, Exact's
//!    `YourRef`) is not made again: a send that crashed after the ERP took it, sent again, finds it;
//! 2. every product of the order must exist at the ERP by its SKU: the missing ones are named together,
//!    and nothing is written (no customer made for an order that cannot be made);
//! 3. the customer is created or updated (a company debtor with its contact person when it has a
//!    company name, else a person debtor: the connector's choice of shape);
//! 4. the order is created with the ERP's item ids.
//!
//! A kind takes this route when it declares [`Capability::OrderPush`]; the relay then calls [`push`]
//! instead of [`Connector::submit_sale`].

use crate::connectors::{
    AcceptedSale, Capability, Connector, ConnectorError, KindSpec, OrderLine, OutboundOrder, OutboundSale,
};

/// The answer key of the sale data mapping that sets an order line's quantity (default 1).
pub const QUANTITY: &str = "quantity";
/// The answer key of the sale data mapping that sets an order line's unit price (default: the ERP's
/// price for the item).
pub const UNIT_PRICE: &str = "unitPrice";
/// The answer key of the sale data mapping for the order's description.
pub const DESCRIPTION: &str = "description";

/// Whether a kind's sales go out as ERP orders.
pub fn takes_orders(spec: &KindSpec) -> bool {
    spec.capabilities.contains(&Capability::OrderPush)
}

/// Pushes one sale as a sales order; returns the order the ERP has for it, made now or before.
pub async fn push(connector: &dyn Connector, sale: &OutboundSale) -> Result<AcceptedSale, ConnectorError> {
    if let Some(existing) = connector.find_order(&sale.idempotency_key).await? {
        return Ok(existing);
    }
    let Some(customer) = &sale.customer else {
        return Err(ConnectorError::Refused("an order needs a customer: the sale has none".into()));
    };
    let lines = order_lines(sale)?;
    let codes: Vec<String> = lines.iter().map(|(code, _, _)| code.clone()).collect();
    let items = connector.items_by_code(&codes).await?;
    let missing: Vec<&str> = codes.iter().filter(|c| !items.contains_key(*c)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(ConnectorError::Refused(format!(
            "the remote has no product with SKU {}: import or create it there first",
            missing.join(", ")
        )));
    }
    let customer_id = connector.upsert_customer(customer).await?;
    let order = OutboundOrder {
        reference: sale.idempotency_key.clone(),
        customer_id,
        description: sale.answers.get(DESCRIPTION).and_then(text),
        lines: lines
            .into_iter()
            .map(|(code, quantity, unit_price)| OrderLine { item_id: items[&code].clone(), code, quantity, unit_price })
            .collect(),
    };
    connector.create_order(&order).await
}

/// The order's lines as (SKU, quantity, unit price): the sale's product, with the quantity and price the
/// sale data mapping sends.
fn order_lines(sale: &OutboundSale) -> Result<Vec<(String, f64, Option<String>)>, ConnectorError> {
    let sku = sale.product_sku.trim();
    if sku.is_empty() {
        return Err(ConnectorError::Refused("the sale's product has no SKU to order it by".into()));
    }
    let quantity = match sale.answers.get(QUANTITY) {
        None => 1.0,
        Some(value) => match number(value) {
            Some(q) if q > 0.0 => q,
            _ => {
                return Err(ConnectorError::Refused(format!("{QUANTITY} must be a number above 0, not {value}")));
            }
        },
    };
    let unit_price = match sale.answers.get(UNIT_PRICE) {
        None => None,
        Some(value) => match number(value) {
            Some(p) if p >= 0.0 => Some(format!("{p:.2}")),
            _ => {
                return Err(ConnectorError::Refused(format!(
                    "{UNIT_PRICE} must be an amount of 0 or more, not {value}"
                )));
            }
        },
    };
    Ok(vec![(sku.to_owned(), quantity, unit_price)])
}

fn number(value: &serde_json::Value) -> Option<f64> {
    match value {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().replace(',', ".").parse().ok(),
        _ => None,
    }
    .filter(|n: &f64| n.is_finite())
}

fn text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::{ConnectionCheck, OutboundCustomer};
    use async_trait::async_trait;
    use std::collections::{BTreeMap, HashMap};
    use std::sync::Mutex;

    /// An ERP in memory: its items by code, its orders by reference, and every call it was asked.
    #[derive(Default)]
    struct Erp {
        items: HashMap<String, String>,
        orders: Mutex<HashMap<String, String>>,
        calls: Mutex<Vec<String>>,
    }

    impl Erp {
        fn with_items(codes: &[&str]) -> Self {
            Self { items: codes.iter().map(|c| (c.to_string(), format!("item-{c}"))).collect(), ..Self::default() }
        }
        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl Connector for Erp {
        async fn test_connection(&self) -> Result<ConnectionCheck, ConnectorError> {
            Ok(ConnectionCheck { identity: "erp".into() })
        }
        async fn find_order(&self, reference: &str) -> Result<Option<AcceptedSale>, ConnectorError> {
            self.calls.lock().unwrap().push(format!("find {reference}"));
            Ok(self.orders.lock().unwrap().get(reference).map(|id| AcceptedSale { id: id.clone(), status: None }))
        }
        async fn items_by_code(&self, codes: &[String]) -> Result<HashMap<String, String>, ConnectorError> {
            self.calls.lock().unwrap().push(format!("items {}", codes.join(",")));
            Ok(codes.iter().filter_map(|c| self.items.get(c).map(|id| (c.clone(), id.clone()))).collect())
        }
        async fn upsert_customer(&self, customer: &OutboundCustomer) -> Result<String, ConnectorError> {
            self.calls.lock().unwrap().push(format!("customer {}", customer.email.clone().unwrap_or_default()));
            Ok("debtor-1".into())
        }
        async fn create_order(&self, order: &OutboundOrder) -> Result<AcceptedSale, ConnectorError> {
            let line = &order.lines[0];
            self.calls.lock().unwrap().push(format!(
                "order {} for {} of {}×{} at {:?}",
                order.reference, order.customer_id, line.quantity, line.item_id, line.unit_price
            ));
            let id = format!("order-{}", self.orders.lock().unwrap().len() + 1);
            self.orders.lock().unwrap().insert(order.reference.clone(), id.clone());
            Ok(AcceptedSale { id, status: None })
        }
    }

    fn sale(sku: &str, answers: &[(&str, serde_json::Value)]) -> OutboundSale {
        OutboundSale {
            idempotency_key: "sale-7".into(),
            product_id: format!("item-{sku}"),
            product_sku: sku.into(),
            flow_id: None,
            customer: Some(OutboundCustomer {
                kind: "company".into(),
                first_name: Some("Anna".into()),
                last_name: Some("de Vries".into()),
                company_name: Some("Bakkerij De Korenschoof".into()),
                kvk_number: None,
                email: Some("anna@korenschoof.nl".into()),
                phone: None,
                addresses: serde_json::json!([]),
                contact_persons: Vec::new(),
            }),
            answers: answers.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<BTreeMap<_, _>>(),
            opt_in: None,
        }
    }

    #[tokio::test]
    async fn customer_first_then_the_order_with_the_erps_item_and_the_mapped_quantity_and_price() {
        let erp = Erp::with_items(&["OVEN-1"]);
        let sale = sale("OVEN-1", &[(QUANTITY, serde_json::json!("2")), (UNIT_PRICE, serde_json::json!(12.5))]);
        let accepted = push(&erp, &sale).await.unwrap();
        assert_eq!(accepted.id, "order-1");
        assert_eq!(
            erp.calls(),
            [
                "find sale-7",
                "items OVEN-1",
                "customer anna@korenschoof.nl",
                "order sale-7 for debtor-1 of 2×item-OVEN-1 at Some(\"12.50\")"
            ]
        );
    }

    #[tokio::test]
    async fn an_order_the_erp_has_already_is_not_made_again() {
        let erp = Erp::with_items(&["OVEN-1"]);
        let first = push(&erp, &sale("OVEN-1", &[])).await.unwrap();
        let again = push(&erp, &sale("OVEN-1", &[])).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(erp.orders.lock().unwrap().len(), 1);
        assert_eq!(erp.calls().last().unwrap(), "find sale-7", "the second send stops after finding the order");
    }

    #[tokio::test]
    async fn a_missing_product_is_named_and_nothing_is_written() {
        let erp = Erp::with_items(&["OVEN-1"]);
        let error = push(&erp, &sale("MIXER-9", &[])).await.unwrap_err();
        assert_eq!(
            error,
            ConnectorError::Refused(
                "the remote has no product with SKU MIXER-9: import or create it there first".into()
            )
        );
        assert!(error.is_permanent(), "sending the same again cannot help");
        assert_eq!(erp.calls(), ["find sale-7", "items MIXER-9"], "no customer is made for an order that cannot be");
    }

    #[tokio::test]
    async fn a_bad_quantity_or_a_sale_without_customer_is_refused_by_name() {
        let erp = Erp::with_items(&["OVEN-1"]);
        let error = push(&erp, &sale("OVEN-1", &[(QUANTITY, serde_json::json!("zero"))])).await.unwrap_err();
        assert!(error.to_string().contains("quantity must be a number above 0"), "{error}");
        let mut without = sale("OVEN-1", &[]);
        without.customer = None;
        let error = push(&erp, &without).await.unwrap_err();
        assert!(error.to_string().contains("an order needs a customer"), "{error}");
        assert!(erp.orders.lock().unwrap().is_empty());
    }
}
