"""LMLM-KG: Large Memory Language Models with a knowledge graph."""

__version__ = "0.1.0"
