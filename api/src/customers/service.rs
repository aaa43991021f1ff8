//! Customer rules: a person needs a last name, a company a company name; KvK numbers are 8 digits;
//! contact persons flagged for invoices or inquiries need an e-mail address.

use super::{
    AddContactPersonInput, ContactFlag, ContactPersonInput, CreateCustomerInput, CustomerFields, UpdateCustomerInput,
};
use crate::error::{ApiError, ApiResult, Problems, UserErrorCode};
use crate::extra_fields::validate_values;
use crate::graphql::ids;
use crate::validate;
use chrono::Utc;
use koppel_entity::enums::{CustomerKind, ExtraFieldEntity};
use koppel_entity::{Scoped, contact_person, customer};
use sea_orm::{ActiveModelTrait, ConnectionTrait, ModelTrait, Set, TransactionSession, TransactionTrait};
use uuid::Uuid;

pub async fn find(db: &impl ConnectionTrait, account_id: Uuid, id: Uuid) -> ApiResult<customer::Model> {
    customer::Entity::find_by_id_in(account_id, id).one(db).await?.ok_or(ApiError::NotFound("customer"))
}

fn check_contact(
    problems: &mut Problems,
    field: &str,
    input: &ContactPersonInput,
) -> (String, Option<String>, Option<String>) {
    let name = validate::required(problems, &format!("{field}.name"), &input.name, 200);
    let email = validate::email(problems, &format!("{field}.email"), input.email.as_deref());
    let phone = validate::optional(problems, &format!("{field}.phone"), input.phone.as_deref(), 50);
    let needs_email = input.flags.iter().any(|f| matches!(f, ContactFlag::Invoice | ContactFlag::Inquiry));
    if needs_email && email.is_none() {
        problems.add(
            format!("{field}.email"),
            UserErrorCode::Required,
            "a contact for invoices or inquiries needs an e-mail address",
        );
    }
    (name, email, phone)
}

fn contact_model(
    account_id: Uuid,
    customer_id: Uuid,
    input: &ContactPersonInput,
    checked: (String, Option<String>, Option<String>),
) -> contact_person::ActiveModel {
    let (name, email, phone) = checked;
    let mut flags = input.flags.clone();
    flags.dedup();
    contact_person::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        customer_id: Set(customer_id),
        name: Set(name),
        email: Set(email),
        phone: Set(phone),
        flags: Set(serde_json::to_value(flags).expect("serialises")),
        created_at: Set(Utc::now()),
    }
}

