-- Reviews: the business's public answer and the app version a review was written on.
ALTER TABLE mentions ADD COLUMN reply_text VARCHAR;
-- The source's own reply date; where the source gives none, the time a fetch
-- first showed a reply to a review stored unanswered before (NULL if unknown).
ALTER TABLE mentions ADD COLUMN replied_at TIMESTAMP;
ALTER TABLE mentions ADD COLUMN app_version VARCHAR;
