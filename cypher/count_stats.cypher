// Counts for stats(): facts, distinct subjects / relations / values, aliases, changes, entity nodes.
CALL () {
  MATCH ()-[r:FACT]->()
  RETURN count(r) AS facts, count(DISTINCT r.relation_key) AS relations
}
CALL () {
  MATCH (e:Entity)
  RETURN count(e) AS nodes,
         count(CASE WHEN EXISTS { (e)-[:FACT]->() } THEN 1 END) AS entities,
         count(CASE WHEN EXISTS { ()-[:FACT]->(e) } THEN 1 END) AS values
}
CALL () {
  MATCH (a:Alias)
  RETURN count(a) AS aliases
}
CALL () {
  MATCH (c:Change)
  RETURN count(c) AS changes
}
RETURN facts, entities, relations, values, aliases, changes, nodes
