//! Deterministic photo-like RGB scenes and their failure variants.

/// An RGB8 image, row-major.
#[derive(Clone, PartialEq, Eq)]
pub struct Rgb {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Rgb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rgb({}x{})", self.width, self.height)
    }
}

/// SplitMix64: a tiny deterministic generator, so scenes are the same everywhere.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Smooth value noise in [0, 1) with the given cell size, from a lattice of
/// random values.
struct ValueNoise {
    cells_x: usize,
    lattice: Vec<f32>,
    cell: f32,
}

impl ValueNoise {
    fn new(width: u32, height: u32, cell: f32, rng: &mut SplitMix) -> Self {
        let cells_x = (width as f32 / cell) as usize + 2;
        let cells_y = (height as f32 / cell) as usize + 2;
        let lattice = (0..cells_x * cells_y).map(|_| rng.unit()).collect();
        ValueNoise {
            cells_x,
            lattice,
            cell,
        }
    }

    fn at(&self, x: f32, y: f32) -> f32 {
        let (fx, fy) = (x / self.cell, y / self.cell);
        let (ix, iy) = (fx as usize, fy as usize);
        let (tx, ty) = (fx - ix as f32, fy - iy as f32);
        let (sx, sy) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
        let v = |cx: usize, cy: usize| self.lattice[cy * self.cells_x + cx];
        let top = v(ix, iy) * (1.0 - sx) + v(ix + 1, iy) * sx;
        let bottom = v(ix, iy + 1) * (1.0 - sx) + v(ix + 1, iy + 1) * sx;
        top * (1.0 - sy) + bottom * sy
    }
}

/// A parcel on a doorstep: a wall and a tiled floor with texture, a door frame,
/// a cardboard box with tape and a printed label. Sharp edges everywhere, like a
/// well-focused phone photo. `seed` varies the texture and the box's position.
pub fn doorstep(width: u32, height: u32, seed: u64) -> Rgb {
    let mut rng = SplitMix(seed);
    let coarse = ValueNoise::new(width, height, width as f32 / 12.0, &mut rng);
    let fine = ValueNoise::new(width, height, 3.0, &mut rng);
    let (w, h) = (width as f32, height as f32);
    let horizon = h * (0.52 + 0.08 * rng.unit());
    let box_x0 = w * (0.25 + 0.2 * rng.unit());
    let box_w = w * 0.34;
    let box_y0 = horizon - h * 0.12;
    let box_h = h * 0.38;
    let label = (
        box_x0 + box_w * 0.12,
        box_y0 + box_h * 0.2,
        box_w * 0.45,
        box_h * 0.32,
    );
    let door = (w * 0.06, w * 0.2);
    let mut data = Vec::with_capacity(width as usize * height as usize * 3);
    for yi in 0..height {
        for xi in 0..width {
            let (x, y) = (xi as f32, yi as f32);
            let grain = (fine.at(x, y) - 0.5) * 26.0 + (coarse.at(x, y) - 0.5) * 40.0;
            let mut rgb: [f32; 3] = if y < horizon {
                // Wall, with a door frame on the left.
                if (door.0..door.1).contains(&x) {
                    let frame = (x - door.0) < w * 0.015 || (door.1 - x) < w * 0.015;
                    if frame {
                        [235.0, 235.0, 228.0]
                    } else {
                        [92.0, 58.0, 40.0]
                    }
                } else {
                    [168.0, 172.0, 160.0]
                }
            } else {
                // Tiled floor: grout lines every 1/10 of the width.
                let tile = w / 10.0;
                let grout = (x % tile) < 2.5 || ((y - horizon) % (tile * 0.6)) < 2.5;
                if grout {
                    [70.0, 68.0, 64.0]
                } else {
                    [150.0, 118.0, 92.0]
                }
            };
            let in_box =
                (box_x0..box_x0 + box_w).contains(&x) && (box_y0..box_y0 + box_h).contains(&y);
            if in_box {
                rgb = [176.0, 130.0, 82.0];
                let tape = (x - (box_x0 + box_w * 0.7)).abs() < box_w * 0.05;
                if tape {
                    rgb = [200.0, 180.0, 140.0];
                }
                let (lx, ly, lw, lh) = label;
                if (lx..lx + lw).contains(&x) && (ly..ly + lh).contains(&y) {
                    rgb = [246.0, 246.0, 240.0];
                    // Printed lines of "text": dark bars with gaps, like characters.
                    let row = ((y - ly) / (lh / 6.0)) as u32;
                    let in_line = ((y - ly) % (lh / 6.0)) > lh / 6.0 * 0.35;
                    let glyph = ((x - lx) / 4.0) as u32;
                    if row >= 1
                        && in_line
                        && !(glyph * 7 + row * 3).is_multiple_of(5)
                        && (x - lx) < lw * 0.9
                    {
                        rgb = [24.0, 24.0, 28.0];
                    }
                }
            }
            for c in &mut rgb {
                *c = (*c + grain).clamp(0.0, 255.0);
            }
            data.extend(rgb.map(|c| c as u8));
        }
    }
    Rgb {
        width,
        height,
        data,
    }
}

