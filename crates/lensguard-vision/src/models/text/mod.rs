//! Printed-text detection with PP-OCRv4's detector (the model RapidOCR ships).
//!
//! Pre-processing follows RapidOCR: BGR planes, `(v / 255 - 0.5) / 0.5`, sides
//! padded to multiples of 32. The network answers with a DB (differentiable
//! binarisation) probability map at input resolution, which [`db`] turns into
//! rotated text lines.

pub mod db;
pub mod verify;

use super::runtime::Network;
use super::{Detection, PP_OCR_V4_DET, RgbFrame, prep};
use crate::Error;
use crate::geometry::Quad;

/// A printed text line in a frame's pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextLine {
    /// Its rotated rectangle (may reach past the frame's edges).
    pub quad: Quad,
    /// Mean map probability inside its core, 0 to 1.
    pub score: f32,
}

impl TextLine {
    /// Its axis-aligned bounds, clipped to a `width` x `height` frame; `None`
    /// when nothing of it is inside.
    pub fn bounds_within(&self, width: u32, height: u32) -> Option<Detection> {
        let (x0, y0, x1, y1) = self.quad.bounds();
        let (x0, y0) = (x0.max(0.0), y0.max(0.0));
        let (x1, y1) = (x1.min(width as f32), y1.min(height as f32));
        (x1 > x0 && y1 > y0).then_some(Detection {
            x: x0,
            y: y0,
            width: x1 - x0,
            height: y1 - y0,
            score: self.score,
        })
    }
}

/// A loaded PP-OCRv4 text detector.
#[derive(Debug)]
pub struct TextDetector {
    net: Network,
    verifier: Option<verify::Verifier>,
}

impl TextDetector {
    /// Loads the model from its bytes, which must match [`PP_OCR_V4_DET`].
    pub fn load(bytes: &[u8]) -> Result<TextDetector, Error> {
        Self::load_on(bytes, &super::runtime::Backend::Tract)
    }

    /// Loads the model on `backend`.
    pub fn load_on(bytes: &[u8], backend: &super::runtime::Backend) -> Result<TextDetector, Error> {
        let detector = TextDetector {
            net: Network::load_on(PP_OCR_V4_DET, bytes, backend)?,
            verifier: None,
        };
        // Outputs of an unexpected shape are refused now, by name.
        let blank = RgbFrame::new(32, 32, vec![0; 32 * 32 * 3])
            .ok_or_else(|| detector.net.invalid("probe frame"))?;
        detector.probability_map(&blank, 32)?;
        Ok(detector)
    }

    /// Adds line verification with PP-OCRv4's recogniser, whose bytes must
    /// match [`super::PP_OCR_V4_REC`] (see [`verify`]). Without it every detected
    /// line is hidden.
    pub fn verify_with(
        &mut self,
        bytes: &[u8],
        backend: &super::runtime::Backend,
    ) -> Result<(), Error> {
        self.verifier = Some(verify::Verifier::load_on(bytes, backend)?);
        Ok(())
    }

    /// Whether detected lines are verified.
    pub fn verifies(&self) -> bool {
        self.verifier.is_some()
    }

    /// The runtime it runs on (`tract` or `onnxruntime`).
    pub fn runtime(&self) -> &'static str {
        self.net.runtime()
    }

    /// The models and runtimes, as a report records them: the detector,
    /// then the verifier if there is one.
    pub fn model_runs(&self) -> Vec<lensguard_core::report::ModelRun> {
        std::iter::once(&self.net)
            .chain(self.verifier.as_ref().map(verify::Verifier::network))
            .map(Network::model_run)
            .collect()
    }

    /// Text regions in `frame` as axis-aligned boxes (see [`Self::lines`]).
    pub fn detect(
        &self,
        frame: &RgbFrame,
        scale: u32,
        threshold: f32,
    ) -> Result<Vec<Detection>, Error> {
        Ok(self
            .lines(frame, scale, threshold)?
            .iter()
            .filter_map(|l| l.bounds_within(frame.width(), frame.height()))
            .collect())
    }

    /// Text lines in `frame`, detected with its long side scaled to `scale`
    /// pixels, keeping lines whose mean probability reaches `threshold`
    /// (RapidOCR's `box_thresh`, 0.5).
    pub fn lines(
        &self,
        frame: &RgbFrame,
        scale: u32,
        threshold: f32,
    ) -> Result<Vec<TextLine>, Error> {
        let map = self.probability_map(frame, scale)?;
        Ok(db::lines(&map.data, map.width, map.height, threshold)
            .into_iter()
            .map(|l| TextLine {
                quad: l.quad.scaled(map.back),
                score: l.score,
            })
            .filter(|l| self.reads_as_text(frame, l))
            .collect())
    }

    /// How sure the verifier is that `quad` of `frame` holds characters
    /// (see [`verify::confidence`]); `None` without a verifier or when it
    /// could not run.
    pub fn line_confidence(&self, frame: &RgbFrame, quad: &Quad) -> Option<f32> {
        verify::confidence(self.verifier.as_ref()?, frame, quad)
    }

    /// Whether the verifier (if any) reads `line` as characters; a line is
    /// kept when there is no verifier or it could not run.
    fn reads_as_text(&self, frame: &RgbFrame, line: &TextLine) -> bool {
        self.line_confidence(frame, &line.quad)
            .is_none_or(|c| c >= verify::MIN_CONFIDENCE)
    }

    /// The network's probability map for `frame` at `scale`, cut to the
    /// scaled frame (the padding dropped).
    pub fn probability_map(&self, frame: &RgbFrame, scale: u32) -> Result<ProbabilityMap, Error> {
        let scaled = prep::scale_to(frame, scale).ok_or_else(|| self.net.invalid("resize"))?;
        let input = prep::to_nchw(&scaled, 32, [2, 1, 0], |_, v| {
            (f32::from(v) / 255.0 - 0.5) / 0.5
        });
        let (ph, pw) = (input.height, input.width);
        let outputs = self.net.run(input)?;
        let map = match outputs.first() {
            Some(o) if o.shape == [1, 1, ph, pw] && o.data.len() == ph * pw => o,
            Some(o) => {
                return Err(self
                    .net
                    .invalid(format!("unexpected output shape {:?}", o.shape)));
            }
            None => return Err(self.net.invalid("no output")),
        };
        let (w, h) = (scaled.width, scaled.height);
        let data = map
            .data
            .chunks_exact(pw)
            .take(h)
            .flat_map(|row| &row[..w])
            .copied()
            .collect();
        Ok(ProbabilityMap {
            data,
            width: w,
            height: h,
            back: scaled.back,
        })
    }
}

/// A text probability map over a scaled frame.
#[derive(Debug, Clone)]
pub struct ProbabilityMap {
    /// Probabilities, row by row.
    pub data: Vec<f32>,
    /// Width.
    pub width: usize,
    /// Height.
    pub height: usize,
    /// Multiply a map coordinate by this to get the frame's.
    pub back: f32,
}
