//! The `snelstart` connector: SnelStart's B2B API v2 (seed 004, a CRM pulling customers, invoices and
//! payments from the bookkeeping). Two secrets: the API key (the subscription key of the B2B account,
//! sent on every call) and the koppelsleutel (the administration's client key, exchanged for an hour's
//! bearer token). Lists are bare JSON arrays paged with `$skip`/`$top` until an empty page and filtered
//! by `ModifiedOn`; there is no deletion feed.

mod client;
mod wire;

pub use client::KEY_ADVICE;

use super::{
    Capability, ConnectionCheck, Connector, ConnectorConfig, ConnectorError, FieldSpec, FieldType, KindSpec,
    ListRequest, Page, RemoteCustomer, RemoteField, RemoteInvoice,
};
use async_trait::async_trait;
use client::SnelStartClient;
use koppel_entity::enums::LinkedEntity;

/// Which field matches a SnelStart relatie with a Koppel customer.
pub const MATCHING_KEYS: &[&str] = &["email", "kvk_number", "relatie_code", "name"];

/// What happens to a remote customer without a match (shared with Exact Online).
pub const UNMATCHED_CUSTOMERS: FieldSpec = FieldSpec {
    name: "unmatchedCustomers",
    label: "Relaties without a match",
    field_type: FieldType::Select(&["review", "create"]),
    required: false,
    default: Some("\"review\""),
    help: "review: listed in customerMatches with suggestions, for you to link by hand; create: a new Koppel \
           customer is made for each.",
};

pub const SPEC: KindSpec = KindSpec {
    kind: "snelstart",
    label: "SnelStart",
    description: "SnelStart bookkeeping (B2B API v2): customers (relaties), matched with Koppel's customers, and \
                  sales invoices (verkoopfacturen) with what is paid and open of each.",
    capabilities: &[Capability::Customers, Capability::Invoices, Capability::Payments, Capability::IncrementalSince],
    settings: &[
        FieldSpec {
            name: "matchingKey",
            label: "Customer matching key",
            field_type: FieldType::Select(MATCHING_KEYS),
            required: false,
            default: Some("\"email\""),
            help: "Which field matches a SnelStart relatie with a Koppel customer: the e-mail address, the KvK \
                   number, the relatie code (a Koppel customer's extra field relatie_code) or the name. \
                   Customers linked by hand are never matched again.",
        },
        UNMATCHED_CUSTOMERS,
        FieldSpec {
            name: "startDate",
            label: "Start date",
            field_type: FieldType::Date,
            required: true,
            default: None,
            help: "Relaties and invoices changed on or after this date (YYYY-MM-DD) are synchronised; the older the date, \
                   the more the first sync loads.",
        },
    ],
    credentials: &[
        FieldSpec {
            name: "apiKey",
            label: "API key",
            field_type: FieldType::Secret,
            required: true,
            default: None,
            help: "The subscription key (primary or secondary) of your SnelStart B2B API account. It is \
                   case-sensitive and contains no spaces.",
        },
        FieldSpec {
            name: "clientKey",
            label: "Koppelsleutel",
            field_type: FieldType::Secret,
            required: true,
            default: None,
            help: "The client key (koppelsleutel) the administration's owner generated in SnelStart for this \
                   connection.",
        },
    ],
    synced_entities: &[LinkedEntity::Customer, LinkedEntity::Invoice],
    connect,
};

/// The host of the real API; its token endpoint lives on another host.
const API_HOST: &str = "b2bapi.snelstart.nl";
const TOKEN_URL: &str = "https://auth.snelstart.nl/b2b/token";

