#!/usr/bin/env python3
"""torchvision's embeddings of CUB-200's test split through a ResNet trunk (fc = Identity, eval mode).

The reference of examples/cub200's `-trunk resnetNN -weights FILE -freeze-trunk -embedder 0
-epochs 0` (TestTorchvisionTrunkMetrics): the test split (classes 101-200, in the order of
image_class_labels.txt, as PML's CUB and datasets.NewCUB), each image loaded as torchvision's
ImageFolder does (PIL Image.open(p).convert("RGB")), transformed by Resize(round(side*256/224)),
CenterCrop(side), ToTensor, Normalize(ImageNet mean, std), and embedded by torchvision's resnetNN
with the given state dict and fc replaced by Identity, in eval mode, float32.

Usage: /usr/bin/python3 scripts/torchvision_cub_embed.py CUB_200_2011 DEPTH WEIGHTS.pth SIDE OUT.safetensors

OUT holds "embeddings" (F32, N x D) and "labels" (I64, N), written by hand in the safetensors
format (the safetensors package is not installed here).
"""
import json, os, struct, sys

import torch
import torchvision
from PIL import Image
from torchvision import transforms


def main():
    root, depth, weights, side, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
    if os.path.exists(os.path.join(root, "CUB_200_2011", "images.txt")):
        root = os.path.join(root, "CUB_200_2011")
    paths = {}
    with open(os.path.join(root, "images.txt")) as f:
        for line in f:
            if line.strip():
                i, p = line.split()
                paths[int(i)] = p
    items = []
    with open(os.path.join(root, "image_class_labels.txt")) as f:
        for line in f:
            if line.strip():
                i, c = map(int, line.split())
                if 101 <= c <= 200:
                    items.append((paths[i], c))
    tf = transforms.Compose([
        transforms.Resize(round(side * 256 / 224)),
        transforms.CenterCrop(side),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    model = getattr(torchvision.models, "resnet%d" % depth)()
    model.load_state_dict(torch.load(weights))
    model.fc = torch.nn.Identity()
    model.eval()
    x = torch.stack([tf(Image.open(os.path.join(root, "images", p)).convert("RGB")) for p, _ in items])
    with torch.no_grad():
        emb = model(x).float().contiguous()
    labels = torch.tensor([c for _, c in items], dtype=torch.int64)
    blobs = [("embeddings", "F32", list(emb.shape), emb.numpy().tobytes()),
             ("labels", "I64", list(labels.shape), labels.numpy().tobytes())]
    header, off = {}, 0
    for name, dtype, shape, b in blobs:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(b)]}
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(out, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, _, _, b in blobs:
            f.write(b)


if __name__ == "__main__":
    main()
