"""Scaling-laws toolkit for the Chinchilla replication book, in layers.

Each subpackage is one layer and imports only from the layers listed before it
(``tests/test_layers.py`` checks this from the import statements):

1. :mod:`scalinglaws.papers`: what the papers published and what follows from it by algebra.
2. :mod:`scalinglaws.data`: files with a checksum: corpora, the papers' points, run records.
3. :mod:`scalinglaws.fitting`: the three approaches and the diagnostics built on them (numpy only).
4. :mod:`scalinglaws.training`: the model, its training loop, schedules, WSD branches (torch).
5. :mod:`scalinglaws.sweeps`: grids of runs, their presets, the resumable runner, tuning.
6. :mod:`scalinglaws.book`: figures, site extensions and the student edition.

The command line (:mod:`scalinglaws.cli`, ``python -m scalinglaws``) sits on top of them all.
Fitting comes before training: it needs no torch (Part I fits the papers' points with it),
and a sweep uses fits to set its learning rates and to predict its held-out runs.
"""
