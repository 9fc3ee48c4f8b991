from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from analysis.sentiment import Score, label_for, score_text, score_texts


def test_labels_follow_vader_cutoffs():
    assert [label_for(x) for x in (0.05, 0.049, -0.049, -0.05)] == ["positive", "neutral", "neutral", "negative"]


def test_scores_are_vaders_own():
    text = "The app is down and the service is terrible."
    vader = SentimentIntensityAnalyzer().polarity_scores(text)
    assert score_text(text) == Score(vader["compound"], vader["pos"], vader["neu"], vader["neg"], "negative")
    assert score_text("") == Score(0.0, 0.0, 0.0, 0.0, "neutral")


def test_parallel_batches_match_serial_in_order():
    texts = [f"Review {i}: {'great' if i % 3 else 'awful'} service" for i in range(60)]
    assert score_texts(texts, workers=2, min_parallel=1) == score_texts(texts, workers=1)


def test_pooled_scoring_matches_vader_exactly():
    from analysis.sentiment import ScoringPool, score_text

    texts = [f"The parcel was {w} and the app is {v}" for w in ("late", "great", "lost", "fine") for v in ("awful", "ok", "superb")] * 30
    with ScoringPool(workers=2, min_parallel=10) as pool:
        pending = pool.submit(texts)
        second = pool.score(texts[:50])  # a second batch while the first is in flight
        first = pending()
    assert first == [score_text(t) for t in texts]
    assert second == first[:50]
