-- Every score names the model and version that made it, so a series never mixes two models unknowingly;
-- and the language the text was read as ('en'), or found to be in (it is then left unscored: label NULL).
ALTER TABLE mentions ADD COLUMN sentiment_model VARCHAR;
ALTER TABLE mentions ADD COLUMN text_language VARCHAR;
-- Scores made before this were VADER's (version not recorded).
UPDATE mentions SET sentiment_model = 'vader', text_language = 'en' WHERE scored_at IS NOT NULL;
