// Up to $limit changes with id > $since, oldest first.
MATCH (c:Change)
WHERE c.id > $since
RETURN properties(c) AS change
ORDER BY c.id
LIMIT $limit
