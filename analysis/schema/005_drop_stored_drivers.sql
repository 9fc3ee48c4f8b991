-- Driver words are computed for the few mentions a digest shows, when it shows them; storing them for all was waste.
ALTER TABLE mentions DROP COLUMN drivers;
