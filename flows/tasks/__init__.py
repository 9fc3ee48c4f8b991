"""Prefect tasks: each a unit of retry (a source, a batch, a digest), each thin glue.

Scrapers fetch and parse; the store writes; analysis computes; reports render.
Nothing here is per mention. One module a concern: `fetch` (plan, and one target's
fetch), `fetch_run` (a run's fetch), `cluster` (that on Dask), `storing` (the one
writer: batches, health), `scoring`, `detection`, `digests` (write and send),
`weekly_digest` (what the weekly one reads), `pushing` (the watch flow's pushes).
Callers import from the module that holds a name; this package exports nothing.
"""
