//! Line verification: PP-OCRv4's recogniser asked whether a detected line
//! reads as characters at all, so text-like patterns (rows of stars, brick,
//! tile grids) are not painted over.
//!
//! Only a confidence comes out: the recogniser's characters are never
//! decoded into text, kept or reported (lensguard hides labels, it does not
//! read them). The confidence is the reference's (greedy CTC over the
//! recogniser's steps, the mean of the winning probabilities of the steps that
//! emit a character) with one change: only letters and digits count. The
//! recogniser's alphabet (read from the model file's `character` metadata)
//! includes symbols such as `★`, `#` and `*`, and a row of flag stars reads
//! as `★★★` with confidence 0.86; symbols and spaces are skipped, and a line
//! with fewer than [`MIN_CHARACTERS`] letters or digits has confidence 0.
//!
//! Fail safe: verification can only remove a detection, so a line is kept when
//! the recogniser errs, and a crop that reads badly upright is read again
//! turned half round (a label photographed upside down) before it is dropped.
//! Without a verifier every detected line is hidden.

use super::super::runtime::{Backend, NchwInput, Network};
use super::super::{ModelCard, PP_OCR_V4_REC};
use crate::geometry::Quad;
use crate::{Error, RgbFrame};
use tract_onnx::prelude::Framework;

/// The recogniser, and which of its classes are letters or digits.
#[derive(Debug)]
pub struct Verifier {
    net: Network,
    letters: Vec<bool>,
}

impl Verifier {
    /// Loads the recogniser on `backend`; its bytes must match
    /// [`PP_OCR_V4_REC`] and carry its alphabet.
    pub fn load_on(bytes: &[u8], backend: &Backend) -> Result<Verifier, Error> {
        let net = Network::load_on(PP_OCR_V4_REC, bytes, backend)?;
        let letters = letter_classes(&PP_OCR_V4_REC, bytes)?;
        // Outputs that are not one probability per class of the alphabet
        // are refused now, by name, not on the first line.
        let out = net.run(NchwInput::zeros(3, HEIGHT, MIN_WIDTH))?;
        match out.first().map(|o| &o.shape[..]) {
            Some(&[1, steps, classes]) if steps > 0 && classes == letters.len() => {}
            other => {
                return Err(net.invalid(format!(
                    "output shape {other:?}, expected [1, steps, {}] (the alphabet and its blank and space)",
                    letters.len()
                )));
            }
        }
        Ok(Verifier { net, letters })
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.net
    }
}

/// Class `i` is a letter or digit: class 0 is CTC's blank, classes 1..=n the
/// alphabet's lines in order, and the last one the space.
fn letter_classes(card: &ModelCard, bytes: &[u8]) -> Result<Vec<bool>, Error> {
    let invalid = |reason: String| Error::ModelInvalid {
        model: card.name,
        reason,
    };
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut std::io::Cursor::new(bytes))
        .map_err(|e| invalid(e.to_string()))?;
    let alphabet = proto
        .metadata_props
        .iter()
        .find(|p| p.key == "character")
        .ok_or_else(|| invalid("no `character` metadata (the alphabet)".to_owned()))?;
    let mut letters = vec![false];
    letters.extend(
        alphabet
            .value
            .lines()
            .map(|c| !c.is_empty() && c.chars().all(char::is_alphanumeric)),
    );
    letters.push(false);
    Ok(letters)
}

/// The recogniser's input height.
const HEIGHT: usize = 48;
/// Narrowest input (the reference pads every line to 320).
const MIN_WIDTH: usize = 320;
/// Widest input; a longer line is squeezed to fit.
const MAX_WIDTH: usize = 1280;
/// Least confidence for a line to count as text (RapidOCR's `text_score`).
pub const MIN_CONFIDENCE: f32 = 0.5;
/// Fewest letters or digits a line must read as: one lone glyph is what a
/// single star or a tile corner reads as, and identifies nobody.
pub const MIN_CHARACTERS: usize = 2;

