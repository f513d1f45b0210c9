// Facts still stored that change $change_id created, oldest first.
MATCH ()-[r:FACT]->()
WHERE r.change_id = $change_id
RETURN r.id, r.entity, r.relation, r.value, r.source, r.annotator, r.created_at, r.seq, r.change_id
ORDER BY r.seq
