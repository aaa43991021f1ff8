//! A sale mapped for one integration, and checked: the remote product (the product's link), the remote
//! flow (flow mapping), each answer through its question mapping and option mappings, the sale data
//! mapping (field mappings of entity `sale`: a question's answer, a product or organisation field such
//! as the incentive or the CIRE ID, a customer field or the opt-in, through transforms and value
//! mappings), the customer and, when the integration sends it, the opt-in. Every problem is reported at
//! once and by name: a question not mapped, an answer without a value mapping, a required remote
//! question left empty.

use super::conditions::texts;
use crate::connectors::sale_settings::SaleSettings;
use crate::connectors::{OutboundContact, OutboundCustomer, OutboundSale, RemoteQuestion};
use crate::mapping::{FieldMapping, TargetKind, stored};
use crate::problems::{Problem, ProblemCode, Problems};
use koppel_entity::enums::LinkedEntity;
use koppel_entity::{
    IntegrationOwned, Scoped, contact_person, customer, flow_mapping, integration, organisation, product, question,
    question_mapping, remote_link, sale,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, QueryFilter, QueryOrder};
use serde_json::Value;
use std::collections::BTreeMap;

/// The entity name of the sale data mapping's field mappings.
pub const SALE_MAPPING: &str = "sale";

/// The built-in attributes the sale data mapping can send (`attribute` targets).
pub const SALE_ATTRIBUTES: &[&str] = &[
    "product.sku",
    "product.name",
    "product.incentive",
    "product.tariffCode",
    "customer.email",
    "customer.phone",
    "customer.firstName",
    "customer.lastName",
    "customer.companyName",
    "customer.kvkNumber",
    "optIn.consent",
    "optIn.channel",
    "optIn.recordedAt",
];

/// The records an extra-field target of the sale data mapping can name: `product.<key>`,
/// `organisation.<key>` (e.g. the CIRE ID) or `customer.<key>`.
pub const EXTRA_FIELD_OWNERS: &[&str] = &["product", "organisation", "customer"];

/// Maps a sale for an integration. `Ok(Err(problems))` when it cannot go out as it is.
pub async fn prepare(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    settings: &SaleSettings,
    sale: &sale::Model,
    idempotency_key: &str,
    remote_questions: Option<&[RemoteQuestion]>,
) -> Result<Result<OutboundSale, Vec<Problem>>, DbErr> {
    let account = integration.account_id;
    let mut problems = Problems::new();
    let product = product::Entity::find_by_id_in(account, sale.product_id).one(db).await?;
    let product_link = remote_link::Entity::find_owned(account, integration.id)
        .filter(remote_link::Column::Entity.eq(LinkedEntity::Product))
        .filter(remote_link::Column::LocalId.eq(sale.product_id))
        .one(db)
        .await?;
    let product_name = product.as_ref().map_or_else(|| sale.product_id.to_string(), |p| p.name.clone());
    if product_link.is_none() {
        problems.add(
            "productId",
            ProblemCode::NotFound,
            format!("{product_name} does not come from {}: it has no remote product to sell", integration.name),
        );
    }
    let remote_flow = match sale.flow_id {
        None => None,
        Some(flow_id) => {
            let mapping = flow_mapping::Entity::find_owned(account, integration.id)
                .filter(flow_mapping::Column::LocalFlowId.eq(flow_id))
                .one(db)
                .await?;
            if mapping.is_none() {
                problems.add(
                    "flowId",
                    ProblemCode::NotFound,
                    format!("the sale's flow {flow_id} is not mapped to a remote flow"),
                );
            }
            mapping.map(|m| m.remote_flow_id)
        }
    };

    let field_rows = stored::load(db, integration, Some(SALE_MAPPING)).await?;
    let fields = stored::to_engine(&field_rows);
    let answers: BTreeMap<String, Value> =
        sale.answers.as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
    let mut outgoing = map_answers(db, integration, &answers, &fields, &mut problems).await?;

    let customer = match sale.customer_id {
        Some(id) => customer::Entity::find_by_id_in(account, id).one(db).await?,
        None => None,
    };
    let organisation = match sale.organisation_id {
        Some(id) => organisation::Entity::find_by_id_in(account, id).one(db).await?,
        None => None,
    };
    let sources = Sources {
        answers: &answers,
        product: product.as_ref(),
        customer: customer.as_ref(),
        organisation: organisation.as_ref(),
        opt_in: sale.opt_in.as_ref(),
    };
    for mapping in &fields {
        let field = format!("saleMapping.{}", mapping.remote_field);
        let Some(local) = sources.value(mapping) else { continue };
        match outbound(mapping, &local) {
            Ok(value) if value.is_empty() => {}
            Ok(value) => {
                outgoing.insert(mapping.remote_field.clone(), Value::String(value));
            }
            Err(message) => problems.add(field, ProblemCode::NotAnOption, message),
        }
    }

    if let (Some(remote), Some(link)) = (remote_questions, &product_link) {
        required_answers(remote, &link.remote_id, remote_flow.as_deref(), &outgoing, &mut problems);
    }
    let problems = problems.into_problems();
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let customer = match customer {
        Some(c) => Some(outbound_customer(db, c).await?),
        None => None,
    };
    Ok(Ok(OutboundSale {
        idempotency_key: idempotency_key.to_owned(),
        product_id: product_link.map(|l| l.remote_id).unwrap_or_default(),
        flow_id: remote_flow,
        customer,
        answers: outgoing,
        opt_in: if settings.send_opt_in { sale.opt_in.clone() } else { None },
    }))
}

