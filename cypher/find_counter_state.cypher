// check(): the counters next to the largest change id and seq in use.
OPTIONAL MATCH (m:LmlmMeta {name: $name})
CALL () {
  MATCH (c:Change)
  RETURN max(c.id) AS max_change
}
CALL () {
  MATCH ()-[r:FACT]->()
  RETURN max(r.seq) AS max_seq
}
RETURN m.next_change AS next_change, m.next_seq AS next_seq, max_change, max_seq
