#!/usr/bin/env python3
"""PML 2.8.1 golden cases for AccuracyCalculator's k: an integer, an integer
below R (a class's reference count), and k=None.

The cases in testdata/pml/accuracy (made by the steering repository's
tools/pml_golden.py) all use k="max_bin_count". This script adds cases with
other values of k, in the same schema (config "k" is an integer or null),
by running PML itself: it imports pml_golden.py for the schema, the input
generator and the capture of PML's kNN and k-means calls, and changes only
the k given to AccuracyCalculator. It contains no PML code.

It writes testdata/pml/accuracy/AccuracyCalculator__<n>.json for
n = FIRST_CASE, FIRST_CASE+1, ... (one per entry of K_CASES) and adds or
replaces their entries in testdata/pml/index.json, leaving every other case
and entry untouched; running it again rewrites the same files.

Usage (Debian's python3-torch, python3-sklearn, python3-faiss, python3-tqdm):
    PMLPATH=<PML 2.8.1 source> /usr/bin/python3 scripts/pml_accuracy_cases.py \
        [--golden-tools DIR] [--out testdata/pml] [--seed 1]

--golden-tools (or PML_GOLDEN_TOOLS) is the directory holding pml_golden.py;
by default ../shared/tools or ../../shared/tools next to the repository.
PML's source: git -C <PML clone> archive v2.8.1 src | tar -x -C /tmp/pml,
then PMLPATH=/tmp/pml/src.
"""
import argparse
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The first case number this script writes: testdata/pml/accuracy holds
# pml_golden.py's cases 0-4.
FIRST_CASE = 5

# Each case: k (int or None) plus pml_golden.py's accuracy spec: q (query
# class sizes), optional r (reference class sizes), D, noise, spread,
# extra_classes, args (other AccuracyCalculator arguments), desc.
# R below is a class's number of references other than the query.
K_CASES = [
    dict(k=1, q=[5, 5, 4, 4, 3, 1], D=8, noise=0.9,
         desc="k=1, query=reference (k below R for every class but the lone one)"),
    dict(k=3, q=[6, 6, 5, 4, 3], D=8, noise=1.0,
         desc="k=3 below R (R up to 5), query=reference"),
    dict(k=None, q=[5, 5, 4, 4, 3, 1], D=8, noise=0.9,
         desc="k=None (every reference but the query itself), query=reference"),
    dict(k=5, q=[6, 5, 5, 4], r=[8, 8, 7, 6], D=8, noise=1.0,
         desc="k=5 below R (R = 6..8), separate query/reference"),
    dict(k=None, q=[6, 5, 5, 4], r=[8, 8, 7, 6], D=8, noise=1.0,
         desc="k=None (every reference), separate query/reference"),
    dict(k=12, q=[4, 4, 3, 3], D=6, noise=1.0,
         desc="k=12 above R (max bin count 4), query=reference"),
    dict(k=4, q=[10] * 10, D=16, noise=1.2,
         desc="k=4 below R (R = 9), query=reference, 100 x 16 (FAISS's BLAS path)"),
    dict(k=None, q=[6] * 5, D=4, noise=1.1, args={"avg_of_avgs": True},
         desc="k=None, avg_of_avgs=True, query=reference"),
    dict(k=2, q=[6, 6, 6], r=[9, 9, 9, 9], D=4, noise=1.1, extra_classes=1,
         desc="k=2 below R (R = 9), separate, reference has an extra class"),
]


