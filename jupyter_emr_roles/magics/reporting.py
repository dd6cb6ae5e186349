"""What a connect and a connection look like to a person, in HTML and in plain text.

Every face shows the same words: the magic in a cell's output, the widget picker
in its Output widget, a terminal IPython as text. A face gives a way to replace
one line of its output; the progress line here decides what the line says and
how often it changes.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from ..text_table import text_table

# Seconds between two updates of the progress line: often enough to show life, seldom
# enough not to flood a front end with display updates.
PROGRESS_EVERY = 1.0
TABLE_COLUMNS = (("name", "name"), ("cluster", "cluster"), ("role", "role"), ("who", "who"),
                 ("language", "language"), ("engine", "engine"), ("session_id", "session id"),
                 ("state", "state"),
                 ("credentials_expire", "credentials expire"))


class ProgressLine:
    """One line that says how a connect is getting on, replaced in place by ``show``."""

    def __init__(self, what: str, show: Callable[[str], None]) -> None:
        self._what = what
        self._show = show
        self._shown = -PROGRESS_EVERY
        show(f"{what}: looking it up")

    def __call__(self, elapsed: float, status: str) -> None:
        if elapsed - self._shown >= PROGRESS_EVERY:
            self._shown = elapsed
            self._show(f"{self._what}: {status}, {elapsed:.0f} s")

    def done(self, text: str) -> None:
        self._show(text)


def connecting(who: str, cluster_id: str) -> str:
    return f"Connecting {who} to {cluster_id}"


def connected_line(connection: Any) -> str:
    note = f"; {connection.note}" if connection.note else ""
    return (f"connected as {connection.role_arn} on {connection.cluster_id} "
            f"(session {connection.name}, {connection.session.kind} id {connection.session.id})"
            f"{note}")


def links_html(links: dict[str, str]) -> str:
    return " · ".join(f'<a target="_blank" href="{html.escape(url)}">{html.escape(label)}</a>'
                      for label, url in links.items())


def links_text(links: dict[str, str]) -> str:
    return " · ".join(f"{label}: {url}" for label, url in links.items())


NO_SESSIONS = "No sessions; open one with %connect --cluster-id j-..."


class Sessions:
    """What ``%emr_sessions`` returns: the rows, shown as a table in a notebook, as text in a
    terminal and as the rows themselves to a JSON reader (``sessions = %emr_sessions``)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def _repr_html_(self) -> str:
        return sessions_html(self.rows) if self.rows else html.escape(NO_SESSIONS)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(sessions_text(self.rows) if self.rows else NO_SESSIONS)

    def _repr_json_(self) -> list[dict[str, Any]]:
        return self.rows


def sessions_html(rows: list[dict[str, Any]]) -> str:
    """``%emr_sessions`` as an HTML table."""
    header = "".join(f"<th>{title}</th>" for _, title in (*TABLE_COLUMNS, ("", "links")))
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(row, key))}</td>" for key, _ in TABLE_COLUMNS)
        + f"<td>{links_html(row['links'])}</td></tr>" for row in rows)
    return f"<table><tr>{header}</tr>{body}</table>"


def sessions_text(rows: list[dict[str, Any]]) -> str:
    """``%emr_sessions`` as aligned plain text, for terminals and text-only front ends."""
    lines = text_table([[title for _, title in TABLE_COLUMNS]] + [
        [_cell(row, key) for key, _ in TABLE_COLUMNS] for row in rows])
    lines += [f"{row['name']}: {links_text(row['links'])}" for row in rows if row["links"]]
    return "\n".join(lines)


def _cell(row: dict[str, Any], key: str) -> str:
    """A row's value as a table shows it: an ended session's state with the service's reason."""
    if key == "state" and row.get("reason"):
        return f"{row['state']}: {row['reason']}"
    return str(row[key])
