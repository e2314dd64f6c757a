-- One order: the project, its items, its messages both ways, its tracker links and what could
-- not be synced. $1 the project id. NULL when the adapter has not seen it.
SELECT json_build_object(
    'project_id', p.project_id, 'epic_key', p.epic_key, 'epic_issue_id', p.epic_issue_id,
    'created_at', p.created_at, 'updated_at', p.updated_at,
    'items', coalesce((SELECT json_agg(row_to_json(i) ORDER BY i.item_iid) FROM {schema}.items i
                        WHERE i.project_id = p.project_id), '[]'::json),
    'messages', coalesce((SELECT json_agg(row_to_json(m) ORDER BY m.updated_at, m.source_id) FROM {schema}.messages m
                           WHERE m.project_id = p.project_id), '[]'::json),
    'sync_failures', coalesce((SELECT json_agg(row_to_json(f) ORDER BY f.at) FROM {schema}.sync_failures f
                                WHERE f.project_id = p.project_id), '[]'::json))
  FROM {schema}.projects p WHERE p.project_id = $1
