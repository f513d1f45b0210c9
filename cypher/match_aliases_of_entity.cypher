// The aliases of one canonical entity, by alias key.
MATCH (a:Alias)-[:ALIAS_OF]->(:Entity {kh: $kh})
RETURN a.name AS alias, a.entity AS entity
ORDER BY a.key
