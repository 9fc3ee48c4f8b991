"""Scoring: every mention not scored yet (or scored by another model), in batches on all cores."""
from __future__ import annotations

from datetime import datetime

from prefect import task

from analysis import sentiment, store


SCORE_BATCH = 5000


def score_unscored(con: store.Connection, workers: int | None = None, model: str = sentiment.DEFAULT_MODEL,
                   rescore_since: datetime | None = None, rescore: bool = False) -> int:
    """Score every mention not scored yet, a batch at a time; the stars decide the label where there are stars.

    With `rescore`, mentions another model (or version) scored are scored
    again too: those published since `rescore_since`, or all of them. The
    nightly run rescores the detection history this way, so a new model never
    looks like a shift in sentiment; `repwatch rescore` does the whole store.
    Driver words are not computed here: only the few mentions a digest shows
    need them (see `with_driver_words`).
    """
    total = 0
    with sentiment.ScoringPool(workers, model=model) as pool:
        stale = {"model": pool.model_id, "since": rescore_since} if rescore else {}
        batch = store.fetch_unscored(con, SCORE_BATCH, **stale)
        pending = pool.submit([row[3] for row in batch], [row[5] for row in batch])
        while batch:
            # The workers score the next batch while this process saves the current one.
            upcoming = store.fetch_unscored(con, SCORE_BATCH, skip=len(batch), **stale)
            upcoming_scores = pool.submit([row[3] for row in upcoming], [row[5] for row in upcoming])
            store.save_scores(con, [{"source": s, "external_id": e, "brand": b, **sentiment.score_fields(sc, rating)}
                                    for (s, e, b, _text, rating, _lang), sc in zip(batch, pending())])
            total += len(batch)
            batch, pending = upcoming, upcoming_scores
    return total


def with_driver_words(rows: list[store.Row]) -> list[store.Row]:
    """The rows with the words that drove each one's label, by the model that scored it: computed for what is shown."""
    return [{**r, "drivers": sentiment.driver_words(sentiment.scored_text(r), model=r.get("sentiment_model") or "vader")
             if r.get("label") else []} for r in rows]


@task(retries=1, retry_delay_seconds=5)
def score_new_mentions(db_path: str, model: str, rescore_since: datetime) -> int:
    """New mentions, and those in the detection history that another model scored (after a change of model)."""
    with store.connection(db_path) as con:
        return score_unscored(con, model=model, rescore_since=rescore_since, rescore=True)
