// clear(), step 2: entity, alias, change and change part nodes, in batches (auto-commit transaction only).
// The LmlmMeta counters stay, so change ids and seq numbers are never reused.
MATCH (n)
WHERE n:Entity OR n:Alias OR n:Change OR n:ChangePart
CALL (n) {
  DETACH DELETE n
} IN TRANSACTIONS OF $batch_size ROWS