/// Three passes of a separable box blur of `radius` pixels: close to a Gaussian
/// blur with sigma about `radius`, like an out-of-focus or shaken shot.
pub fn blurred(img: &Rgb, radius: u32) -> Rgb {
    let mut out = img.clone();
    for _ in 0..3 {
        out = box_pass(&out, radius, true);
        out = box_pass(&out, radius, false);
    }
    out
}

fn box_pass(img: &Rgb, radius: u32, horizontal: bool) -> Rgb {
    let (w, h) = (img.width as i64, img.height as i64);
    let r = i64::from(radius);
    let mut data = vec![0u8; img.data.len()];
    let (outer, inner) = if horizontal { (h, w) } else { (w, h) };
    for o in 0..outer {
        for c in 0..3 {
            let idx = |i: i64| {
                let i = i.clamp(0, inner - 1);
                let (x, y) = if horizontal { (i, o) } else { (o, i) };
                ((y * w + x) * 3 + c) as usize
            };
            let mut sum: i64 = (-r..=r).map(|i| i64::from(img.data[idx(i)])).sum();
            for i in 0..inner {
                data[idx(i)] = (sum / (2 * r + 1)) as u8;
                sum += i64::from(img.data[idx(i + r + 1)]) - i64::from(img.data[idx(i - r)]);
            }
        }
    }
    Rgb {
        width: img.width,
        height: img.height,
        data,
    }
}

/// Every channel mapped through `v * gain + offset`, clipped: a gain of 0.15 is a
/// photo taken in the dark, a gain of 2.2 with an offset of 40 an overexposed one.
pub fn exposed(img: &Rgb, gain: f32, offset: f32) -> Rgb {
    Rgb {
        data: img
            .data
            .iter()
            .map(|&v| (f32::from(v) * gain + offset).clamp(0.0, 255.0) as u8)
            .collect(),
        ..img.clone()
    }
}

/// Blends the image toward flat grey: fog, a dirty lens, a washed-out screen.
pub fn foggy(img: &Rgb, keep: f32) -> Rgb {
    exposed(img, keep, 140.0 * (1.0 - keep))
}

/// Adds saturated specular blobs with a soft halo (flash on shrink-wrap):
/// `(cx, cy, radius)` in fractions of the width.
pub fn with_glare(img: &Rgb, spots: &[(f32, f32, f32)]) -> Rgb {
    let mut out = img.clone();
    let w = img.width as f32;
    for y in 0..img.height {
        for x in 0..img.width {
            let mut boost = 0.0f32;
            for &(cx, cy, r) in spots {
                let (dx, dy) = (x as f32 - cx * w, y as f32 - cy * w);
                let d = (dx * dx + dy * dy).sqrt() / (r * w);
                boost = boost.max(if d < 1.0 {
                    1.0
                } else {
                    (2.0 - d).max(0.0) * 0.7
                });
            }
            if boost > 0.0 {
                let i = ((y * img.width + x) * 3) as usize;
                for c in &mut out.data[i..i + 3] {
                    *c = (f32::from(*c) + boost * 400.0).min(255.0) as u8;
                }
            }
        }
    }
    out
}

/// Nearest-neighbour resize, for near-duplicate variants.
pub fn resized(img: &Rgb, width: u32, height: u32) -> Rgb {
    let mut data = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        for x in 0..width {
            let sx = (u64::from(x) * u64::from(img.width) / u64::from(width)) as usize;
            let sy = (u64::from(y) * u64::from(img.height) / u64::from(height)) as usize;
            let i = (sy * img.width as usize + sx) * 3;
            data.extend_from_slice(&img.data[i..i + 3]);
        }
    }
    Rgb {
        width,
        height,
        data,
    }
}

/// Rotates 90 degrees counter-clockwise: how a sensor stores a portrait shot that
/// carries EXIF orientation 6 ("rotate 90 clockwise to display").
pub fn rotated_ccw(img: &Rgb) -> Rgb {
    let (w, h) = (img.width as usize, img.height as usize);
    let mut data = vec![0u8; img.data.len()];
    for y in 0..h {
        for x in 0..w {
            // Pixel (x, y) goes to (y, w - 1 - x) in an h-wide image.
            let (nx, ny) = (y, w - 1 - x);
            let (src, dst) = ((y * w + x) * 3, (ny * h + nx) * 3);
            data[dst..dst + 3].copy_from_slice(&img.data[src..src + 3]);
        }
    }
    Rgb {
        width: img.height,
        height: img.width,
        data,
    }
}