/// How sure the recogniser is that `quad` of `frame` holds letters or
/// digits; `None` when it could not run.
///
/// A long line is read first by its start alone (the first [`MIN_WIDTH`]
/// columns of its crop, the recogniser's smallest input, a fraction of the
/// cost of the whole line): when that already reads as text, the line is
/// text. Otherwise the whole line is read upright, then turned half round,
/// and the better confidence counts. Reading the start first can only add
/// lines to those the whole-line reading accepts, never drop one, so it
/// hides as much as before or more.
pub fn confidence(rec: &Verifier, frame: &RgbFrame, quad: &Quad) -> Option<f32> {
    let start = read(rec, frame, quad, false, MIN_WIDTH)?;
    if start >= MIN_CONFIDENCE {
        return Some(start);
    }
    let upright = if crop_width(quad) > MIN_WIDTH {
        read(rec, frame, quad, false, MAX_WIDTH)?
    } else {
        start
    };
    if upright >= MIN_CONFIDENCE {
        return Some(upright);
    }
    Some(upright.max(read(rec, frame, quad, true, MAX_WIDTH)?))
}

/// Reads the first `columns` columns (at most) of the line's crop.
fn read(
    rec: &Verifier,
    frame: &RgbFrame,
    quad: &Quad,
    turned: bool,
    columns: usize,
) -> Option<f32> {
    let input = crop(frame, quad, turned, columns)?;
    let out = rec.net.run(input).ok()?;
    let probs = out.first()?;
    let [1, steps, classes] = probs.shape[..] else {
        return None;
    };
    if classes != rec.letters.len() || probs.data.len() != steps * classes {
        return None;
    }
    Some(ctc_confidence(&probs.data, &rec.letters))
}

/// Greedy CTC confidence over `steps x letters.len()` probabilities (class 0
/// is the blank), counting only the classes `letters` marks.
pub fn ctc_confidence(probs: &[f32], letters: &[bool]) -> f32 {
    let (mut sum, mut n, mut last) = (0.0f32, 0usize, 0usize);
    for step in probs.chunks_exact(letters.len().max(1)) {
        let (best, p) =
            step.iter().enumerate().fold(
                (0, f32::NEG_INFINITY),
                |b, (i, &p)| if p > b.1 { (i, p) } else { b },
            );
        if best != last && letters.get(best).copied().unwrap_or(false) && p.is_finite() {
            sum += p;
            n += 1;
        }
        last = best;
    }
    if n < MIN_CHARACTERS {
        0.0
    } else {
        sum / n as f32
    }
}

/// Columns of a line's crop: 48 pixels high, as wide as its sides' ratio
/// makes it, at most [`MAX_WIDTH`].
fn crop_width(quad: &Quad) -> usize {
    let (long, short) = (quad.long_side(), quad.short_side());
    if !(short >= 1.0 && long.is_finite()) {
        return 0;
    }
    ((HEIGHT as f32 * long / short).ceil() as usize).clamp(1, MAX_WIDTH)
}

/// The line cut out of `frame` along its long side, 48 pixels high, as the
/// recogniser takes it: BGR, `(v / 255 - 0.5) / 0.5`, its first `columns`
/// columns at most, zero-padded on the right to at least 320 and to a
/// multiple of 32.
fn crop(frame: &RgbFrame, quad: &Quad, turned: bool, columns: usize) -> Option<NchwInput> {
    let (long, short) = (quad.long_side(), quad.short_side());
    if !(short >= 1.0 && long.is_finite()) {
        return None;
    }
    let [p0, p1, _, p3] = quad.corners;
    // The long side's direction, pointing right (or down when upright).
    let mut u = if quad.side_a() >= quad.side_b() {
        unit(p0, p1)
    } else {
        unit(p0, p3)
    };
    if u.0 < 0.0 || (u.0 == 0.0 && u.1 < 0.0) {
        u = (-u.0, -u.1);
    }
    // Down the page from the top of the line: u turned a quarter clockwise.
    let mut v = (-u.1, u.0);
    if turned {
        (u, v) = ((-u.0, -u.1), (-v.0, -v.1));
    }
    let c = quad.centre();
    let origin = (
        c.0 - u.0 * long / 2.0 - v.0 * short / 2.0,
        c.1 - u.1 * long / 2.0 - v.1 * short / 2.0,
    );
    let width = crop_width(quad);
    let kept = width.min(columns.max(1));
    let padded = kept.max(MIN_WIDTH).next_multiple_of(32);
    let mut input = NchwInput::zeros(3, HEIGHT, padded);
    let plane = HEIGHT * padded;
    for j in 0..HEIGHT {
        let t = (j as f32 + 0.5) / HEIGHT as f32 * short;
        for i in 0..kept {
            let s = (i as f32 + 0.5) / width as f32 * long;
            let (x, y) = (origin.0 + s * u.0 + t * v.0, origin.1 + s * u.1 + t * v.1);
            let rgb = sample(frame, x, y);
            for (plane_index, channel) in [2usize, 1, 0].into_iter().enumerate() {
                input.data[plane_index * plane + j * padded + i] =
                    (rgb[channel] / 255.0 - 0.5) / 0.5;
            }
        }
    }
    Some(input)
}

