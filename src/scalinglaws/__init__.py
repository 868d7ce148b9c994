"""Scaling laws toolkit for the Chinchilla replication book."""
