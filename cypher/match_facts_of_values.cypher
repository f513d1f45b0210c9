// Facts whose value is one of the entities with key hash in $khs, oldest first.
UNWIND $khs AS kh
MATCH ()-[r:FACT]->(:Entity {kh: kh})
RETURN r.id, r.entity, r.relation, r.value, r.source, r.annotator, r.created_at, r.seq, r.change_id
ORDER BY r.seq
