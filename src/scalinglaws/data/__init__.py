"""Files the book reads, each checked against its sha256.

Checksummed downloads (:mod:`.download`, with the corpora's manifests in ``manifests/``), the
training text (:mod:`.corpus`) and the losses it can be held against without training
(:mod:`.byte_baselines`), the points of Chinchilla's Figure 4 (:mod:`.chinchilla_data`), a set
of runs and its CSV (:mod:`.runs`), a sweep's append-only results file (:mod:`.results`), and
the book's committed results, found in the checkout or downloaded (:mod:`.committed_results`).

Imports: :mod:`scalinglaws.papers`.
"""
