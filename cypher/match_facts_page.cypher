// One page of facts in seq order, after seq $after.
MATCH ()-[r:FACT]->()
WHERE r.seq > $after
RETURN r.id, r.entity, r.relation, r.value, r.source, r.annotator, r.created_at, r.seq, r.change_id
ORDER BY r.seq
LIMIT $limit
