//! Greedy non-maximum suppression.

use super::Detection;

/// Keeps the best-scoring detections, dropping any that overlaps a kept one by
/// more than `max_iou`.
pub fn suppress(mut found: Vec<Detection>, max_iou: f32) -> Vec<Detection> {
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for d in found {
        if kept.iter().all(|k| k.iou(&d) <= max_iou) {
            kept.push(d);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(x: f32, score: f32) -> Detection {
        Detection {
            x,
            y: 0.0,
            width: 10.0,
            height: 10.0,
            score,
        }
    }

    #[test]
    fn overlapping_boxes_keep_the_best_and_separate_ones_stay() {
        let kept = suppress(vec![d(0.0, 0.5), d(1.0, 0.9), d(50.0, 0.3)], 0.3);
        assert_eq!(kept, vec![d(1.0, 0.9), d(50.0, 0.3)]);
        assert!(suppress(Vec::new(), 0.3).is_empty());
    }
}
