"""Every published number this book reproduces, each next to its source.

Sources (full references in the book's ``references.bib``):
- Kaplan et al. 2020, "Scaling Laws for Neural Language Models", arXiv:2001.08361.
- Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models" (Chinchilla),
  arXiv:2203.15556.
- Besiroglu et al. 2024, "Chinchilla Scaling: A replication attempt", arXiv:2404.10102.
- Pearce & Song 2024, arXiv:2406.12907; Porian et al. 2024, arXiv:2406.19146.

Units: parameters and tokens are plain counts, compute is in FLOPs unless a name says
``pf_days``; losses are in nats per token on each paper's own data set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------

#: One petaflop/s-day in FLOPs (Kaplan et al. 2020, Section 1.3 "Notation").
PF_DAY = 1e15 * 24 * 3600  # = 8.64e19

# ---------------------------------------------------------------------------------------
# Kaplan et al. 2020
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PowerLaw:
    """A single-variable law L(x) = (x_c / x) ** alpha (Kaplan et al. 2020, Eqs. 1.1-1.3)."""

    alpha: float
    x_c: float


#: L(N) = (N_c / N)^alpha_N, N non-embedding parameters (Kaplan Eq. 1.1).
KAPLAN_L_OF_N = PowerLaw(alpha=0.076, x_c=8.8e13)
#: L(D) = (D_c / D)^alpha_D, D tokens (Kaplan Eq. 1.2).
KAPLAN_L_OF_D = PowerLaw(alpha=0.095, x_c=5.4e13)
#: L(C_min) = (C_c / C_min)^alpha_C, C in PF-days (Kaplan Eq. 1.3).
KAPLAN_L_OF_C = PowerLaw(alpha=0.050, x_c=3.1e8)


@dataclass(frozen=True)
class KaplanJointLaw:
    """L(N, D) = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D (Kaplan Eq. 1.5, Table 2)."""

    alpha_n: float = 0.076
    alpha_d: float = 0.103
    n_c: float = 6.4e13
    d_c: float = 1.8e13


KAPLAN_L_OF_N_D = KaplanJointLaw()


@dataclass(frozen=True)
class KaplanAllocation:
    """Compute-efficient allocation, C in PF-days (Kaplan Eqs. 1.7-1.8 and Section 6.1).

    N_opt = n_coef C^n_exp, batch = batch_coef C^batch_exp tokens,
    steps = steps_coef C^steps_exp, D_opt = d_coef C^d_exp tokens.
    """

    n_coef: float = 1.3e9
    n_exp: float = 0.73
    batch_coef: float = 2.0e6
    batch_exp: float = 0.24
    steps_coef: float = 5.4e3
    steps_exp: float = 0.03
    d_coef: float = 2e10
    d_exp: float = 0.27


KAPLAN_ALLOCATION = KaplanAllocation()

#: How Hoffmann et al. 2022 (Section 1) summarise Kaplan's allocation: "given a 10x increase
#: [in] computational budget", the model should grow 5.5x and its training tokens 1.8x.
#: Rounded to one decimal these are the factors of a ~ 0.74, not of Eq. 1.7's 0.73 (5.37x, 1.86x).
HOFFMANN_QUOTED_KAPLAN_TENFOLD = (5.5, 1.8)

#: Kaplan's training set-up (Section 2.2): 3,000 warmup steps, cosine to zero over a fixed
#: 2.5e5 steps, batch of 512 sequences of 1,024 tokens, on WebText2.
KAPLAN_WARMUP_STEPS = 3_000
KAPLAN_TOTAL_STEPS = 250_000
KAPLAN_BATCH_SEQUENCES = 512
KAPLAN_CONTEXT = 1_024

# ---------------------------------------------------------------------------------------
# Hoffmann et al. 2022 (Chinchilla)
# ---------------------------------------------------------------------------------------

#: Gopher's training budget, "1 Gopher unit" of compute (Hoffmann Section 4 and Table 3).
GOPHER_FLOPS = 5.76e23
#: Appendix F's finer count of the same budget.
GOPHER_FLOPS_APPENDIX_F = 6.3e23


@dataclass(frozen=True)
class TrainedModel:
    """A published model: parameters and training tokens (Hoffmann Table 1)."""

    name: str
    params: float
    tokens: float


#: Hoffmann Table 1: current large language models, parameters and training tokens.
TABLE_1 = (
    TrainedModel("LaMDA", 137e9, 168e9),
    TrainedModel("GPT-3", 175e9, 300e9),
    TrainedModel("Jurassic-1", 178e9, 300e9),
    TrainedModel("Gopher", 280e9, 300e9),
    TrainedModel("MT-NLG 530B", 530e9, 270e9),
    TrainedModel("Chinchilla", 70e9, 1.4e12),
)
GOPHER = TABLE_1[3]
CHINCHILLA = TABLE_1[5]


@dataclass(frozen=True)
class Exponents:
    """N_opt ~ C^a and D_opt ~ C^b with 10th-90th percentile intervals (Hoffmann Table 2)."""

    approach: str
    a: float
    a_interval: tuple[float, float] | None
    b: float
    b_interval: tuple[float, float] | None


@dataclass(frozen=True)
class Approach:
    """One of Hoffmann et al.'s three estimates of the compute-optimal allocation (Section 3)."""

    number: int
    title: str  # Table 2's name for it
    short: str  # the book's shorter name, in figure legends and exponent tables

    @property
    def label(self) -> str:
        """Table 2's row: '1. Minimum over training curves'."""
        return f"{self.number}. {self.title}"

    @property
    def short_label(self) -> str:
        """'1. training curves'."""
        return f"{self.number}. {self.short}"

    @property
    def key(self) -> str:
        """'approach 1', as bootstrap results and :data:`AT_GOPHER_BUDGET` name it."""
        return f"approach {self.number}"

    @property
    def table_2(self) -> Exponents:
        """This approach's row of Hoffmann Table 2."""
        return next(row for row in TABLE_2 if row.approach == self.label)


