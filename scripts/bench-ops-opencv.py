#!/usr/bin/python3
"""OpenCV's cost of the ops of scripts/bench-ops.ts, on the same images, for a same-run comparison.

usage: /usr/bin/python3 scripts/bench-ops-opencv.py MS PNG [PNG ...]   (Debian's python3-opencv)

For each PNG (8-bit RGB; bench-ops.ts writes the rendered icon it times), prints one JSON line
{"px": width, "case": name, "ms": CPU ms per call}: CPU time of this process (time.process_time,
one OpenCV thread), best of five rounds of MS/5 CPU ms each after a warm-up, 64 different draws
of the random parameters, as bench-ops.ts does. The chain is the peer's
(../shared/bench/anchors/opencv_random_build.py): LUT brightness/contrast, GaussianBlur 5x9,
warpPerspective linear (p 0.5), two warpAffine nearest rotations, invert (p 0.5).
"""
import json, random, sys, time
import cv2, numpy as np

cv2.setNumThreads(1)
budget = float(sys.argv[1]) / 1000
ROUNDS = 5


def timed(fn):
    for i in range(30):
        fn(i)
    best, calls = float('inf'), 0
    for _ in range(ROUNDS):
        t0 = time.process_time()
        t, n = t0, 0
        while t - t0 < budget / ROUNDS:
            for _ in range(10):
                fn(calls)
                calls += 1
            n += 10
            t = time.process_time()
        best = min(best, (t - t0) / n)
    return best * 1000


def lut_bc(rng):
    b, c = rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.2)
    return np.clip((np.arange(256) - 128) * c + 128 * b, 0, 255).astype(np.uint8)


def perspective_m(rng, w, h):
    d = 0.5 * min(h, w) / 2
    q = lambda: rng.uniform(0, d)
    p0 = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    p1 = np.float32([[q(), q()], [w - 1 - q(), q()], [w - 1 - q(), h - 1 - q()], [q(), h - 1 - q()]])
    return cv2.getPerspectiveTransform(p0, p1)


def chain(img, rng):
    """The peer's chain, verbatim."""
    h, w = img.shape[:2]
    b, c = rng.uniform(0.8, 1.2), rng.uniform(0.8, 1.2)
    lut = np.clip((np.arange(256) - 128) * c + 128 * b, 0, 255).astype(np.uint8); img = cv2.LUT(img, lut)
    s = rng.uniform(0.1, 2.0); img = cv2.GaussianBlur(img, (5, 9), s)
    if rng.random() < 0.5:
        img = cv2.warpPerspective(img, perspective_m(rng, w, h), (w, h), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    for _ in range(2):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(0, 180), 1.0)
        img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=(0, 0, 0))
    if rng.random() < 0.5: img = 255 - img
    return img


def saturation(img, f):
    """Albumentations' adjust_saturation: blend with the grey image."""
    grey = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    return cv2.addWeighted(img, f, grey, 1 - f, 0)


def hue(img, shift):
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    lut = ((np.arange(256) + shift) % 180).astype(np.uint8)
    hsv[..., 0] = cv2.LUT(hsv[..., 0], lut)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


for path in sys.argv[2:]:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    h, w = img.shape[:2]
    png = open(path, 'rb').read()
    draws = [random.Random(i) for i in range(64)]
    luts = [lut_bc(r) for r in draws]
    sigmas = [random.Random(100 + i).uniform(0.1, 2.0) for i in range(64)]
    persp = [perspective_m(random.Random(200 + i), w, h) for i in range(64)]
    rots = [cv2.getRotationMatrix2D((w / 2, h / 2), random.Random(300 + i).uniform(0, 180), 1.0) for i in range(64)]
    rot37 = cv2.getRotationMatrix2D((w / 2, h / 2), 37, 1.0)
    factors = [random.Random(400 + i).uniform(0.8, 1.2) for i in range(64)]
    outs = [chain(img, random.Random(500 + i)) for i in range(64)]
    cases = [
        ('rotate 37° nearest (warpAffine)', lambda i: cv2.warpAffine(img, rot37, (w, h), flags=cv2.INTER_NEAREST, borderValue=(0, 0, 0))),
        ('rotate 37° bilinear (warpAffine)', lambda i: cv2.warpAffine(img, rot37, (w, h), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))),
        ('rotate random nearest (warpAffine)', lambda i: cv2.warpAffine(img, rots[i & 63], (w, h), flags=cv2.INTER_NEAREST, borderValue=(0, 0, 0))),
        ('perspective 0.5 (warpPerspective linear)', lambda i: cv2.warpPerspective(img, persp[i & 63], (w, h), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))),
        ('hflip (cv2.flip)', lambda i: cv2.flip(img, 1)),
        ('invert (255 - img)', lambda i: 255 - img),
        ('brightness+contrast (cv2.LUT)', lambda i: cv2.LUT(img, luts[i & 63])),
        ('saturation (grey + addWeighted)', lambda i: saturation(img, factors[i & 63])),
        ('hue (HSV round trip)', lambda i: hue(img, 9)),
        ('gaussianBlur 5x9 (cv2.GaussianBlur)', lambda i: cv2.GaussianBlur(img, (5, 9), sigmas[i & 63])),
        ('peer chain (LUT, blur, persp p.5, 2 rot nearest, invert p.5)', lambda i: chain(img, random.Random(i & 1023))),
        ('encode PNG (cv2.imencode defaults) of a chain output', lambda i: cv2.imencode('.png', outs[i & 63])),
        ('peer chain + encode PNG', lambda i: cv2.imencode('.png', chain(img, random.Random(i & 1023)))),
        ('decode PNG icon (cv2.imdecode)', lambda i: cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)),
    ]
    for name, fn in cases:
        print(json.dumps({'px': w, 'case': name, 'ms': timed(fn)}), flush=True)
