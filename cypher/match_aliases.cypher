// Every alias, by alias key.
MATCH (a:Alias)-[:ALIAS_OF]->(:Entity)
RETURN a.name AS alias, a.entity AS entity
ORDER BY a.key
