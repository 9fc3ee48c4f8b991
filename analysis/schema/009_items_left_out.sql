-- Items of a fetched page the parser could not read, left out of the store (scrapers.parsing.read_items):
-- how many, and the first of them with why, so the digest's health table says so.
ALTER TABLE source_health ADD COLUMN skipped INTEGER DEFAULT 0;
ALTER TABLE source_health ADD COLUMN skipped_example VARCHAR;
