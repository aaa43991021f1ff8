//! The neutral shapes of the product push ([`super::Capability::ProductPush`], seed 002): Koppel's
//! products as an ERP's items, found there by code (the SKU), and the setting that says which fields
//! an update writes — seed 002's per-field "update on update" checkbox. A field not ticked is
//! create-only: written when the item is made, never overwritten afterwards, so a price or a text kept
//! by hand in the ERP stays as it is there.

use super::{FieldSpec, FieldType};
use serde::Serialize;

/// A field of an item the push writes, in Koppel's words (the connector says what each is called at
/// the remote).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemField {
    /// The product's name (Exact's `Description`).
    Name,
    /// The product's description (Exact's `ExtraDescription`).
    Description,
    /// The standard (else the first) tariff (Exact's `StandardSalesPrice`).
    Price,
    /// The category (Exact's item group).
    Category,
    /// Whether it is kept in stock: simple and variant products are, virtual ones are not (Exact's
    /// `IsStockItem`).
    ProductType,
}

impl ItemField {
    pub const ALL: [ItemField; 5] = [Self::Name, Self::Description, Self::Price, Self::Category, Self::ProductType];

    /// The setting's word for it.
    pub fn key(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Description => "description",
            Self::Price => "price",
            Self::Category => "category",
            Self::ProductType => "productType",
        }
    }

    /// The fields an update writes, from the integration's settings (checked on save; an unknown word
    /// written past validation is left out).
    pub fn updated_on_update(settings: &serde_json::Value) -> Vec<ItemField> {
        let default: serde_json::Value =
            serde_json::from_str(UPDATE_FIELDS.default.expect("a default")).expect("a valid default");
        let chosen = settings.get(UPDATE_FIELDS.name).filter(|v| v.is_array()).unwrap_or(&default);
        let chosen = chosen.as_array().map(Vec::as_slice).unwrap_or_default();
        Self::ALL.into_iter().filter(|f| chosen.iter().any(|c| c.as_str() == Some(f.key()))).collect()
    }
}

/// The setting of kinds that push products: which fields an update of an existing item writes.
pub const UPDATE_FIELDS: FieldSpec = FieldSpec {
    name: "itemUpdateFields",
    label: "Item fields updated on update",
    field_type: FieldType::MultiSelect(&["name", "description", "price", "category", "productType"]),
    required: false,
    default: Some(r#"["price", "description"]"#),
    help: "Which fields of an item the product push overwrites when the item exists already (found by its code, the \
           product's SKU): name (Exact's Description), description (ExtraDescription), price (StandardSalesPrice, \
           from the standard or else the first tariff), category (the item group) and productType (IsStockItem). \
           The others are create-only: written when the item is made, never overwritten afterwards. Default: \
           price and description.",
};

/// What an item's fields are (to be), in neutral terms: the push compares these with the item the
/// remote has, and writes only what differs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemValues {
    pub name: String,
    pub description: Option<String>,
    /// A decimal amount with two decimals, e.g. `"12.50"`.
    pub price: Option<String>,
    /// The remote's id of the category (an Exact item group's `ID`).
    pub category_id: Option<String>,
    pub stock_item: bool,
}

impl ItemValues {
    /// Whether `field` has the same value in both.
    pub fn same(&self, other: &ItemValues, field: ItemField) -> bool {
        match field {
            ItemField::Name => self.name.trim() == other.name.trim(),
            ItemField::Description => {
                self.description.as_deref().map(str::trim).unwrap_or_default()
                    == other.description.as_deref().map(str::trim).unwrap_or_default()
            }
            ItemField::Price => amount(self.price.as_deref()) == amount(other.price.as_deref()),
            ItemField::Category => {
                self.category_id.as_deref().map(str::to_ascii_lowercase)
                    == other.category_id.as_deref().map(str::to_ascii_lowercase)
            }
            ItemField::ProductType => self.stock_item == other.stock_item,
        }
    }
}

/// An amount in cents, so that `12.5` and `12.50` are the same price.
fn amount(text: Option<&str>) -> Option<i64> {
    text.and_then(|t| t.trim().replace(',', ".").parse::<f64>().ok()).map(|a| (a * 100.0).round() as i64)
}

/// A product as it goes to an ERP: its code (the SKU) and its values.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundItem {
    pub code: String,
    #[serde(flatten)]
    pub values: ItemValues,
}

/// An item the ERP has: its id there, its code as the ERP keeps it (trimmed) and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteItem {
    pub id: String,
    pub code: String,
    pub values: ItemValues,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_fields_updated_on_update_come_from_the_setting_or_its_default() {
        assert_eq!(ItemField::updated_on_update(&json!({})), [ItemField::Description, ItemField::Price]);
        let chosen = json!({"itemUpdateFields": ["category", "name"]});
        assert_eq!(ItemField::updated_on_update(&chosen), [ItemField::Name, ItemField::Category]);
        assert!(ItemField::updated_on_update(&json!({"itemUpdateFields": []})).is_empty(), "all create-only");
        let FieldType::MultiSelect(options) = UPDATE_FIELDS.field_type else { panic!("a multi-select") };
        assert_eq!(options, ItemField::ALL.map(ItemField::key), "one option per field");
    }

    #[test]
    fn values_compare_as_the_erp_keeps_them() {
        let ours = ItemValues {
            name: "Oven".into(),
            description: None,
            price: Some("12.5".into()),
            category_id: Some("6A1E".into()),
            stock_item: true,
        };
        let theirs = ItemValues {
            name: "Oven ".into(),
            description: Some(" ".into()),
            price: Some("12.50".into()),
            category_id: Some("6a1e".into()),
            stock_item: false,
        };
        for field in [ItemField::Name, ItemField::Description, ItemField::Price, ItemField::Category] {
            assert!(ours.same(&theirs, field), "{field:?}");
        }
        assert!(!ours.same(&theirs, ItemField::ProductType));
    }
}
