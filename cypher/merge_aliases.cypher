// Add or re-point aliases: (:Alias)-[:ALIAS_OF]->(:Entity). Returns the key hashes of entities that
// an alias pointed to before, so the caller can drop them if nothing else uses them.
UNWIND $aliases AS a
MERGE (x:Alias {kh: a.akh})
SET x.key = a.akey, x.name = a.alias, x.entity = a.entity
WITH x, a
OPTIONAL MATCH (x)-[old:ALIAS_OF]->(previous:Entity)
DELETE old
WITH x, a, collect(previous.kh) AS previous_khs
MERGE (e:Entity {kh: a.ekh})
  ON CREATE SET e.key = a.ekey, e.name = a.entity
CREATE (x)-[:ALIAS_OF]->(e)
RETURN previous_khs
