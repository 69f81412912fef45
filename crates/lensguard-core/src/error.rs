//! The one error type of `lensguard-core`.

use crate::policy::PolicyIssue;

/// Errors raised by core rules (policy parsing and validation).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The policy text is not valid TOML for the policy schema (syntax error,
    /// unknown key, wrong type). `line` and `column` are 1-based.
    #[error("{line}:{column}: {message}")]
    PolicySyntax {
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column of the offending text.
        column: usize,
        /// What is wrong, in the parser's words.
        message: String,
    },
    /// The policy parsed but breaks one or more rules; every issue is listed.
    #[error("{}", format_issues(.0))]
    PolicyInvalid(Vec<PolicyIssue>),
}

fn format_issues(issues: &[PolicyIssue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
