// Up to $limit changes with id > $since, oldest first.
MATCH (c:Change)
WHERE c.id > $since
RETURN c {.id, .op, .summary, .created_at, .undoes, .undone_by, .added_count, .removed_count, .state,
          .committed_batches, .total_batches, .payload} AS change
ORDER BY c.id
LIMIT $limit
