// Append one record to the change log (lmlm.kg.changes.Change.to_record). `payload` is JSON: the
// removed/added facts and aliases (empty for a batched change: its facts are in ChangePart nodes).
// state, committed_batches and total_batches follow a batched change (an import, a large undo).
CREATE (c:Change {
  id: $id,
  op: $op,
  summary: $summary,
  created_at: $created_at,
  undoes: $undoes,
  undone_by: $undone_by,
  added_count: $added_count,
  removed_count: $removed_count,
  state: $state,
  committed_batches: $committed_batches,
  total_batches: $total_batches,
  payload: $payload
})
