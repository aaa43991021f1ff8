//! The `exact-online` connector: Exact Online's REST API (seed 002, an ERP-to-ERP sync of orders,
//! customers and items). Connecting is OAuth2's authorization-code flow (the engine's `oauth` module runs
//! it; this module knows Exact's side of it): the admin registers an app in Exact's App Center, sets its client
//! id and secret as the integration's credentials, follows the link Koppel gives and signs in at Exact;
//! Exact sends the browser back to Koppel's callback with a code that Koppel exchanges for tokens.
//! Access tokens live 10 minutes, refresh tokens are single use ([`client`] handles both), and the
//! division comes from `current/Me`.

mod accounts;
mod client;
mod item_push;
mod items;
mod orders;
mod sync_api;
mod token;
mod values;
pub mod wire;

pub use client::{ExactClient, NOT_CONNECTED};
pub use token::TokenRefusal;

use super::oauth_tokens::OAuthTokens;
use super::{
    AcceptedSale, Capability, ChangedRecord, Changes, ConnectionCheck, Connector, ConnectorConfig, ConnectorError,
    FieldSpec, FieldType, ItemField, KindSpec, ListRequest, OutboundCustomer, OutboundItem, OutboundOrder, Page,
    RemoteCustomer, RemoteField, RemoteItem, RemoteProduct,
};
use async_trait::async_trait;
use koppel_entity::enums::LinkedEntity;
use std::collections::HashMap;

/// How long Exact keeps a refresh token valid. Exact does not publish it; its partner documentation and
/// public clients speak of 30 days without use, so Koppel shows "valid until" as 30 days after the last
/// rotation (docs/DECISIONS.md).
pub const REFRESH_TOKEN_DAYS: i64 = 30;

/// The credential fields: the app registered in Exact's App Center.
pub const CLIENT_ID: &str = "clientId";
pub const CLIENT_SECRET: &str = "clientSecret";

/// Which field matches an Exact account with a Koppel customer (shared with the customers pushed with
/// orders).
pub const MATCHING_KEYS: &[&str] = &["email", "kvk_number", "name"];

pub const MATCHING_KEY: FieldSpec = FieldSpec {
    name: "matchingKey",
    label: "Customer matching key",
    field_type: FieldType::Select(MATCHING_KEYS),
    required: false,
    default: Some("\"email\""),
    help: "Which field matches an Exact Online account with a Koppel customer: the e-mail address, the KvK \
           number (Exact's ChamberOfCommerce) or the name. Customers linked by hand are never matched again.",
};

/// SnelStart's setting, with Exact's words.
pub const UNMATCHED_CUSTOMERS: FieldSpec = FieldSpec {
    name: "unmatchedCustomers",
    label: "Accounts without a match",
    help: "review: listed in customerMatches with suggestions, for you to link by hand; create: a new Koppel \
           customer is made for each.",
    ..super::snelstart::UNMATCHED_CUSTOMERS
};

pub const SPEC: KindSpec = KindSpec {
    kind: "exact-online",
    label: "Exact Online",
    description: "Exact Online (REST API, OAuth2): connect with startIntegrationAuthorization after setting the client \
                  id and secret of your app in Exact's App Center. The base URL is your region's host, e.g. \
                  https://start.exactonline.nl.",
    capabilities: &[
        Capability::Products,
        Capability::Customers,
        Capability::SalePush,
        Capability::OrderPush,
        Capability::ProductPush,
        Capability::DeletedRecordsFeed,
        Capability::IncrementalSince,
    ],
    settings: &[MATCHING_KEY, UNMATCHED_CUSTOMERS],
    credentials: &[
        FieldSpec {
            name: CLIENT_ID,
            label: "Client ID",
            field_type: FieldType::Secret,
            required: true,
            default: None,
            help: "The Client ID of the app you registered in Exact's App Center (apps.exactonline.com), whose \
                   redirect URI is Koppel's callback: KOPPEL_PUBLIC_URL followed by /oauth/callback.",
        },
        FieldSpec {
            name: CLIENT_SECRET,
            label: "Client secret",
            field_type: FieldType::Secret,
            required: true,
            default: None,
            help: "The Client secret of that app. The tokens Exact gives when you connect are stored encrypted \
                   and never shown; they are not set here.",
        },
    ],
    synced_entities: &[LinkedEntity::Product, LinkedEntity::Customer],
    connect,
};

