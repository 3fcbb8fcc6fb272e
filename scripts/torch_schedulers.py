#!/usr/bin/env python3
"""Record torch's learning-rate schedules and optimizer steps as testdata.

Run with torch 1.13 (Debian's python3-torch):

    /usr/bin/python3 scripts/torch_schedulers.py models/testdata

It writes torch_schedulers.json (the rate after construction and after
each scheduler.step() for each scheduler and setting) and
torch_optimizers.json (a fixed tensor and gradient sequence through
torch's SGD, Adam, AdamW and RMSprop, with the learning rate changed
mid-way, in float32 and float64). models' tests compare the Go
schedulers to 1e-12 and the optimizers to 1e-6 (float32) / 1e-12 (float64).
"""
import json
import os
import sys

import torch
from torch.optim import lr_scheduler as S

LR0 = 0.1


def schedule(make, steps, metrics=None):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=LR0)
    sch = make(opt)
    lrs = [opt.param_groups[0]["lr"]]
    for i in range(steps):
        opt.step()
        if metrics is None:
            sch.step()
        else:
            sch.step(metrics[i])
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


PLATEAU_METRICS = [1.0, 0.9, 0.9, 0.9, 0.95, 0.89999, 0.8, 0.8, 0.8, 0.8, 0.8,
                   0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7,
                   0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]


def schedulers():
    cases = []

    def add(name, kind, args, make, steps, metrics=None):
        cases.append({"name": name, "kind": kind, "args": args, "lr": LR0,
                      "metrics": metrics, "lrs": schedule(make, steps, metrics)})

    add("step 3 0.1", "step", {"step_size": 3, "gamma": 0.1},
        lambda o: S.StepLR(o, 3, gamma=0.1), 12)
    add("step 2 0.5", "step", {"step_size": 2, "gamma": 0.5},
        lambda o: S.StepLR(o, 2, gamma=0.5), 11)
    add("step 1 0.9", "step", {"step_size": 1, "gamma": 0.9},
        lambda o: S.StepLR(o, 1, gamma=0.9), 8)
    add("multistep 2 5 5 9", "multistep", {"milestones": [2, 5, 5, 9], "gamma": 0.1},
        lambda o: S.MultiStepLR(o, [2, 5, 5, 9], gamma=0.1), 12)
    add("multistep 9 3 0.5", "multistep", {"milestones": [9, 3], "gamma": 0.5},
        lambda o: S.MultiStepLR(o, [9, 3], gamma=0.5), 12)
    add("exponential 0.9", "exponential", {"gamma": 0.9},
        lambda o: S.ExponentialLR(o, 0.9), 15)
    add("exponential 1.05", "exponential", {"gamma": 1.05},
        lambda o: S.ExponentialLR(o, 1.05), 5)
    add("cosine 5 0", "cosine", {"T_max": 5, "eta_min": 0.0},
        lambda o: S.CosineAnnealingLR(o, 5), 23)
    add("cosine 10 0.001", "cosine", {"T_max": 10, "eta_min": 0.001},
        lambda o: S.CosineAnnealingLR(o, 10, eta_min=0.001), 45)
    add("cosine 1 0.01", "cosine", {"T_max": 1, "eta_min": 0.01},
        lambda o: S.CosineAnnealingLR(o, 1, eta_min=0.01), 6)
    m = PLATEAU_METRICS
    add("plateau defaults", "plateau", {},
        lambda o: S.ReduceLROnPlateau(o), len(m), m)
    add("plateau min patience 2", "plateau", {"patience": 2},
        lambda o: S.ReduceLROnPlateau(o, patience=2), len(m), m)
    add("plateau min patience 0 factor 0.5 min_lr 0.02", "plateau",
        {"patience": 0, "factor": 0.5, "min_lr": 0.02},
        lambda o: S.ReduceLROnPlateau(o, patience=0, factor=0.5, min_lr=0.02), len(m), m)
    add("plateau abs threshold 0.05 cooldown 2", "plateau",
        {"patience": 1, "threshold": 0.05, "threshold_mode": "abs", "cooldown": 2},
        lambda o: S.ReduceLROnPlateau(o, patience=1, threshold=0.05, threshold_mode="abs", cooldown=2), len(m), m)
    neg = [-x for x in m]
    add("plateau max patience 1", "plateau", {"mode": "max", "patience": 1},
        lambda o: S.ReduceLROnPlateau(o, mode="max", patience=1), len(neg), neg)
    add("plateau max abs patience 1", "plateau",
        {"mode": "max", "patience": 1, "threshold": 0.02, "threshold_mode": "abs"},
        lambda o: S.ReduceLROnPlateau(o, mode="max", patience=1, threshold=0.02, threshold_mode="abs"), len(neg), neg)
    add("plateau eps 0.5", "plateau", {"patience": 0, "eps": 0.05},
        lambda o: S.ReduceLROnPlateau(o, patience=0, eps=0.05), len(m), m)
    return cases


