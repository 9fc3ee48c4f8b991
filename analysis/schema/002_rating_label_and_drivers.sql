-- Signals: a rating-aware label beside VADER's text label, and the words that drove the score.
ALTER TABLE mentions ADD COLUMN rated_label VARCHAR;   -- stars where the mention has them, else the text label
ALTER TABLE mentions ADD COLUMN drivers JSON;          -- [[word, valence], ...] most influential first
UPDATE mentions SET rated_label = label WHERE label IS NOT NULL;
