// Batched exact lookup: row i of the parallel lists $ekhs (entity key hash) and $rkeys (relation
// key) asks for the facts of one (entity, relation) key. Returns i and the fact as a map of
// lmlm.kg.facts.Fact's fields; the caller groups rows by i and orders them newest first.
UNWIND range(0, size($ekhs) - 1) AS i
MATCH (:Entity {kh: $ekhs[i]})-[r:FACT]->()
WHERE r.relation_key = $rkeys[i]
RETURN i, r {.id, .entity, .relation, .value, .source, .annotator, .created_at, .seq, .change_id} AS fact
