#!/usr/bin/env python3
"""PyTorch 2.15 CPU reference for `deconvscope-bench zoo` (issue 21): the same presets, the same
data (Fashion-MNIST from Debian's dataset-fashion-mnist, first N training images, normalized with the
presets' statistics), batch 128, SGD lr 0.01 momentum 0.9, one epoch; prints training images/s
(the loop only, after 10 warm-up batches) and peak resident memory per model.

Not part of `make test` or `make bench` (PyTorch is a large install). Run it beside the bench, in
the same minutes, alternating:  python3 docs/pytorch-zoo.py [IMAGES] [MODEL ...]
"""
import gzip, resource, sys, time

import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(2)   # this project's machines have 2 cores; deconvscope uses both


def idx(path):
    with gzip.open(path) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def zf_fmnist(classes):
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        nn.Conv2d(32, 64, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, classes))


def alexnet_fmnist(classes):
    return nn.Sequential(
        nn.Conv2d(1, 32, 11, 4, 5), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        nn.Conv2d(32, 64, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        nn.Flatten(), nn.Linear(64 * 2 * 2, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, classes))


def vgg_bn(classes):
    def block(i, o):
        return [nn.Conv2d(i, o, 3, 1, 1), nn.BatchNorm2d(o), nn.ReLU()]
    return nn.Sequential(*block(1, 16), *block(16, 16), nn.MaxPool2d(2, 2),
                         *block(16, 32), *block(32, 32), nn.MaxPool2d(2, 2),
                         *block(32, 64), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))


def zf_net(classes):
    return nn.Sequential(
        nn.Conv2d(1, 24, 7, 2, 3), nn.ReLU(), nn.MaxPool2d(3, 2, 1), nn.LocalResponseNorm(5, 1e-4, 0.75, 1),
        nn.Conv2d(24, 64, 5, 2, 2), nn.ReLU(), nn.MaxPool2d(3, 2, 1), nn.LocalResponseNorm(5, 1e-4, 0.75, 1),
        nn.Conv2d(64, 96, 3, 1, 1), nn.ReLU(), nn.Conv2d(96, 96, 3, 1, 1), nn.ReLU(),
        nn.Conv2d(96, 64, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
        nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(256, classes))


MODELS = {"zf-fmnist": zf_fmnist, "alexnet-fmnist": alexnet_fmnist, "vgg-bn": vgg_bn, "zf-net": zf_net}


def main():
    images = int(sys.argv[1]) if len(sys.argv) > 1 else 12800
    names = sys.argv[2:] or list(MODELS)
    x = idx("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")[:images].astype(np.float32) / 255
    y = idx("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz")[:images].astype(np.int64)
    x = torch.from_numpy((x - 0.2860406) / 0.3530242).unsqueeze(1)
    y = torch.from_numpy(y)
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads, 1 epoch of {images} images, batch 128")
    for name in names:
        torch.manual_seed(0)
        model = MODELS[name](10)
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()
        order = torch.randperm(images)
        start, timed = None, 0
        for b in range(0, images, 128):
            if b == 10 * 128:
                start = time.perf_counter()
            idx_b = order[b:b + 128]
            optimizer.zero_grad()
            loss = loss_fn(model(x[idx_b]), y[idx_b])
            loss.backward()
            optimizer.step()
            if start is not None:
                timed += len(idx_b)
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  {name:16s}{timed / seconds:7.0f} images/s   peak {peak:5.0f} MiB (process so far)")


if __name__ == "__main__":
    main()
