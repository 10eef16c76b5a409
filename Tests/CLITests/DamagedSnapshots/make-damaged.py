#!/usr/bin/env python3
"""Writes the damaged snapshots of this folder from valid.h5 (python3 standard library only).

Each one changes a few bytes of the HDF5 global heap that holds the variable-length string
attributes `format` and `architecture`, so that Debian's libhdf5 1.10.8 crashes (SIGSEGV)
inside H5Aread when it converts the string, before any check of deconvscope can run.
The bytes to change are found by parsing, not at fixed offsets (layout: HDF5 file format
specification, "Global Heap" and "Variable-length Data"):

  global heap collection:  "GCOL", version 1, 3 reserved, collection size (8),
                           then objects: index (2), reference count (2), reserved (4),
                           size (8), data padded to 8 bytes; index 0 is the free space.
  vlen reference (in the attribute message): sequence length (4), collection address (8),
                           object index (4).

usage: make-damaged.py [FOLDER]   (default: the folder of this script)
"""
import os
import struct
import sys

folder = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
valid = open(os.path.join(folder, "valid.h5"), "rb").read()

gcol = valid.find(b"GCOL")
assert gcol > 0 and valid.count(b"GCOL") == 1, "expected exactly one global heap collection"

# (index, offset of its size field, bytes) of every object in the collection.
objects = []
at = gcol + 16
while True:
    index, _refs, _reserved, size = struct.unpack_from("<HHIQ", valid, at)
    if index == 0:
        break
    objects.append((index, at + 8, valid[at + 16:at + 16 + size]))
    at += 16 + (size + 7) // 8 * 8


def heap_object(text):
    for index, size_at, data in objects:
        if data == text:
            return index, size_at
    raise SystemExit("no heap object holds %r" % text)


def reference(index, length):
    """Offset of the 16-byte vlen reference to object `index` of the collection."""
    pattern = struct.pack("<IQI", length, gcol, index)
    assert valid.count(pattern) == 1, "expected one reference to heap object %d" % index
    return valid.find(pattern)


format_text = b"deconvscope.snapshot"
format_index, format_size_at = heap_object(format_text)
architecture_index, architecture = next((i, d) for i, _, d in objects if d.startswith(b"{"))


def write(name, offset, fmt, value):
    data = bytearray(valid)
    struct.pack_into(fmt, data, offset, value)
    open(os.path.join(folder, name), "wb").write(bytes(data))
    print("%s: offset %d set to %#x" % (name, offset, value))


# 1. `format` refers to heap object 0x7fffffff of a collection that holds 3: H5HG_read indexes
#    its object table 48 GiB past its end (segfault).
write("format-heap-index-out-of-range.h5", reference(format_index, len(format_text)) + 12, "<I", 0x7FFFFFFF)
# 2. The heap object holding `format` claims 1 GiB instead of 20 bytes: the string conversion
#    allocates 1 GiB and copies it from the 4 KiB collection (segfault past its end).
write("format-heap-object-claims-1gib.h5", format_size_at, "<Q", 1 << 30)
# 3. As 1, for `architecture`, read after `format`, `format_version`, `epoch` and `step` succeeded.
write("architecture-heap-index-out-of-range.h5", reference(architecture_index, len(architecture)) + 12, "<I", 0x7FFFFFFF)
