-- The JSON `GET /v1/jobs/{job_id}` answers, rendered when the job is written
-- (photobus_status.job_doc), so a read is one row. NULL for rows written before:
-- those are rendered on read.
ALTER TABLE jobs ADD COLUMN body text;