/// The base URL with a trailing slash, so that API paths join below it.
fn api_base(base_url: &url::Url) -> url::Url {
    let mut base = base_url.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.set_query(None);
    base
}

fn credential<'a>(credentials: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ConnectorError> {
    credentials
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ConnectorError::Configuration(format!("{name} is not set for this mode")))
}

fn connect(config: ConnectorConfig) -> Result<Box<dyn Connector>, ConnectorError> {
    let client = ExactClient {
        http: config.http,
        base: api_base(&config.base_url),
        client_id: credential(&config.credentials, CLIENT_ID)?.to_owned(),
        client_secret: credential(&config.credentials, CLIENT_SECRET)?.to_owned(),
        tokens: config.tokens,
        shared: config.shared,
    };
    let matching_key = config.settings["matchingKey"].as_str().unwrap_or("email").to_owned();
    Ok(Box::new(ExactOnlineConnector { client, matching_key }))
}

pub struct ExactOnlineConnector {
    client: ExactClient,
    /// Which field finds an order's customer among the accounts ([`MATCHING_KEYS`]).
    matching_key: String,
}

impl ExactOnlineConnector {
    /// The client, for calls of new files of this module (the Sync API, sales orders).
    pub fn client(&self) -> &ExactClient {
        &self.client
    }
}

#[async_trait]
impl Connector for ExactOnlineConnector {
    fn record_fields(&self, entity: LinkedEntity) -> Vec<RemoteField> {
        match entity {
            LinkedEntity::Customer => RemoteField::texts(accounts::MAPPABLE_FIELDS),
            _ => Vec::new(),
        }
    }

    /// `current/Me` (who, which division), then one account of the stored division
    /// (`crm/Accounts?$top=1`), which fails when that division is no longer the user's.
    async fn test_connection(&self) -> Result<ConnectionCheck, ConnectorError> {
        let me = self.client.me().await?;
        let division = self.client.division().await?;
        self.client.get("crm/Accounts", &[("$top", "1".into()), ("$select", "ID".into())]).await?;
        Ok(ConnectionCheck {
            identity: format!("{} in division {division} (current division {})", me.identity(), me.current_division),
        })
    }

    async fn products(&self, request: ListRequest) -> Result<Page<RemoteProduct>, ConnectorError> {
        items::page(&self.client, &request).await
    }

    async fn product_fields(&self) -> Result<Vec<RemoteField>, ConnectorError> {
        Ok(items::fields())
    }

    /// The items changed after the Sync API's `Timestamp` `since`; one no longer sold is gone for Koppel.
    async fn product_changes(
        &self,
        since: Option<&str>,
        request: ListRequest,
    ) -> Result<Changes<ChangedRecord<RemoteProduct>>, ConnectorError> {
        items::changes(&self.client, since, request.after).await
    }

    async fn products_by_ids(&self, ids: &[String]) -> Result<Vec<RemoteProduct>, ConnectorError> {
        items::by_ids(&self.client, ids).await
    }

    async fn find_order(&self, reference: &str) -> Result<Option<AcceptedSale>, ConnectorError> {
        orders::find(&self.client, reference).await
    }

    async fn items_by_code(&self, codes: &[String]) -> Result<HashMap<String, String>, ConnectorError> {
        items::ids_by_code(&self.client, codes).await
    }

    async fn upsert_customer(&self, customer: &OutboundCustomer) -> Result<String, ConnectorError> {
        orders::upsert_customer(&self.client, &self.matching_key, customer).await
    }

    async fn create_order(&self, order: &OutboundOrder) -> Result<AcceptedSale, ConnectorError> {
        orders::create(&self.client, order).await
    }

    async fn find_items(&self, codes: &[String]) -> Result<HashMap<String, RemoteItem>, ConnectorError> {
        item_push::find(&self.client, codes).await
    }

    async fn category_id(&self, code: &str, create: bool) -> Result<Option<String>, ConnectorError> {
        item_push::item_group(&self.client, code, create).await
    }

    async fn create_item(&self, item: &OutboundItem) -> Result<String, ConnectorError> {
        item_push::create(&self.client, item).await
    }

