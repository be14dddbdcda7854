"""Is each HNSW index that embedded Chroma persisted whole, or torn by a killed writer?

Chroma writes an index's files in place (`header.bin`, `data_level0.bin`, `length.bin`,
`link_lists.bin`, then at each sync `index_metadata.pickle`). A process killed during that flush
can leave them disagreeing, and chromadb (1.5.x) then crashes the next process that loads the
index with a segmentation fault, not an exception (chroma-core/chroma#7238). Seen here: a
SIGKILLed ingest left a header counting 4,521 elements beside a metadata pickle that knew
3,285 (1,236 records of `data_level0.bin` never written, `link_lists.bin` 4.6 TB long, sparse),
and every later `collection.count()` segfaulted while Chroma replayed its log onto it. A
writer checks the files before Chroma opens them (`ArticleStore`), so a torn index is rebuilt
instead of taking the process down; a reader refuses it with an error.

The checks follow hnswlib's file layout as Chroma's fork writes it: the header's element count
and record size fix the sizes of `data_level0.bin` and `length.bin` (a young index, not yet
synced, has them sized for its capacity instead), and `link_lists.bin` is one (uint32 size,
links) record per element whose sizes must be whole multiples of a level's links and add up to
the file; the metadata pickle, written last, must count as many elements as the
header. At 1.48 M vectors the check reads 12.6 MB and takes 0.2-0.3 s.
"""

from __future__ import annotations

import pickletools
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# version, offsetLevel0, max_elements, cur_element_count, size_data_per_element, label_offset,
# offsetData, maxlevel, enterpoint_node, maxM, maxM0, M, mult, ef_construction
_HEADER = struct.Struct("<IQQQQQQiIQQQdQ")
_SIZE = struct.Struct("<I")
_FILES = ("header.bin", "data_level0.bin", "length.bin", "link_lists.bin")
# written at the first sync (every `sync_threshold` additions): a young index has none yet
_METADATA = "index_metadata.pickle"


@dataclass(frozen=True)
class TornIndex:
    """An index folder whose files disagree, and the first disagreement found."""

    folder: Path
    reason: str


def torn_indexes(chroma_dir: Path) -> list[TornIndex]:
    """Every persisted HNSW index under an embedded Chroma folder that is not whole."""
    if not chroma_dir.is_dir():
        return []
    found = []
    for folder in sorted(p for p in chroma_dir.iterdir() if p.is_dir()):
        if not any((folder / name).exists() for name in (*_FILES, _METADATA)):
            continue  # not an HNSW index folder
        reason = index_problem(folder)
        if reason:
            found.append(TornIndex(folder, reason))
    return found


def index_problem(folder: Path) -> str | None:
    """Why the index in `folder` cannot be whole, or None when its files agree."""
    missing = [name for name in _FILES if not (folder / name).is_file()]
    if missing:
        return f"missing {', '.join(missing)}"
    header = (folder / "header.bin").read_bytes()
    if len(header) < _HEADER.size:
        return f"header.bin holds {len(header)} bytes, not {_HEADER.size}"
    (_, _, capacity, count, record, _, _, max_level, _, max_m, _, _, _, _) = _HEADER.unpack_from(
        header
    )
    if max_m == 0 or count > capacity or max_level < (0 if count else -1):
        return f"header.bin is not a header ({count} of {capacity} elements, M {max_m})"
    for name, each in (("data_level0.bin", record), ("length.bin", 4)):
        # sized for the elements once synced; a young index's files are sized for its capacity
        size = (folder / name).stat().st_size
        if size not in (count * each, capacity * each):
            return (
                f"{name} holds {size:,} bytes; the header's {count:,} elements need "
                f"{count * each:,}"
            )
    max_level = max(max_level, 0)
    level_links = max_m * 4 + 4  # one level's link list: its count, then M neighbour ids
    links = folder / "link_lists.bin"
    size = links.stat().st_size
    largest = count * (_SIZE.size + level_links * max_level)
    if size > largest:
        return f"link_lists.bin holds {size:,} bytes, more than {count:,} elements can use"
    data = links.read_bytes()
    position = 0
    for element in range(count):
        if position + _SIZE.size > size:
            return f"link_lists.bin ends at element {element:,} of {count:,}"
        (length,) = _SIZE.unpack_from(data, position)
        if length % level_links or length // level_links > max_level:
            return f"link_lists.bin: element {element:,} claims {length:,} bytes of links"
        position += _SIZE.size + length
    if position != size:
        return f"link_lists.bin holds {size:,} bytes; its {count:,} elements use {position:,}"
    if not (folder / _METADATA).is_file():
        return None
    with (folder / _METADATA).open("rb") as pickle:
        if pickle.read(1) != b"\x80":  # a pickle starts with its PROTO opcode...
            return "index_metadata.pickle is cut short"
        pickle.seek(-1, 2)
        if pickle.read(1) != b".":  # ...and ends with STOP
            return "index_metadata.pickle is cut short"
        pickle.seek(0)
        added = _elements_added(pickle)
    if added is not None and added != count:
        return (
            f"header.bin counts {count:,} elements, index_metadata.pickle {added:,}: the flush "
            "stopped between the two"
        )
    return None


def _elements_added(file: BinaryIO) -> int | None:
    """`total_elements_added` from the head of Chroma's metadata pickle, read opcode by opcode
    (nothing is unpickled, nothing past it is read); None where the file is laid out otherwise.
    The pickle is written last in a flush, so a header ahead of it was cut mid-flush."""
    key = None
    for number, (op, arg, _) in enumerate(pickletools.genops(file)):
        if key == "total_elements_added" and isinstance(arg, int):
            return arg
        if "UNICODE" in op.name:
            key = arg
        elif not op.name.endswith(("PUT", "MEMOIZE")):
            key = None
        if number > 64:
            break
    return None
