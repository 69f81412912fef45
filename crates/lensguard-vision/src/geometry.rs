//! Plane geometry for detector post-processing: convex hulls, minimum-area
//! (rotated) rectangles and point-in-quadrilateral tests.
//!
//! Invariants: every function is total (empty or degenerate input gives an
//! empty or zero-sized answer, never a panic), and a [`Quad`]'s corners go
//! round it in order, so it is convex and its edges are its sides.

/// A point in pixel coordinates.
pub type Point = (f32, f32);

/// A rotated rectangle: its four corners in order round it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quad {
    /// Corners, each neighbouring the next (and the last the first).
    pub corners: [Point; 4],
}

impl Quad {
    /// Length of the side from corner 0 to corner 1.
    pub fn side_a(&self) -> f32 {
        dist(self.corners[0], self.corners[1])
    }

    /// Length of the side from corner 1 to corner 2.
    pub fn side_b(&self) -> f32 {
        dist(self.corners[1], self.corners[2])
    }

    /// The shorter side.
    pub fn short_side(&self) -> f32 {
        self.side_a().min(self.side_b())
    }

    /// The longer side.
    pub fn long_side(&self) -> f32 {
        self.side_a().max(self.side_b())
    }

    /// Area.
    pub fn area(&self) -> f32 {
        self.side_a() * self.side_b()
    }

    /// The same rectangle grown by `d` on every side (shrunk when negative,
    /// down to a point).
    pub fn grown(&self, d: f32) -> Quad {
        let c = self.centre();
        let [p0, p1, _, p3] = self.corners;
        let (a, b) = (self.side_a(), self.side_b());
        let unit = |p: Point, q: Point, len: f32| -> Point {
            if len > 0.0 {
                ((q.0 - p.0) / len, (q.1 - p.1) / len)
            } else {
                (0.0, 0.0)
            }
        };
        // Half-extents along the two side directions.
        let (ua, ub) = (unit(p0, p1, a), unit(p0, p3, b));
        let (ha, hb) = (((a / 2.0) + d).max(0.0), ((b / 2.0) + d).max(0.0));
        let at = |sa: f32, sb: f32| {
            (
                c.0 + sa * ha * ua.0 + sb * hb * ub.0,
                c.1 + sa * ha * ua.1 + sb * hb * ub.1,
            )
        };
        Quad {
            corners: [at(-1.0, -1.0), at(1.0, -1.0), at(1.0, 1.0), at(-1.0, 1.0)],
        }
    }

    /// The centre.
    pub fn centre(&self) -> Point {
        let [p0, _, p2, _] = self.corners;
        ((p0.0 + p2.0) / 2.0, (p0.1 + p2.1) / 2.0)
    }

    /// Its axis-aligned bounds: `(x0, y0, x1, y1)`.
    pub fn bounds(&self) -> (f32, f32, f32, f32) {
        self.corners.iter().fold(
            (
                f32::INFINITY,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NEG_INFINITY,
            ),
            |(x0, y0, x1, y1), &(x, y)| (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
        )
    }

    /// Whether `p` lies inside or within `tolerance` of the edge.
    pub fn contains(&self, p: Point, tolerance: f32) -> bool {
        let mut sign = 0.0f32;
        for i in 0..4 {
            let (a, b) = (self.corners[i], self.corners[(i + 1) % 4]);
            let len = dist(a, b);
            if len == 0.0 {
                continue;
            }
            // Signed distance of p from the edge's line.
            let s = ((b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0)) / len;
            if sign == 0.0 && s.abs() > tolerance {
                sign = s.signum();
            }
            if s * sign < -tolerance {
                return false;
            }
        }
        // A degenerate quad (a segment or a point) holds what is near it.
        sign != 0.0
            || self
                .corners
                .iter()
                .all(|&c| dist(c, p) <= self.long_side() + tolerance)
    }

    /// `self` with every coordinate multiplied by `k`.
    pub fn scaled(&self, k: f32) -> Quad {
        Quad {
            corners: self.corners.map(|(x, y)| (x * k, y * k)),
        }
    }
}

fn dist(a: Point, b: Point) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

fn cross(o: Point, a: Point, b: Point) -> f32 {
    (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
}

/// The convex hull of `points` (Andrew's monotone chain), counter-clockwise in
/// image coordinates' sense of the cross product, without repeated points.
pub fn convex_hull(points: &[Point]) -> Vec<Point> {
    let mut p: Vec<Point> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    p.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    p.dedup();
    if p.len() < 3 {
        return p;
    }
    let mut hull: Vec<Point> = Vec::with_capacity(p.len() * 2);
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &Point>> = if pass == 0 {
            Box::new(p.iter())
        } else {
            Box::new(p.iter().rev())
        };
        for &q in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], q) <= 0.0
            {
                hull.pop();
            }
            hull.push(q);
        }
        hull.pop();
    }
    hull
}

