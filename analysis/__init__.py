"""What the monitor computes from what was fetched: the store (the only SQL), sentiment, detection, themes,
pushes, and the run's clock and lock."""
