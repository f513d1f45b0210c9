// One change record.
MATCH (c:Change {id: $id})
RETURN properties(c) AS change
