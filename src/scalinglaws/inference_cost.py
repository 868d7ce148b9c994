"""What serving a model costs per generated token: forward-pass FLOPs and weight memory."""

from __future__ import annotations

from dataclasses import dataclass

from . import laws


@dataclass(frozen=True)
class InferenceCost:
    """What serving a model costs per generated token, ignoring the attention over the context."""

    params: float
    bytes_per_param: float

    @property
    def flops_per_token(self) -> float:
        """A forward pass costs about 2N FLOPs per token (Kaplan Section 2.1)."""
        return 2.0 * self.params

    @property
    def weight_bytes(self) -> float:
        """Memory to hold the weights: N x bytes per parameter (2 for bf16)."""
        return self.params * self.bytes_per_param


def inference_cost(params: float, bytes_per_param: float = 2.0) -> InferenceCost:
    """Per-token FLOPs and weight memory of a model with ``params`` parameters (bf16 by default)."""
    laws.require_positive("params", params)
    laws.require_positive("bytes_per_param", bytes_per_param)
    return InferenceCost(float(params), float(bytes_per_param))
