//! The webview's powers, checked from the files that grant them: every command registered in
//! `generate_handler!` is listed in build.rs (which generates its `allow-` permission) and
//! allowed by the capability, nothing else is allowed, and the CSP stays strict.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

fn read(rel: &str) -> String {
    std::fs::read_to_string(format!("{}/{rel}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The identifiers between `open` and the next `close` in `text`.
fn names_between(text: &str, open: &str, close: &str) -> BTreeSet<String> {
    let start = text.find(open).unwrap_or_else(|| panic!("no {open}")) + open.len();
    let end = start + text[start..].find(close).unwrap();
    text[start..end]
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn commands_build_manifest_and_capability_agree() {
    let registered = names_between(&read("src/lib.rs"), "generate_handler![", "]");
    let manifest = names_between(&read("build.rs"), "const COMMANDS: &[&str] = &[", "]");
    assert_eq!(
        registered, manifest,
        "generate_handler! vs build.rs COMMANDS"
    );

    let cap: serde_json::Value = serde_json::from_str(&read("capabilities/default.json")).unwrap();
    let perms: BTreeSet<String> = cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    let mut expected: BTreeSet<String> = registered
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    expected.insert("core:default".into());
    assert_eq!(
        perms, expected,
        "capability grants exactly core:default + the app's commands"
    );
    assert_eq!(cap["windows"], serde_json::json!(["main"]));
}

#[test]
fn csp_is_strict() {
    let conf: serde_json::Value = serde_json::from_str(&read("tauri.conf.json")).unwrap();
    let csp = conf["app"]["security"]["csp"].as_str().unwrap();
    for (directive, must) in [
        ("default-src", "'none'"),
        ("script-src", "'self'"),
        ("style-src", "'self'"),
        ("connect-src", "ipc:"),
        ("frame-ancestors", "'none'"),
    ] {
        let d = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with(directive))
            .unwrap_or_else(|| panic!("CSP has no {directive}"));
        assert!(d.contains(must), "{directive} should contain {must}: {d}");
    }
    for banned in ["unsafe-inline", "unsafe-eval", "*", "data: blob:", "https:"] {
        assert!(!csp.contains(banned), "CSP allows {banned}: {csp}");
    }
    // The only http origins are the app's own custom protocols as Windows spells them: IPC
    // and the label previews.
    for token in csp.split_whitespace().filter(|t| t.starts_with("http")) {
        assert!(
            ["http://ipc.localhost", "http://pbpreview.localhost"]
                .contains(&token.trim_end_matches(';')),
            "CSP origin {token}"
        );
    }
    assert_eq!(conf["app"]["security"]["freezePrototype"], true);
}

#[test]
fn ui_has_no_inline_script_or_style() {
    let html = read("../ui/index.html");
    assert!(
        !html.contains("style=\""),
        "inline style attribute in index.html"
    );
    assert!(!html.contains("onclick="), "inline handler in index.html");
    for line in html.lines().filter(|l| l.contains("<script")) {
        assert!(line.contains("src=\""), "inline script: {line}");
    }
}
