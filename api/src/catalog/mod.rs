//! The catalogue: suppliers, products with tariffs and attachments, flows and their questions.

mod attachments;
mod flows;
mod product_reads;
mod products;
pub mod questions;
mod suppliers;

pub use attachments::{Attachment, AttachmentKind, AttachmentMutation};
pub use flows::{Flow, FlowMutation, FlowQuery};
pub use products::{Product, ProductMutation, ProductQuery, Tariff};
pub use questions::{Question, QuestionMutation, QuestionQuery};
pub use suppliers::{Supplier, SupplierMutation, SupplierQuery};

use async_graphql::MergedObject;

#[derive(MergedObject, Default)]
pub struct CatalogQuery(SupplierQuery, ProductQuery, FlowQuery, QuestionQuery);

#[derive(MergedObject, Default)]
pub struct CatalogMutation(SupplierMutation, ProductMutation, FlowMutation, QuestionMutation, AttachmentMutation);
