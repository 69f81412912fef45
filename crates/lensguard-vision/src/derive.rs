//! Bytes in, findings and a redacted derivative out: the one pipeline the CLI
//! (`lensguard redact`) and the service share.
//!
//! Fail closed: a derivative is made only when every detector the policy's
//! `[redaction] categories` name is loaded and ran within the deadline; any
//! other outcome is [`Derivative::Withheld`] with the reason, and no pixels
//! come out. The only pixels that do come out are a [`RedactedJpeg`].

use crate::decode::{DecodedRgb, JpegHeader, decode_rgb, decode_rgb_scaled};
use crate::models::{Detection, FaceDetector, TextDetector, nms, tiles};
use crate::redact::{Rect, RedactedJpeg, redact};
use crate::{Error, RgbFrame};
use lensguard_core::Limits;
use lensguard_core::policy::{Expect, PixelCategory, Policy, RedactStyle, Tiling};
use lensguard_core::report::{Detections, ImageFormat, ReasonCode, RedactionMethod, Region};
use lensguard_core::rules::Unavailable;
use std::time::Instant;

/// The detectors, each loaded or with the reason it is not.
#[derive(Debug)]
pub struct Detectors {
    /// CenterFace.
    pub faces: Result<FaceDetector, Error>,
    /// PP-OCRv4 detection.
    pub text: Result<TextDetector, Error>,
}

/// One detector's answer: `None` when the policy did not need it (neither
/// hidden nor checked), else the regions or why there are none.
pub type Answer = Option<Result<Vec<Region>, Unavailable>>;

/// What the detectors found on one photo.
#[derive(Debug, Clone, PartialEq)]
pub struct Findings {
    /// Faces.
    pub faces: Answer,
    /// Text regions.
    pub text: Answer,
    /// Face detection scale used.
    pub scale: u32,
    /// Text detection scale used, when text detection ran.
    pub text_scale: Option<u32>,
    /// Tiles searched besides the whole photo.
    pub tiles: u32,
    /// The models that answered, with their runtimes.
    pub models: Vec<lensguard_core::report::ModelRun>,
}

impl Findings {
    /// These findings, made on a frame of `from` pixels, in the coordinates
    /// of the same photo at `to` pixels (each box grown outwards to whole
    /// pixels).
    pub fn scaled_to(self, from: (u32, u32), to: (u32, u32)) -> Findings {
        if from == to || from.0 == 0 || from.1 == 0 {
            return self;
        }
        let (fx, fy) = (to.0 as f32 / from.0 as f32, to.1 as f32 / from.1 as f32);
        let scale = |r: Region| {
            let x0 = (r.x as f32 * fx).floor();
            let y0 = (r.y as f32 * fy).floor();
            let x1 = ((r.x + r.width) as f32 * fx).ceil().min(to.0 as f32);
            let y1 = ((r.y + r.height) as f32 * fy).ceil().min(to.1 as f32);
            Region {
                x: x0 as u32,
                y: y0 as u32,
                width: (x1 - x0).max(0.0) as u32,
                height: (y1 - y0).max(0.0) as u32,
                score: r.score,
            }
        };
        let all = |a: Answer| a.map(|r| r.map(|v| v.into_iter().map(scale).collect()));
        Findings {
            faces: all(self.faces),
            text: all(self.text),
            ..self
        }
    }

    /// The regions found, for the report (a detector that did not run or
    /// answer is absent).
    pub fn detections(&self) -> Detections {
        Detections {
            faces: self.faces.clone().and_then(Result::ok),
            text: self.text.clone().and_then(Result::ok),
            scale: self.scale,
            text_scale: self.text_scale,
            tiles: self.tiles,
            models: self.models.clone(),
        }
    }
}

/// The longer side of a thumbnail, at most.
pub const THUMBNAIL_SIDE: u32 = 320;

/// The derivative, or why there is none.
#[derive(Debug)]
pub enum Derivative {
    /// Faces and text hidden, no metadata.
    Redacted {
        /// The JPEG.
        jpeg: RedactedJpeg,
        /// A thumbnail of it (longer side at most [`THUMBNAIL_SIDE`]).
        thumbnail: RedactedJpeg,
        /// Faces hidden.
        faces: usize,
        /// Text regions hidden.
        text: usize,
        /// In the JPEG's coefficients or in pixels.
        method: RedactionMethod,
    },
    /// No pixels may leave.
    Withheld {
        /// Why.
        code: ReasonCode,
        /// Detail.
        message: String,
    },
}

