// Facts whose subject is one of the entities with key hash in $khs, oldest first.
UNWIND $khs AS kh
MATCH (:Entity {kh: kh})-[r:FACT]->()
RETURN r {.id, .entity, .relation, .value, .source, .annotator, .created_at, .seq, .change_id} AS fact
ORDER BY r.seq