/// Each answer through its question mapping (and option mappings). An answer whose question is
/// neither mapped nor sent by the sale data mapping is a problem, as is a select answer whose value has
/// no option mapping.
async fn map_answers(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    answers: &BTreeMap<String, Value>,
    fields: &[FieldMapping],
    problems: &mut Problems,
) -> Result<BTreeMap<String, Value>, DbErr> {
    let mut outgoing = BTreeMap::new();
    if answers.is_empty() {
        return Ok(outgoing);
    }
    let questions = question::Entity::find_in(integration.account_id)
        .filter(question::Column::Key.is_in(answers.keys().cloned()))
        .order_by_asc(question::Column::Id)
        .all(db)
        .await?;
    let mappings = question_mapping::Entity::find_owned(integration.account_id, integration.id).all(db).await?;
    for (key, value) in answers {
        let field = format!("answers.{key}");
        let mapping = questions
            .iter()
            .filter(|q| &q.key == key)
            .find_map(|q| mappings.iter().find(|m| m.local_question_id == q.id));
        let Some(mapping) = mapping else {
            let sent_by_sale_mapping = fields.iter().any(|f| f.target_kind == TargetKind::Question && &f.target == key);
            if !sent_by_sale_mapping {
                problems.add(
                    field,
                    ProblemCode::Unknown,
                    format!("question {key} is not mapped to a question of {}", integration.name),
                );
            }
            continue;
        };
        let options: Vec<crate::mapping::ValueMapping> =
            serde_json::from_value(mapping.option_mappings.clone()).unwrap_or_default();
        if options.is_empty() {
            outgoing.insert(mapping.remote_question.clone(), value.clone());
            continue;
        }
        let mut map_one = |local: &str| -> Option<String> {
            let found = options.iter().find(|o| o.local == local).map(|o| o.remote.clone());
            if found.is_none() {
                problems.add(
                    &field,
                    ProblemCode::NotAnOption,
                    format!(
                        "the answer {local:?} to {key} has no value mapping to an option of {}",
                        mapping.remote_question
                    ),
                );
            }
            found
        };
        let mapped = match value {
            Value::Array(items) => {
                Value::Array(items.iter().filter_map(|i| map_one(&texts(i).join(","))).map(Value::String).collect())
            }
            Value::Null => Value::Null,
            single => match map_one(&texts(single).join(",")) {
                Some(remote) => Value::String(remote),
                None => continue,
            },
        };
        outgoing.insert(mapping.remote_question.clone(), mapped);
    }
    Ok(outgoing)
}

/// Where the sale data mapping reads its local values.
struct Sources<'a> {
    answers: &'a BTreeMap<String, Value>,
    product: Option<&'a product::Model>,
    customer: Option<&'a customer::Model>,
    organisation: Option<&'a organisation::Model>,
    opt_in: Option<&'a Value>,
}

impl Sources<'_> {
    /// The local value a sale data mapping sends, as text; `None` when the sale has none.
    fn value(&self, mapping: &FieldMapping) -> Option<String> {
        let text = |v: &Value| Some(texts(v).join(",")).filter(|s| !s.is_empty());
        match mapping.target_kind {
            TargetKind::Question => self.answers.get(&mapping.target).and_then(text),
            TargetKind::ExtraField => {
                let (owner, key) = mapping.target.split_once('.')?;
                let fields = match owner {
                    "product" => &self.product?.extra_fields,
                    "organisation" => &self.organisation?.extra_fields,
                    "customer" => &self.customer?.extra_fields,
                    _ => return None,
                };
                fields.get(key).and_then(text)
            }
            TargetKind::Attribute => {
                let (owner, name) = mapping.target.split_once('.')?;
                match owner {
                    "product" => {
                        let p = self.product?;
                        match name {
                            "sku" => Some(p.sku.clone()),
                            "name" => Some(p.name.clone()),
                            "incentive" => p.incentive.clone(),
                            "tariffCode" => p.tariffs.get(0).and_then(|t| t.get("code")).and_then(text),
                            _ => None,
                        }
                    }
                    "customer" => {
                        let c = self.customer?;
                        match name {
                            "email" => c.email.clone(),
                            "phone" => c.phone.clone(),
                            "firstName" => c.first_name.clone(),
                            "lastName" => c.last_name.clone(),
                            "companyName" => c.company_name.clone(),
                            "kvkNumber" => c.kvk_number.clone(),
                            _ => None,
                        }
                    }
                    "optIn" => self.opt_in?.get(name).and_then(text),
                    _ => None,
                }
            }
        }
        .filter(|s| !s.is_empty())
    }
}