#: The three approaches in Hoffmann's order (Sections 3.1-3.3, Table 2): the one place they are named.
APPROACHES = (
    Approach(1, "Minimum over training curves", "training curves"),
    Approach(2, "IsoFLOP profiles", "IsoFLOP profiles"),
    Approach(3, "Parametric modelling of the loss", "parametric loss"),
)


def approach(number: int) -> Approach:
    """Approach ``number`` (1, 2 or 3)."""
    if number not in (1, 2, 3):
        raise ValueError(f"approach must be 1, 2 or 3, got {number!r}")
    return APPROACHES[number - 1]


#: Kaplan et al.'s exponents, as the last row of Hoffmann Table 2 quotes them for comparison
#: (an approach's row is :attr:`Approach.table_2`).
KAPLAN_TABLE_2 = Exponents("Kaplan et al. (2020)", 0.73, None, 0.27, None)

#: Hoffmann Table 2: estimated exponents per approach, and Kaplan's for comparison.
TABLE_2 = (
    Exponents(approach(1).label, 0.50, (0.488, 0.502), 0.50, (0.501, 0.512)),
    Exponents(approach(2).label, 0.49, (0.462, 0.534), 0.51, (0.483, 0.529)),
    Exponents(approach(3).label, 0.46, (0.454, 0.455), 0.54, (0.542, 0.543)),
    KAPLAN_TABLE_2,
)


@dataclass(frozen=True)
class ParametricFit:
    """Coefficients of L(N, D) = E + A / N^alpha + B / D^beta (Hoffmann Eq. 2 and 10)."""

    name: str
    E: float
    A: float
    B: float
    alpha: float
    beta: float


#: Approach 3 as printed in Hoffmann Section 3.3 (below Eq. 10).
CHINCHILLA_PRINTED = ParametricFit("chinchilla", E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)

#: Approach 3 unrounded, from the paper's LaTeX source (as quoted by Besiroglu et al. 2024):
#: log A = 6.0073404, log B = 6.0179186, log E = 0.5267228.
CHINCHILLA_UNROUNDED = ParametricFit(
    "chinchilla-unrounded",
    E=math.exp(0.5267228),
    A=math.exp(6.0073404),
    B=math.exp(6.0179186),
    alpha=0.33917084,
    beta=0.2849083,
)

#: Besiroglu et al. 2024 refit of Approach 3 on 240 points from Hoffmann Figure 4
#: (their Table 1 / Eq. 3).
BESIROGLU_REFIT = ParametricFit("besiroglu", E=1.8169, A=482.01, B=2085.43, alpha=0.3478, beta=0.3658)

