// One page of facts in seq order, after seq $after.
MATCH ()-[r:FACT]->()
WHERE r.seq > $after
RETURN r {.id, .entity, .relation, .value, .source, .annotator, .created_at, .seq, .change_id} AS fact
ORDER BY r.seq
LIMIT $limit