fn connect(config: ConnectorConfig) -> Result<Box<dyn Connector>, ConnectorError> {
    let secret = |name: &str, label: &str| {
        let value = config
            .credentials
            .get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ConnectorError::Configuration(format!("no {label} is set for this mode")))?;
        // A key pasted with a space or a line break is refused at SnelStart anyway: say why at once.
        if value.chars().any(char::is_whitespace) {
            return Err(ConnectorError::WrongCredentials(format!(
                "the {label} contains spaces or line breaks: {KEY_ADVICE}"
            )));
        }
        Ok(value.clone())
    };
    let subscription_key = secret("apiKey", "API key")?;
    let client_key = secret("clientKey", "koppelsleutel")?;
    let mut api = config.base_url.clone();
    if !api.path().ends_with('/') {
        api.set_path(&format!("{}/", api.path()));
    }
    // SnelStart's token endpoint is auth.snelstart.nl; any other base URL (a proxy, a test double)
    // serves it on its own origin, at the same path.
    let token_url = if api.host_str() == Some(API_HOST) {
        url::Url::parse(TOKEN_URL).expect("a valid URL")
    } else {
        let mut url = api.clone();
        url.set_path("/b2b/token");
        url.set_query(None);
        url
    };
    Ok(Box::new(SnelStartConnector {
        host: api.host_str().unwrap_or_default().to_owned(),
        client: SnelStartClient::new(config.http, api, token_url, subscription_key, client_key),
    }))
}

pub struct SnelStartConnector {
    host: String,
    client: SnelStartClient,
}

/// SnelStart's largest page.
const MAX_TOP: usize = 500;

#[async_trait]
impl Connector for SnelStartConnector {
    fn record_fields(&self, entity: LinkedEntity) -> Vec<RemoteField> {
        match entity {
            LinkedEntity::Customer => RemoteField::texts(wire::RELATIE_FIELDS),
            LinkedEntity::Invoice => RemoteField::texts(wire::FACTUUR_FIELDS),
            _ => Vec::new(),
        }
    }

    /// SnelStart's "test API": `GET echo/{input}` answers the input, through the subscription key and a
    /// fresh or cached token.
    async fn test_connection(&self) -> Result<ConnectionCheck, ConnectorError> {
        let answer = self.client.get("echo/koppel", &[]).await?;
        if answer != "koppel" {
            return Err(ConnectorError::Protocol(format!("echo answered {answer} instead of \"koppel\"")));
        }
        Ok(ConnectionCheck { identity: format!("SnelStart B2B API at {}", self.host) })
    }

    async fn customers(&self, request: ListRequest) -> Result<Page<RemoteCustomer>, ConnectorError> {
        let (rows, next) = self.list("relaties", &request).await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let relatie: wire::Relatie =
                serde_json::from_value(row).map_err(|e| ConnectorError::Protocol(format!("a relatie: {e}")))?;
            if relatie.is_customer() {
                items.push(relatie.into());
            }
        }
        Ok(Page { items, next })
    }

    async fn invoices(&self, request: ListRequest) -> Result<Page<RemoteInvoice>, ConnectorError> {
        let (rows, next) = self.list("verkoopfacturen", &request).await?;
        let items = rows
            .into_iter()
            .map(|row| {
                serde_json::from_value::<wire::Verkoopfactuur>(row)
                    .map(RemoteInvoice::from)
                    .map_err(|e| ConnectorError::Protocol(format!("a verkoopfactuur: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next })
    }
}

impl SnelStartConnector {
    /// One page of a list: SnelStart answers a bare array, without a total or a next link, so the list
    /// ends with an empty page; the page mark is the `$skip` of the next page.
    async fn list(
        &self,
        path: &str,
        request: &ListRequest,
    ) -> Result<(Vec<serde_json::Value>, Option<String>), ConnectorError> {
        let skip: usize = match &request.after {
            Some(after) => after.parse().map_err(|_| ConnectorError::Protocol(format!("a bad page mark {after}")))?,
            None => 0,
        };
        let top = request.first.clamp(1, MAX_TOP);
        let mut query = vec![("$skip", skip.to_string()), ("$top", top.to_string())];
        if let Some(since) = request.changed_since {
            query.push(("$filter", wire::modified_after(since)));
        }
        match self.client.get(path, &query).await? {
            serde_json::Value::Array(rows) => {
                let next = (!rows.is_empty()).then(|| (skip + rows.len()).to_string());
                Ok((rows, next))
            }
            other => {
                let start: String = other.to_string().chars().take(80).collect();
                Err(ConnectorError::Protocol(format!("{path} answered {start}, not a list")))
            }
        }
    }
}
