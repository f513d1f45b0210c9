// Reserve $seq_count fact seq numbers and $change_count change ids inside the caller's write
// transaction. Writing `locked` first takes the node's write lock, so the reads below see the latest
// committed counters and concurrent writers queue here until this transaction ends.
MERGE (m:LmlmMeta {name: $name})
  ON CREATE SET m.next_seq = 1, m.next_change = 1
SET m.locked = true
WITH m, m.next_seq AS first_seq, m.next_change AS change_id
SET m.next_seq = first_seq + $seq_count, m.next_change = change_id + $change_count
RETURN first_seq, change_id
