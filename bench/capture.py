"""Benchmark: the page pipeline against a straightforward OpenCV pipeline, timed in the same run.

    python bench/capture.py [--frames N] [--repeat R]

1. Per-stage median milliseconds on 3264×2448 camera frames (JPEG, as a UVC camera sends MJPG):
   decode, detect, deskew, warp, enhance, encode, for each mode; against the baseline
   decode → grey → downscale → blur → Canny → contours → approxPolyDP → full-resolution warp → encode.
2. Robustness on the evaluation set (the one the tests assert on): SmartDoc Jaccard mean / min / share
   ≥ 0.9, pages missed and empty pads mistaken for pages, for both pipelines.
3. Live preview at 1280×720: detection on the small copy plus drawing the outline, frames per second.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devices.camera.detect import order_corners  # noqa: E402
from devices.camera.pipeline import encode_jpeg, page_homography, page_size, process  # noqa: E402
from devices.camera.preview import PreviewDetector, draw_outline  # noqa: E402
from devices.camera.quality import jaccard_smartdoc  # noqa: E402
from devices.camera.synth import SimulatedDesk, evaluation_set, make_scene  # noqa: E402


# -- the baseline: the pipeline every tutorial shows -------------------------------------------
def baseline_detect(image: np.ndarray) -> np.ndarray | None:
    h, w = image.shape[:2]
    ratio = h / 500.0
    small = cv2.resize(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (int(round(w / ratio)), 500))
    edges = cv2.Canny(cv2.GaussianBlur(small, (5, 5), 0), 75, 200)
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    for c in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
        approx = cv2.approxPolyDP(c, 0.02 * cv2.arcLength(c, True), True)
        if len(approx) == 4 and cv2.contourArea(approx) > 0.02 * small.size:
            return order_corners(approx.reshape(4, 2).astype(np.float64) * ratio)
    return None


def baseline(jpeg: bytes) -> tuple[dict[str, float], np.ndarray | None]:
    t0 = time.perf_counter()
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    t1 = time.perf_counter()
    corners = baseline_detect(image)
    t2 = time.perf_counter()
    h, w = image.shape[:2]
    quad = corners if corners is not None else np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], float)
    size = page_size(quad)
    page = cv2.warpPerspective(image, page_homography(quad, size), size)
    t3 = time.perf_counter()
    encode_jpeg(page)
    t4 = time.perf_counter()
    ms = {"decode": t1 - t0, "detect": t2 - t1, "warp": t3 - t2, "encode": t4 - t3, "total": t4 - t0}
    return {k: v * 1000 for k, v in ms.items()}, corners


def ours(jpeg: bytes, mode: str) -> dict[str, float]:
    t0 = time.perf_counter()
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    decode = (time.perf_counter() - t0) * 1000
    result = process(image, mode, deskew=mode != "original")
    ms = dict(result.timings_ms)
    ms["decode"] = decode
    ms["total"] = decode + ms["total"]
    return ms


def median_table(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=4, help="3264x2448 frames to time (default 4)")
    parser.add_argument("--repeat", type=int, default=3, help="timings per frame and pipeline (default 3)")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads, numpy {np.__version__}")

    # 1. timings at full resolution
    kinds = ("a4", "id_card", "certificate", "booklet")
    grounds = ("dark_pad", "wood", "light_grey", "patterned")
    frames = []
    for i in range(args.frames):
        scene = make_scene(7000 + i, (3264, 2448), kind=kinds[i % 4], background=grounds[i % 4])
        frames.append(encode_jpeg(scene.image, 90))
    base_runs, our_runs = [], {m: [] for m in ("original", "color", "gray", "bw")}
    for _ in range(args.repeat):
        for jpeg in frames:
            base_runs.append(baseline(jpeg)[0])
            for mode in our_runs:
                our_runs[mode].append(ours(jpeg, mode))
    base = median_table(base_runs)
    print(f"\n1. 3264x2448 frames ({args.frames} frames x {args.repeat}), median ms per page")
    stages = ("decode", "detect", "deskew", "warp", "enhance", "encode", "total")
    print(f"   {'pipeline':<22}" + "".join(f"{s:>9}" for s in stages))
    print(f"   {'baseline':<22}" + "".join(f"{base.get(s, 0.0):9.1f}" for s in stages))
    for mode, runs in our_runs.items():
        med = median_table(runs)
        label = "ours, like for like" if mode == "original" else f"ours, {mode}"
        print(f"   {label:<22}" + "".join(f"{med.get(s, 0.0):9.1f}" for s in stages)
              + f"   ({med['total'] / base['total']:.2f}x baseline)")
    print("   (like for like: decode, detect, warp, encode; the modes add deskew and enhancement)")

    # 2. robustness on the evaluation set
    scenes = evaluation_set()
    print(f"\n2. Evaluation set: {sum(s.corners is not None for s in scenes)} documents, "
          f"{sum(s.corners is None for s in scenes)} empty pads, {scenes[0].image.shape[1]}x{scenes[0].image.shape[0]}")
    for name, detect in (("baseline", baseline_detect), ("ours", lambda im: process(im, "gray").corners)):
        scores, missed, false_pos, ms = [], 0, 0, []
        for s in scenes:
            t = time.perf_counter()
            corners = detect(s.image)
            ms.append((time.perf_counter() - t) * 1000)
            if s.corners is None:
                false_pos += corners is not None
                continue
            missed += corners is None
            scores.append(jaccard_smartdoc(s.corners, corners, s.doc_size))
        a = np.array(scores)
        print(f"   {name:<9} Jaccard mean {a.mean():.4f}  min {a.min():.4f}  >=0.9: {np.mean(a >= 0.9):.0%}  "
              f">=0.98: {np.mean(a >= 0.98):.0%}  missed {missed}  false pages {false_pos}  "
              f"({statistics.median(ms):.1f} ms median)")

    # 3. live preview
    desk = SimulatedDesk(3, (1280, 720))
    preview_frames = [desk.frame(t) for t in np.arange(0, 6.0, 0.25)]
    detector = PreviewDetector()
    times = []
    for frame in preview_frames * 2:
        t = time.perf_counter()
        outline = detector.update(frame)
        draw_outline(frame, outline.corners)
        times.append((time.perf_counter() - t) * 1000)
    med = statistics.median(times)
    print(f"\n3. Preview at 1280x720 (detect on a {PreviewDetector().work_side} px copy + outline): "
          f"median {med:.1f} ms, {1000 / med:.0f} fps")
    print(f"\n(benchmark took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
