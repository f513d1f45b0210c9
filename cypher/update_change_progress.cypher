// A batched change's progress, written in the transaction of the batch it counts (or at its end).
MATCH (c:Change {id: $id})
SET c.state = $state,
    c.committed_batches = $committed_batches,
    c.total_batches = $total_batches,
    c.added_count = $added,
    c.removed_count = $removed
