// title: Entities with conflicting values: several values stored for one (entity, relation); lookups answer with the newest
// params: {"limit": 50}
MATCH (e:Entity)-[r:FACT]->(v:Entity)
WITH e, r.relation_key AS relation, r, v
ORDER BY r.seq DESC
WITH e, relation, collect(v.name) AS values_newest_first
WHERE size(values_newest_first) > 1
RETURN e.name AS entity, relation, values_newest_first
ORDER BY size(values_newest_first) DESC, entity
LIMIT $limit
