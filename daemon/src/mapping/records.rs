//! Field mappings of the records a bookkeeping or ERP remote syncs into Koppel (customers, invoices):
//! the remote's own fields (`RemoteCustomer::fields`, by the remote's names) go through the integration's
//! mappings of that entity onto the record's extra fields, and for customers onto its attributes too, on
//! top of what the connector translated. A mapping marked create-only is written when a pass creates the
//! record and left alone when it updates it.

use super::{FieldMapping, Mapped, MappingProblem, TargetKind, map_fields, stored};
use koppel_entity::enums::LinkedEntity;
use koppel_entity::integration;
use sea_orm::{ConnectionTrait, DbErr};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The customer attributes a remote field can be mapped onto (GraphQL's names).
pub const CUSTOMER_ATTRIBUTES: [&str; 6] = ["companyName", "firstName", "lastName", "email", "phone", "kvkNumber"];

/// An integration's mappings of one entity, as a pass applies them.
#[derive(Debug, Default)]
pub struct RecordMapping {
    mappings: Vec<FieldMapping>,
    /// The mappings an update applies: all but the create-only ones (kept, not filtered per record).
    on_update: Vec<FieldMapping>,
    /// What of the mappings goes into each link's hash; empty without mappings.
    fingerprint: Vec<u8>,
}

impl RecordMapping {
    pub async fn load(
        db: &impl ConnectionTrait,
        integration: &integration::Model,
        entity: LinkedEntity,
    ) -> Result<Self, DbErr> {
        let rows = stored::load(db, integration, Some(entity.as_str())).await?;
        if rows.is_empty() {
            return Ok(Self::default());
        }
        Ok(Self::new(stored::to_engine(&rows), stored::fingerprint(&rows)))
    }

    fn new(mappings: Vec<FieldMapping>, fingerprint: Vec<u8>) -> Self {
        let on_update = mappings.iter().filter(|m| !m.create_only).cloned().collect();
        Self { mappings, on_update, fingerprint }
    }

    /// The hash a link keeps of a record: the remote's own hash, with the mappings' fingerprint when
    /// there are mappings, so that a changed mapping rewrites every record on the next pass (and a
    /// remote without mappings keeps the hashes it had).
    pub fn hash(&self, remote_hash: String) -> String {
        if self.fingerprint.is_empty() {
            return remote_hash;
        }
        let mut digest = Sha256::new();
        digest.update(remote_hash.as_bytes());
        digest.update(&self.fingerprint);
        digest.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The mapped values of a record's fields; on an update (`creating` false) without the create-only
    /// mappings. A value a transform cannot take is left out and named in the problems.
    pub fn apply(&self, fields: &BTreeMap<String, String>, creating: bool) -> (Vec<Mapped>, Vec<MappingProblem>) {
        map_fields(if creating { &self.mappings } else { &self.on_update }, fields)
    }

    /// Writes mapped extra fields into a record's `extra_fields` object.
    pub fn write_extra_fields(mapped: &[Mapped], extra_fields: &mut serde_json::Value) {
        if let Some(object) = extra_fields.as_object_mut() {
            for (kind, key, value) in mapped {
                if *kind == TargetKind::ExtraField {
                    object.insert(key.clone(), value.clone().into());
                }
            }
        }
    }
}

/// Problems as one note: `field Email: "x" is not a date; …`.
pub fn problems_note(problems: &[MappingProblem]) -> Option<String> {
    (!problems.is_empty()).then(|| {
        let parts: Vec<String> =
            problems.iter().map(|(field, message)| format!("field {field} not mapped: {message}")).collect();
        parts.join("; ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{Transform, ValueMapping};

    fn mapping(remote: &str, kind: TargetKind, target: &str, create_only: bool) -> FieldMapping {
        FieldMapping {
            remote_field: remote.into(),
            target_kind: kind,
            target: target.into(),
            transforms: vec![Transform::Uppercase],
            values: vec![ValueMapping { remote: "NL".into(), local: "Nederland".into() }],
            create_only,
        }
    }

    #[test]
    fn create_only_mappings_are_left_out_of_updates() {
        let records = RecordMapping::new(
            vec![
                mapping("Country", TargetKind::ExtraField, "land", false),
                mapping("Code", TargetKind::ExtraField, "code", true),
            ],
            b"x".to_vec(),
        );
        let fields = BTreeMap::from([("Country".to_string(), "nl".to_string()), ("Code".into(), "c1".into())]);
        let (created, _) = records.apply(&fields, true);
        assert_eq!(created.len(), 2);
        let (updated, _) = records.apply(&fields, false);
        assert_eq!(updated, vec![(TargetKind::ExtraField, "land".to_string(), "Nederland".to_string())]);
        let mut extra = serde_json::json!({"kept": 1});
        RecordMapping::write_extra_fields(&updated, &mut extra);
        assert_eq!(extra, serde_json::json!({"kept": 1, "land": "Nederland"}));
    }

    #[test]
    fn mappings_change_the_hash_and_no_mappings_keep_it() {
        assert_eq!(RecordMapping::default().hash("abc".into()), "abc");
        let mapped = RecordMapping::new(Vec::new(), b"m".to_vec());
        assert_ne!(mapped.hash("abc".into()), "abc");
        let other = RecordMapping::new(Vec::new(), b"n".to_vec());
        assert_ne!(mapped.hash("abc".into()), other.hash("abc".into()));
    }
}
