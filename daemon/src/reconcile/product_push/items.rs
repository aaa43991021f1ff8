//! The pure part of the product push: a Koppel product as an ERP item, and what to do with it given
//! the item the ERP has under its code (create it, update the fields updated on update that differ,
//! or leave it).

use crate::connectors::{ItemField, ItemValues, OutboundItem, RemoteItem};
use koppel_entity::enums::ProductType;
use koppel_entity::product;

/// Why a product is not an item of its own.
pub(super) const CONFIGURABLE: &str = "a configurable product is not an item: its variants are pushed as items";

/// A product as an item (the category by its code: its id at the ERP comes later), or why it is not
/// one. A variant takes its configurable product's description and category when it has none.
pub(super) fn outbound(
    product: &product::Model,
    parent: Option<&product::Model>,
) -> Result<(OutboundItem, Option<String>), &'static str> {
    let stock_item = match product.product_type {
        ProductType::Configurable => return Err(CONFIGURABLE),
        ProductType::Simple | ProductType::Variant => true,
        ProductType::Virtual => false,
    };
    let code = product.sku.trim();
    if code.is_empty() {
        return Err("the product has no SKU to find its item by");
    }
    let inherited = |own: &Option<String>, of_parent: fn(&product::Model) -> &Option<String>| {
        nonempty(own).or_else(|| parent.and_then(|p| nonempty(of_parent(p))))
    };
    let item = OutboundItem {
        code: code.to_owned(),
        values: ItemValues {
            name: product.name.trim().to_owned(),
            description: inherited(&product.description, |p| &p.description),
            price: price(&product.tariffs),
            category_id: None,
            stock_item,
        },
    };
    Ok((item, inherited(&product.category, |p| &p.category)))
}

fn nonempty(text: &Option<String>) -> Option<String> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
}

/// The standard tariff's amount (code `standard`), else the first tariff's, with two decimals.
fn price(tariffs: &serde_json::Value) -> Option<String> {
    let tariffs = tariffs.as_array()?;
    let tariff = tariffs.iter().find(|t| t["code"].as_str() == Some("standard")).or_else(|| tariffs.first())?;
    let amount = match &tariff["amount"] {
        serde_json::Value::String(text) => text.trim().replace(',', ".").parse::<f64>().ok(),
        serde_json::Value::Number(n) => n.as_f64(),
        _ => None,
    }?;
    amount.is_finite().then(|| format!("{amount:.2}"))
}

/// What the push does with one item.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Decision {
    /// The ERP has no item with the code: made with every field.
    Create,
    /// The ERP has it and these fields updated on update differ: only they are written.
    Update(Vec<ItemField>),
    /// The ERP has it and every field updated on update is the same (create-only fields are not
    /// looked at).
    Unchanged,
}

pub(super) fn decide(item: &OutboundItem, existing: Option<&RemoteItem>, updated: &[ItemField]) -> Decision {
    let Some(existing) = existing else { return Decision::Create };
    let differ: Vec<ItemField> =
        updated.iter().copied().filter(|field| !item.values.same(&existing.values, *field)).collect();
    if differ.is_empty() { Decision::Unchanged } else { Decision::Update(differ) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;
    use uuid::Uuid;

    fn product(sku: &str, product_type: ProductType) -> product::Model {
        product::Model {
            id: Uuid::now_v7(),
            account_id: Uuid::nil(),
            supplier_id: None,
            parent_id: None,
            sku: sku.into(),
            name: "Heteluchtoven".into(),
            description: None,
            product_type,
            category: None,
            tariffs: json!([{"code": "monthly", "label": "Per maand", "amount": "12.5", "unit": "EUR/month"},
                            {"code": "standard", "label": "Standaard", "amount": "1499", "unit": "EUR"}]),
            extra_fields: json!({}),
            incentive: None,
            active: true,
            authorised: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn simple_and_virtual_products_are_stock_and_non_stock_items_priced_by_the_standard_tariff() {
        let (item, category) = outbound(&product(" OVEN-1 ", ProductType::Simple), None).unwrap();
        assert_eq!((item.code.as_str(), item.values.stock_item), ("OVEN-1", true));
        assert_eq!(item.values.price.as_deref(), Some("1499.00"));
        assert_eq!(category, None);
        let mut service = product("SERVICE", ProductType::Virtual);
        service.tariffs = json!([{"code": "hour", "label": "Uur", "amount": "65,5", "unit": "EUR/hour"}]);
        let (item, _) = outbound(&service, None).unwrap();
        assert!(!item.values.stock_item);
        assert_eq!(item.values.price.as_deref(), Some("65.50"), "no standard tariff: the first");
        service.tariffs = json!([]);
        assert_eq!(outbound(&service, None).unwrap().0.values.price, None);
    }

    #[test]
    fn a_configurable_product_is_no_item_and_its_variants_inherit_description_and_category() {
        let mut parent = product("OVEN", ProductType::Configurable);
        parent.description = Some("Ovens van RVS".into());
        parent.category = Some("OVENS".into());
        assert_eq!(outbound(&parent, None).unwrap_err(), CONFIGURABLE);
        let mut variant = product("OVEN-60", ProductType::Variant);
        variant.parent_id = Some(parent.id);
        let (item, category) = outbound(&variant, Some(&parent)).unwrap();
        assert_eq!(item.values.description.as_deref(), Some("Ovens van RVS"));
        assert_eq!(category.as_deref(), Some("OVENS"));
        assert!(item.values.stock_item);
        variant.category = Some("KLEIN".into());
        assert_eq!(outbound(&variant, Some(&parent)).unwrap().1.as_deref(), Some("KLEIN"), "its own wins");
        assert!(outbound(&product("  ", ProductType::Simple), None).is_err(), "no SKU, no item");
    }

    #[test]
    fn an_existing_item_gets_only_the_fields_updated_on_update_that_differ() {
        let (item, _) = outbound(&product("OVEN-1", ProductType::Simple), None).unwrap();
        assert_eq!(decide(&item, None, &[ItemField::Price]), Decision::Create);
        let mut theirs = RemoteItem { id: "i".into(), code: "OVEN-1".into(), values: item.values.clone() };
        assert_eq!(decide(&item, Some(&theirs), &ItemField::ALL), Decision::Unchanged);
        theirs.values.name = "Oven (kept at Exact)".into();
        theirs.values.price = Some("1399.00".into());
        assert_eq!(
            decide(&item, Some(&theirs), &[ItemField::Price, ItemField::Description]),
            Decision::Update(vec![ItemField::Price])
        );
        assert_eq!(
            decide(&item, Some(&theirs), &[ItemField::Description]),
            Decision::Unchanged,
            "a create-only name that differs is left as it is"
        );
    }
}
