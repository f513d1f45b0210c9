// title: Facts changed since a date: the changes made since then, newest first, with the facts they added that are still stored
// params: {"since": "2024-01-01", "limit": 50}
MATCH (c:Change)
WHERE c.created_at >= datetime($since).epochSeconds
OPTIONAL MATCH (e:Entity)-[r:FACT {change_id: c.id}]->(v:Entity)
WITH c, collect(CASE WHEN r IS NULL THEN null ELSE {entity: e.name, relation: r.relation, value: v.name} END)[..20]
     AS facts_still_stored
RETURN c.id AS change, c.op AS op, c.summary AS summary,
       datetime({epochMillis: toInteger(c.created_at * 1000)}) AS at,
       c.added_count AS added, c.undone_by AS undone_by, facts_still_stored
ORDER BY c.id DESC
LIMIT $limit
