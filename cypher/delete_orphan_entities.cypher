// Drop the given entity nodes that no fact and no alias uses any more.
UNWIND $khs AS kh
MATCH (n:Entity {kh: kh})
WHERE NOT EXISTS { (n)-[:FACT]-() } AND NOT EXISTS { (n)<-[:ALIAS_OF]-() }
DELETE n
RETURN count(n) AS deleted
