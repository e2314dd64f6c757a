-- The tracker side of an item's status: the workflow status id its issue is in, as the adapter
-- last moved it there (a marketplace status change) or heard of it (a tracker webhook).
ALTER TABLE items ADD COLUMN tracker_status_id text;
