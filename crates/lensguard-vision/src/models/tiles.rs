//! Tiling: where to look again, closer, in a large photo.
//!
//! At a detection scale of 640 a 4000-pixel photo is shrunk about six times and
//! a face 40 pixels high becomes 7: below what CenterFace finds. Tiles of about
//! `scale` pixels, overlapping by 15% so a face on a seam is whole in one of
//! them, are each searched at the same scale as well as the whole photo.

use crate::redact::Rect;

/// Overlap between neighbouring tiles, as a fraction of a tile's side.
const OVERLAP: f32 = 0.15;

/// The tiles of a `width` x `height` photo at detection `scale`, at most
/// `max_per_side` along each side; empty unless the long side is more than
/// three times the scale (below that the whole-photo pass sees enough, and a
/// 1080p photo at the default scale of 640 costs one pass, not seven).
pub fn tiles(width: u32, height: u32, scale: u32, max_per_side: u32) -> Vec<Rect> {
    let long = width.max(height);
    if scale == 0 || long <= scale.saturating_mul(3) {
        return Vec::new();
    }
    let per = |side: u32| side.div_ceil(scale).clamp(1, max_per_side.max(1));
    let (nx, ny) = (per(width), per(height));
    let span = |side: u32, n: u32| -> Vec<(u32, u32)> {
        let step = side as f32 / n as f32;
        let grow = step * OVERLAP / 2.0;
        (0..n)
            .map(|i| {
                let a = (i as f32 * step - grow).max(0.0) as u32;
                let b = (((i + 1) as f32 * step + grow).ceil() as u32).min(side);
                (a, b - a)
            })
            .collect()
    };
    let (xs, ys) = (span(width, nx), span(height, ny));
    ys.iter()
        .flat_map(|&(y, h)| {
            xs.iter().map(move |&(x, w)| Rect {
                x,
                y,
                width: w,
                height: h,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_photo_with_overlap_and_small_photos_get_none() {
        assert!(tiles(1920, 1080, 640, 3).is_empty());
        let t = tiles(4000, 3000, 640, 3);
        assert_eq!(t.len(), 9);
        for x in (0..4000).step_by(97) {
            for y in (0..3000).step_by(89) {
                assert!(
                    t.iter()
                        .any(|r| x >= r.x && y >= r.y && x < r.x + r.width && y < r.y + r.height),
                    "({x}, {y}) uncovered"
                );
            }
        }
        assert!(t[0].width > 4000 / 3 && t[1].x < 4000 / 3, "{t:?}");
        assert_eq!(tiles(1921, 1080, 640, 3).len(), 6);
        assert_eq!(tiles(100, 5000, 32, 4).len(), 4 * 4);
    }
}
