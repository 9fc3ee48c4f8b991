"""Sentiment: what a mention says about the brand, in three labels with the words behind them.

One module a concern: `scoring` (the models' front door: batches on all
cores, labels, driver words), `learned` (the shipped linear model, models/),
`vader` (the lexicon model), `language` (which language a text is in, and
whether a model reads it), `text_features` (the tokens and features the
learned model reads), `complaint_terms` (words that carry a complaint in
customer service). Callers score through the names below.
"""
from __future__ import annotations

from analysis.sentiment.scoring import (  # noqa: F401
    DEFAULT_MODEL, MODELS, ScoringPool, driver_words, model_id, rating_label, score_fields, score_texts,
    scored_text,
)
