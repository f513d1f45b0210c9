// Whether this database holds an LMLM store: its counter node exists once anything was written.
OPTIONAL MATCH (m:LmlmMeta {name: $name})
RETURN m IS NOT NULL AS found
