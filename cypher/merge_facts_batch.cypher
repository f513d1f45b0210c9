// Add facts, given as parallel lists (one entry per fact: lists pack and unpack faster than maps).
// A fact whose id is already stored is skipped; entity and value nodes are merged on the hash of
// their key, with the display name as first seen.
UNWIND range(0, size($ids) - 1) AS i
WITH i, $ids[i] AS id
WHERE NOT EXISTS { MATCH ()-[:FACT {id: id}]->() }
MERGE (e:Entity {kh: $ekhs[i]})
  ON CREATE SET e.key = $ekeys[i], e.name = $entities[i]
MERGE (v:Entity {kh: $vkhs[i]})
  ON CREATE SET v.key = $vkeys[i], v.name = $values[i]
CREATE (e)-[r:FACT {
  id: id,
  entity: $entities[i],
  relation: $relations[i],
  relation_key: $relation_keys[i],
  value: $values[i],
  source: $sources[i],
  annotator: $annotators[i],
  created_at: $created_ats[i],
  seq: $seqs[i],
  change_id: $change_ids[i]
}]->(v)
RETURN count(r) AS added
