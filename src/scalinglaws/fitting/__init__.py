"""Chinchilla's three ways to find the compute-optimal allocation (Hoffmann et al. 2022, Section 3).

- :mod:`.approach1`: the envelope of training curves (Section 3.1);
- :mod:`.approach2`: IsoFLOP profiles (Section 3.2);
- :mod:`.approach3`: the parametric loss fitted with a Huber loss (Section 3.3, Appendix D.2),
  optimised by the batched L-BFGS of :mod:`.lbfgs`;
- :mod:`.bootstrap`: percentile intervals (Table 2); :mod:`.report`: all of it at once.
"""

from .approach1 import Approach1Fit, fit_approach1
from .approach2 import Approach2Fit, IsoFlopProfile, fit_approach2
from .approach3 import Approach3Fit, fit_approach3, fit_approach3_arrays, fit_approach3_scipy, grid_starts
from .bootstrap import BootstrapResult, bootstrap_approach1, bootstrap_approach2, bootstrap_approach3
from .powerlaw import FitFailure, PowerLawFit, fit_power_law
from .report import FitReport, fit_all

__all__ = [
    "Approach1Fit", "Approach2Fit", "Approach3Fit", "BootstrapResult", "FitFailure", "FitReport",
    "IsoFlopProfile", "PowerLawFit", "bootstrap_approach1", "bootstrap_approach2", "bootstrap_approach3",
    "fit_all", "fit_approach1", "fit_approach2", "fit_approach3", "fit_approach3_arrays",
    "fit_approach3_scipy", "fit_power_law", "grid_starts",
]
