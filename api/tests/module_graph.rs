//! The layering rule, checked: no import circle between the top-level modules of `api/src` or
//! `daemon/src` (a module that names `crate::x` depends on `x`; test modules do not count). Schema roots
//! sit at the top and import the domains; shared helpers import no domain. See docs/DECISIONS.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules it names.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![src.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).expect("readable").map(|e| e.expect("an entry").path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative = path.strip_prefix(src).expect("under src");
        let first = relative.components().next().expect("a component").as_os_str().to_string_lossy();
        let top = first.trim_end_matches(".rs").to_owned();
        if top == "lib" || top == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let names = graph.entry(top.clone()).or_default();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let name: String =
                rest.chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect();
            if !name.is_empty() && name != top {
                names.insert(name);
            }
        }
        // `use crate::{a, b::c}` names `a` and `b`.
        for (i, _) in code.match_indices("use crate::{") {
            let group = &code[i + "use crate::{".len()..];
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for part in group.split(',') {
                let name: String = part.trim().chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if !name.is_empty() && name != top {
                    names.insert(name);
                }
            }
        }
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    graph.values_mut().for_each(|names| names.retain(|n| modules.contains(n)));
    graph
}

/// Every pair of modules that reach each other, as `a -> … -> a` paths.
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let reaches = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_owned()];
        while let Some(node) = stack.pop() {
            for next in &graph[&node] {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let mut found = Vec::new();
    for module in graph.keys() {
        for next in &graph[module] {
            if reaches(next).contains(module) {
                found.push(format!("{module} -> {next} -> … -> {module}"));
            }
        }
    }
    found
}

fn assert_no_circles(crate_dir: &str) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(crate_dir).join("src");
    let graph = module_graph(&src);
    assert!(graph.len() > 5, "{} has too few modules to be the real tree: {graph:?}", src.display());
    let found = circles(&graph);
    assert!(found.is_empty(), "import circles between top-level modules of {crate_dir}/src:\n{}", found.join("\n"));
}

#[test]
fn the_api_has_no_import_circles() {
    assert_no_circles("api");
}

#[test]
fn the_daemon_has_no_import_circles() {
    assert_no_circles("daemon");
}

#[test]
fn a_circle_is_found() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
        ("d".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]
    .into();
    assert_eq!(circles(&graph).len(), 3, "a, b and c each close the circle; d only points into it");
}

#[test]
fn helpers_import_no_domain() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src);
    let domains = [
        "accounts",
        "catalog",
        "customers",
        "extra_fields",
        "integrations",
        "organisations",
        "provider",
        "sales",
        "session",
        "statuses",
        "users",
    ];
    for helper in ["graphql", "error", "validate", "visibility", "auth", "db", "state", "config"] {
        let named: Vec<&String> = graph[helper].iter().filter(|m| domains.contains(&m.as_str())).collect();
        assert!(named.is_empty(), "the helper module {helper} imports the domains {named:?}");
    }
}
