// The stored facts among $ids, fields in the order of lmlm.kg.facts.Fact.
UNWIND $ids AS id
MATCH ()-[r:FACT {id: id}]->()
RETURN r.id, r.entity, r.relation, r.value, r.source, r.annotator, r.created_at, r.seq, r.change_id
