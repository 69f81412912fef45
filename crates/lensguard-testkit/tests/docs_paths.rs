//! Paths that the project's documents name must exist: a moved or deleted file
//! fails this test until the document is updated.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_testkit::workspace_root;

/// Backticked or linked tokens that look like repository paths.
fn named_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            out.push(part.to_owned());
        }
    }
    for link in text.split("](").skip(1) {
        if let Some(end) = link.find(')') {
            out.push(link[..end].to_owned());
        }
    }
    let prefixes = ["crates/", "docs/", "scripts/", "fuzz/", "samples/", ".ci/"];
    out.into_iter()
        .map(|p| p.trim().trim_end_matches(['.', ',']).to_owned())
        .filter(|p| !p.contains(' ') && !p.contains("://") && !p.starts_with('#'))
        .filter(|p| prefixes.iter().any(|pre| p.starts_with(pre)) || p.ends_with(".md"))
        .collect()
}

#[test]
fn every_path_named_in_the_documents_exists() {
    let root = workspace_root();
    for doc in [
        "ARCHITECTURE.md",
        "README.md",
        "docs/policy.md",
        "docs/schema.md",
        "docs/benchmarks.md",
        "docs/third-party.md",
        "docs/service.md",
        "docs/access.md",
    ] {
        let text = std::fs::read_to_string(root.join(doc)).expect(doc);
        let paths = named_paths(&text);
        assert!(
            !paths.is_empty() || doc != "ARCHITECTURE.md",
            "no paths found in {doc}"
        );
        for p in paths {
            // A link to a heading: the file must exist, and so must the heading.
            let (p, anchor) = match p.split_once('#') {
                Some((file, anchor)) => (file.to_owned(), Some(anchor.to_owned())),
                None => (p, None),
            };
            if let Some(anchor) = anchor {
                let target = std::fs::read_to_string(root.join(&p)).unwrap_or_default();
                let found = target.lines().any(|l| {
                    l.starts_with('#')
                        && l.trim_start_matches('#')
                            .trim()
                            .to_lowercase()
                            .replace(' ', "-")
                            == anchor
                });
                assert!(
                    found,
                    "{doc} links to {p}#{anchor}, a heading that does not exist"
                );
            }
            // Paths in docs/ may be relative to docs/ (Markdown links are).
            let beside = doc.starts_with("docs/") && root.join("docs").join(&p).exists();
            assert!(
                beside || root.join(&p).exists(),
                "{doc} names {p}, which does not exist"
            );
        }
    }
}

/// The README's service section says the models come first and what the
/// service does without them.
#[test]
fn the_readme_says_to_fetch_the_models_before_the_service() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README");
    let section = readme
        .split("### The service")
        .nth(1)
        .and_then(|s| s.split("\n### ").next())
        .expect("a service section");
    let fetch = section
        .find("scripts/fetch-models")
        .expect("names scripts/fetch-models");
    let serve = section.find("-- serve").expect("starts the service");
    assert!(
        fetch < serve,
        "the models are fetched before the service starts"
    );
    assert!(
        section.contains("Without them") && section.contains("withheld"),
        "says what happens without the models"
    );
}

/// `scripts/fetch-models` fetches only what redaction needs unless asked for
/// the test tier, and the test dependencies ask for it.
#[test]
fn fetch_models_default_tier_is_what_redaction_needs() {
    let root = workspace_root();
    let out = std::process::Command::new("bash")
        .arg(root.join("scripts/fetch-models"))
        .arg("--list")
        .output()
        .expect("run scripts/fetch-models --list");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let tier = |name: &str| -> Vec<String> {
        listing
            .split(&format!("{name}:\n"))
            .nth(1)
            .unwrap_or("")
            .lines()
            .take_while(|l| l.starts_with("  "))
            .map(|l| l.trim().to_owned())
            .collect()
    };
    // The face and text models, the recogniser that verifies text lines,
    // CenterFace prepared for ONNX Runtime, and the runtime library:
    // nothing else.
    let redaction = tier("redaction");
    assert_eq!(redaction.len(), 5, "{listing}");
    assert!(
        redaction
            .iter()
            .all(|f| f.contains(".onnx") || f.contains("libonnxruntime.so")),
        "{redaction:?}"
    );
    assert!(
        tier("test").iter().any(|f| f.contains("opencv-doc")),
        "{listing}"
    );
    let script = std::fs::read_to_string(root.join("scripts/fetch-models")).expect("script");
    assert!(
        script.contains("tier=redaction\n"),
        "the default tier is redaction"
    );
    let deps = std::fs::read_to_string(root.join("scripts/install-test-deps")).expect("deps");
    assert!(deps.contains("fetch-models\" --tier test"));
}
