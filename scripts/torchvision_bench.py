#!/usr/bin/python3
"""Times torchvision's ResNet-18 and ResNet-50 on 2 threads, float32,
224×224, as models.BenchmarkResNet does: eval-mode forward
(model.eval(), torch.no_grad()) and train-mode forward+backward of
sum(out * 1e-3), at batch 8 and 32. Median of REPS runs after one warm-up.

    /usr/bin/python3 scripts/torchvision_bench.py [REPS [CASE-REGEXP]]
    go test ./models -run '^$' -bench BenchmarkResNet -benchtime 3x

scripts/resnet_bench.sh runs the two case by case, side by side.
"""
import re
import statistics
import sys
import time

import torch
import torchvision


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    only = re.compile(sys.argv[2]) if len(sys.argv) > 2 else None
    torch.set_num_threads(2)
    if not only:
        print("torch", torch.__version__, "threads", torch.get_num_threads())
    for arch in ("resnet18", "resnet50"):
        torch.manual_seed(1)
        model = getattr(torchvision.models, arch)()
        for n in (8, 32):
            x = torch.linspace(-1, 1, n * 3 * 224 * 224).reshape(n, 3, 224, 224)
            for mode in ("eval", "train"):
                name = f"{arch}/{mode}/batch{n}"
                if only and not only.search(name):
                    continue
                times = []
                for i in range(reps + 1):
                    t0 = time.perf_counter()
                    if mode == "eval":
                        model.eval()
                        with torch.no_grad():
                            model(x)
                    else:
                        model.train()
                        model.zero_grad()
                        (model(x) * 1e-3).sum().backward()
                    if i > 0:
                        times.append(time.perf_counter() - t0)
                med = statistics.median(times)
                print(f"torch {name}: {med*1e3:.0f} ms/op  {n/med:.2f} img/s", flush=True)


if __name__ == "__main__":
    main()
