// Id of the newest change, 0 when there is none.
MATCH (c:Change)
RETURN coalesce(max(c.id), 0) AS id
