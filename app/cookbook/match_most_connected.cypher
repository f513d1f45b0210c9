// title: Most-connected entities: facts about them plus facts that name them as the value
// params: {"limit": 25}
MATCH (e:Entity)
WITH e, COUNT { (e)-[:FACT]->() } AS as_subject, COUNT { ()-[:FACT]->(e) } AS as_value
RETURN e.name AS entity, as_subject, as_value, as_subject + as_value AS facts
ORDER BY facts DESC, entity
LIMIT $limit
