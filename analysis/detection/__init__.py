"""Detection: from counts per bucket to incidents a team would want to hear about.

One module a concern: `baseline` (the seasonal expectation and hour sums),
`calibration` (thresholds from a false-alarm budget and the series' own
spread), `params` (the settings, by sensitivity), `spikes` (the firing rule
and the front door: detect_spikes), `incidents` (episodes: when one starts,
gets much worse, and ends), `shifts` (negative-share and rating shifts), and
`alerts` (an incident as the store keeps it, with its examples and themes).
Callers import from the module that holds a name.
"""