    async fn update_item(&self, id: &str, item: &OutboundItem, fields: &[ItemField]) -> Result<(), ConnectorError> {
        item_push::update(&self.client, id, item, fields).await
    }

    /// Every customer account, through the Sync API from its start (the customer pass reads
    /// [`Connector::customer_changes`]).
    async fn customers(&self, request: ListRequest) -> Result<Page<RemoteCustomer>, ConnectorError> {
        Ok(accounts::account_changes(&self.client, None, request.after).await?.page)
    }

    async fn customer_changes(
        &self,
        since: Option<&str>,
        request: ListRequest,
    ) -> Result<Changes<RemoteCustomer>, ConnectorError> {
        accounts::account_changes(&self.client, since, request.after).await
    }

    async fn deleted(
        &self,
        entity: LinkedEntity,
        since: Option<&str>,
        after: Option<String>,
    ) -> Result<Changes<String>, ConnectorError> {
        match entity {
            LinkedEntity::Customer => {
                sync_api::deleted(&self.client, accounts::ACCOUNT_ENTITY_TYPE, since, after).await
            }
            LinkedEntity::Product => sync_api::deleted(&self.client, items::ITEM_ENTITY_TYPE, since, after).await,
            _ => Err(ConnectorError::Unsupported("read a deletion feed of that entity")),
        }
    }
}

/// What a completed authorization gives: the tokens and who they belong to.
pub struct Authorized {
    pub tokens: OAuthTokens,
    pub division: String,
    pub identity: String,
}

/// Exact's sign-in page for the app, which sends the browser back to `redirect_uri` with a code and
/// `state`.
pub fn authorization_url(
    base_url: &url::Url,
    credentials: &HashMap<String, String>,
    redirect_uri: &str,
    state: &str,
) -> Result<url::Url, ConnectorError> {
    let mut url = api_base(base_url).join("api/oauth2/auth").expect("a valid path");
    url.query_pairs_mut()
        .append_pair("client_id", credential(credentials, CLIENT_ID)?)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("state", state)
        .append_pair("force_login", "0");
    Ok(url)
}

/// Exchanges the code the callback received for tokens, and asks `current/Me` for the division.
pub async fn authorize(
    http: &reqwest::Client,
    base_url: &url::Url,
    credentials: &HashMap<String, String>,
    code: &str,
    redirect_uri: &str,
) -> Result<Authorized, ConnectorError> {
    let base = api_base(base_url);
    let endpoint = token::TokenEndpoint {
        http,
        url: base.join("api/oauth2/token").expect("a valid path"),
        client_id: credential(credentials, CLIENT_ID)?,
        client_secret: credential(credentials, CLIENT_SECRET)?,
    };
    let tokens = endpoint.exchange_code(code, redirect_uri).await.map_err(|refusal| match refusal {
        TokenRefusal::Refused(said) => ConnectorError::WrongCredentials(format!(
            "Exact Online refused the authorization code ({said}): check the client id and secret, and that the \
             app's redirect URI is {redirect_uri}"
        )),
        TokenRefusal::TooEarly => {
            ConnectorError::Protocol("the token endpoint answered TooEarlyToRefreshTokens".into())
        }
        TokenRefusal::Failed(error) => error,
    })?;
    let response = http
        .get(base.join("api/v1/current/Me").expect("a valid path"))
        .bearer_auth(&tokens.access_token)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(transport_error)?;
    let status = response.status();
    if !status.is_success() {
        return Err(ConnectorError::Protocol(format!("current/Me answered HTTP {status} to a new access token")));
    }
    let body = response.json().await.map_err(|e| ConnectorError::Protocol(format!("current/Me: {e}")))?;
    let me: wire::Me = serde_json::from_value(wire::single(body, "current/Me")?)
        .map_err(|e| ConnectorError::Protocol(format!("current/Me: {e}")))?;
    Ok(Authorized { division: me.current_division.to_string(), identity: me.identity(), tokens })
}

fn transport_error(error: reqwest::Error) -> ConnectorError {
    let error = error.without_url();
    if error.is_timeout() {
        ConnectorError::Timeout
    } else if error.is_connect() || error.is_request() || error.is_redirect() {
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message = format!("{message}: {cause}");
            source = cause.source();
        }
        ConnectorError::Unreachable(message)
    } else {
        ConnectorError::Remote(error.to_string())
    }
}
