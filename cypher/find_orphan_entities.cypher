// check(): entity nodes that no fact and no alias uses.
MATCH (n:Entity)
WHERE NOT EXISTS { (n)-[:FACT]-() } AND NOT EXISTS { (n)<-[:ALIAS_OF]-() }
RETURN n.name AS name
LIMIT $limit
