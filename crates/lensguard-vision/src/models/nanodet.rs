//! People and vehicles with NanoDet (COCO, 416x416), the object detector
//! cameras use.
//!
//! The frame is scaled so its long side is 416 and padded right and bottom to
//! 416x416 with the mean colour (zero after normalisation), so boxes map back
//! with one factor. Input `input_1`: BGR, `(v - mean) / std` with NanoDet's
//! ImageNet statistics, NCHW. Outputs, per stride 8, 16 and 32 (52x52, 26x26
//! and 13x13 cells): class scores `[1, cells, 80]` (sigmoid already applied)
//! and box distributions `[1, cells, 44]`, four sides of 11 bins each (GFL:
//! a side's distance is the softmax-weighted mean bin, times the stride, from
//! the cell's centre). Only the classes in [`ObjectClass`] are kept; each
//! cell keeps its best such class above the threshold; boxes of one class
//! that overlap by IoU over 0.5 are suppressed.

use super::runtime::{Network, Output};
use super::{Detection, NANODET, RgbFrame, nms, prep};
use crate::Error;

/// The network's input side.
pub const INPUT_SIDE: u32 = 416;
const STRIDES: [usize; 3] = [8, 16, 32];
const BINS: usize = 11;
const CLASSES: usize = 80;
const MEAN_BGR: [f32; 3] = [103.53, 116.28, 123.675];
const STD_BGR: [f32; 3] = [57.375, 57.12, 58.395];

/// What the object detector reports: people and road vehicles (COCO's
/// indices in brackets). Everything else COCO knows is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectClass {
    /// A person (0).
    Person,
    /// A bicycle (1).
    Bicycle,
    /// A car (2).
    Car,
    /// A motorcycle (3).
    Motorcycle,
    /// A bus (5).
    Bus,
    /// A truck (7).
    Truck,
}

impl ObjectClass {
    /// The class for a COCO index, if it is one lensguard reports.
    pub fn from_coco(index: usize) -> Option<ObjectClass> {
        Some(match index {
            0 => ObjectClass::Person,
            1 => ObjectClass::Bicycle,
            2 => ObjectClass::Car,
            3 => ObjectClass::Motorcycle,
            5 => ObjectClass::Bus,
            7 => ObjectClass::Truck,
            _ => return None,
        })
    }

    /// Its label, as events and the API name it.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectClass::Person => "person",
            ObjectClass::Bicycle => "bicycle",
            ObjectClass::Car => "car",
            ObjectClass::Motorcycle => "motorcycle",
            ObjectClass::Bus => "bus",
            ObjectClass::Truck => "truck",
        }
    }

    const COCO: [usize; 6] = [0, 1, 2, 3, 5, 7];

    /// Every class, in COCO order.
    pub const ALL: [ObjectClass; 6] = [
        ObjectClass::Person,
        ObjectClass::Bicycle,
        ObjectClass::Car,
        ObjectClass::Motorcycle,
        ObjectClass::Bus,
        ObjectClass::Truck,
    ];
}

/// A detected object: its class and box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Object {
    /// What it is.
    pub class: ObjectClass,
    /// Where, in the frame's pixels, and how sure.
    pub detection: Detection,
}

/// A loaded NanoDet model.
#[derive(Debug)]
pub struct ObjectDetector {
    net: Network,
}

impl ObjectDetector {
    /// Loads the model on `backend` from its bytes, which must match
    /// [`NANODET`]; a file whose outputs are not NanoDet's is refused now.
    pub fn load_on(
        bytes: &[u8],
        backend: &super::runtime::Backend,
    ) -> Result<ObjectDetector, Error> {
        Self::probed(Network::load_on(NANODET, bytes, backend)?)
    }

    /// Loads a NanoDet-shaped model that a signed update delivered,
    /// checked against the update's `pin` instead of the built-in card.
    pub fn load_signed(
        bytes: &[u8],
        backend: &super::runtime::Backend,
        pin: &super::runtime::SignedPin,
    ) -> Result<ObjectDetector, Error> {
        Self::probed(Network::load_signed(NANODET, pin, bytes, backend)?)
    }

    /// A file whose outputs are not NanoDet's is refused now.
    fn probed(net: Network) -> Result<ObjectDetector, Error> {
        let detector = ObjectDetector { net };
        let blank = RgbFrame::new(32, 32, vec![0; 32 * 32 * 3])
            .ok_or_else(|| detector.net.invalid("probe frame"))?;
        detector.detect(&blank, 1.0)?;
        Ok(detector)
    }

    /// The model and runtime, as a report records them.
    pub fn model_run(&self) -> lensguard_core::report::ModelRun {
        self.net.model_run()
    }

