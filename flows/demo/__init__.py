"""The offline demo: generated mentions and reviews (`data`), the loopback sites serving them in each
source's real format (`server`, with `review_pages` and `social_pages`), and the demo's config
(`monitor.yaml`). Nothing here is used by a real run."""