fn unit(a: (f32, f32), b: (f32, f32)) -> (f32, f32) {
    let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
    if len > 0.0 {
        ((b.0 - a.0) / len, (b.1 - a.1) / len)
    } else {
        (1.0, 0.0)
    }
}

/// Bilinear sample at `(x, y)`, the edges replicated outwards.
fn sample(frame: &RgbFrame, x: f32, y: f32) -> [f32; 3] {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let px = frame.pixels();
    let fx = (x - 0.5).clamp(0.0, (w - 1) as f32);
    let fy = (y - 0.5).clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (ax, ay) = (fx - x0 as f32, fy - y0 as f32);
    let at = |x: usize, y: usize, c: usize| f32::from(px[(y * w + x) * 3 + c]);
    [0, 1, 2].map(|c| {
        let top = at(x0, y0, c) * (1.0 - ax) + at(x1, y0, c) * ax;
        let bottom = at(x0, y1, c) * (1.0 - ax) + at(x1, y1, c) * ax;
        top * (1.0 - ay) + bottom * ay
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctc_confidence_is_the_mean_over_emitted_characters() {
        // Steps: blank, 'a' 0.9, 'a' again (a repeat, not emitted), blank, 'b' 0.7.
        let p = [
            [0.9, 0.05, 0.05],
            [0.05, 0.9, 0.05],
            [0.1, 0.8, 0.1],
            [0.8, 0.1, 0.1],
            [0.2, 0.1, 0.7],
        ];
        let flat: Vec<f32> = p.iter().flatten().copied().collect();
        assert!((ctc_confidence(&flat, &[false, true, true]) - 0.8).abs() < 1e-6);
        // Class 2 a symbol: only 'a' counts, and one glyph is not a line.
        assert_eq!(ctc_confidence(&flat, &[false, true, false]), 0.0);
        // 'a', blank, 'a': two characters.
        let twice = [0.1, 0.9, 0.9, 0.1, 0.3, 0.7];
        assert!((ctc_confidence(&twice, &[false, true]) - 0.8).abs() < 1e-6);
        assert_eq!(
            ctc_confidence(&flat, &[false, false, false]),
            0.0,
            "symbols only"
        );
        assert_eq!(
            ctc_confidence(&[0.9, 0.1, 0.8, 0.2], &[false, true]),
            0.0,
            "all blank"
        );
        assert_eq!(ctc_confidence(&[], &[false, true, true]), 0.0);
        assert_eq!(ctc_confidence(&[f32::NAN; 6], &[false, true, true]), 0.0);
    }

    #[test]
    fn a_line_read_by_its_start_is_the_first_columns_of_the_whole_crop() {
        // A 400 x 20 line on a gradient: its crop is 48 x 960.
        let (w, h) = (420u32, 40u32);
        let pixels = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                [(x % 251) as u8, (y * 5) as u8, ((x + y) % 97) as u8]
            })
            .collect();
        let frame = RgbFrame::new(w, h, pixels).expect("frame");
        let quad = Quad {
            corners: [(10.0, 10.0), (410.0, 10.0), (410.0, 30.0), (10.0, 30.0)],
        };
        assert_eq!(crop_width(&quad), 960);
        let whole = crop(&frame, &quad, false, MAX_WIDTH).expect("whole");
        let start = crop(&frame, &quad, false, MIN_WIDTH).expect("start");
        assert_eq!((whole.width, start.width), (960, MIN_WIDTH));
        for c in 0..3 {
            for y in 0..HEIGHT {
                let row = |input: &NchwInput| {
                    let at = (c * HEIGHT + y) * input.width;
                    input.data[at..at + MIN_WIDTH].to_vec()
                };
                assert_eq!(row(&whole), row(&start), "plane {c}, row {y}");
            }
        }
        // A short line's start is the whole line, padded to the minimum.
        let short = Quad {
            corners: [(10.0, 10.0), (60.0, 10.0), (60.0, 30.0), (10.0, 30.0)],
        };
        assert_eq!(crop_width(&short), 120);
        let a = crop(&frame, &short, false, MIN_WIDTH).expect("start");
        let b = crop(&frame, &short, false, MAX_WIDTH).expect("whole");
        assert_eq!(a.data, b.data);
    }
}
