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
use crate::mapping::{FieldMapping, TargetKind, ValueMapping, stored};
use crate::problems::{Problem, ProblemCode, Problems};
use koppel_entity::enums::LinkedEntity;
use koppel_entity::{
    IntegrationOwned, Scoped, contact_person, customer, flow_mapping, integration, organisation, product, question,
    question_mapping, remote_link, sale,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, QueryFilter, QueryOrder};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

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

/// What mapping a batch of sales for one integration needs, read once for the whole batch (a statement
/// per table, not per sale): the sale data mapping, the flow and question mappings, the questions
/// answered, and the products, their links, customers, contact persons and organisations of the sales.
pub struct Known {
    fields: Vec<FieldMapping>,
    flows: HashMap<Uuid, String>,
    /// Remote question key and option mappings, by local question id.
    question_mappings: HashMap<Uuid, (String, Vec<ValueMapping>)>,
    /// Local questions by key (a key may name questions of several flows or products).
    questions: HashMap<String, Vec<Uuid>>,
    products: HashMap<Uuid, product::Model>,
    /// Remote product ids by local product id.
    links: HashMap<Uuid, String>,
    customers: HashMap<Uuid, customer::Model>,
    contacts: HashMap<Uuid, Vec<contact_person::Model>>,
    organisations: HashMap<Uuid, organisation::Model>,
}

