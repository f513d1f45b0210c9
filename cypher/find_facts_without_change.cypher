// check(): facts naming a change that is not in the log.
MATCH ()-[r:FACT]->()
WHERE r.change_id IS NOT NULL AND NOT EXISTS { MATCH (:Change {id: r.change_id}) }
RETURN r.id AS id, r.change_id AS change_id
LIMIT $limit