/// One photo through decode, detection and redaction.
#[derive(Debug)]
pub struct Derived {
    /// Full-size upright width.
    pub width: u32,
    /// Full-size upright height.
    pub height: u32,
    /// What was found.
    pub findings: Findings,
    /// The derivative, or why there is none.
    pub derivative: Derivative,
}

/// Decodes `bytes` within `limits`, runs the detectors as `policy` says and,
/// when every needed detector answered in time, redacts and encodes. Errors
/// only when the photo cannot be decoded.
///
/// An upright JPEG (no EXIF rotation) is decoded only at the DCT scale the
/// detectors need ([`decode_denominator`]) and redacted in its DCT
/// coefficients ([`crate::redact::dct`]); a PNG, a WebP, a rotated JPEG, or a
/// JPEG the coefficient path cannot transcode is decoded whole and redacted in
/// pixels.
pub fn derive(
    bytes: &[u8],
    limits: &Limits,
    detectors: &Detectors,
    policy: &Policy,
) -> Result<Derived, Error> {
    let decoded = decode_rgb_scaled(bytes, limits, |h| decode_denominator(policy, h))?;
    derive_decoded(bytes, decoded, limits, detectors, policy)
}

/// [`derive`] for `bytes` already decoded (by [`decode_rgb_scaled`] or
/// [`crate::decode::decode_photo`], at [`decode_denominator`] or finer).
/// Errors only when the coefficient path fails and the whole decode it falls
/// back on fails too.
pub fn derive_decoded(
    bytes: &[u8],
    decoded: DecodedRgb,
    limits: &Limits,
    detectors: &Detectors,
    policy: &Policy,
) -> Result<Derived, Error> {
    let in_place = decoded.format == ImageFormat::Jpeg && decoded.orientation == 1;
    if !in_place && decoded.scale == 1 {
        return Ok(derive_frame(decoded.frame, detectors, policy));
    }
    let (width, height) = (decoded.width, decoded.height);
    let findings = find(&decoded.frame, detectors, policy, Instant::now()).scaled_to(
        (decoded.frame.width(), decoded.frame.height()),
        (width, height),
    );
    let coefficients = if in_place {
        redact_jpeg_found(bytes, &findings, policy, limits, (width, height))
    } else {
        Err(Error::UnsupportedFormat(
            "only an upright JPEG is redacted in its coefficients".to_owned(),
        ))
    };
    let derivative = match coefficients {
        Ok(d) => d,
        // The coefficient path could not transcode this JPEG: decode it whole
        // and redact its pixels instead.
        Err(_) => {
            let frame = if decoded.scale == 1 {
                decoded.frame
            } else {
                decode_rgb(bytes, limits)?.frame
            };
            redact_found(frame, &findings, policy)
        }
    };
    Ok(Derived {
        width,
        height,
        findings,
        derivative,
    })
}

/// The JPEG DCT scale denominator to decode a photo with `header` at for
/// [`derive`]: [`detection_scale`] when it is upright (redaction then works on
/// its coefficients), else 1 (a rotated photo is redacted in pixels, whole).
pub fn decode_denominator(policy: &Policy, header: &JpegHeader) -> u8 {
    if header.orientation == 1 {
        detection_scale(policy, header.width.max(header.height))
    } else {
        1
    }
}

/// The JPEG DCT scale denominator (1, 2, 4 or 8) to decode a photo whose long
/// side is `long` at for detection: the smallest decode that keeps at least
/// the face detection scale (every pixel, when faces are searched in tiles)
/// and the text detection scale for the detectors `policy` needs.
pub fn detection_scale(policy: &Policy, long: u32) -> u8 {
    let mut side = 0;
    if needed(policy, PixelCategory::Faces) {
        side = match policy.detection.tiling {
            Tiling::Auto => long,
            Tiling::Off => policy.detection.scale,
        };
    }
    if needed(policy, PixelCategory::Text) {
        side = side.max(policy.text.scale);
    }
    [8u8, 4, 2]
        .into_iter()
        .find(|&d| long.div_ceil(u32::from(d)) >= side)
        .unwrap_or(1)
}

