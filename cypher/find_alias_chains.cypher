// check(): aliases whose target entity is itself an alias.
MATCH (a:Alias)-[:ALIAS_OF]->(e:Entity)
MATCH (b:Alias {kh: e.kh})
RETURN a.name AS alias, a.entity AS entity
LIMIT $limit
