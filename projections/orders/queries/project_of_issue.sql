-- The project a tracker issue belongs to (its epic or an item's issue). $1 the issue id.
SELECT project_id FROM {schema}.projects WHERE epic_issue_id = $1
UNION ALL
SELECT project_id FROM {schema}.items WHERE tracker_issue_id = $1
LIMIT 1
