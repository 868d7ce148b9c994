"""Chinchilla's three ways to find the compute-optimal allocation (Hoffmann et al. 2022, Section 3),
and the diagnostics built on them.

- :mod:`.approach1`: the envelope of training curves (Section 3.1);
- :mod:`.approach2`: IsoFLOP profiles (Section 3.2);
- :mod:`.approach3`: the parametric loss fitted with a Huber loss (Section 3.3, Appendix D.2),
  optimised by the batched L-BFGS of :mod:`.lbfgs`;
- :mod:`.bootstrap`: percentile intervals (Table 2); :mod:`.report`: all of it at once;
  :mod:`.synthetic`: runs drawn from a known law, to test the fits on.
- Diagnostics: :mod:`.sweep_fits` (one sweep fitted, with its corrections as options),
  :mod:`.seed_noise`, :mod:`.envelope_bias`, :mod:`.isoflop_diagnostics`,
  :mod:`.approach3_diagnostics`, :mod:`.fixed_horizon_pairs`;
- Using fits: :mod:`.prediction` (a prediction committed before its test runs), :mod:`.pilot`
  (which smaller runs predict a larger budget best).
- Designing a sweep: :mod:`.trunk_noise` (seed noise as a per-trunk offset plus per-run noise,
  measured and drawn), :mod:`.trunk_bootstrap` (intervals that redraw whole WSD trunks) and
  :mod:`.design` (synthetic sweeps on an exact grid: the interval on a that a design would give).

Imports: :mod:`scalinglaws.papers`, :mod:`scalinglaws.data`. Importing this package loads the
three approaches only (numpy and scipy; no torch).
"""

from scalinglaws.fitting.approach1 import Approach1Fit, fit_approach1
from scalinglaws.fitting.approach2 import Approach2Fit, IsoFlopProfile, fit_approach2
from scalinglaws.fitting.approach3 import (Approach3Fit, fit_approach3, fit_approach3_arrays,
                                           fit_approach3_scipy, grid_starts)
from scalinglaws.fitting.bootstrap import (BootstrapResult, bootstrap_approach1, bootstrap_approach2,
                                           bootstrap_approach3)
from scalinglaws.fitting.powerlaw import FitFailure, PowerLawFit, fit_power_law
from scalinglaws.fitting.report import FitReport, fit_all

__all__ = [
    "Approach1Fit", "Approach2Fit", "Approach3Fit", "BootstrapResult", "FitFailure", "FitReport",
    "IsoFlopProfile", "PowerLawFit", "bootstrap_approach1", "bootstrap_approach2", "bootstrap_approach3",
    "fit_all", "fit_approach1", "fit_approach2", "fit_approach3", "fit_approach3_arrays",
    "fit_approach3_scipy", "fit_power_law", "grid_starts",
]
