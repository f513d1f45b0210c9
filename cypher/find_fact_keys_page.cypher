// check(): one page of facts in seq order with the keys and key hashes of their two nodes.
MATCH (e:Entity)-[r:FACT]->(v:Entity)
WHERE r.seq > $after
RETURN r.id AS id, r.seq AS seq, r.entity AS entity, r.relation AS relation,
       r.relation_key AS relation_key, r.value AS value,
       e.key AS ekey, e.kh AS ekh, v.key AS vkey, v.kh AS vkh
ORDER BY r.seq
LIMIT $limit
