"""A tiny GPT: the decoder-only transformer the book trains, in one readable file.

Follows nanoGPT's ``model.py`` (Radford et al. 2019's GPT-2 layout): learned position
embeddings, pre-LayerNorm blocks of causal self-attention and a 4x GELU MLP, a final
LayerNorm, and an output projection tied to the token embedding. Tokens are bytes, so
the vocabulary is 256. The shape is a :class:`scalinglaws.papers.counting.TransformerShape`,
and the parameter count equals :func:`scalinglaws.papers.counting.params_total` exactly
(the tests check it), so the N in every scaling-law fit is the N of the trained model.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from scalinglaws.papers.counting import TransformerShape

# GPT-2 / nanoGPT initialisation: weights ~ N(0, 0.02^2), and the two projections that
# write into the residual stream scaled by 1/sqrt(2 n_layers) (Radford et al. 2019, Sec. 2.3).
INIT_STD = 0.02


class CausalSelfAttention(nn.Module):
    """Multi-head attention in which position t sees only positions <= t."""

    def __init__(self, shape: TransformerShape):
        super().__init__()
        self.n_heads, self.head_dim, self.d_attn = shape.n_heads, shape.head_dim, shape.d_attn
        self.qkv = nn.Linear(shape.d_model, 3 * shape.d_attn, bias=shape.bias)
        self.out = nn.Linear(shape.d_attn, shape.d_model, bias=shape.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, time, _ = x.shape
        q, k, v = self.qkv(x).split(self.d_attn, dim=2)
        # (batch, time, d_attn) -> (batch, heads, time, head_dim)
        q, k, v = (t.view(batch, time, self.n_heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(batch, time, self.d_attn))


class MLP(nn.Module):
    """Position-wise feed-forward layer: d -> d_ff (4d by default) -> d with a GELU."""

    def __init__(self, shape: TransformerShape):
        super().__init__()
        self.up = nn.Linear(shape.d_model, shape.ffw, bias=shape.bias)
        self.out = nn.Linear(shape.ffw, shape.d_model, bias=shape.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.gelu(self.up(x)))


class Block(nn.Module):
    """Pre-LayerNorm residual block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, shape: TransformerShape):
        super().__init__()
        self.ln_attn = nn.LayerNorm(shape.d_model)
        self.attn = CausalSelfAttention(shape)
        self.ln_mlp = nn.LayerNorm(shape.d_model)
        self.mlp = MLP(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_attn(x))
        return x + self.mlp(self.ln_mlp(x))


class GPT(nn.Module):
    """Byte-level GPT configured by a :class:`TransformerShape`."""

    def __init__(self, shape: TransformerShape):
        super().__init__()
        self.shape = shape
        self.token_embedding = nn.Embedding(shape.vocab_size, shape.d_model)
        self.position_embedding = nn.Embedding(shape.n_ctx, shape.d_model)
        self.blocks = nn.ModuleList(Block(shape) for _ in range(shape.n_layers))
        self.ln_final = nn.LayerNorm(shape.d_model)
        # Tied: the logits are h @ token_embedding.T (GPT-2), so no extra parameters.
        self.head = None if shape.tied_embeddings else nn.Linear(shape.d_model, shape.vocab_size, bias=False)
        self.apply(self._init_weights)
        residual_std = INIT_STD / math.sqrt(2 * shape.n_layers)
        for block in self.blocks:
            nn.init.normal_(block.attn.out.weight, mean=0.0, std=residual_std)
            nn.init.normal_(block.mlp.out.weight, mean=0.0, std=residual_std)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=INIT_STD)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_params(self, non_embedding: bool = False) -> int:
        """Parameters counted like :mod:`scalinglaws.papers.counting` (total or non-embedding)."""
        total = sum(p.numel() for p in self.parameters())
        if non_embedding:
            total -= self.token_embedding.weight.numel() + self.position_embedding.weight.numel()
        return total

    def forward(self, tokens: torch.Tensor, targets: torch.Tensor | None = None):
        """Logits (batch, time, vocab) and, given targets, the mean cross-entropy in nats."""
        time = tokens.shape[1]
        if time > self.shape.n_ctx:
            raise ValueError(f"sequence of {time} tokens is longer than the context n_ctx={self.shape.n_ctx}")
        positions = torch.arange(time, device=tokens.device)
        x = self.token_embedding(tokens) + self.position_embedding(positions)
        for block in self.blocks:
            x = block(x)
        x = self.ln_final(x)
        weight = self.token_embedding.weight if self.head is None else self.head.weight
        logits = x @ weight.t()
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1))
        return logits, loss

    @torch.no_grad()
    def generate(self, prompt: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """Continue ``prompt`` (batch, time) of byte ids by sampling ``max_new_tokens`` more.

        nanoGPT's ``generate``: each new byte is drawn from the softmax of the last position's
        logits divided by ``temperature``, optionally restricted to the ``top_k`` most likely
        bytes; the model sees at most the last ``n_ctx`` bytes. Sampling uses ``generator``
        (same seed, same text). Returns the prompt followed by the new bytes.
        """
        if prompt.dim() != 2 or prompt.shape[1] < 1:
            raise ValueError(f"prompt must be (batch, time) with time >= 1, got shape {tuple(prompt.shape)}")
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if top_k is not None and not 1 <= top_k <= self.shape.vocab_size:
            raise ValueError(f"top_k must lie in [1, {self.shape.vocab_size}], got {top_k}")
        was_training = self.training
        self.eval()
        tokens = prompt
        for _ in range(max_new_tokens):
            logits, _ = self(tokens[:, -self.shape.n_ctx:])
            logits = logits[:, -1, :].float() / temperature
            if top_k is not None:
                kth = torch.topk(logits, top_k).values[:, -1:]
                logits = logits.masked_fill(logits < kth, float("-inf"))
            probs = F.softmax(logits, dim=-1)
            next_token = torch.multinomial(probs, 1, generator=generator)
            tokens = torch.cat([tokens, next_token], dim=1)
        self.train(was_training)
        return tokens
