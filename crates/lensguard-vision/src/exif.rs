//! The EXIF fields lensguard uses, read from a raw TIFF block.
//!
//! Only a handful of tags are kept: orientation, capture time (with its offset),
//! GPS position, software, make and model. A block that does not parse yields
//! empty fields rather than an error: damaged EXIF is common in the wild and the
//! capture-time and GPS checks then report the fields as missing.

use exif::{Context, Field, In, Reader, Tag, Value};
use lensguard_core::geo::GeoPoint;
use lensguard_core::report::CaptureTime;

/// `OffsetTimeOriginal` (EXIF 2.31), not named by the exif crate.
const OFFSET_TIME_ORIGINAL: Tag = Tag(Context::Exif, 0x9011);

/// EXIF fields used by the checks. Empty when the photo has no (readable) EXIF.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExifInfo {
    /// Orientation tag, 1 to 8.
    pub orientation: Option<u16>,
    /// `DateTimeOriginal` (or `DateTimeDigitized`) with `OffsetTimeOriginal`.
    pub capture_time: Option<CaptureTime>,
    /// GPS latitude and longitude.
    pub gps: Option<GeoPoint>,
    /// `Software`.
    pub software: Option<String>,
    /// `Make` and `Model`, joined by a space.
    pub camera: Option<String>,
}

impl ExifInfo {
    /// Reads the fields from a raw TIFF-structured EXIF block.
    pub fn from_tiff(raw: Vec<u8>) -> ExifInfo {
        let Ok(exif) = Reader::new().read_raw(raw) else {
            return ExifInfo::default();
        };
        let field = |tag| exif.get_field(tag, In::PRIMARY);
        let orientation = field(Tag::Orientation)
            .and_then(|f| f.value.get_uint(0))
            .and_then(|o| u16::try_from(o).ok())
            .filter(|o| (1..=8).contains(o));
        let capture_time = field(Tag::DateTimeOriginal)
            .or_else(|| field(Tag::DateTimeDigitized))
            .and_then(|f| capture_time(f, field(OFFSET_TIME_ORIGINAL)));
        let gps = gps(
            field(Tag::GPSLatitude),
            field(Tag::GPSLatitudeRef),
            field(Tag::GPSLongitude),
            field(Tag::GPSLongitudeRef),
        );
        let software = field(Tag::Software).and_then(ascii);
        let camera = match (
            field(Tag::Make).and_then(ascii),
            field(Tag::Model).and_then(ascii),
        ) {
            (Some(make), Some(model)) if model.starts_with(&make) => Some(model),
            (Some(make), Some(model)) => Some(format!("{make} {model}")),
            (make, model) => make.or(model),
        };
        ExifInfo {
            orientation,
            capture_time,
            gps,
            software,
            camera,
        }
    }
}

/// The first ASCII value of a field, trimmed, at most 128 characters.
fn ascii(f: &Field) -> Option<String> {
    let Value::Ascii(values) = &f.value else {
        return None;
    };
    let text = String::from_utf8_lossy(values.first()?);
    let text: String = text
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .chars()
        .filter(|c| !c.is_control())
        .take(128)
        .collect();
    (!text.is_empty()).then_some(text)
}

fn capture_time(f: &Field, offset: Option<&Field>) -> Option<CaptureTime> {
    let Value::Ascii(values) = &f.value else {
        return None;
    };
    let mut dt = exif::DateTime::from_ascii(values.first()?).ok()?;
    if let Some(Value::Ascii(o)) = offset.map(|o| &o.value)
        && let Some(o) = o.first()
    {
        // A malformed offset leaves the time without one.
        let _ = dt.parse_offset(o);
    }
    let month = time::Month::try_from(dt.month).ok()?;
    let date = time::Date::from_calendar_date(i32::from(dt.year), month, dt.day).ok()?;
    let clock = time::Time::from_hms(dt.hour, dt.minute, dt.second).ok()?;
    let offset = dt
        .offset
        .and_then(|m| time::UtcOffset::from_whole_seconds(i32::from(m) * 60).ok());
    Some(CaptureTime {
        local: time::PrimitiveDateTime::new(date, clock),
        offset,
    })
}

fn gps(
    lat: Option<&Field>,
    lat_ref: Option<&Field>,
    lon: Option<&Field>,
    lon_ref: Option<&Field>,
) -> Option<GeoPoint> {
    let degrees = |f: &Field| -> Option<f64> {
        let Value::Rational(parts) = &f.value else {
            return None;
        };
        let part = |i: usize| parts.get(i).map(|r| r.to_f64()).filter(|v| v.is_finite());
        Some(part(0)? + part(1).unwrap_or(0.0) / 60.0 + part(2).unwrap_or(0.0) / 3600.0)
    };
    let sign = |f: Option<&Field>, negative: &str| -> f64 {
        match f.and_then(ascii) {
            Some(r) if r.eq_ignore_ascii_case(negative) => -1.0,
            _ => 1.0,
        }
    };
    let point = GeoPoint {
        lat: degrees(lat?)? * sign(lat_ref, "S"),
        lon: degrees(lon?)? * sign(lon_ref, "W"),
    };
    point.is_valid().then_some(point)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_exif_yields_no_fields() {
        assert_eq!(
            ExifInfo::from_tiff(b"not tiff at all".to_vec()),
            ExifInfo::default()
        );
        assert_eq!(ExifInfo::from_tiff(Vec::new()), ExifInfo::default());
    }
}
