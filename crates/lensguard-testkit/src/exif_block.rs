//! Minimal EXIF (TIFF) blocks for synthetic photos.

use exif::experimental::Writer;
use exif::{Context, Field, In, Rational, Tag, Value};
use std::io::Cursor;

/// Which EXIF fields a synthetic photo carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExifSpec {
    /// `DateTimeOriginal`, as EXIF writes it: `2026:11:22 09:30:00`.
    pub capture_time: Option<String>,
    /// `OffsetTimeOriginal`, e.g. `+01:00`.
    pub offset: Option<String>,
    /// Latitude and longitude in decimal degrees.
    pub gps: Option<(f64, f64)>,
    /// `Software`.
    pub software: Option<String>,
    /// `Orientation`, 1 to 8.
    pub orientation: Option<u16>,
    /// `Make`.
    pub make: Option<String>,
}

fn ascii(tag: Tag, s: &str) -> Field {
    Field {
        tag,
        ifd_num: In::PRIMARY,
        value: Value::Ascii(vec![s.as_bytes().to_vec()]),
    }
}

fn dms(value: f64) -> Value {
    let v = value.abs();
    let deg = v.trunc();
    let min = ((v - deg) * 60.0).trunc();
    let sec = ((v - deg) * 60.0 - min) * 60.0;
    Value::Rational(vec![
        Rational {
            num: deg as u32,
            denom: 1,
        },
        Rational {
            num: min as u32,
            denom: 1,
        },
        Rational {
            num: (sec * 10_000.0).round() as u32,
            denom: 10_000,
        },
    ])
}

/// The TIFF-structured EXIF block (without the `Exif\0\0` APP1 prefix).
pub fn build(spec: &ExifSpec) -> Vec<u8> {
    let mut fields = Vec::new();
    if let Some(o) = spec.orientation {
        fields.push(Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![o]),
        });
    }
    if let Some(s) = &spec.software {
        fields.push(ascii(Tag::Software, s));
    }
    if let Some(s) = &spec.make {
        fields.push(ascii(Tag::Make, s));
    }
    if let Some(t) = &spec.capture_time {
        fields.push(ascii(Tag::DateTimeOriginal, t));
    }
    if let Some(o) = &spec.offset {
        fields.push(ascii(Tag(Context::Exif, 0x9011), o));
    }
    if let Some((lat, lon)) = spec.gps {
        fields.push(ascii(
            Tag::GPSLatitudeRef,
            if lat < 0.0 { "S" } else { "N" },
        ));
        fields.push(Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: dms(lat),
        });
        fields.push(ascii(
            Tag::GPSLongitudeRef,
            if lon < 0.0 { "W" } else { "E" },
        ));
        fields.push(Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: dms(lon),
        });
    }
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut out = Cursor::new(Vec::new());
    // Writing well-formed fields into memory cannot fail.
    writer.write(&mut out, false).unwrap_or_default();
    out.into_inner()
}
