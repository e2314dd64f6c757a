-- A task's status, for the routes that check it before sending a command. $1 the task.
SELECT status FROM {schema}.tasks WHERE task_id = $1