#: Besiroglu et al. 2024, 95% confidence intervals of their refit (Table 1).
BESIROGLU_INTERVALS = {
    "A": (285.0, 744.0),
    "B": (1042.0, 5810.0),
    "E": (1.769, 1.871),
    "alpha": (0.317, 0.373),
    "beta": (0.331, 0.415),
}
#: Besiroglu et al. 2024: the exponent a = beta / (alpha + beta) of their refit.
BESIROGLU_A = 0.513

#: Approach 3 fitting set-up (Hoffmann Appendix D.2): Huber delta and the start grid.
HUBER_DELTA = 1e-3
#: alpha, beta in {0, 0.5, ..., 2}; e in {-1, -0.5, ..., 1}; a, b in {0, 5, ..., 25}.
APPROACH3_GRID = {
    "alpha": (0.0, 0.5, 1.0, 1.5, 2.0),
    "beta": (0.0, 0.5, 1.0, 1.5, 2.0),
    "e": (-1.0, -0.5, 0.0, 0.5, 1.0),
    "a": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
    "b": (0.0, 5.0, 10.0, 15.0, 20.0, 25.0),
}

#: What Besiroglu et al. 2024 report for the two Huber reductions on 240 points
#: (Section 3): the sum converges; the mean stops L-BFGS early near a = 0.44.
BESIROGLU_SUMMED_FIT = {"alpha": 0.347, "beta": 0.367, "E": 1.817}
BESIROGLU_MEAN_STOPPED_A = 0.44
#: Besiroglu et al. drop the 5 highest-loss points of the 245 they extracted.
BESIROGLU_DROPPED_POINTS = 5


@dataclass(frozen=True)
class OptimalRow:
    """One row of Hoffmann Table 3 / A3: compute-optimal FLOPs and tokens for a size."""

    params: float
    flops: float
    tokens: float


#: Hoffmann Table 3 (Approach 1) and Table A3 (Approaches 2 and 3): estimated optimal
#: training FLOPs and tokens for various model sizes.
TABLE_3_APPROACH_1 = (
    OptimalRow(400e6, 1.92e19, 8.0e9),
    OptimalRow(1e9, 1.21e20, 20.2e9),
    OptimalRow(10e9, 1.23e22, 205.1e9),
    OptimalRow(67e9, 5.76e23, 1.5e12),
    OptimalRow(175e9, 3.85e24, 3.7e12),
    OptimalRow(280e9, 9.90e24, 5.9e12),
    OptimalRow(520e9, 3.43e25, 11.0e12),
    OptimalRow(1e12, 1.27e26, 21.2e12),
    OptimalRow(10e12, 1.30e28, 216.2e12),
)
TABLE_A3_APPROACH_2 = (
    OptimalRow(400e6, 1.84e19, 7.7e9),
    OptimalRow(1e9, 1.20e20, 20.0e9),
    OptimalRow(10e9, 1.32e22, 219.5e9),
    OptimalRow(67e9, 6.88e23, 1.7e12),
    OptimalRow(175e9, 4.54e24, 4.3e12),
    OptimalRow(280e9, 1.18e25, 7.1e12),
    OptimalRow(520e9, 4.19e25, 13.4e12),
    OptimalRow(1e12, 1.59e26, 26.5e12),
    OptimalRow(10e12, 1.75e28, 292.0e12),
)
#: Approach 3 column exactly as printed. The 175B row prints 1.26e24 FLOPs, a typo for
#: 1.26e25 (6 * 175e9 * 12.0e12 = 1.26e25); tests state this rather than hide it.
TABLE_A3_APPROACH_3 = (
    OptimalRow(400e6, 2.21e19, 9.2e9),
    OptimalRow(1e9, 1.62e20, 27.1e9),
    OptimalRow(10e9, 2.46e22, 410.1e9),
    OptimalRow(67e9, 1.71e24, 4.1e12),
    OptimalRow(175e9, 1.26e24, 12.0e12),
    OptimalRow(280e9, 3.52e25, 20.1e12),
    OptimalRow(520e9, 1.36e26, 43.5e12),
    OptimalRow(1e12, 5.65e26, 94.1e12),
    OptimalRow(10e12, 8.55e28, 1425.5e12),
)

