"""lensguard redaction vs deface, same 1080p photos, same detection scale, one core.

Run by scripts/bench-redaction inside deface's own virtual environment.

usage: bench_redaction.py TESTDATA LENSGUARD_BIN STAGES_BIN MODELS OUT ROUNDS

Photos: the evaluation photos with faces (eval/faces.toml), each scaled to fit
1920x1080 and centred on grey, saved as JPEG quality 90.

CPU per photo: each tool runs, pinned to core 0 (taskset), once on one photo and
once on a batch of 30; (CPU of the batch - CPU of the one) / 29 is the marginal
CPU per photo, so interpreter start-up and model loading are not counted for
either tool. Rounds alternate the tools; medians are reported.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from PIL import Image

SOURCES = [
    "astronaut.png",
    "camera.png",
    "opencv-basketball1.png",
    "opencv-left06.jpg",
    "opencv-right06.jpg",
    "opencv-messi5.jpg",
]
COPIES = 5
THRESH = 0.2  # deface's default
SCALE = (640, 360)


def make_photos(testdata, out):
    os.makedirs(out, exist_ok=True)
    paths = []
    for name in SOURCES:
        dest = os.path.join(out, os.path.splitext(name)[0] + "-1080p.jpg")
        if not os.path.exists(dest):
            im = Image.open(os.path.join(testdata, name)).convert("RGB")
            im.thumbnail((1920, 1080), Image.LANCZOS) if im.width > 1920 else None
            f = min(1920 / im.width, 1080 / im.height)
            im = im.resize((round(im.width * f), round(im.height * f)), Image.LANCZOS)
            canvas = Image.new("RGB", (1920, 1080), (128, 128, 128))
            canvas.paste(im, ((1920 - im.width) // 2, (1080 - im.height) // 2))
            canvas.save(dest, quality=90)
        paths.append(dest)
    return paths


def cpu_seconds(cmd, env=None):
    """User + system CPU of `cmd` and its children, pinned to core 0."""
    proc = subprocess.Popen(["taskset", "-c", "0", *cmd], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed: {err[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def main():
    testdata, lensguard, stages, models, out, rounds = sys.argv[1:7]
    rounds = int(rounds)
    photos = make_photos(testdata, os.path.join(out, "photos"))
    work = tempfile.mkdtemp()
    one, batch = os.path.join(work, "one"), os.path.join(work, "batch")
    os.makedirs(one)
    os.makedirs(batch)
    shutil.copy(photos[0], one)
    for c in range(COPIES):
        for p in photos:
            shutil.copy(p, os.path.join(batch, f"{c}-{os.path.basename(p)}"))
    n = len(os.listdir(batch))
    policy = os.path.join(work, "policy.toml")
    with open(policy, "w") as f:
        f.write(f'version = 1\n[faces]\nthreshold = {THRESH}\n'
                f'[detection]\nscale = {SCALE[0]}\ntiling = "off"\n'
                f'[redaction]\ncategories = ["faces"]\n')
    deface = os.path.join(os.path.dirname(sys.executable), "deface")
    env = dict(os.environ, OMP_NUM_THREADS="1")

    def lg(src):
        dest = tempfile.mkdtemp(dir=work)
        return [lensguard, "redact", src, "--out", dest, "--jobs", "1", "--quiet",
                "--policy", policy, "--models", models]

    def df(backend):
        def cmd(src):
            dest = tempfile.mkdtemp(dir=work)
            for name in os.listdir(src):
                shutil.copy(os.path.join(src, name), dest)
            files = [os.path.join(dest, x) for x in sorted(os.listdir(dest))]
            return [deface, *files, "--scale", f"{SCALE[0]}x{SCALE[1]}", "--thresh",
                    str(THRESH), "--backend", backend]
        return cmd

    tools = {"lensguard": lg, "deface (onnxruntime)": df("onnxrt"),
             "deface (opencv)": df("opencv")}
    per_photo = {t: [] for t in tools}
    for r in range(rounds):
        for name, make in tools.items():
            a = cpu_seconds(make(one), env)
            b = cpu_seconds(make(batch), env)
            per_photo[name].append((b - a) / (n - 1) * 1e3)
            print(f"round {r + 1} {name:22s} {per_photo[name][-1]:7.1f} ms CPU/photo",
                  file=sys.stderr)
    med = {t: statistics.median(v) for t, v in per_photo.items()}
    print(f"\n1080p redaction, detection at {SCALE[0]}x{SCALE[1]}, threshold {THRESH}, one core;")
    print(f"marginal CPU per photo over a batch of {n}, median of {rounds} rounds:")
    for t, v in med.items():
        print(f"  {t:22s} {v:7.1f} ms")
    for t in tools:
        if t != "lensguard":
            print(f"lensguard is {med[t] / med['lensguard']:.2f}x faster than {t}")

    # The faces each finds on the shared photos (deface's own detector code).
    from deface.centerface import CenterFace
    import imageio.v2 as iio
    print("\nfaces found per photo (threshold 0.2):  deface  lensguard")
    stage = subprocess.run(
        [stages, os.path.join(models, "centerface.onnx"), str(SCALE[0]), str(THRESH), "5",
         *photos], capture_output=True, text=True, check=True).stdout
    ours = {line.split(" ", 2)[2]: int(line.split()[1])
            for line in stage.splitlines() if line.startswith("faces ")}
    cf = CenterFace(in_shape=SCALE, backend="onnxrt")
    same = True
    for p in photos:
        dets, _ = cf(iio.imread(p), threshold=THRESH)
        same &= len(dets) == ours[p]
        print(f"  {os.path.basename(p):34s} {len(dets):6d}  {ours[p]:9d}")
    print("same number of faces on every photo" if same else "the counts differ (see above)")
    print("\nlensguard, in process, " + "\n".join(
        l for l in stage.splitlines() if not l.startswith("faces ")))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
