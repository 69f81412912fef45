//! Times as the API, the audit log's readers and the CLI show them.

/// Seconds since the epoch as RFC 3339 (UTC); empty for a time out of range.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
