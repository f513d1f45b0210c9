// The counter node: next fact seq and next change id. Created once, kept by clear().
MERGE (m:LmlmMeta {name: $name})
  ON CREATE SET m.next_seq = 1, m.next_change = 1