/// [`derive`] for a frame already decoded whole.
pub fn derive_frame(frame: RgbFrame, detectors: &Detectors, policy: &Policy) -> Derived {
    let started = Instant::now();
    let findings = find(&frame, detectors, policy, started);
    let (width, height) = (frame.width(), frame.height());
    let derivative = redact_found(frame, &findings, policy);
    Derived {
        width,
        height,
        findings,
        derivative,
    }
}

/// Runs the detectors on `frame` (whole, then tiles), within the deadline.
pub fn find(
    frame: &RgbFrame,
    detectors: &Detectors,
    policy: &Policy,
    started: Instant,
) -> Findings {
    let d = &policy.detection;
    let tiles = match d.tiling {
        Tiling::Off => Vec::new(),
        Tiling::Auto => tiles::tiles(frame.width(), frame.height(), d.scale, d.max_tiles_per_side),
    };
    let deadline = |e: Result<Vec<Detection>, Error>| -> Result<Vec<Detection>, Error> {
        let elapsed_ms = started.elapsed().as_millis() as u64;
        if elapsed_ms > d.deadline_ms {
            return Err(Error::DeadlineExceeded {
                elapsed_ms,
                deadline_ms: d.deadline_ms,
            });
        }
        e
    };
    let run = |detect: &dyn Fn(&RgbFrame) -> Result<Vec<Detection>, Error>, tiles: &[Rect]| {
        let mut all = deadline(detect(frame))?;
        for t in tiles {
            let Some(crop) = frame.crop(t.x, t.y, t.width, t.height) else {
                continue;
            };
            for mut found in deadline(detect(&crop))? {
                found.x += t.x as f32;
                found.y += t.y as f32;
                all.push(found);
            }
        }
        Ok(nms::suppress(all, 0.3))
    };
    let answer = |result: Result<Vec<Detection>, Error>| {
        Some(result.map(|v| regions(&v)).map_err(|e| unavailable(&e)))
    };
    let faces = match &detectors.faces {
        _ if !needed(policy, PixelCategory::Faces) => None,
        Ok(det) => answer(run(
            &|f| det.detect(f, d.scale, policy.faces.threshold),
            &tiles,
        )),
        Err(e) => answer(Err(e.clone())),
    };
    let text = match &detectors.text {
        _ if !needed(policy, PixelCategory::Text) => None,
        // Text is found in one pass at its own scale: tiles are for faces.
        Ok(det) => answer(run(
            &|f| det.detect(f, policy.text.scale, policy.text.threshold),
            &[],
        )),
        Err(e) => answer(Err(e.clone())),
    };
    let mut models = Vec::new();
    let ran = |a: &Answer| matches!(a, Some(Ok(_)));
    if let (true, Ok(det)) = (ran(&faces), &detectors.faces) {
        models.push(det.model_run());
    }
    if let (true, Ok(det)) = (ran(&text), &detectors.text) {
        models.extend(det.model_runs());
    }
    let text_scale = ran(&text).then_some(policy.text.scale);
    Findings {
        faces,
        text,
        scale: d.scale,
        text_scale,
        tiles: tiles.len() as u32,
        models,
    }
}

/// Whether the policy hides or checks `category`.
pub fn needed(policy: &Policy, category: PixelCategory) -> bool {
    let expect = match category {
        PixelCategory::Faces => policy.faces.expect,
        PixelCategory::Text => policy.text.expect,
    };
    policy.redaction.hides(category) || expect != Expect::Ignore
}

fn unavailable(e: &Error) -> Unavailable {
    Unavailable {
        code: e.reason_code(),
        message: e.to_string(),
    }
}

fn regions(found: &[Detection]) -> Vec<Region> {
    found
        .iter()
        .map(|d| Region {
            x: d.x.max(0.0) as u32,
            y: d.y.max(0.0) as u32,
            width: d.width.max(0.0).ceil() as u32,
            height: d.height.max(0.0).ceil() as u32,
            score: d.score,
        })
        .collect()
}

/// Hides what was found in `frame`, or says why it may not leave.
pub fn redact_found(frame: RgbFrame, findings: &Findings, policy: &Policy) -> Derivative {
    let r = &policy.redaction;
    let (hide, counts) = match to_hide(findings, policy, frame.width(), frame.height()) {
        Ok(h) => h,
        Err((code, message)) => return Derivative::Withheld { code, message },
    };
    let redacted = redact(frame, &hide);
    match redacted
        .encode_jpeg(r.jpeg_quality)
        .and_then(|jpeg| Ok((jpeg, redacted.thumbnail(THUMBNAIL_SIDE, 80)?)))
    {
        Ok((jpeg, thumbnail)) => Derivative::Redacted {
            jpeg,
            thumbnail,
            faces: counts[0],
            text: counts[1],
            method: RedactionMethod::Pixels,
        },
        Err(e) => Derivative::Withheld {
            code: e.reason_code(),
            message: e.to_string(),
        },
    }
}