def find_tools(arg):
    cands = [arg, os.environ.get("PML_GOLDEN_TOOLS"),
             os.path.join(REPO, "..", "shared", "tools"),
             os.path.join(REPO, "..", "..", "shared", "tools")]
    for c in cands:
        if c and os.path.isfile(os.path.join(c, "pml_golden.py")):
            return os.path.abspath(c)
    raise SystemExit("pml_golden.py not found: give --golden-tools DIR or set PML_GOLDEN_TOOLS")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "testdata", "pml"))
    ap.add_argument("--seed", type=int, default=1, help="the seed of testdata/pml (index.json's)")
    ap.add_argument("--pml", default=os.environ.get("PMLPATH"))
    ap.add_argument("--golden-tools", default=None)
    a = ap.parse_args()

    sys.path.insert(0, find_tools(a.golden_tools))
    import pml_golden as pg  # noqa: E402

    pml = pg.import_pml(a.pml)
    import torch

    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)

    class KGen(pg.Gen):
        """pml_golden's Gen whose accuracy case takes k from the spec."""

        def acc_case(self, cls, case_no, spec, rng):
            from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
            from pytorch_metric_learning.utils.inference import FaissKMeans

            k = spec["k"]
            args = spec.get("args", {})
            doc = self.header("accuracy", cls, case_no, spec.get("desc"), {"k": k, **args}, dtype="float32")
            knn_func = pg.Capture(self.make_knn(), "knn")
            kmeans_func = pg.Capture(FaissKMeans(niter=20, gpu=False), "kmeans")
            calc = AccuracyCalculator(k=k, device=torch.device("cpu"), knn_func=knn_func,
                                      kmeans_func=kmeans_func, **args)
            D = spec["D"]
            ql = pg.make_labels(rng, spec["q"])
            C = int(ql.max()) + 1 + spec.get("extra_classes", 0)
            centers = rng.normal(size=(C, D)) * spec.get("spread", 1.0)
            q = pg.rnd(centers[ql] + spec.get("noise", 0.8) * rng.normal(size=(len(ql), D)), 6)
            inputs = {"embeddings": q.tolist(), "labels": ql.tolist(), "ref_emb": None,
                      "ref_labels": None, "indices_tuple": None, "params": {}}
            if spec.get("r"):
                rl = pg.make_labels(rng, spec["r"])
                r = pg.rnd(centers[rl] + spec.get("noise", 0.8) * rng.normal(size=(len(rl), D)), 6)
                inputs["ref_emb"], inputs["ref_labels"] = r.tolist(), rl.tolist()
                inputs["ref_includes_query"] = False
                res = calc.get_accuracy(q, ql, r, rl, ref_includes_query=False)
            else:
                inputs["ref_includes_query"] = True
                res = calc.get_accuracy(q, ql)
            cap = calc.knn_func.captured, calc.kmeans_func.captured
            outputs = {k2: (float(v) if not isinstance(v, list) else v) for k2, v in res.items()}
            outputs["k"] = int(cap[0]["k"])
            outputs["knn_indices"] = pg.tolist(cap[0]["indices"])
            outputs["cluster_labels"] = pg.tolist(cap[1]["labels"])
            outputs["knn_func"] = self.knn_desc
            outputs["kmeans_func"] = "pml FaissKMeans(niter=20) (faiss.Kmeans, default seed 1234)"
            doc["inputs"] = inputs
            doc["outputs"] = outputs
            doc["notes"] = ("made by scripts/pml_accuracy_cases.py; get_accuracy casts to float32; "
                            "k=None means every reference (less the query itself when the reference "
                            "includes the query); NMI/AMI depend on k-means: recompute them from "
                            "outputs.cluster_labels")
            return doc

    ctx = pg.Ctx(pml, torch, a.seed)
    g = KGen(ctx, a.out, a.seed)
    for i, spec in enumerate(K_CASES):
        g.run("accuracy", "AccuracyCalculator", FIRST_CASE + i, g.acc_case, spec)
    if g.failures:
        for f in g.failures:
            print("FAIL", f["case"], f["error"], *f["trace"], sep="\n  ", file=sys.stderr)
        raise SystemExit(1)

    path = os.path.join(a.out, "index.json")
    with open(path) as f:
        idx = json.load(f)
    if idx.get("seed") != a.seed:
        raise SystemExit(f"{path} has seed {idx.get('seed')}, this run {a.seed}")
    mine = {(e["module"], e["class"], e["case"]) for e in g.index}
    for e in idx["cases"]:
        key = (e["module"], e["class"], e["case"])
        if e["module"] == "accuracy" and e["case"] < FIRST_CASE and key in mine:
            raise SystemExit(f"case {key} belongs to pml_golden.py")
    idx["cases"] = [e for e in idx["cases"] if (e["module"], e["class"], e["case"]) not in mine]
    # Keep the index's order: the new accuracy entries after the last one.
    last = max((i for i, e in enumerate(idx["cases"]) if e["module"] == "accuracy"), default=len(idx["cases"]) - 1)
    idx["cases"][last + 1:last + 1] = g.index
    with open(path, "w") as f:
        json.dump(idx, f, indent=1)
    print(json.dumps({"written": [e["file"] for e in g.index]}))


if __name__ == "__main__":
    main()
