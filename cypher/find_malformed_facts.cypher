// check(): FACT relationships missing a required property or not between two Entity nodes.
MATCH (a)-[r:FACT]->(b)
WHERE r.id IS NULL OR r.seq IS NULL OR r.entity IS NULL OR r.relation IS NULL
   OR r.relation_key IS NULL OR r.value IS NULL OR r.created_at IS NULL
   OR NOT a:Entity OR NOT b:Entity
RETURN elementId(r) AS element_id, r.id AS id
LIMIT $limit
