"""Part of LMLM-KG; see README.md."""
