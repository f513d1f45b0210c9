// clear(), step 2: entity, alias and change nodes, in batches (auto-commit transaction only).
// The LmlmMeta counters stay, so change ids and seq numbers are never reused.
MATCH (n)
WHERE n:Entity OR n:Alias OR n:Change
CALL (n) {
  DETACH DELETE n
} IN TRANSACTIONS OF $batch_size ROWS
