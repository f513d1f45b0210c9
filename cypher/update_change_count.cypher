// Finish an import's change record: how many facts it added, and its (possibly annotated) summary.
MATCH (c:Change {id: $id})
SET c.added_count = $added_count, c.summary = $summary