/// Hides what was found in the upright JPEG `bytes` (`size` pixels) in its
/// DCT coefficients ([`crate::redact::dct`]), or says why it may not leave.
/// Errors when the coefficient path cannot transcode the JPEG, or when its
/// header says it is not upright or not `size` (the findings would then not
/// lie over what they name), so the caller can redact pixels instead.
pub fn redact_jpeg_found(
    bytes: &[u8],
    findings: &Findings,
    policy: &Policy,
    limits: &Limits,
    (width, height): (u32, u32),
) -> Result<Derivative, Error> {
    let (hide, counts) = match to_hide(findings, policy, width, height) {
        Ok(h) => h,
        Err((code, message)) => return Ok(Derivative::Withheld { code, message }),
    };
    let header = crate::decode::jpeg_header(bytes, limits)?;
    if header.orientation != 1 || (header.width, header.height) != (width, height) {
        return Err(Error::UnsupportedFormat(format!(
            "findings are for an upright {width}x{height} photo; the JPEG is {}x{} with orientation {}",
            header.width, header.height, header.orientation
        )));
    }
    let (jpeg, _) = crate::redact::dct::redact_jpeg(bytes, &hide)?;
    Ok(match jpeg.thumbnail(THUMBNAIL_SIDE, 80, limits) {
        Ok(thumbnail) => Derivative::Redacted {
            jpeg,
            thumbnail,
            faces: counts[0],
            text: counts[1],
            method: RedactionMethod::Coefficients,
        },
        Err(e) => Derivative::Withheld {
            code: e.reason_code(),
            message: e.to_string(),
        },
    })
}

/// What to hide: rectangles, each in its style, and how many faces and text
/// lines they are.
pub type Hiding = (Vec<(Rect, RedactStyle)>, [usize; 2]);

/// The rectangles to hide in a `width` x `height` frame, each in its
/// category's style, with how many faces and text lines they are; or why no
/// derivative may be made (a category the policy hides did not answer).
pub fn to_hide(
    findings: &Findings,
    policy: &Policy,
    width: u32,
    height: u32,
) -> Result<Hiding, (ReasonCode, String)> {
    let r = &policy.redaction;
    let mut hide = Vec::new();
    let mut counts = [0usize; 2];
    for (i, (category, found, style)) in [
        (PixelCategory::Faces, &findings.faces, r.faces),
        (PixelCategory::Text, &findings.text, r.text),
    ]
    .into_iter()
    .enumerate()
    {
        if !r.hides(category) {
            continue;
        }
        let found = match found {
            Some(Ok(found)) => found,
            None => {
                return Err((
                    ReasonCode::ModelUnavailable,
                    format!("{category:?} detection did not run"),
                ));
            }
            Some(Err(why)) => return Err((why.code, why.message.clone())),
        };
        for g in found {
            let b = (g.x as f32, g.y as f32, g.width as f32, g.height as f32);
            if let Some(rect) = hidden_rect(category, b, r.margin, width, height) {
                hide.push((rect, style));
                counts[i] += 1;
            }
        }
    }
    Ok((hide, counts))
}

/// What is hidden for a box `(x, y, width, height)` of `category`: a face
/// grows by `margin` of its size on every side, a text line by `margin` of
/// its height (its shorter side), so a long line is not widened by a fifth
/// of its length into what is around the label.
pub fn hidden_rect(
    category: PixelCategory,
    (x, y, w, h): (f32, f32, f32, f32),
    margin: f32,
    frame_width: u32,
    frame_height: u32,
) -> Option<Rect> {
    match category {
        PixelCategory::Faces => Rect::around((x, y, w, h), margin, frame_width, frame_height),
        PixelCategory::Text => {
            let m = margin * w.min(h);
            let grown = (x - m, y - m, w + 2.0 * m, h + 2.0 * m);
            Rect::around(grown, 0.0, frame_width, frame_height)
        }
    }
}