W0 = [[0.5, -1.0, 2.0], [0.25, 0.0, -0.75]]
GRADS = [
    [[0.3, -0.2, 1.5], [0.05, -1.0, 0.5]],
    [[0.2, -0.25, 1.0], [0.1, -0.5, 0.25]],
    [[-0.1, 0.3, 0.5], [0.0, 0.75, -0.5]],
    [[0.4, 0.1, -0.2], [-0.3, 0.2, 0.1]],
    [[1e-3, -2.0, 0.7], [0.6, -0.05, 1e-4]],
]
LRS = [None, None, None, "half", "half"]  # the rate is halved before step 4


def optimizers():
    settings = [
        ("sgd", "SGD", {"lr": 0.1}),
        ("sgd momentum wd", "SGD", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
        ("sgd nesterov wd", "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
        ("sgd dampening", "SGD", {"lr": 0.05, "momentum": 0.5, "dampening": 0.1}),
        ("adam", "Adam", {"lr": 0.01}),
        ("adam wd", "Adam", {"lr": 0.01, "weight_decay": 0.1}),
        ("adam amsgrad wd betas", "Adam", {"lr": 0.02, "weight_decay": 0.05, "amsgrad": True, "betas": (0.8, 0.9)}),
        ("adamw", "AdamW", {"lr": 0.01}),
        ("adamw wd 0.1 amsgrad", "AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
        ("rmsprop", "RMSprop", {"lr": 0.01}),
        ("rmsprop momentum wd", "RMSprop", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.01}),
        ("rmsprop centered momentum alpha", "RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "alpha": 0.9, "eps": 1e-6}),
    ]
    cases = []
    for name, cls, kw in settings:
        for dtype, tname in ((torch.float32, "float32"), (torch.float64, "float64")):
            p = torch.nn.Parameter(torch.tensor(W0, dtype=dtype))
            opt = getattr(torch.optim, cls)([p], **kw)
            lrs, want = [], []
            for s, g in enumerate(GRADS):
                if LRS[s] == "half" and LRS[s - 1] is None:
                    for grp in opt.param_groups:
                        grp["lr"] = grp["lr"] / 2
                lrs.append(opt.param_groups[0]["lr"])
                p.grad = torch.tensor(g, dtype=dtype)
                opt.step()
                want.append([float(x) for x in p.detach().flatten().tolist()])
            args = dict(kw)
            if "betas" in args:
                args["betas"] = list(args["betas"])
            cases.append({"name": name + " " + tname, "optimizer": cls.lower(), "dtype": tname,
                          "args": args, "w0": [x for row in W0 for x in row],
                          "grads": [[x for row in g for x in row] for g in GRADS],
                          "lrs": lrs, "want": want})
    return cases


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "models/testdata"
    meta = {"torch": torch.__version__}
    with open(os.path.join(out, "torch_schedulers.json"), "w") as f:
        json.dump({"meta": meta, "cases": schedulers()}, f, indent=1)
        f.write("\n")
    with open(os.path.join(out, "torch_optimizers.json"), "w") as f:
        json.dump({"meta": meta, "cases": optimizers()}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
