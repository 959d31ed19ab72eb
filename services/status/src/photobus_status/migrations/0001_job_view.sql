-- The status read model. `doc` columns hold the fold's state (photobus_status.view);
-- the other columns are derived from it for querying.

CREATE TABLE processed_events (
    event_id     uuid PRIMARY KEY,
    type         text NOT NULL,
    job_id       text,
    occurred_at  timestamptz NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
    job_id      text PRIMARY KEY,
    owner       text,
    status      text NOT NULL,
    created_at  timestamptz NOT NULL,
    finished_at timestamptz,
    doc         jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_owner_created ON jobs (owner, created_at DESC);

CREATE TABLE items (
    job_id   text NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
    item_id  text NOT NULL,
    photo_id text,
    source   text,
    filename text,
    url      text,
    state    text NOT NULL,
    reason   text,
    PRIMARY KEY (job_id, item_id)
);
CREATE INDEX items_photo ON items (photo_id);

CREATE TABLE photos (
    photo_id         text PRIMARY KEY,
    created_at       timestamptz NOT NULL,
    state            text NOT NULL,
    thumbnail_state  text NOT NULL,
    thumbnail_reason text,
    renditions       jsonb NOT NULL DEFAULT '{}',
    metadata         jsonb,
    tags             text[] NOT NULL DEFAULT '{}',
    titles           text[] NOT NULL DEFAULT '{}',
    owners           text[] NOT NULL DEFAULT '{}',
    doc              jsonb NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- Cursor pagination, newest first.
CREATE INDEX photos_newest ON photos (created_at DESC, photo_id DESC);
CREATE INDEX photos_tags ON photos USING gin (tags);
CREATE INDEX photos_owners ON photos USING gin (owners);

-- One row per (photo, destination): every item's facts joined.
CREATE TABLE deliveries (
    photo_id    text NOT NULL REFERENCES photos (photo_id) ON DELETE CASCADE,
    destination text NOT NULL,
    state       text NOT NULL,
    url         text,
    remote_id   text,
    duplicate   boolean NOT NULL DEFAULT false,
    reason      text,
    retry_at    timestamptz,
    attempt     integer,
    updated_at  timestamptz,
    PRIMARY KEY (photo_id, destination)
);
CREATE INDEX deliveries_destination_state ON deliveries (destination, state);

CREATE TABLE dead_letters (
    event_id          uuid PRIMARY KEY,
    queue             text NOT NULL,
    original_event_id text,
    original_type     text,
    job_id            text,
    photo_id          text,
    item_id           text,
    destination       text,
    reason            text NOT NULL,
    occurred_at       timestamptz NOT NULL
);
CREATE INDEX dead_letters_job ON dead_letters (job_id);
