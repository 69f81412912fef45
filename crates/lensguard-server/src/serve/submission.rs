//! Reading a submitted photo: the raw body (`image/jpeg`, `image/png`,
//! `image/webp`), or `multipart/form-data` with the photo and metadata.
//!
//! Multipart fields: `photo` (required, once, with an image content type),
//! `device_id` (1-128 of `A-Z a-z 0-9 . _ : -`), `external_reference` (1-256
//! printable characters, e.g. an order number) and `location` (`lat,lon` in
//! decimal degrees). Unknown or repeated fields are refused, metadata fields are
//! capped at 1 KiB while streaming and the photo at `Limits::max_file_bytes`
//! (413 past it), so no part of a submission is ever buffered beyond its limit.

use super::http::{RequestId, error};
pub use crate::intake::{Location, SubmissionMeta};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use axum::response::Response;
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// The image types accepted.
pub const IMAGE_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp"];
const MAX_FIELD: usize = 1024;

/// A photo and its metadata.
pub struct Submission {
    /// The image bytes.
    pub photo: Bytes,
    /// Metadata (empty for a raw body).
    pub meta: SubmissionMeta,
}

/// The media type of a `Content-Type` value, lower-cased, without parameters.
pub fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn too_large(limit: usize, rid: &RequestId) -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the photo is larger than {limit} bytes"),
        rid,
    )
}

fn bad(message: impl Into<String>, rid: &RequestId) -> Response {
    error(StatusCode::BAD_REQUEST, "bad_multipart", message, rid)
}

fn unsupported(rid: &RequestId) -> Response {
    error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "send the photo as image/jpeg, image/png or image/webp, or as the `photo` part of multipart/form-data",
        rid,
    )
}

/// Reads the submission; `Err` is the answer to give.
pub async fn read(request: Request, limit: usize, rid: &RequestId) -> Result<Submission, Response> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(media_type)
        .unwrap_or_default();
    if IMAGE_TYPES.contains(&content_type.as_str()) {
        let photo = read_limited(request.into_body(), limit, rid).await?;
        return Ok(Submission {
            photo,
            meta: SubmissionMeta::default(),
        });
    }
    if content_type != "multipart/form-data" {
        return Err(unsupported(rid));
    }
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| bad(format!("malformed multipart body: {e}"), rid))?;
    match fields(&mut multipart, limit, rid).await {
        Ok(submission) => Ok(submission),
        Err(refusal) => {
            // Read what the client is still sending (within the route's body
            // limit) so it gets this answer rather than a reset connection.
            while let Ok(Some(mut field)) = multipart.next_field().await {
                while let Ok(Some(_)) = field.chunk().await {}
            }
            Err(refusal)
        }
    }
}

/// Reads the parts: the photo and the metadata fields.
async fn fields(
    multipart: &mut Multipart,
    limit: usize,
    rid: &RequestId,
) -> Result<Submission, Response> {
    let mut photo = None;
    let mut meta = SubmissionMeta::default();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(&e, limit, rid))?
    {
        let name = field.name().unwrap_or("").to_owned();
        if !seen.insert(name.clone()) {
            return Err(bad(format!("the field {name:?} appears twice"), rid));
        }
        if name == "photo" {
            let kind = field.content_type().map(media_type).unwrap_or_default();
            if !IMAGE_TYPES.contains(&kind.as_str()) {
                return Err(unsupported(rid));
            }
            photo = Some(read_field(&mut field, limit, rid, true).await?);
            continue;
        }
        if !["device_id", "external_reference", "location"].contains(&name.as_str()) {
            return Err(bad(
                format!("unknown field {name:?} (photo, device_id, external_reference, location)"),
                rid,
            ));
        }
        let bytes = read_field(&mut field, MAX_FIELD, rid, false).await?;
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| bad(format!("the field {name} is not UTF-8"), rid))?;
        match name.as_str() {
            "device_id" => meta.device_id = Some(device_id(&text).map_err(|m| bad(m, rid))?),
            "external_reference" => {
                meta.external_reference = Some(reference(&text).map_err(|m| bad(m, rid))?);
            }
            _ => meta.location = Some(location(&text).map_err(|m| bad(m, rid))?),
        }
    }
    let photo = photo.ok_or_else(|| bad("the multipart body has no `photo` part", rid))?;
    Ok(Submission { photo, meta })
}

/// A body past the route's limit is 413; anything else malformed, 400.
fn multipart_error(
    e: &axum::extract::multipart::MultipartError,
    limit: usize,
    rid: &RequestId,
) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(limit, rid)
    } else {
        bad(format!("malformed multipart body: {}", e.body_text()), rid)
    }
}

async fn read_limited(body: Body, limit: usize, rid: &RequestId) -> Result<Bytes, Response> {
    match Limited::new(body, limit).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(limit, rid)),
        Err(_) => Err(error(
            StatusCode::BAD_REQUEST,
            "bad_body",
            "the request body could not be read",
            rid,
        )),
    }
}

async fn read_field(
    field: &mut axum::extract::multipart::Field<'_>,
    limit: usize,
    rid: &RequestId,
    is_photo: bool,
) -> Result<Bytes, Response> {
    let mut out = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| multipart_error(&e, limit, rid))?
    {
        if out.len() + chunk.len() > limit {
            return Err(if is_photo {
                too_large(limit, rid)
            } else {
                bad(format!("a metadata field has at most {limit} bytes"), rid)
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

fn device_id(text: &str) -> Result<String, String> {
    let ok = (1..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    ok.then(|| text.to_owned())
        .ok_or_else(|| "device_id is 1-128 of A-Z a-z 0-9 . _ : -".to_owned())
}

fn reference(text: &str) -> Result<String, String> {
    let ok = (1..=256).contains(&text.chars().count()) && !text.chars().any(char::is_control);
    ok.then(|| text.to_owned()).ok_or_else(|| {
        "external_reference is 1-256 characters, none of them control characters".to_owned()
    })
}

fn location(text: &str) -> Result<Location, String> {
    let why =
        || "location is `latitude,longitude` in decimal degrees, e.g. 52.52,13.405".to_owned();
    let (lat, lon) = text.split_once(',').ok_or_else(why)?;
    let latitude: f64 = lat.trim().parse().map_err(|_| why())?;
    let longitude: f64 = lon.trim().parse().map_err(|_| why())?;
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        return Err(why());
    }
    Ok(Location {
        latitude,
        longitude,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_fields_are_checked() {
        assert!(device_id("cam-7:line_3.A").is_ok());
        assert!(device_id("").is_err());
        assert!(device_id("cam 7").is_err());
        assert!(device_id(&"a".repeat(129)).is_err());
        assert!(reference("order #4711 — Zürich").is_ok());
        assert!(reference("a\nb").is_err());
        assert_eq!(
            location(" 52.52, 13.405"),
            Ok(Location {
                latitude: 52.52,
                longitude: 13.405
            })
        );
        for bad in ["91,0", "0,181", "NaN,0", "52.52", "a,b", "inf,0"] {
            assert!(location(bad).is_err(), "{bad}");
        }
    }
}
