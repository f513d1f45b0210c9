// The stored facts among $ids, each as a map of lmlm.kg.facts.Fact's fields.
UNWIND $ids AS id
MATCH ()-[r:FACT {id: id}]->()
RETURN r {.id, .entity, .relation, .value, .source, .annotator, .created_at, .seq, .change_id} AS fact
