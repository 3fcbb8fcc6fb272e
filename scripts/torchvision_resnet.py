#!/usr/bin/python3
"""Fixtures for the parity tests of models.ResNet against torchvision.

Run with Debian's torch 1.13 / torchvision 0.14 (python3-torch,
python3-torchvision):

    /usr/bin/python3 scripts/torchvision_resnet.py DIR
    GOMETRIC_TORCHVISION_DIR=DIR go test ./models -run TorchvisionParity

For each of resnet18 and resnet50 it writes, into DIR:

  <arch>.pth                 torch.save(model.state_dict()) of a randomly
                             initialised torchvision model (seed 14), with
                             its BatchNorm weights, biases and running
                             statistics perturbed so that they are not 1/0
  <arch>.safetensors         the same state dict in the safetensors format
                             (written here: an 8-byte little-endian header
                             length, the JSON header, the raw little-endian
                             tensor bytes; the safetensors package is not
                             needed)
  <arch>_expect.safetensors  the expectations, in float64 (F64: torch's
                             answer in float64 for the float32 weights and
                             input), each also in float32 (F32) under the
                             prefix "torch32." (torch's float32 answer):
      input          [2,3,64,64] the input batch (NCHW)
      eval_out       [2,1000]    model.eval()(input)
      eval_features  [2,F]       the same with model.fc = Identity()
                                 (F = 512 or 2048)
      train_out      [2,1000]    model.train()(input), from the loaded state
      R              [2,1000]    the fixed weights of the loss sum(train_out*R)
      grad.input     [2,3,64,64] d(loss)/d(input)
      grad.<name>    d(loss)/d(parameter <name>) for a few parameters
      after.<bn>.running_mean, after.<bn>.running_var, and
      after.<bn>.num_batches_tracked (int64): every BatchNorm's buffers
                                 after that one train-mode forward
      loss           []          the loss
      odd.input      [2,3,57,71] an odd-sized input, and odd.eval_out,
                                 odd.train_out its outputs in both modes
      frozen.out, frozen.grad.input, frozen.grad.conv1.weight,
      frozen.grad.fc.weight      the same step with PML's
                                 freeze_trunk_batchnorm (every BatchNorm in
                                 eval mode, its weight and bias frozen)

The files are large (resnet50 about 100 MB each) and are not committed.
"""

import json
import os
import struct
import sys

import torch
import torchvision

SEED = 14

GRAD_PARAMS = {
    "resnet18": ["conv1.weight", "bn1.weight", "bn1.bias", "layer1.0.conv1.weight",
                 "layer2.0.downsample.0.weight", "layer2.0.downsample.1.weight",
                 "layer4.1.bn2.bias", "fc.weight", "fc.bias"],
    "resnet50": ["conv1.weight", "bn1.weight", "bn1.bias", "layer1.0.conv2.weight",
                 "layer1.0.downsample.0.weight", "layer3.2.conv3.weight",
                 "layer4.2.bn3.weight", "fc.weight", "fc.bias"],
}


def write_safetensors(path, tensors, metadata=None):
    """Writes a dict of name -> tensor in the safetensors format."""
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        if t.dtype == torch.float32:
            dtype = "F32"
        elif t.dtype == torch.float64:
            dtype = "F64"
        elif t.dtype == torch.int64:
            dtype = "I64"
        else:
            raise ValueError(f"{name}: dtype {t.dtype}")
        b = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = metadata
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def perturb_batchnorm(model, gen):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=gen))
                m.bias.copy_(0.1 * torch.randn(c, generator=gen))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen))
                m.num_batches_tracked.fill_(7)


def make(arch, out):
    torch.manual_seed(SEED)
    model = getattr(torchvision.models, arch)()
    gen = torch.Generator().manual_seed(SEED + 1)
    perturb_batchnorm(model, gen)
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    torch.save(model.state_dict(), os.path.join(out, arch + ".pth"))
    write_safetensors(os.path.join(out, arch + ".safetensors"), sd, {"format": "pt"})

    x = torch.randn(2, 3, 64, 64, generator=gen)
    r = torch.randn(2, 1000, generator=gen)
    exp = {"input": x, "R": r, "odd.input": torch.randn(2, 3, 57, 71, generator=gen)}
    # The expectations are computed in float64 (the exact answer for these
    # float32 weights and inputs) and, under "torch32.", in float32: a
    # randomly initialised ResNet-50 in train mode is ill-conditioned at
    # this size (torch's own float32 gradients differ from its float64
    # ones by about 1e-2), so the tests measure float32 against the
    # float64 answer and hold it to torch's float32 error.
    for dt, prefix in ((torch.float64, ""), (torch.float32, "torch32.")):
        model.load_state_dict(sd)
        model.to(dt)
        model.eval()
        xd = x.to(dt)
        with torch.no_grad():
            exp[prefix + "eval_out"] = model(xd)
            fc = model.fc
            model.fc = torch.nn.Identity()
            exp[prefix + "eval_features"] = model(xd)
            model.fc = fc
        model.train()
        model.zero_grad()
        xi = xd.clone().requires_grad_(True)
        out_t = model(xi)
        loss = (out_t * r.to(dt)).sum()
        loss.backward()
        exp[prefix + "train_out"] = out_t.detach()
        exp[prefix + "loss"] = loss.detach().reshape(())
        exp[prefix + "grad.input"] = xi.grad.detach().clone()
        params = dict(model.named_parameters())
        for name in GRAD_PARAMS[arch]:
            exp[prefix + "grad." + name] = params[name].grad.detach().clone()
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                exp[f"{prefix}after.{name}.running_mean"] = m.running_mean.clone()
                exp[f"{prefix}after.{name}.running_var"] = m.running_var.clone()
                exp[f"{prefix}after.{name}.num_batches_tracked"] = m.num_batches_tracked.clone()
        # An odd, non-square input (padding and floor rounding of every
        # stride), eval and train mode.
        model.load_state_dict(sd)
        model.to(dt)
        xo = exp["odd.input"].to(dt)
        model.eval()
        with torch.no_grad():
            exp[prefix + "odd.eval_out"] = model(xo)
        model.train()
        with torch.no_grad():
            exp[prefix + "odd.train_out"] = model(xo)

        # PML's freeze_trunk_batchnorm: train mode with every BatchNorm
        # in eval mode and its weight and bias frozen.
        model.load_state_dict(sd)
        model.to(dt)
        model.train()
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()
                m.weight.requires_grad_(False)
                m.bias.requires_grad_(False)
        model.zero_grad()
        xi = xd.clone().requires_grad_(True)
        out_f = model(xi)
        (out_f * r.to(dt)).sum().backward()
        exp[prefix + "frozen.out"] = out_f.detach()
        exp[prefix + "frozen.grad.input"] = xi.grad.detach().clone()
        exp[prefix + "frozen.grad.conv1.weight"] = params["conv1.weight"].grad.detach().clone()
        exp[prefix + "frozen.grad.fc.weight"] = params["fc.weight"].grad.detach().clone()
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.requires_grad_(True)
                m.bias.requires_grad_(True)
        # (clones above: Module.to converts gradients in place)
        model.to(torch.float32)
    write_safetensors(os.path.join(out, arch + "_expect.safetensors"), exp)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(2)
    for arch in ("resnet18", "resnet50"):
        make(arch, out)
        print("wrote", arch, "to", out)


if __name__ == "__main__":
    main()
