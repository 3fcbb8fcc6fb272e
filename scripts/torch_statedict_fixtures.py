#!/usr/bin/env python3
"""Small torch state dicts for models' .pth and .safetensors readers.

Writes, under models/testdata/statedict/ (or --out):

  mixed.pth, mixed_legacy.pth, mixed.safetensors
      one state dict of float32, float16, bfloat16, float64, int64, int32,
      uint8 and bool tensors, a float and an int scalar, a zero-size tensor
      and two views sharing the float32 tensor's storage (t[1:] and t.t());
  module.pth, module_legacy.pth, module.safetensors
      the state_dict of Sequential(Conv2d(3, 4, 3), BatchNorm2d(4)) after one
      training-mode forward (running statistics and num_batches_tracked set);
  model_pickled.pth, checkpoint.pth
      files that are not state dicts, which the readers refuse: the whole
      module pickled (torch.save(model)) and a training checkpoint
      {"epoch": 3, "state_dict": ...};
  expected.json
      {file stem: {name: {"dtype", "shape", "values"}}}, the values row-major
      as float32 (floating tensors) or integers.

The .pth files are torch.save's zip format and its legacy format
(_use_new_zipfile_serialization=False). The .safetensors files are written by
hand (the safetensors package is not needed): an 8-byte little-endian header
length, the JSON header {name: {dtype, shape, data_offsets}} with
"__metadata__": {"format": "pt"}, padded with spaces to a multiple of 8, then
each tensor's contiguous little-endian bytes, in name order.

Usage (Debian's python3-torch 1.13):
    /usr/bin/python3 scripts/torch_statedict_fixtures.py [--out DIR]
Running it again rewrites the same files with the same values (the legacy
files' storage keys are memory addresses, so their bytes differ run to run).
"""
import argparse
import collections
import json
import os
import struct

import torch

SAFETENSORS_DTYPE = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def mixed():
    g = torch.Generator().manual_seed(0)
    t = torch.randn(3, 4, generator=g)
    sd = collections.OrderedDict()
    sd["f32"] = t
    sd["f32_rows"] = t[1:]  # a view: storage offset 4
    sd["f32_t"] = t.t()  # a view: strides (1, 4)
    sd["f16"] = torch.randn(2, 3, generator=g).half()
    sd["bf16"] = torch.randn(5, generator=g).bfloat16()
    sd["f64"] = torch.randn(2, 2, generator=g, dtype=torch.float64)
    sd["i64"] = torch.tensor([[1, -2], [3, 2**40]], dtype=torch.int64)
    sd["i32"] = torch.tensor([-7, 0, 2**31 - 1], dtype=torch.int32)
    sd["u8"] = torch.tensor([0, 1, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(3.5)
    sd["scalar_i"] = torch.tensor(7)
    sd["empty"] = torch.zeros(0, 3)
    return sd


def module():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    m.train()
    m(torch.randn(2, 3, 5, 5))
    return m.state_dict()


def expected(sd):
    out = {}
    for name, t in sd.items():
        entry = {"dtype": SAFETENSORS_DTYPE[t.dtype], "shape": list(t.shape)}
        flat = t.contiguous().reshape(-1)
        if t.dtype.is_floating_point:
            entry["values"] = [float(v) for v in flat.float().tolist()]
        else:
            entry["values"] = [int(v) for v in flat.long().tolist()]
        out[name] = entry
    return out


def tensor_bytes(t):
    t = t.contiguous().reshape(-1)
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, sd):
    header = {"__metadata__": {"format": "pt"}}
    data = b""
    for name in sorted(sd):
        t = sd[name]
        b = tensor_bytes(t)
        header[name] = {
            "dtype": SAFETENSORS_DTYPE[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [len(data), len(data) + len(b)],
        }
        data += b
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        f.write(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(here, "..", "models", "testdata", "statedict"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    exp = {}
    for stem, sd in (("mixed", mixed()), ("module", module())):
        torch.save(sd, os.path.join(args.out, stem + ".pth"))
        torch.save(sd, os.path.join(args.out, stem + "_legacy.pth"), _use_new_zipfile_serialization=False)
        write_safetensors(os.path.join(args.out, stem + ".safetensors"), sd)
        exp[stem] = expected(sd)
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    torch.save(m, os.path.join(args.out, "model_pickled.pth"))
    torch.save({"epoch": 3, "state_dict": m.state_dict()}, os.path.join(args.out, "checkpoint.pth"))
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump(exp, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
