"""Builds lensguard's text-redaction evaluation set, deterministically.

    make_text_eval.py TESTDATA OUT

Two kinds of 1024x768 JPEG, written to OUT with OUT/truth.json:

- labels: a shipping label (name, street, town and postcode, tracking number,
  telephone; fictitious) printed in one of several fonts and sizes on a card,
  turned by up to 8 degrees, some blurred, on a photo background. Truth: each
  printed line's box (the turned ink box's bounds) and its card.
- no-text scenes: brick, gravel, grass, ceramic tiles, flags with rows of
  stars, hazard and parcel tape, corrugated cardboard; no line of text.

For each image it also records the boxes RapidOCR (rapidocr-onnxruntime,
same PP-OCRv4 detector, its reference post-processing and its recogniser's
`text_score` of 0.5) would hide, and the boxes of its detector alone.

Sources: backgrounds and textures are scikit-image's sample images (BSD-3
and public domain, fetched by scripts/fetch-models; none shows text, so
anything hidden outside a label is over-redaction); fonts are the DejaVu (Bitstream Vera
licence) and STIX (OFL) fonts matplotlib ships; the text is made up here.
Every random choice comes from one seeded generator: the same inputs and
package versions give the same set.
"""

import json
import math
import os
import random
import sys

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

W, H = 1024, 768
SEED = 20261206
LABELS = 40

FIRST = ["Ada", "Grace", "Alan", "Marie", "Nikola", "Rosalind", "Tim", "Hedy", "Emmy",
         "Katherine", "Linus", "Margaret", "Edsger", "Barbara", "Dorothy", "Claude"]
LAST = ["Lovelace", "Hopper", "Turing", "Curie", "Tesla", "Franklin", "Berners-Lee",
        "Lamarr", "Noether", "Johnson", "Pauling", "Hamilton", "Dijkstra", "Liskov",
        "Hodgkin", "Shannon"]
STREETS = ["Harbour Road", "Mill Lane", "Station Street", "Kingsway", "Orchard Close",
           "Victoria Avenue", "Chapel Row", "Meadow View", "Bridge Street", "Elm Grove"]
TOWNS = [("Leeds", "LS1 4AP"), ("Bristol", "BS8 1TH"), ("Glasgow", "G12 8QQ"),
         ("Cardiff", "CF10 3AT"), ("York", "YO1 7HH"), ("Norwich", "NR2 4TJ"),
         ("Lyon", "69002"), ("Berlin", "10115"), ("Utrecht", "3511 LX")]
FONTS = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf",
         "DejaVuSansMono-Bold.ttf", "STIXGeneral.ttf", "DejaVuSans-Oblique.ttf"]
BACKGROUNDS = ["coffee.png", "chelsea.png", "rocket.jpg", "hubble_deep_field.jpg",
               "camera.png", "gravel.png", "grass.png", "brick.png"]


def font(name, size):
    return ImageFont.truetype(os.path.join(matplotlib.get_data_path(), "fonts", "ttf", name), size)


def background(rng, testdata, name):
    im = Image.open(os.path.join(testdata, name)).convert("RGB")
    scale = max(W / im.width, H / im.height) * rng.uniform(1.0, 1.4)
    im = im.resize((math.ceil(im.width * scale), math.ceil(im.height * scale)), Image.BILINEAR)
    x, y = rng.randint(0, im.width - W), rng.randint(0, im.height - H)
    return im.crop((x, y, x + W, y + H))


def label_lines(rng):
    number = f"{rng.randint(1, 220)} {rng.choice(STREETS)}"
    town, post = rng.choice(TOWNS)
    tracking = rng.choice([
        "1Z {} {} {} {} {}".format(rng.randint(100, 999), "".join(rng.choice("ABCDEFX") for _ in range(3)),
                                   rng.randint(10, 99), rng.randint(1000, 9999), rng.randint(1000, 9999)),
        "JD{:018d}".format(rng.randint(0, 10**18 - 1)),
        "Tracking: {}{:09d}GB".format("".join(rng.choice("ABCRZ") for _ in range(2)), rng.randint(0, 10**9 - 1)),
    ])
    lines = [f"{rng.choice(FIRST)} {rng.choice(LAST)}", number, f"{town} {post}", tracking]
    if rng.random() < 0.5:
        lines.append(f"Tel +44 {rng.randint(1000, 9999)} {rng.randint(100000, 999999)}")
    return lines


