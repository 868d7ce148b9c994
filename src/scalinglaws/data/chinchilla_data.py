"""The 245 (N, C, loss) points Besiroglu et al. (2024) extracted from Hoffmann et al.'s Figure 4.

Hoffmann et al. (2022) published no table of their runs. Besiroglu et al. (2024, "Chinchilla
Scaling: A replication attempt", Section 2) recovered the points of Figure 4 (left) from the
paper's SVG: model size N, training FLOPs C and final loss for 245 runs. Tokens are not stored;
as in their analysis, D = C / (6 N). They then drop the 5 highest-loss points
(:data:`constants.BESIROGLU_DROPPED_POINTS`) and fit Approach 3 to the remaining 240.

Only the columns ``Model Size``, ``Training FLOP`` and ``loss`` are data; the others (``x``,
``y``, ``color``, ``hex_color``) are artefacts of the plot.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from scalinglaws.data.download import download
from scalinglaws.data.runs import Run, Runs
from scalinglaws.papers import constants

#: Besiroglu et al.'s extraction, pinned to a commit of epoch-research/analyzing-chinchilla.
URL = ("https://raw.githubusercontent.com/epoch-research/analyzing-chinchilla/"
       "92258837425e1b5f2851d624287f0120583a3d0e/data/svg_extracted_data.csv")
SHA256 = "193478df4e90f040016431996c45682659306840ecdadf83cfb9cd5ca0aa1b30"
#: Number of rows in the file (Besiroglu et al. 2024, Section 2).
N_POINTS = 245
#: Points within this many decades of one of Hoffmann's nine budgets belong to it.
BUDGET_TOLERANCE_DEX = 0.1


def load_chinchilla_points(root: Path | None = None, mirror: Path | None = None) -> Runs:
    """All 245 points as Runs (D = C / 6N), labelled with IsoFLOP budgets (:func:`hoffmann_budget_labels`).

    ``root`` and ``mirror`` are passed to :func:`download.download` (defaults: the cache and
    ``$SCALINGLAWS_DATA_MIRROR``). Raises ``ChecksumError`` if the bytes are not the pinned ones.
    """
    path = download(URL, SHA256, root=root, mirror=mirror, progress=False)
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    runs = Runs(tuple(
        Run(name=f"figure 4 point {index}", params=float(row["Model Size"]),
            tokens=float(row["Training FLOP"]) / (6.0 * float(row["Model Size"])),
            flops=float(row["Training FLOP"]), loss=float(row["loss"]))
        for index, row in enumerate(rows)
    ))
    return runs.with_budgets(hoffmann_budget_labels(runs.flops))


def hoffmann_budget_labels(flops, tolerance_dex: float = BUDGET_TOLERANCE_DEX) -> np.ndarray:
    """Each point's IsoFLOP budget: the nearest of Hoffmann's nine within ``tolerance_dex``, else its own C.

    Figure 4 mixes Approach 1's runs (at any C) with Approach 2's IsoFLOP runs at the nine
    budgets of Section 3.2 (:data:`constants.APPROACH2_BUDGETS`). Read off a plot, the
    IsoFLOP points scatter up to ~0.1 dex (a factor 1.26) around their budget, mostly below it,
    which is more than the generic 10% grouping of :func:`runs.group_budgets` tolerates. Points
    farther from every budget keep their own C as label, so Approach 2 sees them as budgets
    of one size and leaves them out.
    """
    flops = np.asarray(flops, dtype=float)
    budgets = np.array(constants.APPROACH2_BUDGETS)
    distance = np.abs(np.log10(flops[:, None] / budgets[None, :]))
    nearest = np.argmin(distance, axis=1)
    close = distance[np.arange(flops.size), nearest] <= tolerance_dex
    return np.where(close, budgets[nearest], flops)


def besiroglu_selection(runs: Runs, n_dropped: int = constants.BESIROGLU_DROPPED_POINTS) -> Runs:
    """Drop the ``n_dropped`` highest-loss points, as Besiroglu et al. do (245 -> 240)."""
    keep = np.sort(np.argsort(runs.loss, kind="stable")[: len(runs) - n_dropped])
    return runs.subset(keep)


def load_besiroglu_points(root: Path | None = None, mirror: Path | None = None) -> Runs:
    """The 240 points Besiroglu et al. fit: :func:`load_chinchilla_points` minus the 5 highest losses."""
    return besiroglu_selection(load_chinchilla_points(root=root, mirror=mirror))
