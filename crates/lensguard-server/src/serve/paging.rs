//! Paging and time filters shared by the listing endpoints: an opaque
//! cursor `(sort key, id)` and RFC 3339 times.
//!
//! A cursor is the last item's sort key and id, base64url-encoded; it names
//! a position, not a snapshot, so items stored after it was issued may
//! appear on a later page. A cursor this service did not issue is refused.

use base64::Engine;

/// A position to continue after: the last item's sort key and id.
pub type After = (i64, String);

/// A listing's `limit` (1 to 200, default 50) and `cursor`, checked; the
/// message for the caller when either is wrong.
pub fn page_request(
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<(u32, Option<After>), &'static str> {
    let after = match cursor {
        Some(c) => Some(decode_cursor(c).ok_or("cursor is not one this service issued")?),
        None => None,
    };
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err("limit must be 1 to 200");
    }
    Ok((limit, after))
}

/// An RFC 3339 time as seconds since the epoch.
pub fn parse_time(s: &str) -> Option<i64> {
    parse_time_ms(s).map(|ms| ms.div_euclid(1000))
}

/// An RFC 3339 time as milliseconds since the epoch.
pub fn parse_time_ms(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
}

/// `from` and `to` (RFC 3339, each optional) as milliseconds since the
/// epoch, or what is wrong with them.
pub fn parse_range(
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(Option<i64>, Option<i64>), String> {
    let one = |value: Option<&str>, name: &str| {
        value
            .map(|v| parse_time_ms(v).ok_or_else(|| format!("{name} must be an RFC 3339 time")))
            .transpose()
    };
    Ok((one(from, "from")?, one(to, "to")?))
}

/// The cursor after the item with sort key `key` and `id`.
pub fn encode_cursor(key: i64, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{key}:{id}"))
}

/// The position a cursor names, if this service issued it.
pub fn decode_cursor(cursor: &str) -> Option<(i64, String)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (t, id) = text.split_once(':')?;
    Some((t.parse().ok()?, id.to_owned()))
}

/// The body of a page: `{"items": [...], "next_cursor": ...}` from `found`
/// (at most `limit` stored JSON texts), with a cursor after the last item
/// when the page is full.
pub fn page_body<T>(
    found: &[T],
    limit: u32,
    key: impl Fn(&T) -> (i64, &str),
    text: impl Fn(&T) -> &str,
) -> String {
    let next = (found.len() == limit as usize)
        .then(|| {
            found.last().map(|last| {
                let (k, id) = key(last);
                encode_cursor(k, id)
            })
        })
        .flatten();
    let items: Vec<serde_json::Value> = found
        .iter()
        .filter_map(|f| serde_json::from_str(text(f)).ok())
        .collect();
    serde_json::json!({"items": items, "next_cursor": next}).to_string()
}
