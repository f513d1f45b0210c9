// check(): fact ids stored more than once (the uniqueness constraint should make this empty).
MATCH ()-[r:FACT]->()
WITH r.id AS id, count(*) AS n
WHERE n > 1
RETURN id, n
LIMIT $limit
