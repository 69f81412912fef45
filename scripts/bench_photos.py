"""Builds the benchmark photos from real photographs shipped in the scikit-image wheel.

For each base photograph (see SOURCES) and each size (12 MP 4032x3024, 1080p
1920x1080, VGA 640x480) it writes a sharp JPEG plus blurred, dark, overexposed and
glare variants. The base photo is cropped to the target aspect ratio, resized with
Lanczos, and given light Gaussian sensor grain (sigma 2.5 to 3.5) so the file sizes
match camera output (about 3 MB at 12 MP, quality 94). Nothing here is committed; the
photos land in the output folder given on the command line.

Sources and licences (scikit-image's data folder, see skimage/data/README.txt):
astronaut (NASA, public domain), coffee (Rachel Michetti, CC0),
chelsea (Stefan van der Walt, CC0), rocket (SpaceX, public domain).
"""

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from skimage import data

SOURCES = {
    "astronaut": data.astronaut,
    "coffee": data.coffee,
    "chelsea": data.chelsea,
    "rocket": data.rocket,
}
# (width, height, JPEG quality, grain sigma): 12 MP lands near 3 MB, like a phone camera.
SIZES = {"12mp": (4032, 3024, 94, 3.5), "1080p": (1920, 1080, 92, 3.0), "vga": (640, 480, 90, 2.5)}


def fit(img: Image.Image, w: int, h: int) -> Image.Image:
    """Centre-crop to w:h, then resize to w x h with Lanczos."""
    sw, sh = img.size
    target = w / h
    if sw / sh > target:
        cw = int(sh * target)
        img = img.crop(((sw - cw) // 2, 0, (sw - cw) // 2 + cw, sh))
    else:
        ch = int(sw / target)
        img = img.crop((0, (sh - ch) // 2, sw, (sh - ch) // 2 + ch))
    return img.resize((w, h), Image.LANCZOS)


def grain(img: Image.Image, rng: np.random.Generator, sigma: float = 2.5) -> Image.Image:
    a = np.asarray(img, dtype=np.float32)
    a = a + rng.normal(0.0, sigma, a.shape).astype(np.float32)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def exposed(img: Image.Image, gain: float, offset: float) -> Image.Image:
    a = np.asarray(img, dtype=np.float32) * gain + offset
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def glare(img: Image.Image) -> Image.Image:
    """Two saturated specular blobs with soft halos (flash on shrink-wrap)."""
    w, h = img.size
    mask = Image.new("L", img.size, 0)
    d = ImageDraw.Draw(mask)
    for cx, cy, r in [(0.45, 0.4, 0.08), (0.68, 0.3, 0.05)]:
        d.ellipse([(cx - r) * w, cy * h - r * w, (cx + r) * w, cy * h + r * w], fill=255)
    halo = mask.filter(ImageFilter.GaussianBlur(w * 0.02))
    white = Image.new("RGB", img.size, (255, 255, 255))
    out = Image.composite(white, img, halo)
    return Image.composite(white, out, mask)


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    for name, load in SOURCES.items():
        base = Image.fromarray(load()).convert("RGB")
        for size, (w, h, q, sigma) in SIZES.items():
            sharp = grain(fit(base, w, h), rng, sigma)
            variants = {
                "sharp": sharp,
                "blurred": grain(fit(base, w, h).filter(ImageFilter.GaussianBlur(max(w, h) / 300)), rng, sigma),
                "dark": exposed(sharp, 0.12, 0.0),
                "overexposed": exposed(sharp, 1.8, 90.0),
                "glare": glare(sharp),
            }
            for kind, img in variants.items():
                path = out / f"{size}-{name}-{kind}.jpg"
                if not path.exists():
                    img.save(path, quality=q, subsampling=2)
    print(f"photos in {out}")


if __name__ == "__main__":
    main()
