"""Rows as aligned plain text: how every command and magic prints a table in a terminal."""

from __future__ import annotations

from collections.abc import Sequence


def text_table(rows: Sequence[Sequence[str]], indent: str = "") -> list[str]:
    """One line per row, each column as wide as its widest cell and two spaces apart; the
    last column is not padded, and no line ends in spaces."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    return [(indent + "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths)),
                                 row[-1]])).rstrip() for row in rows]
