"""The DuckDB store: the only package that speaks SQL.

Functions take and return plain data (dicts, tuples, numpy arrays). Writes
are bulk (an Arrow table registered and merged with INSERT ... SELECT), and
every write that must be atomic with another runs in one transaction: a
source's mentions and its cursor, for example, so that a run killed at any
point leaves a cursor that never points past what was committed.

One module a concern: `shape` (connecting, migrations, times, bulk-write
helpers), `runs`, `mentions` (health, mentions, cursors), `scores` (sentiment
and the series detection reads), `alerts` (alerts and their pushes),
`digests` (what the digest reads, and its delivery), `weekly` (what only the
weekly digest reads). Callers use `store.<name>`; this exports only the names callers outside use.
"""
from __future__ import annotations

from analysis.store.shape import (  # noqa: F401
    Connection, Row, StoreError, ensure_db_shape, connect, connection,
)
from analysis.store.mentions import (  # noqa: F401
    Cursor, CursorState, MentionRow, SaveResult, save_source_health, source_health, get_cursor,
    get_cursors,
    save_mentions, SourceRows, save_mention_batch, count_mentions, history_starts, count_by_source,
)
from analysis.store.runs import (  # noqa: F401
    begin_run, finish_run, mark_killed_runs, runs,
)
from analysis.store.scores import (  # noqa: F401
    fetch_unscored, save_scores, clear_scores, unscored_languages, scored_languages, sentiment_models,
    bucket_series, brand_sources,
)
from analysis.store.alerts import (  # noqa: F401
    save_alerts, alerts_between, recorded_pushes, sent_pushes, record_pushes, take_interrupted_pushes, pushes_to_send,
    mark_push,
)
from analysis.store.digests import (  # noqa: F401
    period_kpis, negative_mentions, awaiting_reply, oldest_awaiting_reply, oldest_awaiting_replies, reply_kpis,
    aggregate_ratings,
    mentions_between, get_digest, record_digest, pending_digests, mark_digest_sending,
    take_interrupted_digests, mark_digest_sent, mark_digest_unsent,
)
from analysis.store.weekly import (  # noqa: F401
    EXPORT_FIELDS, weekly_figures, weekly_languages, ranked_reviews, health_checks, mentions_for_export,
)
