// title: Provenance of a fact: every stored value of (entity, relation), where it came from and which change made it
// params: {"entity": "", "relation": "Place of birth"}
// Names match on their lower-cased, trimmed form (the store's keys also collapse inner spaces).
MATCH (e:Entity)-[r:FACT]->(v:Entity)
WHERE e.key = toLower(trim($entity)) AND r.relation_key = toLower(trim($relation))
OPTIONAL MATCH (c:Change {id: r.change_id})
RETURN e, r, v, r.id AS fact_id, r.source AS source, r.annotator AS annotator,
       datetime({epochMillis: toInteger(r.created_at * 1000)}) AS created,
       c.op AS change_op, c.summary AS change_summary
ORDER BY r.seq DESC
