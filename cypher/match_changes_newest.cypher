// The newest $limit changes, newest first (the IS NOT NULL lets the planner read the id index in order).
MATCH (c:Change)
WHERE c.id IS NOT NULL
RETURN c {.id, .op, .summary, .created_at, .undoes, .undone_by, .added_count, .removed_count, .state,
          .committed_batches, .total_batches, .payload} AS change
ORDER BY c.id DESC
LIMIT $limit
