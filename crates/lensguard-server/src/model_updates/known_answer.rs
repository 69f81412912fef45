//! The known-answer test a release passes before it is made active: its
//! model, loaded on the runtime the service would use, must find in the
//! bundle's small input the boxes the manifest expects, within its
//! tolerance.
//!
//! The first runs of a new model are isolated: [`in_child`] runs the test
//! in a child process (`lensguard models known-answer`), so a model that
//! crashes the runtime (an abort, a segfault, memory exhausted) kills the
//! child, not the edge, and is refused like a wrong answer. A crash that
//! only real inputs provoke is caught after activation by the trial starts
//! of [`super::slots`].

use super::bundle::{ExpectedBox, Format, KnownAnswer};
use super::slots::SlotModel;
use crate::detection::on_any;
use lensguard_vision::models::{Detection, FaceDetector, ObjectDetector};
use std::path::Path;
use std::time::Duration;

/// How long the known-answer test may take in its child process.
pub const CHILD_DEADLINE: Duration = Duration::from_secs(300);

/// Largest known-answer input read.
const MAX_INPUT_BYTES: u64 = 16 << 20;

/// The boxes `model` finds in its known-answer input, on the runtime the
/// models directory `models_dir` gives.
pub fn detect(model: &SlotModel, models_dir: &Path) -> Result<Vec<Detection>, String> {
    let m = &model.manifest;
    let ka = &m.known_answer;
    let bytes = crate::inputs::read_limited(&model.model_path(), 256 << 20)
        .map_err(|e| format!("{}: {e}", m.model))?;
    let input = crate::inputs::read_limited(&model.dir.join(&ka.input), MAX_INPUT_BYTES)
        .map_err(|e| format!("{}: {e}", ka.input))?;
    let frame = lensguard_vision::decode::decode_rgb(&input, &lensguard_core::Limits::default())
        .map_err(|e| format!("the known-answer input {}: {e}", ka.input))?
        .frame;
    let (backend, _) = crate::detection::backend(models_dir);
    let pin = model.pin();
    match m.format {
        Format::Centerface => on_any(&backend, &bytes, &pin, FaceDetector::load_signed)
            .and_then(|d| d.detect(&frame, ka.scale, ka.threshold))
            .map_err(|e| e.to_string()),
        Format::Nanodet => on_any(&backend, &bytes, &pin, ObjectDetector::load_signed)
            .and_then(|d| d.detect(&frame, ka.threshold))
            .map(|objects| objects.into_iter().map(|o| o.detection).collect())
            .map_err(|e| e.to_string()),
    }
}

fn iou(a: &ExpectedBox, b: &Detection) -> f32 {
    let e = Detection {
        x: a.x,
        y: a.y,
        width: a.width,
        height: a.height,
        score: 1.0,
    };
    e.iou(b)
}

/// Checks `found` against the test: as many boxes, and each expected one
/// overlapping a distinct found one by at least `min_iou`.
pub fn compare(ka: &KnownAnswer, found: &[Detection]) -> Result<(), String> {
    if found.len() != ka.expected.len() {
        return Err(format!(
            "found {} boxes, the known answer is {}",
            found.len(),
            ka.expected.len()
        ));
    }
    let mut taken = vec![false; found.len()];
    for (i, want) in ka.expected.iter().enumerate() {
        let best = found
            .iter()
            .enumerate()
            .filter(|(j, _)| !taken[*j])
            .map(|(j, f)| (j, iou(want, f)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((j, overlap)) if overlap >= ka.min_iou => taken[j] = true,
            Some((_, overlap)) => {
                return Err(format!(
                    "expected box {i} overlaps the nearest found box by {overlap:.2}, below {:.2}",
                    ka.min_iou
                ));
            }
            None => return Err(format!("expected box {i} was not found")),
        }
    }
    Ok(())
}

/// Runs the known-answer test of the release in `slot_dir` in a child
/// process of this binary; `Ok` only when the child says it passed.
pub fn in_child(slot_dir: &Path, models_dir: &Path) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let mut child = std::process::Command::new(exe)
        .args(["models", "known-answer", "--slot"])
        .arg(slot_dir)
        .arg("--models")
        .arg(models_dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the known-answer test: {e}"))?;
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > CHILD_DEADLINE => {
                // The child is ours: stop it by its PID.
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the known-answer test took longer than {} s",
                    CHILD_DEADLINE.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("waiting for the known-answer test: {e}")),
        }
    };
    let output = child
        .wait_with_output()
        .map_err(|e| format!("reading the known-answer test: {e}"))?;
    let said = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    if status.success() {
        return Ok(());
    }
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(signal) => Err(format!(
            "the model crashed the known-answer test (signal {signal}): {}",
            said(&output.stderr)
        )),
        None => {
            let out = said(&output.stdout);
            Err(if out.is_empty() {
                said(&output.stderr)
            } else {
                out.strip_prefix("failed: ").unwrap_or(&out).to_owned()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ka(expected: Vec<ExpectedBox>) -> KnownAnswer {
        KnownAnswer {
            input: "in.png".into(),
            scale: 640,
            threshold: 0.5,
            expected,
            min_iou: 0.5,
        }
    }

    fn found(x: f32) -> Detection {
        Detection {
            x,
            y: 0.0,
            width: 10.0,
            height: 10.0,
            score: 0.9,
        }
    }

    fn want(x: f32) -> ExpectedBox {
        ExpectedBox {
            x,
            y: 0.0,
            width: 10.0,
            height: 10.0,
        }
    }

    #[test]
    fn matching_boxes_in_any_order_pass() {
        let t = ka(vec![want(0.0), want(50.0)]);
        assert!(compare(&t, &[found(51.0), found(1.0)]).is_ok());
    }

    #[test]
    fn a_missing_extra_or_displaced_box_fails() {
        let t = ka(vec![want(0.0), want(50.0)]);
        assert!(compare(&t, &[found(0.0)]).unwrap_err().contains("found 1"));
        assert!(
            compare(&t, &[found(0.0), found(50.0), found(90.0)])
                .unwrap_err()
                .contains("found 3")
        );
        assert!(
            compare(&t, &[found(0.0), found(58.0)])
                .unwrap_err()
                .contains("below")
        );
    }

    #[test]
    fn one_found_box_cannot_answer_two_expected_ones() {
        let t = ka(vec![want(0.0), want(1.0)]);
        assert!(compare(&t, &[found(0.0), found(80.0)]).is_err());
    }
}