#: Hoffmann Section 3 / Table 3: allocations at Gopher's budget (params, tokens).
AT_GOPHER_BUDGET = {
    approach(1).key: (67e9, 1.5e12),
    approach(2).key: (63e9, 1.4e12),
    approach(3).key: (40e9, None),
}

#: Hoffmann Section 3.2: the nine IsoFLOP budgets of Approach 2 (Figure 3).
APPROACH2_BUDGETS = (6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21)
#: Hoffmann Section 3.1: Approach 1 interpolates the envelope at 1,500 log-spaced FLOPs,
#: each size trained with 4 cosine horizons spanning 16x.
APPROACH1_GRID_POINTS = 1_500
APPROACH1_HORIZONS_SPAN = 16


@dataclass(frozen=True)
class ModelShape:
    """A published transformer configuration (Hoffmann Tables 4 and A4)."""

    name: str
    n_layers: int
    d_model: int
    d_ff: int
    n_heads: int
    d_head: int


#: Hoffmann Table A4: configurations, their nominal size (total parameters, embeddings
#: included) and the printed ratio of the Appendix F FLOP count to 6ND. The ratios are
#: reproduced only when the embedding and final-logit terms are left out of the count.
TABLE_A4 = (
    (ModelShape("73M", 10, 640, 2560, 10, 64), 73e6, 1.03),
    (ModelShape("305M", 20, 1024, 4096, 16, 64), 305e6, 1.10),
    (ModelShape("552M", 24, 1280, 5120, 10, 128), 552e6, 1.08),
    (ModelShape("1.1B", 26, 1792, 7168, 14, 128), 1.1e9, 1.04),
    (ModelShape("1.6B", 28, 2048, 8192, 16, 128), 1.6e9, 1.03),
    (ModelShape("6.8B", 40, 3584, 14336, 28, 128), 6.8e9, 0.99),
)
#: The sequence length and vocabulary of Hoffmann's models (Section 4.1: 2,048 tokens;
#: SentencePiece vocabulary of 32,000).
CHINCHILLA_CONTEXT = 2_048
CHINCHILLA_VOCAB = 32_000

#: Hoffmann Section 4.2 and Tables 6-8: downstream results, Chinchilla vs Gopher.
TABLE_4_RESULTS = {
    # task: (Chinchilla, Gopher, higher_is_better)
    "MMLU 5-shot accuracy (%)": (67.6, 60.0, True),
    "BIG-bench average accuracy (%)": (65.1, 54.4, True),
    "LAMBADA zero-shot accuracy (%)": (77.4, 74.5, True),
    "WikiText-103 perplexity": (7.16, 7.75, False),
}

#: Hoffmann Appendix B, Figure A1: the cosine cycle must match the training length;
#: overshooting by more than 25% clearly hurts. Decaying 10x beats decaying to 0.
COSINE_FINAL_LR_FRACTION = 0.1

# ---------------------------------------------------------------------------------------
# Why Kaplan and Hoffmann disagree
# ---------------------------------------------------------------------------------------

#: Porian et al. 2024 (Figure 1, panels a-e, and Section 3): exponent a of N_opt ~ C^a as each
#: fix is added, all measured on their own runs on RefinedWeb; 0.835 is their reproduction of
#: Kaplan's set-up, not Kaplan's 0.73. Their three causes (abstract) are the head FLOPs, the
#: warmup and the per-size tuning; the cosine step tests Hoffmann's hypothesis, and they find
#: careful learning-rate decay "not essential" (abstract).
PORIAN_EXPONENT_STEPS = (
    ("Kaplan et al. set-up", 0.835),
    ("count the head (last layer) FLOPs", 0.706),
    ("shorter warmup", 0.602),
    ("cosine decay matched to the run", 0.571),
    ("tuned learning rate, batch size and AdamW beta2", 0.497),
)
#: Porian et al. 2024 (abstract, Section 3 and Figure 1): the data set of PORIAN_EXPONENT_STEPS
#: (they repeat the study on OpenWebText2).
PORIAN_DATASET = "RefinedWeb"
#: Pearce & Song 2024: local exponent with non-embedding counting over Kaplan's range.
PEARCE_SONG_NON_EMBEDDING_A = (0.74, 0.78)
PEARCE_SONG_TOTAL_A = 0.51
