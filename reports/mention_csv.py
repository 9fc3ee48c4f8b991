"""The week's mentions as a CSV, for those who work in spreadsheets.

Scraped text is untrusted here too: a cell a spreadsheet would read as a
formula (=, +, -, @, or a tab or carriage return first) gets a leading
apostrophe, as OWASP advises against CSV injection. UTF-8 with a byte-order
mark, so Excel reads accents and emoji right.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, tzinfo
from typing import Any, Mapping, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any, tz: tzinfo) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_START) else value
    return value


def mentions_csv(rows: Sequence[Mapping[str, Any]], fields: Sequence[str], tz: tzinfo) -> bytes:
    """One line per mention, in `fields` order, with times in `tz`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_cell(row.get(f), tz) for f in fields])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
