//! `[[sources.folder]]`: watched folders that cameras and scanners drop
//! files into (by FTP or SMB). Each is validated here without I/O; the
//! service checks at start that the folders exist.
//!
//! ```toml
//! [[sources.folder]]
//! name = "line-3"          # the submission's device and the audit actor source:line-3
//! path = "/srv/drop/line-3"
//! after = "delete"         # or "move", with move_to = "/srv/done"
//! settle_ms = 2000         # a file is taken once unchanged this long
//! policy = "/etc/lensguard/line-3.toml"   # optional: this source's own policy
//! ```

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// `[sources]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcesSection {
    /// `[[sources.folder]]`.
    #[serde(default)]
    pub folder: Vec<FolderSection>,
}

/// One `[[sources.folder]]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FolderSection {
    /// The source's name: 1 to 64 of `A-Z a-z 0-9 . _ -`.
    pub name: Option<String>,
    /// The folder watched (its files, not its subfolders).
    pub path: Option<PathBuf>,
    /// `delete` (default) or `move`.
    pub after: Option<String>,
    /// Where `move` puts inspected files.
    pub move_to: Option<PathBuf>,
    /// How long a file must stay unchanged before it is taken. Default 2000.
    pub settle_ms: Option<u64>,
    /// A policy file for this source (default: the service's policy).
    pub policy: Option<PathBuf>,
}

/// What happens to a file once its result is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// Deleted (the privacy default: no plaintext photo stays behind).
    Delete,
    /// Moved into this folder.
    Move(PathBuf),
}

/// A validated watched folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderSource {
    /// Its name.
    pub name: String,
    /// The folder.
    pub path: PathBuf,
    /// What happens to an inspected file.
    pub after: After,
    /// Settle time.
    pub settle: Duration,
    /// Its own policy file, if any.
    pub policy: Option<PathBuf>,
}

impl SourcesSection {
    /// The folder sources; problems are added to `problems`.
    pub fn validate(&self, problems: &mut Vec<String>) -> Vec<FolderSource> {
        let mut out: Vec<FolderSource> = Vec::new();
        for (i, f) in self.folder.iter().enumerate() {
            let at = format!("sources.folder[{i}]");
            let name = f.name.clone().unwrap_or_default();
            if let Some(p) = super::name_problem(&at, &name) {
                problems.push(p);
            } else if out.iter().any(|o| o.name == name) {
                problems.push(format!("{at}.name: {name:?} names another source too"));
            }
            let Some(path) = f.path.clone() else {
                problems.push(format!("{at}.path: the folder to watch is required"));
                continue;
            };
            let after = match (f.after.as_deref().unwrap_or("delete"), &f.move_to) {
                ("delete", None) => After::Delete,
                ("move", Some(to)) if to.starts_with(&path) => {
                    problems.push(format!(
                        "{at}.move_to: {} is inside the watched folder",
                        to.display()
                    ));
                    After::Delete
                }
                ("move", Some(to)) => After::Move(to.clone()),
                ("move", None) => {
                    problems.push(format!("{at}.move_to: after = \"move\" needs move_to"));
                    After::Delete
                }
                ("delete", Some(_)) => {
                    problems.push(format!("{at}.move_to: only with after = \"move\""));
                    After::Delete
                }
                (other, _) => {
                    problems.push(format!("{at}.after: {other:?} is not delete or move"));
                    After::Delete
                }
            };
            let settle = f.settle_ms.unwrap_or(2000);
            if !(100..=600_000).contains(&settle) {
                problems.push(format!(
                    "{at}.settle_ms: must be 100 to 600000, got {settle}"
                ));
            }
            if out.iter().any(|o| o.path == path) {
                problems.push(format!(
                    "{at}.path: {} is watched by another source",
                    path.display()
                ));
            }
            out.push(FolderSource {
                name,
                path,
                after,
                settle: Duration::from_millis(settle),
                policy: f.policy.clone(),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(text: &str) -> Result<Vec<FolderSource>, Vec<String>> {
        let raw: SourcesSection = toml::from_str(text).expect("toml");
        let mut problems = Vec::new();
        let out = raw.validate(&mut problems);
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    #[test]
    fn a_folder_deletes_by_default_and_settles_two_seconds() {
        let s = validate("[[folder]]\nname = \"line-3\"\npath = \"/srv/drop\"\n").expect("valid");
        assert_eq!(s[0].after, After::Delete);
        assert_eq!(s[0].settle, Duration::from_secs(2));
    }

    #[test]
    fn bad_folders_name_every_problem() {
        let problems = validate(
            "[[folder]]\nname = \"line 3\"\npath = \"/srv/a\"\nafter = \"move\"\n\
             [[folder]]\nname = \"b\"\npath = \"/srv/b\"\nafter = \"move\"\nmove_to = \"/srv/b/done\"\nsettle_ms = 5\n\
             [[folder]]\nname = \"b\"\npath = \"/srv/a\"\nafter = \"keep\"\n",
        )
        .expect_err("invalid");
        let all = problems.join("\n");
        for needle in [
            "folder[0].name",
            "folder[0].move_to: after = \"move\" needs move_to",
            "folder[1].move_to",
            "folder[1].settle_ms",
            "folder[2].name: \"b\" names another source",
            "folder[2].after",
            "folder[2].path",
        ] {
            assert!(all.contains(needle), "{needle} missing from {all}");
        }
    }
}