/// Checks `fields`, applies them to `active`, and checks the result as a whole.
async fn apply(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    fields: &CustomerFields,
    active: &mut customer::ActiveModel,
    existing: Option<&customer::Model>,
    problems: &mut Problems,
) -> ApiResult<()> {
    let f = "customer";
    let kind: CustomerKind = fields.kind.map(Into::into).or(existing.map(|e| e.kind)).unwrap_or(CustomerKind::Person);
    active.kind = Set(kind);
    let mut text =
        |name: &str, value: &Option<String>, max: usize, current: Option<&Option<String>>| -> Option<String> {
            match value {
                Some(v) => validate::optional(problems, &format!("{f}.{name}"), Some(v), max),
                None => current.cloned().flatten(),
            }
        };
    let first_name = text("firstName", &fields.first_name, 100, existing.map(|e| &e.first_name));
    let last_name = text("lastName", &fields.last_name, 100, existing.map(|e| &e.last_name));
    let company_name = text("companyName", &fields.company_name, 200, existing.map(|e| &e.company_name));
    let phone = text("phone", &fields.phone, 50, existing.map(|e| &e.phone));
    let email = match &fields.email {
        Some(v) => validate::email(problems, &format!("{f}.email"), Some(v)),
        None => existing.and_then(|e| e.email.clone()),
    };
    let kvk_number = match &fields.kvk_number {
        Some(v) => validate::kvk_number(problems, &format!("{f}.kvkNumber"), Some(v)),
        None => existing.and_then(|e| e.kvk_number.clone()),
    };
    match kind {
        CustomerKind::Person if last_name.is_none() => {
            problems.add(format!("{f}.lastName"), UserErrorCode::Required, "a person needs a last name")
        }
        CustomerKind::Company if company_name.is_none() => {
            problems.add(format!("{f}.companyName"), UserErrorCode::Required, "a company needs a company name")
        }
        _ => {}
    }
    if let Some(addresses) = &fields.addresses {
        for (i, address) in addresses.iter().enumerate() {
            let field = format!("{f}.addresses.{i}");
            validate::required(problems, &format!("{field}.street"), &address.street, 200);
            validate::required(problems, &format!("{field}.houseNumber"), &address.house_number, 20);
            validate::required(problems, &format!("{field}.postcode"), &address.postcode, 16);
            validate::required(problems, &format!("{field}.city"), &address.city, 100);
            let country = address.country.trim();
            if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
                problems.add(
                    format!("{field}.country"),
                    UserErrorCode::Invalid,
                    "country must be a two-letter code such as NL",
                );
            }
        }
        active.addresses = Set(serde_json::to_value(addresses).expect("serialises"));
    }
    if let Some(values) = &fields.extra_fields {
        let current = existing.map_or_else(|| serde_json::json!({}), |e| e.extra_fields.clone());
        let merged = validate_values(
            db,
            account_id,
            ExtraFieldEntity::Customer,
            values,
            &current,
            "customer.extraFields",
            problems,
        )
        .await?;
        active.extra_fields = Set(merged);
    }
    active.first_name = Set(first_name);
    active.last_name = Set(last_name);
    active.company_name = Set(company_name);
    active.phone = Set(phone);
    active.email = Set(email);
    active.kvk_number = Set(kvk_number);
    Ok(())
}

pub async fn create<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    account_id: Uuid,
    input: CreateCustomerInput,
) -> ApiResult<customer::Model> {
    let now = Utc::now();
    let mut active = customer::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        addresses: Set(serde_json::json!([])),
        extra_fields: Set(serde_json::json!({})),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let mut problems = Problems::new();
    apply(db, account_id, &input.customer, &mut active, None, &mut problems).await?;
    let contacts: Vec<_> = input
        .contact_persons
        .iter()
        .enumerate()
        .map(|(i, c)| (c, check_contact(&mut problems, &format!("contactPersons.{i}"), c)))
        .collect();
    problems.into_result()?;
    let txn = crate::db::begin_write(db).await?;
    let customer = active.insert(&txn).await?;
    for (input, checked) in contacts {
        contact_model(account_id, customer.id, input, checked).insert(&txn).await?;
    }
    txn.commit().await?;
    Ok(customer)
}

pub async fn update(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    input: UpdateCustomerInput,
) -> ApiResult<customer::Model> {
    let existing = find(db, account_id, ids::parse(&input.id, "customer")?).await?;
    let mut active: customer::ActiveModel = existing.clone().into();
    let mut problems = Problems::new();
    apply(db, account_id, &input.customer, &mut active, Some(&existing), &mut problems).await?;
    problems.into_result()?;
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

pub async fn add_contact_person(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    input: AddContactPersonInput,
) -> ApiResult<contact_person::Model> {
    let customer = find(db, account_id, ids::parse(&input.customer_id, "customer")?).await?;
    let mut problems = Problems::new();
    let checked = check_contact(&mut problems, "contactPerson", &input.contact_person);
    problems.into_result()?;
    Ok(contact_model(account_id, customer.id, &input.contact_person, checked).insert(db).await?)
}

pub async fn remove_contact_person(db: &impl ConnectionTrait, account_id: Uuid, id: Uuid) -> ApiResult<Uuid> {
    let existing = contact_person::Entity::find_by_id_in(account_id, id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("contact person"))?;
    existing.delete(db).await?;
    Ok(id)
}
