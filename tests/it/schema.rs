//! The checked-in contract: `schema.graphql` is exactly what `koppel schema` prints.

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
