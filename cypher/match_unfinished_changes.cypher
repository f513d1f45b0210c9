// Batched changes that did not finish ($states: running, interrupted) and were not undone since,
// oldest first. Few Change nodes exist next to facts, so a scan of them is cheap.
MATCH (c:Change)
WHERE c.state IN $states AND c.undone_by IS NULL
RETURN c {.id, .op, .summary, .created_at, .undoes, .undone_by, .added_count, .removed_count, .state,
          .committed_batches, .total_batches, .payload} AS change
ORDER BY c.id
