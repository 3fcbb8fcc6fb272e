# Records torchvision 0.14's outputs (PIL path, Pillow 9.4) for the Go
# transforms' tests: run with Debian's python3-torchvision,
#   cd datasets/testdata/transforms && /usr/bin/python3 gen.py
# It writes src.png (a 37×23 RGB pattern), big.png (300×280) and one PNG
# per expected output.
import numpy as np
from PIL import Image
import torchvision.transforms as T
import torchvision.transforms.functional as F

def pattern(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 // max(w - 1, 1))
    g = (y * 255 // max(h - 1, 1))
    b = ((x * 7 + y * 13) % 256)
    a = np.stack([r, g, b], -1).astype(np.int32) + rng.integers(-20, 21, (h, w, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")

src = pattern(37, 23, 0)
src.save("src.png")
big = pattern(300, 280, 1)
big.save("big.png")
big.save("big.jpg", quality=95)

cases = {
    "resize16": T.Resize(16)(src),
    "resize_10x30": T.Resize((10, 30))(src),
    "resize64": T.Resize(64)(src),
    "resize_max": T.Resize(16, max_size=20)(src),
    "centercrop15": T.CenterCrop(15)(src),
    "centercrop_30x50": T.CenterCrop((30, 50))(src),
    "centercrop_20x36": T.CenterCrop((20, 36))(src),
    "resizedcrop": F.resized_crop(src, 3, 5, 17, 29, [12, 14]),
    "hflip": F.hflip(src),
    "brightness13": F.adjust_brightness(src, 1.3),
    "brightness06": F.adjust_brightness(src, 0.6),
    "contrast06": F.adjust_contrast(src, 0.6),
    "contrast15": F.adjust_contrast(src, 1.5),
    "saturation17": F.adjust_saturation(src, 1.7),
    "saturation03": F.adjust_saturation(src, 0.3),
    "hue02": F.adjust_hue(src, 0.2),
    "hue_m03": F.adjust_hue(src, -0.3),
    "eval": T.Compose([T.Resize(256), T.CenterCrop(224)])(big),
    "eval_jpg": T.Compose([T.Resize(256), T.CenterCrop(224)])(Image.open("big.jpg").convert("RGB")),
}
for name, im in cases.items():
    im.save(name + ".png")
