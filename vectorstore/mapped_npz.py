"""Read an array stored in an uncompressed .npz as a read-only memory map of the file.

`np.load` copies every member it reads into memory. The BM25 segments' term counts and row
indices (bench/serve_memory.py: 270 MB at 1.5 M sentences) are read a posting at a time, so
mapping them lets the kernel page in what searches touch, and page it out again under memory
pressure, instead of a process holding all of it. `np.savez` stores members without
compression, which is what makes a member mappable: its bytes lie in the file as a .npy.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # a zip local file header, 30 bytes
_LOCAL_SIGNATURE = b"PK\x03\x04"


def mapped_member(path: Path, name: str) -> np.ndarray | None:
    """The member `name` (without ".npy") of the .npz at `path`, memory-mapped read-only;
    None when it cannot be mapped (compressed, or an object array), so the caller reads it."""
    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo(f"{name}.npy")
        except KeyError:
            return None
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with path.open("rb") as handle:
        handle.seek(info.header_offset)
        fields = _LOCAL_HEADER.unpack(handle.read(_LOCAL_HEADER.size))
        if fields[0] != _LOCAL_SIGNATURE:
            raise ValueError(f"{path}: member {name}.npy has no local zip header")
        name_length, extra_length = fields[-2], fields[-1]
        handle.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        offset = handle.tell()
    if dtype.hasobject:
        return None
    if not shape or int(np.prod(shape)) == 0:
        return np.zeros(shape, dtype=dtype)  # np.memmap cannot map zero bytes
    return np.memmap(
        path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C"
    )
