#!/usr/bin/env python3
"""Writes a colour image-folder data set from Fashion-MNIST (python3 standard library only).

Each class is tinted with its own colour: pixel (r, g, b) = v * colour / 255 for the gray value v,
so colour is a class cue the first conv layer can learn. Output: OUT/{train,test}/<class>/NNNNN.png,
28x28 RGB. Usage: colour-fmnist.py [--source DIR] [--train-per-class N] [--test-per-class N] OUT
"""
import argparse
import gzip
import os
import struct
import sys
import zlib

CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]
COLOURS = [(255, 60, 60), (60, 200, 60), (70, 110, 255), (255, 220, 40), (230, 70, 230),
           (40, 220, 220), (255, 140, 30), (150, 90, 255), (255, 255, 255), (170, 120, 60)]


def read_idx(path, magic):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        data = f.read()
    got, count = struct.unpack(">II", data[:8])
    if got != magic:
        sys.exit(f"error: {path}: magic {got:#x}, expected {magic:#x}")
    if magic == 0x803:
        rows, cols = struct.unpack(">II", data[8:16])
        return count, rows, cols, data[16:]
    return count, data[8:]


def png_rgb(width, height, rgb):
    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + rgb[y * width * 3:(y + 1) * width * 3] for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def locate(source, name):
    for candidate in (os.path.join(source, name + ".gz"), os.path.join(source, name)):
        if os.path.isfile(candidate):
            return candidate
    sys.exit(f"error: {source}: missing {name}.gz (install dataset-fashion-mnist or pass --source DIR)")


def write_split(source, prefix, split, per_class, out):
    count, rows, cols, pixels = read_idx(locate(source, prefix + "-images-idx3-ubyte"), 0x803)
    _, labels = read_idx(locate(source, prefix + "-labels-idx1-ubyte"), 0x801)
    written = [0] * len(CLASSES)
    plane = rows * cols
    for i in range(count):
        label = labels[i]
        if written[label] >= per_class:
            continue
        r, g, b = COLOURS[label]
        gray = pixels[i * plane:(i + 1) * plane]
        rgb = bytearray(plane * 3)
        for p, v in enumerate(gray):
            rgb[3 * p] = v * r // 255
            rgb[3 * p + 1] = v * g // 255
            rgb[3 * p + 2] = v * b // 255
        folder = os.path.join(out, split, CLASSES[label])
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{i:05d}.png"), "wb") as f:
            f.write(png_rgb(cols, rows, bytes(rgb)))
        written[label] += 1
        if min(written) >= per_class:
            break
    return sum(written)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--train-per-class", type=int, default=200)
    parser.add_argument("--test-per-class", type=int, default=50)
    parser.add_argument("out")
    args = parser.parse_args()
    n_train = write_split(args.source, "train", "train", args.train_per_class, args.out)
    n_test = write_split(args.source, "t10k", "test", args.test_per_class, args.out)
    print(f"{args.out}: {n_train} train and {n_test} test colour images, 28x28 RGB, {len(CLASSES)} classes")


if __name__ == "__main__":
    main()
