// Constraints and indexes of the Neo4j store, created at open (idempotent: IF NOT EXISTS).
// Statements end with ';' at the end of a line; the loader splits them there.
// Entity and alias keys can be longer than a range index entry (~8 kB), so the unique, indexed
// property is `kh`, a fixed-length hash of the key; `key` itself has only the text index below.
CREATE CONSTRAINT lmlm_entity_kh IF NOT EXISTS FOR (n:Entity) REQUIRE n.kh IS UNIQUE;
CREATE CONSTRAINT lmlm_alias_kh IF NOT EXISTS FOR (n:Alias) REQUIRE n.kh IS UNIQUE;
CREATE CONSTRAINT lmlm_change_id IF NOT EXISTS FOR (n:Change) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT lmlm_meta_name IF NOT EXISTS FOR (n:LmlmMeta) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT lmlm_fact_id IF NOT EXISTS FOR ()-[r:FACT]-() REQUIRE r.id IS UNIQUE;
CREATE INDEX lmlm_fact_seq IF NOT EXISTS FOR ()-[r:FACT]-() ON (r.seq);
CREATE INDEX lmlm_fact_change IF NOT EXISTS FOR ()-[r:FACT]-() ON (r.change_id);
CREATE INDEX lmlm_change_part IF NOT EXISTS FOR (n:ChangePart) ON (n.change_id);
// Substring and prefix search of names (CONTAINS, STARTS WITH) read these instead of every node.
// A text index takes a key of up to 32 kB of UTF-8; lmlm.kg.limits keeps every key well under.
CREATE TEXT INDEX lmlm_entity_key_text IF NOT EXISTS FOR (n:Entity) ON (n.key);
CREATE TEXT INDEX lmlm_alias_key_text IF NOT EXISTS FOR (n:Alias) ON (n.key);
