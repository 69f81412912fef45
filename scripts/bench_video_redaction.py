"""lensguard vs deface: redacted export of a 1080p clip, one core.

Run by scripts/bench-video-redaction inside deface's own virtual environment.

usage: bench_video_redaction.py TESTDATA REDACT_CLIP MODELS OUT ROUNDS

The clip (made here, ground truth from the generator, never a detector):
1920x1080, 25 fps, 6 s (150 pictures), H.264 in a fragmented MP4 (libx264
baseline, as many cameras send, a key picture every 2 s) over a textured grey scene. Two copies of the
Grace Hopper portrait (public domain, US Navy; the hand-annotated face box
FACE_IN_PHOTO) cross it: a large one entering from the left edge at 12 px
a picture, a small one from the right at 40 px a picture (fast).

Both tools detect at 640x360 (deface --scale 640x360 --thresh 0.2, its
onnxruntime backend, the faster of its two; lensguard scale 640, the
policy's default threshold) and re-encode H.264. CPU time is measured
for each whole process pinned to core 0 (taskset), end to end (model
loading included), and as the marginal CPU per picture: the 150-picture
clip minus a 10-picture cut of it, divided by 140. Rounds alternate the
tools; medians are reported. lensguard runs twice: looking for faces on
every 2nd picture (the service's setting, tracking between looks) and on
every picture (as deface does).

Then every output picture of every run is checked two ways against the
generator's true face boxes: deface's own detector (deface.centerface.
CenterFace, onnxruntime, 640x360) on it, counting pictures where a
detection overlapping a true box (IoU at least 0.3, or its centre inside)
scores 0.2 (deface's threshold) or 0.5 (lensguard's); and the detail left
inside each true box, mean |Laplacian| over the original's (1: untouched).
CenterFace scores blurred faces up to about 0.3 (a blob of skin colour in
a head's shape), which is why both thresholds are shown.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile

import imageio.v2 as iio
import numpy as np
from PIL import Image, ImageFilter

W, H, FPS, FRAMES, SHORT = 1920, 1080, 25, 150, 10
SCALE, THRESH = (640, 360), 0.2
FACE_IN_PHOTO = (0.30, 0.20, 0.74, 0.58)  # x0, y0, x1, y1 of the face in grace_hopper.jpg
MOVERS = [  # (height in px, start x, y, px per picture)
    (700, -420, 200, 12),
    (300, 1900, 600, -40),
]


def make_clip(testdata, path, frames):
    """Writes the clip; returns the true face boxes per picture."""
    portrait = Image.open(os.path.join(testdata, "grace_hopper.jpg")).convert("RGB")
    rng = np.random.default_rng(7)
    scene = (118 + rng.integers(0, 20, (H // 8, W // 8, 3))).astype(np.uint8)
    scene = Image.fromarray(scene).resize((W, H), Image.BILINEAR).filter(ImageFilter.GaussianBlur(2))
    sized = []
    for h, x0, y, dx in MOVERS:
        w = round(portrait.width * h / portrait.height)
        sized.append((portrait.resize((w, h), Image.LANCZOS), x0, y, dx))
    truth = []
    writer = iio.get_writer(path, fps=FPS, codec="libx264", macro_block_size=8, ffmpeg_log_level="error",
                            output_params=["-g", "50", "-pix_fmt", "yuv420p", "-preset", "medium", "-profile:v", "baseline",
                                           "-movflags", "frag_keyframe+empty_moov+default_base_moof"])
    for t in range(frames):
        frame = scene.copy()
        boxes = []
        for im, x0, y, dx in sized:
            x = x0 + dx * t
            frame.paste(im, (x, y))
            fx0, fy0, fx1, fy1 = FACE_IN_PHOTO
            b = (x + fx0 * im.width, y + fy0 * im.height, x + fx1 * im.width, y + fy1 * im.height)
            cb = (max(b[0], 0), max(b[1], 0), min(b[2], W), min(b[3], H))
            # A face counts while at least a third of it is in the picture.
            if (cb[2] - cb[0]) * (cb[3] - cb[1]) >= (b[2] - b[0]) * (b[3] - b[1]) / 3:
                boxes.append(cb)
        truth.append(boxes)
        writer.append_data(np.asarray(frame))
    writer.close()
    return truth


def cpu_seconds(cmd, env=None):
    """User + system CPU of `cmd` and its children, pinned to core 0."""
    proc = subprocess.Popen(["taskset", "-c", "0", *cmd], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed: {err[-2000:]}")
    return usage.ru_utime + usage.ru_stime, out


def overlaps(d, b):
    ix = max(0.0, min(d[2], b[2]) - max(d[0], b[0]))
    iy = max(0.0, min(d[3], b[3]) - max(d[1], b[1]))
    inter = ix * iy
    union = (d[2] - d[0]) * (d[3] - d[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    cx, cy = (d[0] + d[2]) / 2, (d[1] + d[3]) / 2
    return (union > 0 and inter / union >= 0.3) or (b[0] <= cx <= b[2] and b[1] <= cy <= b[3])


def scores(path, truth, cf):
    """Per picture of `path`, the highest score deface's detector (at 0.2)
    gives a detection overlapping a true face box (0 when none)."""
    best = []
    for t, frame in enumerate(iio.get_reader(path)):
        if t >= len(truth):
            break
        dets, _ = cf(frame, threshold=THRESH)
        best.append(max((float(d[4]) for d in dets for b in truth[t] if overlaps(d, b)), default=0.0))
    return best


def detail(path, original, truth):
    """Per picture, the face detail left: the largest, over true face boxes,
    of mean |Laplacian| of grey inside the box in `path` over the same in
    the original (1: untouched, near 0: no detail left)."""
    def lap(g):
        return np.abs(4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:])
    left = []
    for t, (a, o) in enumerate(zip(iio.get_reader(path), iio.get_reader(original))):
        if t >= len(truth):
            break
        ga, go = a.mean(axis=2), o.mean(axis=2)
        worst = 0.0
        for b in truth[t]:
            x0, y0, x1, y1 = (int(round(v)) for v in b)
            ra, ro = lap(ga[y0:y1, x0:x1]).mean(), lap(go[y0:y1, x0:x1]).mean()
            worst = max(worst, ra / max(ro, 1e-6))
        left.append(worst)
    return left


def main():
    testdata, redact_clip, models, out, rounds = sys.argv[1:6]
    rounds = int(rounds)
    os.makedirs(out, exist_ok=True)
    clip, short = os.path.join(out, "clip-1080p.mp4"), os.path.join(out, "clip-1080p-short.mp4")
    truth = make_clip(testdata, clip, FRAMES)
    make_clip(testdata, short, SHORT)
    deface = os.path.join(os.path.dirname(sys.executable), "deface")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    def lg(every):
        def cmd(src, dest):
            return [redact_clip, models, src, dest, str(SCALE[0]), "policy", str(every)]
        return cmd

    def df(src, dest):
        return [deface, src, "-o", dest, "--scale", f"{SCALE[0]}x{SCALE[1]}", "--thresh", str(THRESH),
                "--backend", "onnxrt"]

    tools = {"lensguard (faces every 2nd picture)": lg(2), "lensguard (every picture)": lg(1),
             "deface (onnxruntime)": df}
    whole = {t: [] for t in tools}
    marginal = {t: [] for t in tools}
    stages = {t: [] for t in tools}
    outputs = {}
    for r in range(rounds):
        for name, make in tools.items():
            dest = os.path.join(out, f"{name.split()[0]}-{len(outputs)}.mp4")
            a, _ = cpu_seconds(make(short, dest + ".short.mp4"), env)
            b, printed = cpu_seconds(make(clip, dest), env)
            outputs.setdefault(name, dest)
            whole[name].append(b)
            marginal[name].append((b - a) / (FRAMES - SHORT) * 1e3)
            if printed.strip().startswith("{"):
                stages[name].append(json.loads(printed.strip().splitlines()[-1]))
            print(f"round {r + 1} {name:38s} {b:6.2f} s CPU, {marginal[name][-1]:6.1f} ms/picture",
                  file=sys.stderr)
    print(f"\nredacted export of a {W}x{H} clip, {FRAMES} pictures at {FPS} fps, detection at "
          f"{SCALE[0]}x{SCALE[1]}, one core; median of {rounds} rounds")
    print(f"  {'':38s} {'CPU, whole run':>15s} {'pictures/s':>11s} {'ms/picture (marginal)':>22s}")
    med_whole = {t: statistics.median(v) for t, v in whole.items()}
    med_marg = {t: statistics.median(v) for t, v in marginal.items()}
    for t in tools:
        print(f"  {t:38s} {med_whole[t]:13.2f} s {FRAMES / med_whole[t]:11.1f} {med_marg[t]:22.1f}")
    base = "deface (onnxruntime)"
    for t in tools:
        if t != base:
            print(f"{t} is {med_whole[base] / med_whole[t]:.2f}x faster end to end than {base} "
                  f"({med_marg[base] / med_marg[t]:.2f}x per picture)")
    for t, runs in stages.items():
        if runs:
            keys = runs[0]["stages_s"].keys()
            split = {k: statistics.median(r["stages_s"][k] for r in runs) for k in keys}
            total = sum(split.values())
            print(f"\n{t}, in process ({runs[0]['runtime']}, threshold {runs[0]['threshold']}; faces looked for on "
                  f"{runs[0]['looked']} of {runs[0]['pictures']} pictures):")
            for k, v in split.items():
                print(f"  {k:7s} {v * 1e3 / FRAMES:7.2f} ms/picture  {100 * v / total:5.1f} %")

    from deface.centerface import CenterFace
    cf = CenterFace(in_shape=SCALE, backend="onnxrt")
    original = scores(clip, truth, cf)
    print(f"\nfaces in the clip: {sum(len(b) for b in truth)} over {FRAMES} pictures (ground truth "
          f"from the generator). deface's detector at 640x360 on true face boxes:")
    print(f"  {'':38s} {'pictures >= 0.2':>16s} {'>= 0.5':>7s} {'top score':>10s} {'detail left (max)':>18s}")
    def row(name, best, left):
        print(f"  {name:38s} {sum(b >= THRESH for b in best):16d} {sum(b >= 0.5 for b in best):7d} "
              f"{max(best):10.2f} {left:18s}")
    row("the original clip", original, "1.00")
    for t, path in outputs.items():
        best = scores(path, truth, cf)
        left = detail(path, clip, truth)
        row(f"{t}", best, f"{max(left):.2f}")
    print("(a score at 0.2 on a blurred face is a blob of skin colour, not a face left: deface's own "
          "output shows it most; 'detail left' is the ground-truth measure, from the pixels)")


if __name__ == "__main__":
    main()