/// The smallest-area rectangle holding `points` (rotating calipers over the
/// hull's edges), as OpenCV's `minAreaRect`; a single point or a segment gives
/// a rectangle with a zero side. `None` for no points.
pub fn min_area_rect(points: &[Point]) -> Option<Quad> {
    let hull = convex_hull(points);
    match hull.len() {
        0 => return None,
        1 => {
            return Some(Quad {
                corners: [hull[0]; 4],
            });
        }
        _ => {}
    }
    let mut best: Option<(f32, Quad)> = None;
    for i in 0..hull.len() {
        let (a, b) = (hull[i], hull[(i + 1) % hull.len()]);
        let len = dist(a, b);
        if len == 0.0 {
            continue;
        }
        let u = ((b.0 - a.0) / len, (b.1 - a.1) / len);
        let v = (-u.1, u.0);
        let (mut u0, mut u1, mut v0, mut v1) = (
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
        );
        for &p in &hull {
            let (du, dv) = (p.0 * u.0 + p.1 * u.1, p.0 * v.0 + p.1 * v.1);
            (u0, u1, v0, v1) = (u0.min(du), u1.max(du), v0.min(dv), v1.max(dv));
        }
        let area = (u1 - u0) * (v1 - v0);
        if best.as_ref().is_none_or(|(a, _)| area < *a) {
            let at = |su: f32, sv: f32| (su * u.0 + sv * v.0, su * u.1 + sv * v.1);
            best = Some((
                area,
                Quad {
                    corners: [at(u0, v0), at(u1, v0), at(u1, v1), at(u0, v1)],
                },
            ));
        }
    }
    best.map(|(_, q)| q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rectangle_round_an_axis_aligned_bar_is_the_bar() {
        let pts: Vec<Point> = (0..10)
            .flat_map(|x| (0..3).map(move |y| (x as f32, y as f32)))
            .collect();
        let q = min_area_rect(&pts).expect("points");
        assert!(
            (q.long_side() - 9.0).abs() < 1e-4 && (q.short_side() - 2.0).abs() < 1e-4,
            "{q:?}"
        );
        assert!(q.contains((4.5, 1.0), 0.0) && !q.contains((4.5, 3.5), 0.1));
        let g = q.grown(1.0);
        assert!(
            (g.long_side() - 11.0).abs() < 1e-4 && (g.short_side() - 4.0).abs() < 1e-4,
            "{g:?}"
        );
        assert_eq!(g.bounds(), (-1.0, -1.0, 10.0, 3.0));
    }

    #[test]
    fn a_rotated_bar_gets_a_rotated_rectangle_not_its_bounds() {
        // A 40 x 4 bar turned by 30 degrees.
        let (s, c) = 30f32.to_radians().sin_cos();
        let pts: Vec<Point> = (0..=40)
            .flat_map(|u| {
                (0..=4).map(move |v| (u as f32 * c - v as f32 * s, u as f32 * s + v as f32 * c))
            })
            .collect();
        let q = min_area_rect(&pts).expect("points");
        assert!(
            (q.long_side() - 40.0).abs() < 0.01 && (q.short_side() - 4.0).abs() < 0.01,
            "{q:?}"
        );
        let (x0, y0, x1, y1) = q.bounds();
        assert!(q.area() < (x1 - x0) * (y1 - y0) / 3.0);
    }

    #[test]
    fn degenerate_input_gives_degenerate_answers() {
        assert_eq!(min_area_rect(&[]), None);
        let q = min_area_rect(&[(2.0, 3.0)]).expect("a point");
        assert_eq!(q.area(), 0.0);
        assert!(q.contains((2.0, 3.0), 0.5));
        let q = min_area_rect(&[(0.0, 0.0), (5.0, 0.0), (2.0, 0.0)]).expect("a segment");
        assert_eq!((q.long_side(), q.short_side()), (5.0, 0.0));
        assert!(min_area_rect(&[(f32::NAN, 1.0)]).is_none());
    }
}
