"""Following a CSV as it grows: only whole new lines, from where the last read stopped."""
from __future__ import annotations

import csv
from pathlib import Path


class CsvFollower:
    """New rows of one CSV since the last call, as dicts by its header. A file that shrank (cut back
    by a consumer's restart, or made anew) is read again from its start."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.header: list[str] | None = None

    def new_rows(self) -> list[dict[str, str]]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self.offset:
            self.offset, self.header = 0, None
        if size == self.offset:
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = f.read(size - self.offset)
        whole = chunk.rfind(b"\n") + 1          # a line still being written waits for its end
        self.offset += whole
        lines = chunk[:whole].decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()
        if self.header is None and lines:
            self.header = [h.strip() for h in next(csv.reader([lines.pop(0)]))]
        return [dict(zip(self.header, fields)) for fields in csv.reader(lines)
                if fields and len(fields) == len(self.header)]
