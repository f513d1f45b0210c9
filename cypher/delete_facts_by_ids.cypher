// Remove facts by id; returns the key hashes of their nodes so the caller can drop orphans.
UNWIND $ids AS id
MATCH (e:Entity)-[r:FACT {id: id}]->(v:Entity)
DELETE r
RETURN e.kh AS ekh, v.kh AS vkh
