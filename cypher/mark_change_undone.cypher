// Mark change $undoes as undone by change $id.
MATCH (c:Change {id: $undoes})
SET c.undone_by = $id
