"""Which rows the daily digest's lists show, and what it says of languages.

Repeats are collapsed (a copied complaint, a syndicated article), every
language among the negatives is shown at least once, and the notes say how
many mentions were read in which languages and how many were left unscored.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from analysis.sentiment.language import language_name
from reports.templating import TemplateRow


def collapse_repeats(rows: Sequence[Mapping[str, Any]], limit: int) -> list[TemplateRow]:
    """Keep the first of rows whose text is the same (a copied complaint, a syndicated article), counting the rest."""
    out: list[TemplateRow] = []
    seen: dict[str, TemplateRow] = {}
    for r in rows:
        key = " ".join(f"{r.get('title') or ''} {r.get('text') or ''}".lower().split())[:160]
        if key in seen:
            seen[key]["similar"] += 1
            continue
        row = {**r, "similar": 0}
        seen[key] = row
        out.append(row)
    return out[:limit]


def every_language(rows: Sequence[TemplateRow], limit: int) -> list[TemplateRow]:
    """The first `limit` rows, but each language among all the rows shown at least once (its first row, in the
    place of the last English ones): a Spanish complaint needs the colleague who reads Spanish, even on a night
    when eighty English ones outrank it."""
    shown = list(rows[:limit])
    have = {r.get("text_language") or "en" for r in shown}
    missing = []
    for r in rows[limit:]:
        code = r.get("text_language") or "en"
        if code not in have:
            have.add(code)
            missing.append(r)
    for r in missing:
        english = [i for i, row in enumerate(shown) if (row.get("text_language") or "en") == "en"]
        if not english:
            break
        shown[english[-1]] = r
    return shown


def negative_drivers(drivers: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
    """For a negative mention, the words that pulled it down (all of them if none did)."""
    pulling = [d for d in drivers if d[1] < 0]
    return pulling or list(drivers)


def read_note(by_language: Mapping[str, int]) -> str | None:
    """'Read in 3 languages: 120 in English, 8 in Spanish, 3 in German.' Said only when more than one."""
    if len(by_language) < 2:
        return None
    parts = ", ".join(f"{n} in {language_name(code)}" for code, n in by_language.items())
    return f"Read in {len(by_language)} languages: {parts}."


def unscored_note(by_language: Mapping[str, int]) -> str | None:
    """'7 mentions were not scored for sentiment: 5 in Russian, 2 in Dutch (a language the model does not read).'"""
    total = sum(by_language.values())
    if not total:
        return None
    parts = ", ".join(f"{n} in {language_name(code)}" for code, n in by_language.items())
    verb = "mention was" if total == 1 else "mentions were"
    return (f"{total} {verb} not scored for sentiment: {parts} (languages the model does not read; "
            "stars still count).")
