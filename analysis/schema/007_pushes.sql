-- Alerts pushed to a group's chat or phone as they happen (the watch flow): one row per message,
-- so no message goes twice across runs and a failed one is sent by the next run.
CREATE TABLE pushes (
    push_id         VARCHAR PRIMARY KEY,  -- alert_id|group|kind (kind: opened, escalated-<n>, ended)
    alert_id        VARCHAR NOT NULL,
    brand           VARCHAR NOT NULL,
    recipient_group VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    severity        VARCHAR,
    peak            DOUBLE,               -- the incident's busiest bucket when this was pushed: what escalation is measured on
    title           VARCHAR NOT NULL,
    body            VARCHAR NOT NULL,
    services        VARCHAR,              -- where it went, redacted to the services' names (never a URL or a token)
    state           VARCHAR NOT NULL,     -- pending, sending, sent; interrupted: a run died while sending (sent again, marked)
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      VARCHAR,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    run_id          VARCHAR
);
