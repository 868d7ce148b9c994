"""The sweeps' presets: each a named corpus, FLOP budgets, ladder of shapes and training rules.

A preset fixes a corpus, a list of FLOP budgets C (by 6ND, N = total parameters) and a
ladder of model shapes. For each budget it trains the ``models_per_budget`` consecutive
ladder models centred (in log N) on a guess of the optimum, N* = sqrt(C / (6 r)) with r
the preset's guess of the optimal tokens per parameter, so every IsoFLOP curve brackets
its minimum on both sides (Hoffmann et al. 2022, Section 3.2, Figure 3). Each model gets a
learning rate from a measured rule, lr = lr_at_100k * (N / 1e5) ** -lr_exponent, and a batch
that may be smaller at small budgets, so that short runs still get enough optimizer steps
(``results/pilot/README.md``). The runs a preset implies are :func:`scalinglaws.sweeps.grid.build_grid`'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scalinglaws.papers import counting
from scalinglaws.papers.counting import TransformerShape
from scalinglaws.sweeps.learning_rate_rule import pilot_rule


@dataclass(frozen=True)
class Preset:
    """A named sweep. See the module docstring for how the grid follows from the fields."""

    name: str
    description: str
    corpus: str
    budgets: tuple[float, ...]
    ladder: tuple[TransformerShape, ...]  # sorted by parameter count
    models_per_budget: int
    tokens_per_param_guess: float  # r in N* = sqrt(C / 6r), the centre of each bracket
    batch_size: int  # sequences of n_ctx bytes per optimizer step (at budgets >= small_batch_below)
    lr_at_100k: float  # peak learning rate of a 1e5-parameter model
    lr_exponent: float  # lr ~ N ** -lr_exponent
    eval_sequences: int = 256
    n_eval_points: int = 14
    seed: int = 0
    min_steps: int = 50  # runs shorter than this are left out of the grid
    max_tokens: float | None = None  # no run sees more tokens (caps the epochs of a small corpus)
    small_batch: int | None = None  # the batch below ``small_batch_below`` FLOPs: more steps for short runs
    small_batch_below: float = 0.0
    # Plan every run's cosine cycle for the grid's longest run, in tokens, instead of for the run's
    # own length: Kaplan et al. (2020, Section 2.2) trained every model with one fixed schedule.
    fixed_horizon: bool = False
    # Train with warmup-stable-decay and this cooldown fraction instead of the cosine, the runs that
    # differ only in length cooled down from one shared constant-rate run (scalinglaws.training.wsd_plan).
    wsd_cooldown: float | None = None

    def batch_for(self, budget: float) -> int:
        """Sequences per step: ``small_batch`` for budgets below ``small_batch_below``, else ``batch_size``."""
        if self.small_batch is not None and budget < self.small_batch_below:
            return self.small_batch
        return self.batch_size

    def peak_lr(self, n_params: int) -> float:
        return self.lr_at_100k * (n_params / 1e5) ** -self.lr_exponent

    def shapes_for(self, budget: float) -> list[TransformerShape]:
        """The ladder models whose N brackets the guessed optimum N* for this budget.

        With ``max_tokens``, models too small to spend the budget within it (D = C/6N above
        the cap) are not eligible, so the bracket shifts up where the cap binds.
        """
        ladder = [shape for shape in self.ladder if self.max_tokens is None
                  or budget / (6 * counting.params_total(shape)) <= self.max_tokens]
        centre = math.sqrt(budget / (6 * self.tokens_per_param_guess))
        nearest = ladder.index(counting.nearest_shape(ladder, centre))
        first = min(max(0, nearest - self.models_per_budget // 2), len(ladder) - self.models_per_budget)
        return ladder[max(0, first):first + self.models_per_budget]


def _ladder(*layers_width_heads: tuple[int, int, int], n_ctx: int = 128) -> tuple[TransformerShape, ...]:
    shapes = [TransformerShape(n_layers=l, d_model=d, n_heads=h, n_ctx=n_ctx) for l, d, h in layers_width_heads]
    return tuple(sorted(shapes, key=counting.params_total))


#: Model sizes of the CPU sweeps: 1-5 layers, widths 8-112, about 1.5x apart in N (4K .. 800K parameters).
CPU_LADDER = _ladder((1, 8, 1), (1, 12, 2), (1, 16, 2), (1, 24, 2), (1, 32, 4), (2, 32, 4), (2, 40, 4), (2, 48, 4),
                     (3, 48, 4), (3, 64, 4), (4, 72, 4), (4, 96, 4), (5, 112, 4))
#: Measured in results/pilot/ (README.md there): the best of 4 peak learning rates for 3 sizes at
#: C = 1e12 and batch 16 x 128 bytes, fitted by learning_rate_rule.pilot_rule from the committed records.
CPU_LR_RULE = pilot_rule()
#: Bracket centre N* = sqrt(C / 6r): byte-level models want far more tokens per parameter than
#: Chinchilla's ~20; the IsoFLOP pilot found 145-175 at 1e12-3e12 (results/pilot/README.md).
CPU_TOKENS_PER_PARAM = 150.0
#: Batch rule: 8 sequences below 3e12 FLOPs, 16 from there. At batch 16 the larger models of the
#: 3e11 budget got only 650-1,000 steps and the pilot's IsoFLOP optimum there fell to 10.8K
#: parameters (432 bytes each); at batch 8 it is 16.8K (177 bytes), in line with 1e12 (170).
CPU_SMALL_BATCH_BELOW = 3e12

#: GPU ladder: 3-12 layers, widths 64-384 (0.17M .. 21M parameters).
GPU_LADDER = _ladder((3, 64, 4), (4, 80, 4), (4, 96, 4), (5, 112, 4), (5, 128, 4), (6, 160, 5), (8, 192, 6),
                     (8, 256, 8), (10, 320, 10), (12, 384, 12))
GPU_TOKENS_PER_PARAM = CPU_TOKENS_PER_PARAM
#: Training bytes of 'gutenberg409' (scalinglaws.data.corpus) and the epoch cap of the gpu preset.
GUTENBERG409_TRAIN_BYTES = 137_836_610  # corpus_info("gutenberg409")["bytes"]["train"]
GPU_MAX_EPOCHS = 4
GPU_DESCRIPTION = (
    "One H100, meant to fit ~25 minutes: 4 IsoFLOP budgets 1e14..3e15 (2 decades beyond 'cpu') x 6 models "
    "(0.17M-21M parameters) on 'gutenberg409', batch 128 x 128 bytes, bf16 autocast and torch.compile, "
    "one process. No run sees more than 4 epochs of the corpus's 137.8M training bytes (the most is 3.5 "
    "epochs, the 1.0M model at 3e15); the cap binds only at 3e15, where it moves that bracket up two "
    "models. 3.3e9 training tokens in ~200K optimizer steps (531 to 32K per run). NOT RUN: written without a GPU, so its wall "
    "time, the CUDA path and the learning-rate rule (the CPU rule, measured at batch 16) are unverified."
)


def shape_family(n_layers: range, head_size: int, aspect_ratio: int, n_ctx: int = 128) -> tuple[TransformerShape, ...]:
    """One shape family: d_model = aspect_ratio * n_layers and heads of ``head_size``, for each depth.

    Fixing the head size and the aspect ratio d_model / n_layers leaves one knob, the depth, so
    the sizes differ in scale only, never in proportions (Kaplan et al. 2020, Section 3.1, found
    the loss nearly flat in aspect ratio over a wide range at fixed N).
    """
    if head_size < 1 or aspect_ratio < 1 or aspect_ratio % head_size:
        raise ValueError(f"need positive head_size and aspect_ratio, the aspect ratio a multiple of the head size "
                         f"(whole heads), got head_size={head_size}, aspect_ratio={aspect_ratio}")
    return _ladder(*((layers, aspect_ratio * layers, aspect_ratio * layers // head_size) for layers in n_layers),
                   n_ctx=n_ctx)


#: The decisive GPU sweep's family: heads of 16, d_model = 16 n_layers (so n_heads = n_layers), 1-16 layers,
#: 9.5K .. 12.7M parameters. An aspect ratio of 16 is narrow, but it spaces the small sizes 1.5-2.7x apart
#: (1, 2, 3 layers: 9.5K, 38K, 103K); at d_model = 64 n_layers the first three are 74K, 442K, 1.4M.
DECISIVE_LADDER = shape_family(range(1, 17), head_size=16, aspect_ratio=16)
#: Five budgets half a decade apart: two decades of compute, 7e12 (one step past the 'cpu' sweep's 3e12) to 7e14.
DECISIVE_BUDGETS = (7e12, 2.2e13, 7e13, 2.2e14, 7e14)
DECISIVE_DESCRIPTION = (
    "The decisive sweep on one GPU (benchmarks/device_check.sh): 5 IsoFLOP budgets 7e12..7e14 (two decades) x 5 "
    "sizes of ONE shape family (heads of 16, d_model = 16 n_layers; 9.5K-1.6M parameters in the grid), centred "
    "on N* = sqrt(C / 900), on 'gutenberg409'; batch 64 x 128 bytes below 2e14 FLOPs, 128 from there; at most "
    "4 epochs (the 225K model at 7e14 sees 3.8). bf16 autocast, eager, K worker processes sharing the device. "
    "NOT RUN on a GPU yet: written and dry-run on a CPU, so its wall time and the learning-rate rule (the CPU "
    "rule, measured at batch 16) are unverified at this batch."
)

PRESETS: dict[str, Preset] = {
    preset.name: preset for preset in [
        Preset(
            name="smoke",
            description=("Seconds, for the tests: 2 budgets x 3 micro models on Tiny Shakespeare (context 64, "
                         "batch 8, an unmeasured learning-rate rule: only the machinery is under test)."),
            corpus="shakespeare", budgets=(1e9, 3e9),
            ladder=_ladder((1, 4, 1), (1, 8, 1), (1, 12, 2), (1, 16, 2), n_ctx=64),
            models_per_budget=3, tokens_per_param_guess=30.0, batch_size=8,
            lr_at_100k=4e-3, lr_exponent=0.25, eval_sequences=32, n_eval_points=6, min_steps=20,
        ),
        Preset(
            name="demo",
            description=("Live in the book, a few minutes on 2 cores: 3 small budgets x 5 models on the "
                         "'default' corpus; enough for an IsoFLOP picture, too small for trustworthy exponents."),
            corpus="default", budgets=(3e10, 1e11, 3e11),
            ladder=_ladder((1, 4, 1)) + CPU_LADDER[:6], models_per_budget=5, tokens_per_param_guess=CPU_TOKENS_PER_PARAM,
            batch_size=16, small_batch=8, small_batch_below=CPU_SMALL_BATCH_BELOW,
            lr_at_100k=CPU_LR_RULE.lr_at_100k, lr_exponent=CPU_LR_RULE.exponent, eval_sequences=256,
        ),
        Preset(
            name="cpu",
            description=("The laptop replication, ~1-2 h on 2 cores (benchmarks/bench_training.py --estimate-only): "
                         "5 IsoFLOP budgets 3e11..3e13 (2 decades) x 6 models (4K-480K parameters) on 'default', "
                         "batch 8 below 3e12 FLOPs and 16 from there; Approach 1 uses the same runs' curves."),
            corpus="default", budgets=(3e11, 1e12, 3e12, 1e13, 3e13),
            ladder=CPU_LADDER, models_per_budget=6, tokens_per_param_guess=CPU_TOKENS_PER_PARAM, batch_size=16,
            small_batch=8, small_batch_below=CPU_SMALL_BATCH_BELOW,
            lr_at_100k=CPU_LR_RULE.lr_at_100k, lr_exponent=CPU_LR_RULE.exponent, eval_sequences=1024,
        ),
        Preset(
            name="fixed-horizon",
            description=("Kaplan's schedule on the cpu grid, ~25 min on 2 cores: the 24 runs of the 'cpu' preset's "
                         "budgets 3e11..1e13, identical except that every cosine cycle is planned for the longest "
                         "run's 44M tokens (Kaplan et al. 2020 used one schedule for all models), so each run stops "
                         "part-way down its cosine. Paired run by run with results/cpu (chapter 14)."),
            corpus="default", budgets=(3e11, 1e12, 3e12, 1e13),
            ladder=CPU_LADDER, models_per_budget=6, tokens_per_param_guess=CPU_TOKENS_PER_PARAM, batch_size=16,
            small_batch=8, small_batch_below=CPU_SMALL_BATCH_BELOW,
            lr_at_100k=CPU_LR_RULE.lr_at_100k, lr_exponent=CPU_LR_RULE.exponent, eval_sequences=1024, fixed_horizon=True,
        ),
        Preset(
            name="gpu",
            description=GPU_DESCRIPTION,
            corpus="gutenberg409", budgets=(1e14, 3e14, 1e15, 3e15),
            ladder=GPU_LADDER, models_per_budget=6, tokens_per_param_guess=GPU_TOKENS_PER_PARAM, batch_size=128,
            lr_at_100k=CPU_LR_RULE.lr_at_100k, lr_exponent=CPU_LR_RULE.exponent, eval_sequences=2048,
            max_tokens=GPU_MAX_EPOCHS * GUTENBERG409_TRAIN_BYTES,
        ),
        Preset(
            name="gpu-decisive",
            description=DECISIVE_DESCRIPTION,
            corpus="gutenberg409", budgets=DECISIVE_BUDGETS,
            ladder=DECISIVE_LADDER, models_per_budget=5, tokens_per_param_guess=GPU_TOKENS_PER_PARAM, batch_size=128,
            small_batch=64, small_batch_below=2e14,
            lr_at_100k=CPU_LR_RULE.lr_at_100k, lr_exponent=CPU_LR_RULE.exponent, eval_sequences=2048,
            max_tokens=GPU_MAX_EPOCHS * GUTENBERG409_TRAIN_BYTES,
        ),
    ]
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]

