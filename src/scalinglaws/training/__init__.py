"""Training one model: the transformer, its loop, its schedules, and WSD branches.

The tiny GPT (:mod:`.model`), the training loop and its held-out loss curve (:mod:`.train`),
learning-rate schedules (:mod:`.schedule`), which warmup-stable-decay runs share a trunk and
what they cost (:mod:`.wsd_plan`), one trunk trained and cooled down at each branch point
(:mod:`.branches`), K models of one shape trained as one batched model (:mod:`.batched`), and a
run's provenance: commit, versions, command, device (:mod:`.provenance`).

Imports: :mod:`scalinglaws.papers`, :mod:`scalinglaws.data`, :mod:`scalinglaws.fitting`.
"""
