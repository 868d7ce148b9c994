"""Many runs: grids, presets, the resumable runner, per-size tuning and the reference sweep.

The presets (:mod:`.presets`) and the grid each defines (:mod:`.grid`), the resumable runner
that trains a grid into a results file (:mod:`.runner`), the learning-rate rule fitted to pilot
runs (:mod:`.learning_rate_rule`), per-size tuning of the learning rate and beta2
(:mod:`.tuning`), the batch size tuned with it (:mod:`.batch_tuning`), the reference sweep and its held-out test (:mod:`.tuned_sweep`), the sweep
prepared for one GPU (:mod:`.gpu_sweep`), the ladder
table of exponents after each change of recipe (:mod:`.ladder_table`), and what a sweep's
training cost (:mod:`.compute_spent`).

Imports: every layer below (:mod:`scalinglaws.papers`, :mod:`scalinglaws.data`,
:mod:`scalinglaws.fitting`, :mod:`scalinglaws.training`).
"""
