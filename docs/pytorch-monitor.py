#!/usr/bin/env python3
"""The hand-written PyTorch pipeline issue 19 compares the monitor with: one zf-fmnist snapshot,
P probes, the forward pass, the top-k probes of every feature map of both conv blocks, and the
deconvnet projection of each (unpool with the switches, rectify, transposed filters), in-process,
no I/O. Times the pipeline alone; with --against, alternates it with whole `deconvscope monitor
RUN --force` processes in the same minutes and prints both and their ratio per pair.

Not part of `make test` (PyTorch is a large install); used for the numbers in docs/performance.md.

    python3 docs/pytorch-monitor.py SNAPSHOT.h5 PROBES.h5 [--runs 10] [--against DECONVSCOPE RUN REPORTS]
"""
import argparse, statistics, subprocess, sys, time

import h5py
import numpy as np
import torch
import torch.nn.functional as F

MEAN, STD = 0.2860406, 0.3530242   # Fashion-MNIST's training split, as the zf-fmnist preset


def load(snapshot, probes):
    with h5py.File(snapshot) as f:
        w = {name: (torch.from_numpy(f[f"weights/{name}/weight"][()]), torch.from_numpy(f[f"weights/{name}/bias"][()]))
             for name in ("conv1", "conv2", "fc3", "fc4")}
    with h5py.File(probes) as f:
        images = torch.from_numpy(f["images"][()].astype(np.float32)).reshape(-1, 1, 28, 28)
    return w, (images - MEAN) / STD


def unpool(y, indices, size):
    """The exact transpose of max pooling: each value added at its switch. (F.max_unpool2d assigns,
    so where overlapping windows share a switch, another window's zero can overwrite the value.)"""
    n, c = y.shape[:2]
    out = torch.zeros(n, c, size[0] * size[1])
    return out.scatter_add_(2, indices.reshape(n, c, -1), y.reshape(n, c, -1)).reshape(n, c, *size)


def pipeline(w, x, k=9):
    """Forward, top-k per map of each block, and every top activation projected to pixels."""
    with torch.no_grad():
        a1 = F.relu(F.conv2d(x, *w["conv1"], padding=2))
        p1, i1 = F.max_pool2d(a1, 3, 2, 1, return_indices=True)
        a2 = F.relu(F.conv2d(p1, *w["conv2"], padding=2))
        p2, i2 = F.max_pool2d(a2, 3, 2, 1, return_indices=True)
        out = []
        for block, (y, c) in enumerate(((p1, 32), (p2, 64))):
            n, _, h, ww = y.shape
            peak, where = y.reshape(n, c, h * ww).max(dim=2)            # (P, C) strongest activation per map
            value, probe = peak.t().topk(k, dim=1)                       # (C, k)
            probe = probe.reshape(-1)
            channel = torch.arange(c).repeat_interleave(k)
            seed = torch.zeros(c * k, c, h * ww)
            seed[torch.arange(c * k), channel, where[probe, channel]] = value.reshape(-1)
            seed = seed.reshape(c * k, c, h, ww)
            if block == 1:
                d = unpool(seed, i2[probe], a2.shape[2:])
                d = F.conv_transpose2d(F.relu(d), w["conv2"][0], padding=2)
                seed = d
            d = unpool(seed, i1[probe], a1.shape[2:])
            out.append(F.conv_transpose2d(F.relu(d), w["conv1"][0], padding=2))  # (C k, 1, 28, 28)
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("snapshot"); ap.add_argument("probes")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--against", nargs=3, metavar=("DECONVSCOPE", "RUN", "REPORTS"))
    a = ap.parse_args()
    torch.set_num_threads(2)
    w, x = load(a.snapshot, a.probes)
    pipeline(w, x)   # warm-up
    pairs = []
    for _ in range(a.runs):
        t = time.perf_counter(); out = pipeline(w, x); ours = time.perf_counter() - t
        assert len(out) == 2 and out[1].shape == (576, 1, 28, 28)
        whole = None
        if a.against:
            t = time.perf_counter()
            subprocess.run([a.against[0], "monitor", a.against[1], "--reports", a.against[2], "--force"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            whole = time.perf_counter() - t
        pairs.append((ours, whole))
        print(f"pytorch pipeline {ours:.3f} s" + (f"   deconvscope whole process {whole:.3f} s   ratio {ours / whole:.2f}" if whole else ""))
    torchs = [p[0] for p in pairs]
    print(f"pytorch median {statistics.median(torchs):.3f} s ({min(torchs):.3f}-{max(torchs):.3f})", end="")
    if a.against:
        wholes = [p[1] for p in pairs]; ratios = [p[0] / p[1] for p in pairs]
        print(f"; deconvscope median {statistics.median(wholes):.3f} s ({min(wholes):.3f}-{max(wholes):.3f});"
              f" ratio median {statistics.median(ratios):.2f} (lowest {min(ratios):.2f})")
    else:
        print()


if __name__ == "__main__":
    sys.exit(main())