    /// People and vehicles in `frame` scoring above `threshold`, in the
    /// frame's pixels.
    pub fn detect(&self, frame: &RgbFrame, threshold: f32) -> Result<Vec<Object>, Error> {
        let scaled = prep::scale_to(frame, INPUT_SIDE).ok_or_else(|| self.net.invalid("resize"))?;
        let side = INPUT_SIDE as usize;
        // Padding is zero after normalisation: the mean colour.
        let input = prep::to_nchw(&scaled, side, [2, 1, 0], |c, v| {
            (f32::from(v) - MEAN_BGR[c]) / STD_BGR[c]
        });
        if (input.height, input.width) != (side, side) {
            return Err(self.net.invalid("input is not 416x416"));
        }
        let outputs = self.net.run(input)?;
        let (w, h) = (scaled.width as f32, scaled.height as f32);
        let mut found: Vec<(ObjectClass, Detection)> = Vec::new();
        for stride in STRIDES {
            let cells_per_side = side / stride;
            let cells = cells_per_side * cells_per_side;
            let scores = find(&outputs, cells, CLASSES).ok_or_else(|| self.unexpected(&outputs))?;
            let boxes = find(&outputs, cells, 4 * BINS).ok_or_else(|| self.unexpected(&outputs))?;
            for cell in 0..cells {
                let row = &scores[cell * CLASSES..(cell + 1) * CLASSES];
                let best = ObjectClass::COCO
                    .iter()
                    .map(|&i| (i, row[i]))
                    .filter(|(_, s)| s.is_finite() && *s > threshold)
                    .max_by(|a, b| a.1.total_cmp(&b.1));
                let Some((index, score)) = best else { continue };
                let Some(class) = ObjectClass::from_coco(index) else {
                    continue;
                };
                let sides = &boxes[cell * 4 * BINS..(cell + 1) * 4 * BINS];
                let [left, top, right, bottom] = [0, 1, 2, 3]
                    .map(|k| expected_bin(&sides[k * BINS..(k + 1) * BINS]) * stride as f32);
                let cx = ((cell % cells_per_side) as f32 + 0.5) * stride as f32;
                let cy = ((cell / cells_per_side) as f32 + 0.5) * stride as f32;
                let x0 = (cx - left).clamp(0.0, w);
                let y0 = (cy - top).clamp(0.0, h);
                let x1 = (cx + right).clamp(0.0, w);
                let y1 = (cy + bottom).clamp(0.0, h);
                if x1 <= x0 || y1 <= y0 {
                    continue;
                }
                found.push((
                    class,
                    Detection {
                        x: x0 * scaled.back,
                        y: y0 * scaled.back,
                        width: (x1 - x0) * scaled.back,
                        height: (y1 - y0) * scaled.back,
                        score,
                    },
                ));
            }
        }
        let mut objects = Vec::new();
        for class in ObjectClass::COCO
            .iter()
            .filter_map(|&i| ObjectClass::from_coco(i))
        {
            let of_class = found
                .iter()
                .filter(|(c, _)| *c == class)
                .map(|(_, d)| *d)
                .collect();
            objects.extend(
                nms::suppress(of_class, 0.5)
                    .into_iter()
                    .map(|detection| Object { class, detection }),
            );
        }
        objects.sort_by(|a, b| b.detection.score.total_cmp(&a.detection.score));
        Ok(objects)
    }

    fn unexpected(&self, outputs: &[Output]) -> Error {
        let s: Vec<_> = outputs.iter().map(|o| format!("{:?}", o.shape)).collect();
        self.net
            .invalid(format!("unexpected output shapes {}", s.join(" ")))
    }
}

/// The output `[1, cells, width]`, if there is one.
fn find(outputs: &[Output], cells: usize, width: usize) -> Option<&[f32]> {
    outputs
        .iter()
        .find(|o| o.shape == [1, cells, width] && o.data.len() == cells * width)
        .map(|o| o.data.as_slice())
}

/// The softmax-weighted mean bin index of `logits`.
fn expected_bin(logits: &[f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return 0.0;
    }
    let (mut total, mut weighted) = (0.0f32, 0.0f32);
    for (i, &l) in logits.iter().enumerate() {
        let e = (l - max).exp();
        total += e;
        weighted += e * i as f32;
    }
    if total > 0.0 { weighted / total } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expected_bin_is_the_softmax_mean() {
        assert_eq!(expected_bin(&[0.0, 0.0]), 0.5);
        let peaked = expected_bin(&[-50.0, -50.0, 0.0, -50.0]);
        assert!((peaked - 2.0).abs() < 1e-4, "{peaked}");
        assert_eq!(expected_bin(&[f32::NAN, 1.0]), 0.0);
        assert_eq!(expected_bin(&[f32::NEG_INFINITY; 3]), 0.0);
    }

    #[test]
    fn only_people_and_road_vehicles_are_classes() {
        let kept: Vec<_> = (0..80).filter_map(ObjectClass::from_coco).collect();
        assert_eq!(kept.len(), 6);
        assert_eq!(
            ObjectClass::from_coco(4),
            None,
            "an aeroplane is not reported"
        );
        assert_eq!(
            ObjectClass::from_coco(7).map(ObjectClass::as_str),
            Some("truck")
        );
    }
}
