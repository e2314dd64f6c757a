-- One page of orders (projects) with their items, as a JSON array ordered by project id.
-- $1 the project id to start after, $2 the page size.
SELECT coalesce(json_agg(row_to_json(p) ORDER BY p.project_id), '[]'::json) FROM (
    SELECT p.project_id, p.epic_key, p.created_at, p.updated_at,
           coalesce((SELECT json_agg(json_build_object(
                        'item_iid', i.item_iid, 'status_type', i.status_type, 'status_value', i.status_value,
                        'tracker_key', i.tracker_key, 'tracker_status_id', i.tracker_status_id,
                        'last_synced_status', i.last_synced_status)
                        ORDER BY i.item_iid)
                       FROM {schema}.items i WHERE i.project_id = p.project_id), '[]'::json) AS items
      FROM {schema}.projects p
     WHERE p.project_id > $1
     ORDER BY p.project_id LIMIT $2) p
