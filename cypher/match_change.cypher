// One change record.
MATCH (c:Change {id: $id})
RETURN c {.id, .op, .summary, .created_at, .undoes, .undone_by, .added_count, .removed_count, .state,
          .committed_batches, .total_batches, .payload} AS change
