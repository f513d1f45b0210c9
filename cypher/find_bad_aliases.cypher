// check(): aliases that point to no entity, or to more than one.
MATCH (a:Alias)
WITH a, COUNT { (a)-[:ALIAS_OF]->(:Entity) } AS targets
WHERE targets <> 1
RETURN a.name AS alias, targets
LIMIT $limit