impl Known {
    pub async fn load(
        db: &impl ConnectionTrait,
        integration: &integration::Model,
        sales: &[&sale::Model],
    ) -> Result<Self, DbErr> {
        let account = integration.account_id;
        let ids = |f: fn(&sale::Model) -> Option<Uuid>| -> Vec<Uuid> {
            let set: HashSet<Uuid> = sales.iter().filter_map(|s| f(s)).collect();
            set.into_iter().collect()
        };
        let (product_ids, customer_ids, organisation_ids) =
            (ids(|s| Some(s.product_id)), ids(|s| s.customer_id), ids(|s| s.organisation_id));
        let keys: HashSet<String> =
            sales.iter().filter_map(|s| s.answers.as_object()).flat_map(|a| a.keys().cloned()).collect();

        let field_rows = stored::load(db, integration, Some(SALE_MAPPING)).await?;
        let flows = flow_mapping::Entity::find_owned(account, integration.id)
            .all(db)
            .await?
            .into_iter()
            .map(|m| (m.local_flow_id, m.remote_flow_id))
            .collect();
        let question_mappings = question_mapping::Entity::find_owned(account, integration.id)
            .all(db)
            .await?
            .into_iter()
            .map(|m| {
                let options = serde_json::from_value(m.option_mappings).unwrap_or_default();
                (m.local_question_id, (m.remote_question, options))
            })
            .collect();
        let mut questions: HashMap<String, Vec<Uuid>> = HashMap::new();
        if !keys.is_empty() {
            let rows = question::Entity::find_in(account)
                .filter(question::Column::Key.is_in(keys))
                .order_by_asc(question::Column::Id)
                .all(db)
                .await?;
            for q in rows {
                questions.entry(q.key).or_default().push(q.id);
            }
        }
        let products = product::Entity::find_by_ids_in(account, product_ids.iter().copied())
            .all(db)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let links = remote_link::Entity::find_owned(account, integration.id)
            .filter(remote_link::Column::Entity.eq(LinkedEntity::Product))
            .filter(remote_link::Column::LocalId.is_in(product_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|l| (l.local_id, l.remote_id))
            .collect();
        let mut customers = HashMap::new();
        let mut contacts: HashMap<Uuid, Vec<contact_person::Model>> = HashMap::new();
        if !customer_ids.is_empty() {
            customers = customer::Entity::find_by_ids_in(account, customer_ids.iter().copied())
                .all(db)
                .await?
                .into_iter()
                .map(|c| (c.id, c))
                .collect();
            let rows = contact_person::Entity::find_in(account)
                .filter(contact_person::Column::CustomerId.is_in(customer_ids))
                .order_by_asc(contact_person::Column::Id)
                .all(db)
                .await?;
            for person in rows {
                contacts.entry(person.customer_id).or_default().push(person);
            }
        }
        let organisations = if organisation_ids.is_empty() {
            HashMap::new()
        } else {
            organisation::Entity::find_by_ids_in(account, organisation_ids)
                .all(db)
                .await?
                .into_iter()
                .map(|o| (o.id, o))
                .collect()
        };
        Ok(Self {
            fields: stored::to_engine(&field_rows),
            flows,
            question_mappings,
            questions,
            products,
            links,
            customers,
            contacts,
            organisations,
        })
    }
}

/// Maps a sale for an integration, from what [`Known::load`] read for its batch. `Err(problems)` when
/// it cannot go out as it is.
pub fn prepare(
    known: &Known,
    integration: &integration::Model,
    settings: &SaleSettings,
    sale: &sale::Model,
    idempotency_key: &str,
    remote_questions: Option<&[RemoteQuestion]>,
) -> Result<OutboundSale, Vec<Problem>> {
    let mut problems = Problems::new();
    let product = known.products.get(&sale.product_id);
    let remote_product = known.links.get(&sale.product_id);
    let product_name = product.map_or_else(|| sale.product_id.to_string(), |p| p.name.clone());
    if remote_product.is_none() {
        problems.add(
            "productId",
            ProblemCode::NotFound,
            format!("{product_name} does not come from {}: it has no remote product to sell", integration.name),
        );
    }
    let remote_flow = match sale.flow_id {
        None => None,
        Some(flow_id) => {
            let mapped = known.flows.get(&flow_id).cloned();
            if mapped.is_none() {
                problems.add(
                    "flowId",
                    ProblemCode::NotFound,
                    format!("the sale's flow {flow_id} is not mapped to a remote flow"),
                );
            }
            mapped
        }
    };

    let answers: BTreeMap<String, Value> =
        sale.answers.as_object().map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
    let mut outgoing = map_answers(known, integration, &answers, &mut problems);

    let customer = sale.customer_id.and_then(|id| known.customers.get(&id));
    let organisation = sale.organisation_id.and_then(|id| known.organisations.get(&id));
    let sources = Sources { answers: &answers, product, customer, organisation, opt_in: sale.opt_in.as_ref() };
    for mapping in &known.fields {
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

    if let (Some(remote), Some(remote_product)) = (remote_questions, remote_product) {
        required_answers(remote, remote_product, remote_flow.as_deref(), &outgoing, &mut problems);
    }
    let problems = problems.into_problems();
    if !problems.is_empty() {
        return Err(problems);
    }
    let customer = customer.map(|c| outbound_customer(c, known.contacts.get(&c.id).map_or(&[], Vec::as_slice)));
    Ok(OutboundSale {
        idempotency_key: idempotency_key.to_owned(),
        product_id: remote_product.cloned().unwrap_or_default(),
        product_sku: product.map(|p| p.sku.clone()).unwrap_or_default(),
        flow_id: remote_flow,
        customer,
        answers: outgoing,
        opt_in: if settings.send_opt_in { sale.opt_in.clone() } else { None },
    })
}

/// Each answer through its question mapping (and option mappings). An answer whose question is
/// neither mapped nor sent by the sale data mapping is a problem, as is a select answer whose value has
/// no option mapping.
fn map_answers(
    known: &Known,
    integration: &integration::Model,
    answers: &BTreeMap<String, Value>,
    problems: &mut Problems,
) -> BTreeMap<String, Value> {
    let mut outgoing = BTreeMap::new();
    for (key, value) in answers {
        let field = format!("answers.{key}");
        let mapping = known.questions.get(key).into_iter().flatten().find_map(|id| known.question_mappings.get(id));
        let Some((remote_question, options)) = mapping else {
            let sent_by_sale_mapping =
                known.fields.iter().any(|f| f.target_kind == TargetKind::Question && &f.target == key);
            if !sent_by_sale_mapping {
                problems.add(
                    field,
                    ProblemCode::Unknown,
                    format!("question {key} is not mapped to a question of {}", integration.name),
                );
            }
            continue;
        };
        if options.is_empty() {
            outgoing.insert(remote_question.clone(), value.clone());
            continue;
        }
        let mut map_one = |local: &str| -> Option<String> {
            let found = options.iter().find(|o| o.local == local).map(|o| o.remote.clone());
            if found.is_none() {
                problems.add(
                    &field,
                    ProblemCode::NotAnOption,
                    format!("the answer {local:?} to {key} has no value mapping to an option of {remote_question}"),
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
        outgoing.insert(remote_question.clone(), mapped);
    }
    outgoing
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

fn outbound_customer(c: &customer::Model, contacts: &[contact_person::Model]) -> OutboundCustomer {
    OutboundCustomer {
        kind: c.kind.as_str().to_owned(),
        first_name: c.first_name.clone(),
        last_name: c.last_name.clone(),
        company_name: c.company_name.clone(),
        kvk_number: c.kvk_number.clone(),
        email: c.email.clone(),
        phone: c.phone.clone(),
        addresses: c.addresses.clone(),
        contact_persons: contacts
            .iter()
            .map(|p| OutboundContact {
                name: p.name.clone(),
                email: p.email.clone(),
                phone: p.phone.clone(),
                flags: serde_json::from_value(p.flags.clone()).unwrap_or_default(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::Transform;
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
