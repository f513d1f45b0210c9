// alias key -> canonical entity key, for the aliases among $khs that exist.
UNWIND $khs AS kh
MATCH (a:Alias {kh: kh})-[:ALIAS_OF]->(e:Entity)
RETURN a.key AS alias_key, e.key AS entity_key
