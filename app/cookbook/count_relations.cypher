// title: Relation counts: how many facts each relation has, and on how many entities
// params: {"limit": 100}
MATCH (e:Entity)-[r:FACT]->()
RETURN r.relation_key AS relation, count(r) AS facts, count(DISTINCT e) AS entities
ORDER BY facts DESC, relation
LIMIT $limit
