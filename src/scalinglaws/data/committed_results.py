"""The book's committed sweep results, found in the checkout, the installed package or downloaded.

Chapters 9-14 fit the runs of ``results/<name>/results.jsonl``, written by
``python -m scalinglaws sweep --preset <name> --out results/<name>`` and committed with the
book. :func:`sweep_results` looks in three places, in this order:

1. the checkout, when the package is installed in place (``pip install -e .``, as ``make test``
   and ``make book`` use): the file is read where it lies;
2. the installed package: a wheel (``pip install .``, ``pip install "git+<repository>"``, Binder)
   carries the same files as the data-only package ``scalinglaws.data.committed``, whose folder is
   the checkout's ``results/`` (``package-dir`` in ``pyproject.toml``; one copy in git), so a chapter
   opened outside the checkout needs no network; the bytes are checked against the sha256 below;
3. only when neither has it, the repository: the same bytes are fetched with
   :func:`scalinglaws.data.download.download`, which checks them against the sha256 below.

``tests/test_reference.py`` checks that these hashes are those of the committed files, and
``tests/test_installed_package.py`` that a wheel carries them, byte for byte.

This module imports only the standard library (``download``, which needs tqdm, is imported only
for step 3), so the lookup works in an environment that holds nothing but the package.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

#: The book's public repository (``repository.url`` in ``_config.yml``).
REPOSITORY_URL = "https://github.com/scalinglaws-book/chinchilla-by-hand"

#: What ``pip install`` needs to install this package straight from the repository.
PIP_INSTALL_SPEC = f"git+{REPOSITORY_URL}"

#: sha256 of each committed ``results/<name>/results.jsonl``. A wheel carries each of these files
#: (``[tool.setuptools.package-data]`` in ``pyproject.toml`` lists them: add a name there too).
RESULTS_SHA256 = {
    "cpu": "4657678339e2160d6484236342d722421daaee81be6d4f5401fc40d908b1061e",
    "pilot/lr": "4935349be1d237156c6e826f5a3ecff150e19bb2928d35a3c85962f6d8c91f64",
    "fixed-horizon": "2c4ba2a8c339a0f8b86f64e97f186501f7c58bd9a1c7bfb84cf7e4fcb074e6b2",
    "demo": "8ea8e27e7f4d433b2afd1ed08c3491c5592c537f2ce7274b0b5c4f3962a195a7",
    # The same demo grid trained on another processor (results/demo-amd-epyc/README.md).
    "demo-amd-epyc": "ef600b843a3b296b75c7a04a825530fdfbf012b5ecb0c7e12c23b1acc27e35ab",
    # Per-size tuning of the reference sweep's ladder (scalinglaws.sweeps.tuning): the first grid and
    # its extension to higher learning rates.
    "tuning": "ccad59c9629b569be9a543fe91e46fc60d5151b31e08d2e3d2f4d4f95788667c",
    "tuning-upper": "894dbbab68e088b8c2a3cdc5784d6f829856a5ee8337fcc6676b3a2377c42fe6",
    # The reference sweep (scalinglaws.sweeps.tuned_sweep), trained with the rule fitted from "tuning".
    "tuned": "e4e73c892fbd8c4a67c7da9f6c81417f4209a298dd8f0bd39c51c266a82c6765",
    # The reference grid trained with the untuned cpu recipe, seed 0 (the ladder table's "clean grid" row).
    "tuned-untuned": "7b082e56f2ee63a32a55c4e10e6d1c724d221aafd4b94d4c87a005c9ad7f622e",
    # The held-out test of the prediction in results/heldout/prediction.json (scalinglaws.fitting.prediction).
    "heldout": "b3476587d9f54169e101c657184a0cc575d5667bcfaf7707863fa6108545bd1e",
    # Larger models on Appendix D's miniature Gopher's data (scalinglaws.sweeps.fixed_data).
    "fixed-data": "2103a961f45f85a822faf5b0d9d5ffe0de0376bb51fbab367acbd22e9b692acc",
    # The batch size tuned with the learning rate, and the grid's extension past its edges
    # (scalinglaws.sweeps.batch_tuning); seed noise against run length (scalinglaws.sweeps.step_floor).
    "batch-tuning": "df29c4f7f8422fba0243f1da03bc105631fc012155953881cc024d1a563cf0ac",
    "batch-tuning-edges": "eb29bad5917757c8c63115200849f31c9fc80c01feca2d0d946ce348152d10f5",
    "step-floor": "ecaa0fa7104d83618c7aff1d6c0aa8562b805bfeea894928238116707b0be493",
    # The wide sweep (scalinglaws.sweeps.wide_sweep): budgets over 30x, one seed; its saved noise
    # redraws (redraws.json) travel beside it.
    "wide": "f81daa90251c6a29b3fd3649db7ab240549e977401282c2b0e2113bf442b8d13",
    # Its held-out test of results/wide-heldout/prediction.json, committed before these runs.
    "wide-heldout": "ccaeaedb3c9540c6b34a3a303eae49cf77fd907d0214a850970c0561ae5d9710",
}

#: The repository's raw files (GitHub serves ``raw.githubusercontent.com/<owner>/<repo>/<branch>/<path>``).
RAW_URL = REPOSITORY_URL.replace("https://github.com/", "https://raw.githubusercontent.com/") + "/main"

#: The checkout this package was installed from, when it was installed in place (``pip install -e .``).
CHECKOUT = Path(__file__).resolve().parents[3]

#: Where an installed (non-editable) package holds its copy of ``results/``: the data-only package
#: ``scalinglaws.data.committed`` (no modules; ``package-dir`` maps it to ``results/``). In a checkout
#: this folder does not exist, and :data:`CHECKOUT` is used instead.
PACKAGED = Path(__file__).resolve().parent / "committed"


def sweep_results(name: str) -> Path:
    """The path of the committed ``results.jsonl`` of sweep ``name`` (e.g. "cpu"): in the checkout,
    else in the installed package (hash-checked), else downloaded from the repository (hash-checked)."""
    if name not in RESULTS_SHA256:
        raise ValueError(f"no committed results named {name!r}; the book commits: {', '.join(RESULTS_SHA256)}")
    relative = f"results/{name}/results.jsonl"
    local = CHECKOUT / relative
    if local.exists():
        return local
    packaged = PACKAGED / name / "results.jsonl"
    if packaged.exists():
        found = hashlib.sha256(packaged.read_bytes()).hexdigest()
        if found != RESULTS_SHA256[name]:
            raise ValueError(
                f"{packaged}: the installed package's copy of {relative} has sha256 {found}, not the "
                f"book's {RESULTS_SHA256[name]}; reinstall the package (pip install --force-reinstall "
                f"--no-deps \"{PIP_INSTALL_SPEC}\")")
        return packaged
    from scalinglaws.data.download import download  # needs tqdm: imported only when a download is needed

    return download(f"{RAW_URL}/{relative}", RESULTS_SHA256[name], progress=False)
