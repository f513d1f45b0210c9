// Facts still stored that change $change_id created, oldest first.
MATCH ()-[r:FACT]->()
WHERE r.change_id = $change_id
RETURN r {.id, .entity, .relation, .value, .source, .annotator, .created_at, .seq, .change_id} AS fact
ORDER BY r.seq
