// Append one record to the change log. `payload` is JSON: removed/added facts and aliases.
CREATE (c:Change {
  id: $id,
  op: $op,
  summary: $summary,
  created_at: $created_at,
  undoes: $undoes,
  added_count: $added_count,
  payload: $payload
})
