"""The reference for scripts/bench-cameras: a Frigate-style camera pipeline in
Python, reading the same RTSP stream lensguard reads.

- decode: OpenCV's VideoCapture (FFmpeg inside the opencv-python-headless
  wheel) over RTSP/TCP, every picture decoded, as Frigate's FFmpeg does;
- pictures taken at DETECT_FPS a second;
- motion: Frigate's "improved" motion detector (frigate/motion/
  improved_motion.py, MIT), written again here with the same steps and
  defaults: nearest-neighbour resize to 100 rows, contrast stretched between
  the running means of the 4th and 96th percentiles over 50 frames, Gaussian
  blur (sigma 1, radius 1), difference against the running average,
  threshold 30, one dilation, external contours, boxes of contours over
  area 10, calibration below 5% motion, recalibration over 80%, the average
  learnt at alpha 0.2 while calibrating and 0.01 after, and only after 10
  frames when something moves;
- detection: one region around all the motion, at least the model's input
  size (416), clipped to the frame, through the same NanoDet file on ONNX
  Runtime (one intra-op thread), preprocessed as lensguard does (long side
  416, BGR, ImageNet mean and std, padded with the mean);
- no tracking: Frigate's object tracking is not reproduced, so this
  reference re-detects wherever something moves.

    python bench_cameras.py pipeline|decode URL SECONDS MODEL

Prints one JSON line: CPU seconds (user + system) of this process over the
window, pictures decoded and detector runs.
"""

import json
import os
import resource
import sys
import time

os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from scipy.ndimage import gaussian_filter  # noqa: E402

DETECT_FPS = 5
SIDE = 416
MEAN = np.array([103.53, 116.28, 123.675], np.float32)
STD = np.array([57.375, 57.12, 58.395], np.float32)


class Motion:
    def __init__(self, shape, frame_height=100, threshold=30, contour_area=10,
                 frame_alpha=0.01, lightning=0.8):
        self.resize = shape[0] / frame_height
        self.size = (frame_height, frame_height * shape[1] // shape[0])
        self.avg = np.zeros(self.size, np.float32)
        self.contrast = np.zeros((50, 2), np.uint8)
        self.contrast[:, 1] = 255
        self.at = 0
        self.calibrating = True
        self.moving_frames = 0
        self.threshold, self.contour_area = threshold, contour_area
        self.alpha, self.lightning = frame_alpha, lightning

    def detect(self, gray):
        small = cv2.resize(gray, (self.size[1], self.size[0]), interpolation=cv2.INTER_NEAREST)
        lo = np.percentile(small, 4).astype(np.uint8)
        hi = np.percentile(small, 96).astype(np.uint8)
        if lo < hi:
            self.contrast[self.at] = [lo, hi]
            self.at = (self.at + 1) % len(self.contrast)
            avg_lo, avg_hi = np.mean(self.contrast, axis=0)
            small = np.clip(small, avg_lo, avg_hi)
            small = (((small - avg_lo) / (avg_hi - avg_lo)) * 255).astype(np.uint8)
        small = gaussian_filter(small, sigma=1, radius=1)
        delta = cv2.absdiff(small, cv2.convertScaleAbs(self.avg))
        thresh = cv2.threshold(delta, self.threshold, 255, cv2.THRESH_BINARY)[1]
        thresh = cv2.dilate(thresh, None, iterations=1)
        contours, _ = cv2.findContours(thresh, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        boxes, total = [], 0.0
        for c in contours:
            area = cv2.contourArea(c)
            total += area
            if area > self.contour_area:
                x, y, w, h = cv2.boundingRect(c)
                r = self.resize
                boxes.append((int(x * r), int(y * r), int((x + w) * r), int((y + h) * r)))
        share = total / (self.size[0] * self.size[1])
        if share < 0.05 and len(boxes) <= 4:
            self.calibrating = False
        if self.calibrating or share > self.lightning:
            self.calibrating = True
        alpha = 0.2 if self.calibrating else self.alpha
        if boxes:
            self.moving_frames += 1
            if self.moving_frames >= 10:
                cv2.accumulateWeighted(small, self.avg, alpha)
        else:
            cv2.accumulateWeighted(small, self.avg, alpha)
            self.moving_frames = 0
        return [] if self.calibrating else boxes


def region(boxes, w, h):
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[2] for b in boxes)
    y1 = max(b[3] for b in boxes)
    side = max(x1 - x0, y1 - y0, SIDE)
    rw, rh = min(side, w), min(side, h)
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    rx = min(max(cx - rw // 2, 0), w - rw)
    ry = min(max(cy - rh // 2, 0), h - rh)
    return rx, ry, rw, rh


def detect(session, bgr):
    h, w = bgr.shape[:2]
    f = SIDE / max(w, h)
    sw, sh = max(1, round(w * f)), max(1, round(h * f))
    scaled = cv2.resize(bgr, (sw, sh), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    x = np.zeros((SIDE, SIDE, 3), np.float32)
    x[:sh, :sw] = (scaled - MEAN) / STD
    return session.run(None, {"input_1": x.transpose(2, 0, 1)[None]})


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    mode, url, seconds, model = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    session = None
    if mode == "pipeline":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
    if not capture.isOpened():
        sys.exit(f"cannot open {url}")
    motion = None
    decoded = runs = 0
    next_t = 0.0
    start_cpu, start = cpu(), time.monotonic()
    while time.monotonic() - start < seconds:
        ok, frame = capture.read()
        if not ok:
            break
        decoded += 1
        if mode != "pipeline":
            continue
        t = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if t + 1e-6 < next_t:
            continue
        next_t = t + 1.0 / DETECT_FPS
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if motion is None:
            motion = Motion(gray.shape)
        boxes = motion.detect(gray)
        if boxes:
            h, w = gray.shape
            rx, ry, rw, rh = region(boxes, w, h)
            detect(session, frame[ry:ry + rh, rx:rx + rw])
            runs += 1
    wall = time.monotonic() - start
    print(json.dumps({"cpu_seconds": cpu() - start_cpu, "wall_seconds": wall,
                      "decoded": decoded, "detector_runs": runs}))


if __name__ == "__main__":
    main()
