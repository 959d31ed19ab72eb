-- The id of the transaction that last wrote the job (txid_current(); writers are
-- serialised, so a later write has a larger one). Sent with its NOTIFY, it lets a
-- replica's cache keep a body that is as new as the notified change (its own write).
ALTER TABLE jobs ADD COLUMN version bigint;
