# Records torchvision 0.14's decoding and eval transform of JPEG files
# (PIL path: Pillow 9.4 on libjpeg-turbo 2.1) for datasets' JPEG decoder
# tests. Run from the repository root with Debian's python3-torchvision:
#   /usr/bin/python3 scripts/torchvision_jpeg_fixtures.py
# It writes under datasets/testdata/jpeg/, for each fixture NAME:
#   NAME.jpg         a synthetic photo-like image (gradients, shapes with
#                    sharp colour edges, noise) saved by Pillow;
#   NAME.rgb.png     Image.open(NAME.jpg).convert("RGB") (torchvision's
#                    loader), lossless — omitted for the large fixture;
#   NAME.eval.png    T.Compose([T.Resize(R), T.CenterCrop(C)]) of it, the
#                    eval transform's uint8 result before ToTensor.
# and cases.txt: NAME R C, one fixture a line. Fixtures with sampling
# factors or colour spaces Pillow cannot write (4:4:0, 4:1:1, 4:1:0, RGB,
# YCCK) are encoded by libjpeg through scripts/jpeg_encode_sampling.c,
# compiled here with gcc -ljpeg (Debian's libjpeg62-turbo-dev); they are
# skipped, with a message, when that fails.
import os
import shutil
import subprocess
import tempfile
import numpy as np
from PIL import Image, ImageDraw
import torchvision.transforms as T

OUT = os.path.join("datasets", "testdata", "jpeg")


def photo(w, h, seed, mode="RGB"):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 40 + 180 * x / max(w - 1, 1)
    g = 60 + 150 * (0.5 + 0.5 * np.sin(y / 17.0 + x / 41.0))
    b = 200 - 150 * y / max(h - 1, 1)
    a = np.stack([r, g, b], -1)
    im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(im)
    for _ in range(9):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(1, max(w // 2, 2))), y0 + int(rng.integers(1, max(h // 2, 2)))
        col = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            d.ellipse([x0, y0, x1, y1], fill=col)
        else:
            d.rectangle([x0, y0, x1, y1], fill=col)
    for _ in range(4):
        pts = [(int(rng.integers(0, w)), int(rng.integers(0, h))) for _ in range(2)]
        d.line(pts, fill=tuple(int(c) for c in rng.integers(0, 256, 3)), width=2)
    a = np.asarray(im).astype(np.int32) + rng.integers(-6, 7, (h, w, 3))
    im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")
    if mode == "CMYK":
        # Pillow's RGB→CMYK leaves K at 0: give K a gradient of its own.
        c = np.asarray(im.convert("CMYK")).copy()
        c[..., 3] = (np.mgrid[0:h, 0:w][1] * 200 // max(w - 1, 1)).astype(np.uint8)
        return Image.fromarray(c, "CMYK")
    return im.convert(mode)


EXIF_ROTATE = Image.Exif()
EXIF_ROTATE[0x0112] = 6

# name, width, height, seed, save options, eval resize, eval crop, keep rgb
CASES = [
    ("s420_q75", 300, 200, 1, dict(quality=75), 73, 64, True),
    ("s420_q95_odd", 301, 199, 2, dict(quality=95), 73, 64, True),
    ("s444_q95_odd", 301, 199, 3, dict(quality=95, subsampling=0), 73, 64, True),
    ("s422_q75_odd", 163, 121, 4, dict(quality=75, subsampling=1), 73, 64, True),
    ("s420_q75_tall", 121, 163, 5, dict(quality=75), 73, 64, True),
    ("progressive_q75", 201, 151, 6, dict(quality=75, progressive=True), 73, 64, True),
    ("gray_q75", 203, 149, 7, dict(quality=75), 73, 64, True),
    ("tiny_3x2", 3, 2, 8, dict(quality=90), 4, 4, True),
    ("cmyk_q90", 91, 67, 10, dict(quality=90), 73, 64, True),
    ("line_37x1", 37, 1, 17, dict(quality=90), 4, 4, True),
    ("s422_5x9", 5, 9, 18, dict(quality=90, subsampling=1), 4, 4, True),
    ("s422_4x9", 4, 9, 19, dict(quality=90, subsampling=1), 4, 4, True),
    # EXIF orientation 6 (rotate 90°): Pillow's loader ignores it.
    ("exif_orient6", 61, 43, 20, dict(quality=85, exif=EXIF_ROTATE), 32, 32, True),
    ("full_500x375", 500, 375, 9, dict(quality=75), 256, 224, False),
]


# name, width, height, seed, colour space, H0 V0 H1 V1, quality: encoded by
# libjpeg (jpeg_encode_sampling.c), decoded by Pillow.
LIBJPEG_CASES = [
    ("s440_q85_odd", 163, 121, 11, "ycbcr", (1, 2, 1, 1), 85),
    ("s411_q85_odd", 163, 121, 12, "ycbcr", (4, 1, 1, 1), 85),
    ("s410_q85_odd", 163, 121, 13, "ycbcr", (4, 2, 1, 1), 85),
    ("rgb444_q90", 91, 67, 14, "rgb", (1, 1, 1, 1), 90),
    ("rgb420_q90", 91, 67, 15, "rgb", (2, 2, 1, 1), 90),
    ("ycck420_q90", 91, 67, 16, "ycck", (2, 2, 1, 1), 90),
]


def record(name, path, resize, crop, keep, lines):
    rgb = Image.open(path).convert("RGB")
    if keep:
        rgb.save(os.path.join(OUT, name + ".rgb.png"), optimize=True)
    ev = T.Compose([T.Resize(resize), T.CenterCrop(crop)])(rgb)
    ev.save(os.path.join(OUT, name + ".eval.png"), optimize=True)
    lines.append("%s %d %d %d\n" % (name, resize, crop, 1 if keep else 0))


def libjpeg_cases(lines):
    here = os.path.dirname(os.path.abspath(__file__))
    tmp = tempfile.mkdtemp()
    try:
        enc = os.path.join(tmp, "enc")
        r = subprocess.run(["gcc", "-O2", "-o", enc, os.path.join(here, "jpeg_encode_sampling.c"), "-ljpeg"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print("skipping the libjpeg-encoded fixtures: gcc -ljpeg failed:", r.stderr.strip())
            return
        for name, w, h, seed, space, f, q in LIBJPEG_CASES:
            im = photo(w, h, seed, "CMYK" if space == "ycck" else "RGB")
            raw = os.path.join(tmp, name + ".raw")
            with open(raw, "wb") as fh:
                fh.write(im.tobytes())
            path = os.path.join(OUT, name + ".jpg")
            subprocess.run([enc, raw, str(w), str(h), space] + [str(v) for v in f] + [str(q), path], check=True)
            record(name, path, 73, 64, True, lines)
    finally:
        shutil.rmtree(tmp)


def main():
    os.makedirs(OUT, exist_ok=True)
    lines = []
    for name, w, h, seed, opts, resize, crop, keep in CASES:
        path = os.path.join(OUT, name + ".jpg")
        photo(w, h, seed, "L" if name.startswith("gray") else "CMYK" if name.startswith("cmyk") else "RGB").save(path, **opts)
        record(name, path, resize, crop, keep, lines)
    libjpeg_cases(lines)
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("# name resize crop has-rgb (written by scripts/torchvision_jpeg_fixtures.py)\n")
        f.writelines(lines)


if __name__ == "__main__":
    main()
