-- Rendering and sending are separate facts: a digest written but not sent stays pending until a run sends it.
ALTER TABLE digests ADD COLUMN delivery VARCHAR;    -- outbox (no sending asked), pending (to send), sending, sent;
                                                    -- interrupted: a run died while sending (arrival unknown)
ALTER TABLE digests ADD COLUMN last_error VARCHAR;  -- why the last attempt to send failed
UPDATE digests SET delivery = CASE WHEN sent_at IS NOT NULL THEN 'sent' ELSE 'outbox' END;