def rotate_point(x, y, cx, cy, angle, ox, oy):
    """(x, y) on a card turned by `angle` degrees about (cx, cy) (PIL's sense:
    counter-clockwise on screen) and moved so its old centre is at (ox, oy)."""
    a = math.radians(angle)
    dx, dy = x - cx, y - cy
    return (ox + dx * math.cos(a) + dy * math.sin(a), oy - dx * math.sin(a) + dy * math.cos(a))


def make_label(rng, testdata):
    im = background(rng, testdata, rng.choice(BACKGROUNDS))
    lines = label_lines(rng)
    size = rng.randint(13, 38)
    f = font(rng.choice(FONTS), size)
    spacing = int(size * rng.uniform(1.35, 1.7))
    pad = int(size * rng.uniform(0.8, 1.6))
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    widths = [probe.textbbox((0, 0), t, font=f)[2] for t in lines]
    cw, ch = max(widths) + 2 * pad, spacing * len(lines) + 2 * pad
    paper = rng.choice([(250, 250, 248), (245, 240, 225), (252, 246, 190), (236, 240, 244)])
    ink = rng.choice([(10, 10, 10), (30, 30, 40), (20, 30, 90)])
    card = Image.new("RGBA", (cw, ch), paper + (255,))
    d = ImageDraw.Draw(card)
    if rng.random() < 0.5:
        d.rectangle((3, 3, cw - 4, ch - 4), outline=ink + (255,), width=2)
    boxes = []
    for i, t in enumerate(lines):
        x, y = pad, pad + i * spacing
        d.text((x, y), t, font=f, fill=ink + (255,))
        boxes.append(d.textbbox((x, y), t, font=f))
    angle = rng.uniform(-8, 8)
    turned = card.rotate(angle, resample=Image.BICUBIC, expand=True)
    ox = rng.randint(turned.width // 2 + 10, W - turned.width // 2 - 10)
    oy = rng.randint(turned.height // 2 + 10, H - turned.height // 2 - 10)
    im.paste(turned, (ox - turned.width // 2, oy - turned.height // 2), turned)
    truth = []
    for (x0, y0, x1, y1) in boxes:
        pts = [rotate_point(px, py, cw / 2, ch / 2, angle, ox, oy)
               for px, py in [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        truth.append([round(min(xs), 1), round(min(ys), 1), round(max(xs), 1), round(max(ys), 1)])
    blur = rng.choice([0.0, 0.0, 0.8, 1.4])
    if blur:
        im = im.filter(ImageFilter.GaussianBlur(blur))
    return im, {"kind": "label", "lines": truth, "font_px": size, "angle": round(angle, 2), "blur": blur}


def star(d, cx, cy, r, fill):
    pts = []
    for k in range(10):
        rr = r if k % 2 == 0 else r * 0.38
        a = math.pi / 2 + k * math.pi / 5
        pts.append((cx + rr * math.cos(a), cy - rr * math.sin(a)))
    d.polygon(pts, fill=fill)


def flag(rng, testdata):
    im = background(rng, testdata, rng.choice(BACKGROUNDS[:5]))
    d = ImageDraw.Draw(im)
    fx, fy = rng.randint(0, 200), rng.randint(0, 150)
    fw, fh = rng.randint(600, 820), rng.randint(420, 600)
    stripe = fh / 13
    for k in range(13):
        d.rectangle((fx, fy + k * stripe, fx + fw, fy + (k + 1) * stripe),
                    fill=(178, 34, 52) if k % 2 == 0 else (245, 245, 245))
    cw, ch = int(fw * 0.4), int(stripe * 7)
    d.rectangle((fx, fy, fx + cw, fy + ch), fill=(60, 59, 110))
    rows, cols = rng.choice([(9, 6), (7, 5), (5, 4)])
    r = min(cw / cols, ch / rows) * rng.uniform(0.3, 0.42)
    for i in range(rows):
        for j in range(cols if i % 2 == 0 else cols - 1):
            cx = fx + (j + (0.5 if i % 2 == 0 else 1.0)) * cw / cols
            cy = fy + (i + 0.5) * ch / rows
            star(d, cx, cy, r, (250, 250, 250))
    return im


def tiles(rng):
    im = Image.new("RGB", (W, H), (200, 200, 200))
    d = ImageDraw.Draw(im)
    side = rng.choice([32, 48, 64, 96])
    grout = rng.choice([2, 3, 4])
    base = rng.choice([(235, 235, 230), (90, 120, 160), (200, 170, 130)])
    for y in range(0, H, side):
        for x in range(0, W, side):
            jitter = rng.randint(-12, 12)
            d.rectangle((x + grout, y + grout, x + side - 1, y + side - 1),
                        fill=tuple(max(0, min(255, c + jitter)) for c in base))
    return im


def tape(rng, testdata):
    im = background(rng, testdata, rng.choice(BACKGROUNDS))
    d = ImageDraw.Draw(im)
    y0 = rng.randint(100, 500)
    band = rng.randint(60, 120)
    step = band // 2
    for x in range(-band, W + band, step * 2):
        d.polygon([(x, y0), (x + step, y0), (x + step + band, y0 + band), (x + band, y0 + band)],
                  fill=(240, 200, 20))
        d.polygon([(x + step, y0), (x + 2 * step, y0), (x + 2 * step + band, y0 + band),
                   (x + step + band, y0 + band)], fill=(20, 20, 20))
    x0 = rng.randint(100, 800)
    d.rectangle((x0, 0, x0 + rng.randint(50, 90), H), fill=(196, 160, 110))
    return im


def cardboard(rng):
    yy, xx = np.mgrid[0:H, 0:W]
    period = rng.uniform(5, 9)
    wave = np.sin(2 * math.pi * (xx if rng.random() < 0.5 else yy) / period)
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 6, (H, W))
    base = np.array([176, 132, 84], dtype=np.float64)
    v = base[None, None, :] + (wave * 10 + noise)[..., None]
    return Image.fromarray(np.clip(v, 0, 255).astype(np.uint8))


def texture(rng, testdata, name):
    im = background(rng, testdata, name)
    return im


def rapidocr_boxes(engine, det, path):
    full, _ = engine(path)
    kept = [b for b, _, _ in (full or [])]
    boxes, _ = det(np.array(Image.open(path).convert("RGB"))[:, :, ::-1].copy())
    def bounds(q):
        xs, ys = [p[0] for p in q], [p[1] for p in q]
        return [round(float(min(xs)), 1), round(float(min(ys)), 1),
                round(float(max(xs)), 1), round(float(max(ys)), 1)]
    return [bounds(q) for q in kept], [bounds(q) for q in (boxes if boxes is not None else [])]


def main():
    testdata, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(SEED)
    items = []
    for i in range(LABELS):
        im, truth = make_label(rng, testdata)
        items.append((f"label-{i:02d}.jpg", im, truth))
    scenes = [("flag", lambda: flag(rng, testdata)) for _ in range(5)]
    scenes += [("tiles", lambda: tiles(rng)) for _ in range(3)]
    scenes += [("tape", lambda: tape(rng, testdata)) for _ in range(2)]
    scenes += [("cardboard", lambda: cardboard(rng)) for _ in range(2)]
    scenes += [(n.split(".")[0], (lambda n=n: texture(rng, testdata, n)))
               for n in ["brick.png", "gravel.png", "grass.png"]]
    for i, (kind, make) in enumerate(scenes):
        items.append((f"notext-{i:02d}-{kind}.jpg", make(), {"kind": "notext", "lines": []}))

    from rapidocr_onnxruntime import RapidOCR
    from rapidocr_onnxruntime.ch_ppocr_det import TextDetector
    engine = RapidOCR()
    det = TextDetector(_det_config())
    truth = []
    for name, im, t in items:
        path = os.path.join(out, name)
        im.save(path, quality=90)
        t["file"] = name
        t["rapidocr"], t["rapidocr_detector"] = rapidocr_boxes(engine, det, path)
        truth.append(t)
        print(f"{name}: {len(t['lines'])} lines, RapidOCR hides {len(t['rapidocr'])}", file=sys.stderr)
    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump({"seed": SEED, "width": W, "height": H, "images": truth}, f, indent=1)


def _det_config():
    import rapidocr_onnxruntime
    from rapidocr_onnxruntime.utils import read_yaml
    root = os.path.dirname(rapidocr_onnxruntime.__file__)
    cfg = read_yaml(os.path.join(root, "config.yaml"))["Det"]
    cfg["model_path"] = os.path.join(root, cfg["model_path"])
    return cfg


if __name__ == "__main__":
    main()
