#!/usr/bin/env python3
"""Replaces one conv filter of a snapshot by a +-a checkerboard of the same RMS (h5py), in place.

Usage: checkerboard.py SNAPSHOT.h5 LAYER FILTER
"""
import sys
import h5py
import numpy as np

path, layer, index = sys.argv[1], sys.argv[2], int(sys.argv[3])
with h5py.File(path, "r+") as f:
    w = f[f"weights/{layer}/weight"]
    filt = w[index]
    _, kh, kw = filt.shape
    rms = float(np.sqrt(np.mean(filt.astype(np.float64) ** 2)))
    sign = np.fromfunction(lambda c, y, x: np.where((y + x) % 2 == 0, 1.0, -1.0), filt.shape)
    w[index] = (rms * sign).astype(np.float32)
print(f"{path}: {layer} filter {index} is now a checkerboard of RMS {rms:.4g}")
