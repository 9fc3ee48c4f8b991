"""Prefect tasks: each a unit of retry (a source, a batch, a digest), each thin glue.

Scrapers fetch and parse; the store writes; analysis computes; reports render.
Nothing here is per mention. One module a concern: `fetch` (plan, and one target's
fetch), `fetch_run` (a run's fetch), `cluster` (that on Dask), `storing` (the one
writer: batches, health), `scoring`, `detection`, `digests` (write and send),
`weekly_digest` (what the weekly one reads), `pushing` (the watch flow's pushes).
The flows and the CLI use `tasks.<name>`.
"""
from __future__ import annotations

from flows.tasks.fetch import (  # noqa: F401
    CURSOR_OVERLAP, FetchJob, FetchResult, plan_jobs, http_settings, fetch_window_start, fetch_mentions,
    FETCH_RETRY_DELAYS, fetch_source,
)
from flows.tasks.fetch_run import fetch_all  # noqa: F401
from flows.tasks.storing import (  # noqa: F401
    STORE_BATCH, BatchWriter, store_batch, record_health,
)
from flows.tasks.scoring import (  # noqa: F401
    SCORE_BATCH, score_unscored, with_driver_words, score_new_mentions,
)
from flows.tasks.detection import (  # noqa: F401
    detect_brand_alerts, detect_alerts,
)
from flows.tasks.digests import (  # noqa: F401
    build_digest, daily_plans, weekly_plans, digest_outcome, describe_delivery, write_and_send_digests, render_and_send,
)
from flows.tasks.weekly_digest import (  # noqa: F401
    MAX_ATTACHMENT_BYTES, build_weekly_digest,
)
from flows.tasks.pushing import (  # noqa: F401
    INTERRUPTED_NOTE, push_groups, push_alerts,
)
