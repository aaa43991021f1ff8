//! Closed sets of values stored as short strings, the same on SQLite and PostgreSQL.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $value:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $(#[sea_orm(string_value = $value)] $variant,)*
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $value,)* }
            }
        }
    };
}

string_enum!(
    /// What a user may do: admins manage the account, agents sell, integration users connect.
    Role { Admin = "admin", Agent = "agent", Integration = "integration" }
);

string_enum!(
    /// Which kind of record an extra field belongs to.
    ExtraFieldEntity {
        Product = "product",
        Organisation = "organisation",
        Customer = "customer",
        Invoice = "invoice",
    }
);

string_enum!(
    /// How an extra field is edited.
    ExtraFieldType { Text = "text", Textarea = "textarea", Select = "select" }
);

string_enum!(
    /// The shape of a product.
    ProductType { Simple = "simple", Virtual = "virtual", Configurable = "configurable", Variant = "variant" }
);

string_enum!(
    /// How a question is answered.
    QuestionType {
        Text = "text",
        Number = "number",
        Boolean = "boolean",
        Date = "date",
        Email = "email",
        Select = "select",
        Multiselect = "multiselect",
    }
);

string_enum!(
    /// A person or a company debtor.
    CustomerKind { Person = "person", Company = "company" }
);

string_enum!(
    /// What an organisation's access grant is for.
    GrantTarget { Product = "product", Flow = "flow" }
);

string_enum!(
    /// Which credentials and remote environment an integration uses.
    IntegrationMode { Test = "test", Production = "production" }
);

string_enum!(
    /// What to do with a linked record that is gone at the remote.
    MissingRecordPolicy { Ignore = "ignore", Deactivate = "deactivate", Delete = "delete" }
);

string_enum!(
    /// The kind of local record a remote link ties to its remote twin; also what a sync pass, a job and
    /// an event are about. `sale` is a sale forwarded to a remote (its transmission's events);
    /// `sale_status` is never linked: it names the pull of the statuses of sales sent
    /// to a remote, a pass with its own schedule. `product_push` is never linked either: it names the
    /// push of Koppel's products to a remote as its items (found there by SKU, not by a link).
    LinkedEntity {
        Product = "product",
        Supplier = "supplier",
        Customer = "customer",
        Invoice = "invoice",
        Payment = "payment",
        Order = "order",
        Sale = "sale",
        SaleStatus = "sale_status",
        ProductPush = "product_push",
    }
);

impl std::fmt::Display for LinkedEntity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

string_enum!(
    /// Where a job is: waiting (maybe until `run_after`), claimed by a worker, finished, or given up.
    JobState { Queued = "queued", Running = "running", Done = "done", Dead = "dead" }
);

string_enum!(
    /// Where a sync run is. A run succeeds only when its counts add up.
    RunState { Queued = "queued", Running = "running", Succeeded = "succeeded", Failed = "failed" }
);

string_enum!(
    /// What started a sync run.
    RunTrigger { Schedule = "schedule", Manual = "manual", Import = "import", Api = "api" }
);

string_enum!(
    /// How much a sync event matters; `alert` is what an operator must act on.
    EventLevel { Debug = "debug", Info = "info", Warn = "warn", Error = "error", Alert = "alert" }
);

string_enum!(
    /// Whether an event is about what came from the remote or what went to it.
    Direction { In = "in", Out = "out" }
);

string_enum!(
    /// Where a sale's forwarding to one integration is. `queued`: due now; `scheduled`: due at its
    /// not-before time (a delay, or the next attempt after a temporary failure); `sending`: claimed by a
    /// daemon and on its way; `sent`: the remote accepted it; `failed`: refused (a mapping problem or
    /// the remote's validation) and waiting for the sale or the mapping to change, or for a retry by
    /// hand; `dead`: the last attempt failed too.
    TransmissionState {
        Queued = "queued",
        Scheduled = "scheduled",
        Sending = "sending",
        Sent = "sent",
        Failed = "failed",
        Dead = "dead",
    }
);

string_enum!(
    /// What made a sale go out: its status (automatic processing) or a person (`sendSale`).
    TransmissionTrigger { Automatic = "automatic", Manual = "manual" }
);

string_enum!(
    /// Why a transmission failed: the sale could not be mapped, or the remote refused it.
    TransmissionFailure { Mapping = "mapping", Remote = "remote" }
);

string_enum!(
    /// What a product attachment is (a supplier's logo is a `logo`).
    AttachmentKind {
        Conditions = "conditions",
        Brochure = "brochure",
        TariffSheet = "tariff_sheet",
        Image = "image",
        Logo = "logo",
        Other = "other",
    }
);
