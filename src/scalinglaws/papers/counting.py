"""Counting parameters and FLOPs of a decoder-only transformer, three ways.

Conventions (the book's chapter "Counting parameters and FLOPs" explains each):

- **total** parameters: every weight, embeddings included (Hoffmann et al. 2022).
- **non-embedding** parameters: total minus the token and position embeddings
  (Kaplan et al. 2020, Section 2.1).
- **Kaplan's approximation** N ~ 12 * n_layers * d_model^2 (Kaplan Eq. 2.1 / Table 1):
  attention 4 d^2 and a 4x MLP 8 d^2 per layer, no biases, no layer norms.

FLOPs per training token (forward + backward = 3 x forward):

- ``6 N`` (Kaplan Section 2.1; Hoffmann Section 3): the rule of thumb.
- Kaplan Table 1: forward 2N + 2 n_layers n_ctx d_attn, so training 6N + 6 n_layers n_ctx d.
- Hoffmann Appendix F: every matmul and the softmax counted, with or without the
  embedding and final-logit terms.

And by the same count, :func:`nearest_shape`: the shape of a ladder nearest a size N.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TransformerShape:
    """The shape of a GPT-style decoder (pre-LayerNorm, learned positions, 4x MLP).

    ``d_ff`` defaults to 4 * d_model and ``d_head`` to d_model // n_heads. With
    ``tied_embeddings`` the output projection reuses the token embedding (GPT-2,
    nanoGPT), so it adds no parameters. ``bias`` adds biases to every linear layer.
    """

    n_layers: int
    d_model: int
    n_heads: int
    n_ctx: int
    vocab_size: int = 256
    d_ff: int | None = None
    d_head: int | None = None
    tied_embeddings: bool = True
    bias: bool = True

    def __post_init__(self) -> None:
        for name in ("n_layers", "d_model", "n_heads", "n_ctx", "vocab_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"TransformerShape.{name} must be a positive integer, got {value!r}")
        if self.d_head is None and self.d_model % self.n_heads:
            raise ValueError(
                f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}; "
                "choose n_heads dividing d_model or give d_head explicitly"
            )

    @property
    def ffw(self) -> int:
        """Feed-forward width (Hoffmann's ``ffw_size``)."""
        return self.d_ff if self.d_ff is not None else 4 * self.d_model

    @property
    def head_dim(self) -> int:
        """Key/value size per head (Hoffmann's ``kv_size``)."""
        return self.d_head if self.d_head is not None else self.d_model // self.n_heads

    @property
    def d_attn(self) -> int:
        """Total attention width, n_heads * head_dim (Kaplan's d_attn)."""
        return self.n_heads * self.head_dim


# --------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------


def embedding_params(shape: TransformerShape) -> int:
    """Token embedding (vocab x d) plus learned position embedding (n_ctx x d)."""
    return (shape.vocab_size + shape.n_ctx) * shape.d_model


def params_per_layer(shape: TransformerShape) -> int:
    """One block: LayerNorm, Q/K/V and output projections, LayerNorm, two-layer MLP."""
    d, a, f, b = shape.d_model, shape.d_attn, shape.ffw, int(shape.bias)
    layer_norms = 2 * (2 * d)
    attention = d * 3 * a + b * 3 * a + a * d + b * d
    mlp = d * f + b * f + f * d + b * d
    return layer_norms + attention + mlp


def params_non_embedding(shape: TransformerShape) -> int:
    """All parameters but the token and position embeddings (Kaplan Section 2.1).

    An untied output projection counts here: Kaplan excludes only the embeddings.
    """
    final_norm = 2 * shape.d_model
    head = 0 if shape.tied_embeddings else shape.vocab_size * shape.d_model
    return shape.n_layers * params_per_layer(shape) + final_norm + head


def params_total(shape: TransformerShape) -> int:
    """Every parameter, embeddings included: what Hoffmann et al. 2022 call N."""
    return params_non_embedding(shape) + embedding_params(shape)


def params_kaplan(shape: TransformerShape) -> int:
    """Kaplan's approximation N = 12 n_layers d_model^2 (Kaplan Eq. 2.1, d_attn = d, d_ff = 4d)."""
    return 12 * shape.n_layers * shape.d_model**2


def nearest_shape(ladder: Sequence[TransformerShape], n_params: float) -> TransformerShape:
    """The shape of ``ladder`` whose total parameter count is nearest ``n_params`` in log N
    (the first of two equally near)."""
    if len(ladder) == 0:
        raise ValueError("nearest_shape needs a non-empty ladder of shapes")
    if not n_params > 0:
        raise ValueError(f"n_params must be positive, got {n_params!r}")
    sizes = np.log([params_total(shape) for shape in ladder])
    return ladder[int(np.argmin(np.abs(sizes - math.log(n_params))))]


# --------------------------------------------------------------------------------------
# FLOPs
# --------------------------------------------------------------------------------------


def flops_6nd(n_params: float, tokens: float) -> float:
    """Training compute C = 6 N D (Kaplan Section 2.1; Hoffmann Section 3)."""
    if n_params <= 0 or tokens <= 0:
        raise ValueError(f"flops_6nd needs positive N and D, got N={n_params!r}, D={tokens!r}")
    return 6.0 * n_params * tokens


def kaplan_flops_per_token(shape: TransformerShape) -> float:
    """Training FLOPs per token, Kaplan Table 1: 3 x (2N + 2 n_layers n_ctx d_attn).

    N is the non-embedding count.
    """
    forward = 2 * params_non_embedding(shape) + 2 * shape.n_layers * shape.n_ctx * shape.d_attn
    return 3.0 * forward


def chinchilla_forward_flops_per_sequence(shape: TransformerShape, include_embeddings: bool = True) -> float:
    """Forward FLOPs for one sequence of n_ctx tokens, Hoffmann Appendix F.

    Per layer: QKV 2*3*S*d*(kh), logits 2*S^2*(kh), softmax 3*h*S^2, softmax@V 2*S^2*(kh),
    output projection 2*S*(kh)*d, dense 2*S*(2*d*ffw). Embeddings 2*S*V*d and final
    logits 2*S*d*V are added when ``include_embeddings``. Table A4's printed ratios are
    reproduced only with ``include_embeddings=False``.
    """
    S, V, d = shape.n_ctx, shape.vocab_size, shape.d_model
    kh, h, ffw = shape.d_attn, shape.n_heads, shape.ffw
    attention = 2 * 3 * S * d * kh + 2 * S * S * kh + 3 * h * S * S + 2 * S * S * kh + 2 * S * kh * d
    dense = 2 * S * (2 * d * ffw)
    total = shape.n_layers * (attention + dense)
    if include_embeddings:
        total += 2 * S * V * d + 2 * S * d * V
    return float(total)


def chinchilla_flops_per_token(shape: TransformerShape, include_embeddings: bool = True) -> float:
    """Training FLOPs per token by Appendix F: backward = 2 x forward, so 3 x forward / S."""
    return 3.0 * chinchilla_forward_flops_per_sequence(shape, include_embeddings) / shape.n_ctx
