"""Rendered files waiting for the write stage, spooled to disk instead of held in memory."""

from __future__ import annotations

import os
import tempfile
import zlib
from collections.abc import Iterator, MutableMapping
from pathlib import Path

PACK_MIN_BYTES = 2048  # rendered files from this size on are spooled zlib-compressed


class SpooledFiles(MutableMapping[str, bytes]):
    """Output path -> file bytes, held in an unnamed temporary file (compressed from
    PACK_MIN_BYTES on: a page packs to about 40%) until read, so that a large site's pages
    wait for the write stage on disk rather than in this process's memory."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        # Unnamed: gone with the process, however it ends; closed by close() after writing.
        self._file = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115
        self._end = 0
        self._where: dict[str, tuple[int, int, bool]] = {}  # offset, size, packed

    def __getitem__(self, rel: str) -> bytes:
        """Return a file's bytes."""
        offset, size, packed = self._where[rel]
        data = os.pread(self._file.fileno(), size, offset)
        return zlib.decompress(data) if packed else data

    def __setitem__(self, rel: str, data: bytes) -> None:
        """Keep a file's bytes (a path set again gets its new bytes)."""
        packed = len(data) >= PACK_MIN_BYTES
        stored = zlib.compress(data, 1) if packed else data
        os.pwrite(self._file.fileno(), stored, self._end)
        self._where[rel] = (self._end, len(stored), packed)
        self._end += len(stored)

    def __delitem__(self, rel: str) -> None:
        """Forget a file."""
        del self._where[rel]

    def __iter__(self) -> Iterator[str]:
        """Iterate over the output paths."""
        return iter(self._where)

    def __len__(self) -> int:
        """Return the number of files."""
        return len(self._where)

    def close(self) -> None:
        """Delete the temporary file."""
        self._file.close()
