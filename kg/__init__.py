"""The knowledge graph: facts, stores (embedded SQLite, Neo4j), the fuzzy index and the resolver.

Importing this package never imports torch: the embedding model loads on first fuzzy use.
"""
