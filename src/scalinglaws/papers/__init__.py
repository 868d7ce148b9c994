"""What the papers published, and what follows from it by algebra.

The published constants, each beside its source (:mod:`.constants`); counting parameters and
FLOPs (:mod:`.counting`); the laws and Eq. 4's allocation (:mod:`.laws`); Table A3
(:mod:`.table_a3`), the gap between Kaplan's and Chinchilla's allocations
(:mod:`.allocation_gap`), the downstream scores (:mod:`.downstream`), the compute-optimal
calculator (:mod:`.calculator`), inference costs (:mod:`.inference`), and the plain-text tables
the chapters print (:mod:`.tables`).

Imports: nothing else of this package. Every other layer may import this one.
"""
