// Remove the aliases with key hash in $khs, whatever they point to (as the embedded store does).
// Returns the key hashes of the entities they pointed to, so the caller can drop orphans.
UNWIND $khs AS kh
MATCH (x:Alias {kh: kh})
OPTIONAL MATCH (x)-[:ALIAS_OF]->(target:Entity)
WITH x, collect(target.kh) AS target_khs
DETACH DELETE x
RETURN target_khs
