//! The checked-in contract: `schema.graphql` is exactly what `koppel schema` prints, and every document
//! the `peer` connector sends to another Koppel is valid against it.

#[test]
fn schema_graphql_matches_the_code() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_koppel")).arg("schema").output().expect("koppel runs");
    assert!(output.status.success(), "koppel schema failed: {}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8(output.stdout).expect("UTF-8");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let checked_in = std::fs::read_to_string(&path).expect("schema.graphql exists at the repository root");
    assert!(
        printed == checked_in,
        "schema.graphql is out of date: run `cargo run -- schema > schema.graphql` and commit it"
    );
}

/// The GraphQL documents the `peer` connector sends to another Koppel (`daemon/src/connectors/peer/
/// documents/*.graphql`, compiled in with `include_str!`), each fully validated against `schema.graphql`
/// with apollo-compiler: fields, arguments, variable types and their use. A change of the provider
/// surface that would break a peer fails here instead of in a partner's sync.
#[test]
fn the_peer_connectors_documents_are_valid_against_schema_graphql() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sdl = std::fs::read_to_string(root.join("schema.graphql")).expect("schema.graphql exists at the root");
    let schema = apollo_compiler::Schema::parse_and_validate(sdl, "schema.graphql")
        .unwrap_or_else(|invalid| panic!("schema.graphql is not a valid schema:\n{}", invalid.errors));
    let folder = root.join("daemon/src/connectors/peer/documents");
    let mut documents: Vec<std::path::PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", folder.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "graphql"))
        .collect();
    documents.sort();
    let names: Vec<String> =
        documents.iter().filter_map(|path| path.file_stem()).map(|stem| stem.to_string_lossy().into_owned()).collect();
    assert_eq!(
        names,
        ["flows", "me", "product_fields", "products", "questions", "sale_statuses", "statuses", "submit_sale"],
        "the peer's documents"
    );
    let mut invalid = Vec::new();
    for path in &documents {
        let text = std::fs::read_to_string(path).expect("a readable document");
        let name = path.strip_prefix(root).unwrap_or(path);
        if let Err(errors) = apollo_compiler::ExecutableDocument::parse_and_validate(&schema, text, name) {
            invalid.push(errors.errors.to_string());
        }
    }
    assert!(invalid.is_empty(), "peer documents that schema.graphql no longer answers:\n{}", invalid.join("\n"));
}
