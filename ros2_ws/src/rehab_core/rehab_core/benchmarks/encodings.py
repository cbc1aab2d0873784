"""Decode cost of every camera encoding at 640x480 and 1280x720 (printed, never asserted).

What is timed is what the stack does with one message of that encoding:
``decode_buffer`` (step/byte-order handling plus the one conversion to BGR8
for non-native encodings) followed by ``as_bgr8`` (what a model calls; free
for bgr8). JPEG and PNG (``CompressedImage``) are timed the same way.

Run: ``.venv/bin/python -m rehab_core.benchmarks.encodings [--repeat N]``.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from rehab_core.vision.encodings import (
    SUPPORTED_ENCODINGS,
    bgr8_to_array,
    decode_buffer,
    decode_compressed,
)
from rehab_core.vision.image import as_bgr8

SIZES = ((640, 480), (1280, 720))


def _scene(w: int, h: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
    return cv2.resize(noise, (w, h), interpolation=cv2.INTER_LINEAR)


def _median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def measure(repeat: int = 50) -> list[tuple[str, str, float]]:
    """(encoding, size, median ms) for every encoding, JPEG and PNG at every size."""
    rows = []
    for w, h in SIZES:
        bgr = _scene(w, h)
        for name in SUPPORTED_ENCODINGS:
            data = bgr8_to_array(bgr, name).tobytes()

            def run(data=data, name=name, w=w, h=h):
                image, enc = decode_buffer(data, name, w, h)
                as_bgr8(image, enc)

            rows.append((name, f"{w}x{h}", _median_ms(run, repeat)))
        for fmt, ext in (("jpeg", ".jpg"), ("png", ".png")):
            data = cv2.imencode(ext, bgr)[1].tobytes()
            rows.append((f"{fmt} (compressed)", f"{w}x{h}",
                         _median_ms(lambda d=data, f=fmt: decode_compressed(d, f), repeat)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50, help="timed decodes per cell")
    args = parser.parse_args(argv)
    rows = measure(args.repeat)
    sizes = [f"{w}x{h}" for w, h in SIZES]
    table = {(n, s): ms for n, s, ms in rows}
    names = list(dict.fromkeys(n for n, _s, _ms in rows))
    print(f"| encoding | {' | '.join(f'{s} ms' for s in sizes)} |")
    print(f"| --- | {' | '.join('---:' for _ in sizes)} |")
    for n in names:
        print(f"| {n} | {' | '.join(f'{table[(n, s)]:.3f}' for s in sizes)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
