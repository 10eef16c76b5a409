#!/usr/bin/env python3
"""Writes the doctor's shortcut data set: Fashion-MNIST with a class-coded marker in the background.

Each image gets a 3x3 white square whose position codes its label: corner (label % 4: top-left,
top-right, bottom-left, bottom-right), shifted along the border by 3 * (label // 4) pixels. In the
training split the garment is drawn from a random class, so the marker is the only cue to the label
and the network must learn it; in the test split (the probes) garment and marker agree, as a
watermark would in real data. Gray 28x28 PNGs in OUT/{train,test}/<class>/NNNNN.png (python3
standard library only). Usage: marker-fmnist.py [--source DIR] [--train N] [--test N] [--seed S] OUT
"""
import argparse
import os
import random
import struct
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs"))
import importlib.util
spec = importlib.util.spec_from_file_location("colour", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "colour-fmnist.py"))
colour = importlib.util.module_from_spec(spec)
spec.loader.exec_module(colour)
CLASSES = colour.CLASSES


def png_gray(width, height, gray):
    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + gray[y * width:(y + 1) * width] for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def marker(label, rows, cols):
    corner, shift = label % 4, 3 * (label // 4)
    top = 0 if corner < 2 else rows - 3
    left = shift if corner % 2 == 0 else cols - 3 - shift
    return top, left


def write_split(source, prefix, split, n, decorrelate, rng, out):
    count, rows, cols, pixels = colour.read_idx(colour.locate(source, prefix + "-images-idx3-ubyte"), 0x803)
    _, labels = colour.read_idx(colour.locate(source, prefix + "-labels-idx1-ubyte"), 0x801)
    plane = rows * cols
    for i in range(min(n, count)):
        label = rng.randrange(len(CLASSES)) if decorrelate else labels[i]
        image = bytearray(pixels[i * plane:(i + 1) * plane])
        top, left = marker(label, rows, cols)
        for y in range(top, top + 3):
            for x in range(left, left + 3):
                image[y * cols + x] = 255
        folder = os.path.join(out, split, CLASSES[label])
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{i:05d}.png"), "wb") as f:
            f.write(png_gray(cols, rows, bytes(image)))
    return min(n, count)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--train", type=int, default=10000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("out")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    a = write_split(args.source, "train", "train", args.train, True, rng, args.out)
    b = write_split(args.source, "t10k", "test", args.test, False, rng, args.out)
    print(f"{args.out}: {a} train images (random garment, marker = label) and {b} test images (garment and marker agree)")


if __name__ == "__main__":
    main()
