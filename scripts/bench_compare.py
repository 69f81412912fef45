"""Times lensguard, the OpenCV reference and the libjpeg-turbo floor on the same photos.

Run by scripts/bench. Every figure is a median of single-thread, warm, per-photo
times measured in this one run:

1. lensguard: `lensguard bench --json` (decode + every check + verdict, from memory);
2. reference: what a user would otherwise write in Python (`reference_verdict`):
   cv2.imread, grey conversion, Laplacian variance, histogram, resize,
   imagehash.phash, with OpenCV limited to one thread;
3. floor: `djpeg -scale 1/8` from Debian's libjpeg-turbo-progs, as CPU time
   (user + sys) of the process minus that of decoding an 8x8 JPEG (process start),
   and, as a cross-check, Pillow's bundled libjpeg-turbo decoding at 1/8 scale
   in-process (`Image.draft`).
"""

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import cv2  # noqa: E402
import imagehash  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

cv2.setNumThreads(1)


def reference_verdict(path: str) -> dict:
    img = cv2.imread(path)
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    sharpness = cv2.Laplacian(grey, cv2.CV_64F).var()
    hist = cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel()
    total = hist.sum()
    mean = float(np.dot(hist, np.arange(256)) / total)
    shadows = float(hist[:9].sum() / total)
    highlights = float(hist[247:].sum() / total)
    h, w = grey.shape
    small = cv2.resize(grey, (512, max(1, round(h * 512 / w))), interpolation=cv2.INTER_AREA)
    phash = str(imagehash.phash(Image.fromarray(small)))
    ok = sharpness > 100 and 50 < mean < 210 and shadows < 0.35 and highlights < 0.25
    return {"verdict": "pass" if ok else "retry", "phash": phash}


def time_in_process(fn, arg, rounds: int, warmup: int) -> float:
    for _ in range(warmup):
        fn(arg)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn(arg)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def cpu_ms_of(cmd: list) -> float:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"{cmd} failed with status {status}")
    return (usage.ru_utime + usage.ru_stime) * 1000


def djpeg_ms(path: str, rounds: int) -> float:
    cmd = ["djpeg", "-scale", "1/8", "-outfile", os.devnull, path]
    cpu_ms_of(cmd)
    return statistics.median(cpu_ms_of(cmd) for _ in range(rounds))


def pillow_draft(data: bytes) -> None:
    im = Image.open(io.BytesIO(data))
    im.draft("RGB", (im.width // 8, im.height // 8))
    im.load()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lensguard", required=True)
    ap.add_argument("--photos", required=True)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    photos = sorted(Path(args.photos).glob("*.jpg"))
    if not photos:
        sys.exit(f"no photos in {args.photos}")

    out = subprocess.run(
        [args.lensguard, "bench", "--json", "--rounds", str(args.rounds), "--warmup", "3"]
        + [str(p) for p in photos],
        check=True, capture_output=True, text=True,
    ).stdout
    ours = {Path(r["file"]).name: r for r in map(json.loads, out.splitlines())}

    with tempfile.TemporaryDirectory() as tmp:
        tiny = os.path.join(tmp, "tiny.jpg")
        Image.new("RGB", (8, 8), (128, 128, 128)).save(tiny)
        startup = djpeg_ms(tiny, args.rounds * 2)

    rows = []
    for p in photos:
        size, _name, kind = p.stem.split("-", 2)
        r = ours[p.name]
        row = {"size": size, "kind": kind, "file": p.name, "lensguard_ms": r["median_ms"],
               "lensguard_verdict": r["verdict"]}
        if kind == "sharp":
            row["opencv_ms"] = time_in_process(reference_verdict, str(p), args.rounds, 2)
            row["djpeg_ms"] = djpeg_ms(str(p), args.rounds) - startup
            row["pillow_draft_ms"] = time_in_process(pillow_draft, p.read_bytes(), args.rounds, 2)
        rows.append(row)

    print(f"djpeg process start (8x8 JPEG, CPU): {startup:.2f} ms, subtracted below\n")
    print("Verdicts on real photographs (lensguard, default policy):")
    for kind in ["sharp", "blurred", "dark", "overexposed", "glare"]:
        got = [f"{r['size']}:{r['lensguard_verdict']}" for r in rows if r["kind"] == kind]
        print(f"  {kind:<12} {' '.join(got)}")
    print()
    header = (f"{'size':<6} {'n':>2} {'lensguard':>10} {'opencv':>9} {'djpeg 1/8':>10} "
              f"{'pillow 1/8':>11} {'opencv/lensguard':>17} {'lensguard/djpeg':>16}")
    print("Median single-thread ms per photo (sharp photos):")
    print(header)
    summary = {}
    for size in ["12mp", "1080p", "vga"]:
        sharp = [r for r in rows if r["size"] == size and r["kind"] == "sharp"]
        if not sharp:
            continue
        med = {k: statistics.median(r[k] for r in sharp)
               for k in ["lensguard_ms", "opencv_ms", "djpeg_ms", "pillow_draft_ms"]}
        speedup = med["opencv_ms"] / med["lensguard_ms"]
        to_floor = med["lensguard_ms"] / med["djpeg_ms"]
        summary[size] = {**med, "opencv_over_lensguard": speedup, "lensguard_over_djpeg": to_floor}
        print(f"{size:<6} {len(sharp):>2} {med['lensguard_ms']:>10.2f} {med['opencv_ms']:>9.2f} "
              f"{med['djpeg_ms']:>10.2f} {med['pillow_draft_ms']:>11.2f} {speedup:>16.1f}x {to_floor:>15.2f}x")
    t12 = summary.get("12mp")
    if t12:
        print(f"\n12 MP targets: >= 5x faster than OpenCV: {t12['opencv_over_lensguard']:.1f}x "
              f"({'met' if t12['opencv_over_lensguard'] >= 5 else 'NOT met'}); "
              f"within 1.3x of the djpeg floor: {t12['lensguard_over_djpeg']:.2f}x "
              f"({'met' if t12['lensguard_over_djpeg'] <= 1.3 else 'NOT met'})")
    print(json.dumps({"summary": summary}), file=sys.stderr)


if __name__ == "__main__":
    main()
