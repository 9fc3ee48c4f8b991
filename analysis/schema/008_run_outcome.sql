-- Which flow a run was (nightly, weekly, watch, rescore) and what it produced, as flows.run writes it.
-- status gains 'killed': a run whose process died while it held the run lock, marked by the next run.
ALTER TABLE runs ADD COLUMN flow VARCHAR;
ALTER TABLE runs ADD COLUMN outcome JSON;
