-- All timestamps are UTC, stored without a zone (TIMESTAMP), so the file
-- needs no extension to open.
CREATE TABLE mentions (
    source        VARCHAR   NOT NULL,
    external_id   VARCHAR   NOT NULL,
    brand         VARCHAR   NOT NULL,
    target        VARCHAR,
    kind          VARCHAR,
    published_at  TIMESTAMP NOT NULL,
    url           VARCHAR,
    title         VARCHAR,
    author        VARCHAR,
    text          VARCHAR,
    rating        DOUBLE,
    replied       BOOLEAN,
    language      VARCHAR,
    raw           JSON,
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at  TIMESTAMP NOT NULL,
    first_run_id  VARCHAR,
    -- VADER scores; NULL until scored, reset when the text changes.
    compound      DOUBLE,
    pos           DOUBLE,
    neu           DOUBLE,
    neg           DOUBLE,
    label         VARCHAR,
    scored_at     TIMESTAMP,
    PRIMARY KEY (source, external_id, brand)
);

CREATE TABLE cursors (
    brand      VARCHAR NOT NULL,
    source     VARCHAR NOT NULL,
    target     VARCHAR NOT NULL,
    watermark  TIMESTAMP,          -- newest published_at committed
    state      JSON,               -- the source's own paging state (ETag...)
    updated_at TIMESTAMP NOT NULL,
    run_id     VARCHAR,
    PRIMARY KEY (brand, source, target)
);

CREATE TABLE runs (
    run_id       VARCHAR PRIMARY KEY,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    status       VARCHAR NOT NULL,  -- running, completed, partial, failed
    period_start TIMESTAMP,
    period_end   TIMESTAMP,
    params       JSON,
    message      VARCHAR
);

CREATE TABLE source_health (
    run_id     VARCHAR NOT NULL,
    brand      VARCHAR NOT NULL,
    source     VARCHAR NOT NULL,
    target     VARCHAR NOT NULL,
    ok         BOOLEAN NOT NULL,
    pages      INTEGER NOT NULL,
    fetched    INTEGER NOT NULL,
    new        INTEGER NOT NULL,
    error      VARCHAR,
    checked_at TIMESTAMP NOT NULL,
    PRIMARY KEY (run_id, brand, source, target)
);

CREATE TABLE alerts (
    alert_id       VARCHAR PRIMARY KEY,  -- brand|source|metric|incident start
    brand          VARCHAR NOT NULL,
    source         VARCHAR NOT NULL,     -- a source name, or 'all'
    metric         VARCHAR NOT NULL,
    bucket_seconds INTEGER NOT NULL,
    incident_start TIMESTAMP NOT NULL,
    last_bucket    TIMESTAMP NOT NULL,
    observed       DOUBLE,
    expected       DOUBLE,
    significance   DOUBLE,
    severity       VARCHAR,
    ongoing        BOOLEAN,
    details        JSON,
    first_run_id   VARCHAR,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);

CREATE TABLE digests (
    period_key      VARCHAR NOT NULL,
    recipient_group VARCHAR NOT NULL,
    period_start    TIMESTAMP,
    period_end      TIMESTAMP,
    html_path       VARCHAR,
    text_path       VARCHAR,
    eml_path        VARCHAR,
    rendered_at     TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    send_count      INTEGER NOT NULL DEFAULT 0,
    run_id          VARCHAR,
    PRIMARY KEY (period_key, recipient_group)
);
