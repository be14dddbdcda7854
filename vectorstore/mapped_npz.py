"""Arrays stored in an uncompressed .npz, used where they lie in the file instead of loaded.

`np.load` copies every member it reads into memory. The BM25 segments' term counts and row
indices (bench/serve_memory.py: 270 MB at 1.5 M sentences) are used a posting at a time.
`mapped_member` maps a member read-only, for the whole-matrix work of a writer (merges,
document frequencies after removals); `MemberSlices` reads one slice of it with `pread`, for
searches: the bytes come from the page cache, which the kernel keeps once for every process
reading the store, and the copy is freed with the search, so a serving process does not keep
the pages it once touched (at 100 k articles, ~220 MB after 50 questions when they were mapped).
`np.savez` stores members without compression, which is what makes a member readable in place:
its bytes lie in the file as a .npy.
"""

from __future__ import annotations

import os
import struct
import weakref
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # a zip local file header, 30 bytes
_LOCAL_SIGNATURE = b"PK\x03\x04"


@dataclass(frozen=True)
class MemberLayout:
    """Where a member's array lies in its .npz file."""

    offset: int
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran: bool


def member_layout(path: Path, name: str) -> MemberLayout | None:
    """Where the member `name` (without ".npy") lies in the .npz at `path`; None when it cannot
    be read in place (absent, compressed, or an object array)."""
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
    return MemberLayout(offset, dtype, tuple(shape), bool(fortran))


def mapped_member(path: Path, name: str) -> np.ndarray | None:
    """The member `name` of the .npz at `path`, memory-mapped read-only; None when it cannot
    be mapped (absent, compressed, or an object array), so the caller reads it."""
    layout = member_layout(path, name)
    if layout is None:
        return None
    if not layout.shape or int(np.prod(layout.shape)) == 0:
        return np.zeros(layout.shape, dtype=layout.dtype)  # np.memmap cannot map zero bytes
    return np.memmap(
        path,
        dtype=layout.dtype,
        mode="r",
        offset=layout.offset,
        shape=layout.shape,
        order="F" if layout.fortran else "C",
    )


class MemberSlices:
    """Slices of a one-dimensional member, each read from the file when asked for.

    The file stays open while this object lives, so a slice can still be read after a writer
    has deleted the file (the kernel keeps an unlinked file while it is open)."""

    def __init__(self, path: Path, name: str):
        layout = member_layout(path, name)
        if layout is None or len(layout.shape) != 1:
            raise ValueError(f"{path}: member {name}.npy cannot be read in place")
        self.layout = layout
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)
        # closed with this object, which a reloading reader drops while others may still read
        self._closer = weakref.finalize(self, os.close, self._fd)

    def __len__(self) -> int:
        return self.layout.shape[0]

    def read(self, begin: int, end: int) -> np.ndarray:
        """Elements `begin` to `end` (exclusive), as a new read-only array."""
        end = min(end, len(self))
        if end <= begin:
            return np.zeros(0, dtype=self.layout.dtype)
        size = self.layout.dtype.itemsize
        wanted = (end - begin) * size
        data = os.pread(self._fd, wanted, self.layout.offset + begin * size)
        if len(data) != wanted:
            raise ValueError(f"{self.path}: ends inside a stored array")
        return np.frombuffer(data, dtype=self.layout.dtype)

    def close(self) -> None:
        self._closer()
