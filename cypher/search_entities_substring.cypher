// Subjects (display name of their oldest fact) and aliases whose key contains $text, by key.
CALL () {
  MATCH (e:Entity)
  WHERE e.key CONTAINS $text AND EXISTS { (e)-[:FACT]->() }
  WITH e
  ORDER BY e.key
  LIMIT $limit
  CALL (e) {
    MATCH (e)-[r:FACT]->()
    RETURN r.entity AS name
    ORDER BY r.seq
    LIMIT 1
  }
  RETURN collect(name) AS names
}
CALL () {
  MATCH (a:Alias)
  WHERE a.key CONTAINS $text
  WITH a
  ORDER BY a.key
  LIMIT $limit
  RETURN collect(a.name) AS aliases
}
RETURN names, aliases