/// A local value on its way out: transforms first, then the value mapping read from local to remote.
/// A mapping with value mappings must have one for the value.
pub fn outbound(mapping: &FieldMapping, local: &str) -> Result<String, String> {
    let mut value = local.to_owned();
    for transform in &mapping.transforms {
        value = transform.apply(&value)?;
    }
    if mapping.values.is_empty() {
        return Ok(value);
    }
    mapping.values.iter().find(|m| m.local == value).map(|m| m.remote.clone()).ok_or_else(|| {
        format!("{value:?} ({}) has no value mapping for the remote field {}", mapping.target, mapping.remote_field)
    })
}

/// Every required remote question of the sale's product and flow whose conditions hold must be answered.
fn required_answers(
    remote: &[RemoteQuestion],
    product_id: &str,
    flow_id: Option<&str>,
    outgoing: &BTreeMap<String, Value>,
    problems: &mut Problems,
) {
    let answered = |key: &str| outgoing.get(key).is_some_and(|v| !texts(v).iter().all(|t| t.trim().is_empty()));
    for question in remote.iter().filter(|q| q.required) {
        let applies = match (&question.product_id, &question.flow_id) {
            (Some(p), _) => p == product_id,
            (None, Some(f)) => flow_id == Some(f.as_str()),
            (None, None) => true,
        };
        // `[{questionKey, equals}]`: asked only when every earlier answer it depends on matches.
        let asked = question.conditions.as_array().is_none_or(|conditions| {
            conditions.iter().all(|c| {
                let key = c["questionKey"].as_str().unwrap_or_default();
                outgoing.get(key).is_some_and(|v| texts(v) == texts(&c["equals"]))
            })
        });
        if applies && asked && !answered(&question.key) {
            problems.add(
                format!("remote.{}", question.key),
                ProblemCode::Required,
                format!("the remote requires {} ({}), and the sale gives it no value", question.label, question.key),
            );
        }
    }
}

async fn outbound_customer(db: &impl ConnectionTrait, c: customer::Model) -> Result<OutboundCustomer, DbErr> {
    let contacts = contact_person::Entity::find_in(c.account_id)
        .filter(contact_person::Column::CustomerId.eq(c.id))
        .order_by_asc(contact_person::Column::Id)
        .all(db)
        .await?;
    Ok(OutboundCustomer {
        kind: c.kind.as_str().to_owned(),
        first_name: c.first_name,
        last_name: c.last_name,
        company_name: c.company_name,
        kvk_number: c.kvk_number,
        email: c.email,
        phone: c.phone,
        addresses: c.addresses,
        contact_persons: contacts
            .into_iter()
            .map(|p| OutboundContact {
                name: p.name,
                email: p.email,
                phone: p.phone,
                flags: serde_json::from_value(p.flags).unwrap_or_default(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{Transform, ValueMapping};
    use serde_json::json;

    fn mapping(values: &[(&str, &str)]) -> FieldMapping {
        FieldMapping {
            remote_field: "betaalwijze".into(),
            target_kind: TargetKind::Question,
            target: "payment_method".into(),
            transforms: vec![Transform::Lowercase],
            values: values.iter().map(|(r, l)| ValueMapping { remote: (*r).into(), local: (*l).into() }).collect(),
            create_only: false,
        }
    }

    #[test]
    fn outbound_values_go_through_transforms_then_local_to_remote() {
        let payment = mapping(&[("AI", "direct_debit"), ("AG", "giro")]);
        assert_eq!(outbound(&payment, "Direct_Debit").unwrap(), "AI");
        let error = outbound(&payment, "cash").unwrap_err();
        assert!(error.contains("\"cash\"") && error.contains("betaalwijze"), "{error}");
        assert_eq!(outbound(&mapping(&[]), "Anything").unwrap(), "anything", "no value mappings: as it is");
    }

    fn question(key: &str, required: bool, product: Option<&str>, conditions: Value) -> RemoteQuestion {
        RemoteQuestion {
            id: key.into(),
            key: key.into(),
            label: key.to_uppercase(),
            question_type: "text".into(),
            required,
            validations: json!({}),
            conditions,
            options: Vec::new(),
            flow_id: None,
            product_id: product.map(str::to_owned),
        }
    }

    #[test]
    fn required_remote_questions_of_the_product_whose_conditions_hold() {
        let remote = [
            question("iban", true, None, json!([])),
            question("meter", true, Some("other-product"), json!([])),
            question("old_address", true, None, json!([{"questionKey": "rehousing", "equals": true}])),
            question("note", false, None, json!([])),
        ];
        let mut problems = Problems::new();
        let outgoing = BTreeMap::from([("rehousing".to_string(), json!(true))]);
        required_answers(&remote, "p1", None, &outgoing, &mut problems);
        let fields: Vec<String> = problems.into_problems().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["remote.iban", "remote.old_address"]);

        let mut problems = Problems::new();
        let outgoing = BTreeMap::from([("rehousing".to_string(), json!(false)), ("iban".to_string(), json!("NL91"))]);
        required_answers(&remote, "p1", None, &outgoing, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
    }
}
