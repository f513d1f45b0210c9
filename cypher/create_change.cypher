// Append one record to the change log (lmlm.kg.store.Change.to_record). `payload` is JSON: the
// removed/added facts and aliases.
CREATE (c:Change {
  id: $id,
  op: $op,
  summary: $summary,
  created_at: $created_at,
  undoes: $undoes,
  undone_by: $undone_by,
  added_count: $added_count,
  payload: $payload
})
