"""The tiny GPT: parameter counts equal counting's, attention is causal, the initial loss is ln 256."""

import math

import pytest
import torch

from scalinglaws.papers.counting import TransformerShape, params_non_embedding, params_total
from scalinglaws.training.model import GPT

SHAPES = [
    TransformerShape(n_layers=1, d_model=8, n_heads=1, n_ctx=128),
    TransformerShape(n_layers=2, d_model=32, n_heads=4, n_ctx=128),
    TransformerShape(n_layers=3, d_model=48, n_heads=3, n_ctx=64, bias=False),
    TransformerShape(n_layers=2, d_model=64, n_heads=4, n_ctx=128, tied_embeddings=False),
    TransformerShape(n_layers=1, d_model=24, n_heads=2, n_ctx=32, d_ff=40, d_head=16),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_parameter_counts_equal_counting(shape):
    model = GPT(shape)
    assert model.num_params() == params_total(shape)
    assert model.num_params(non_embedding=True) == params_non_embedding(shape)


def test_known_parameter_count_by_hand():
    # 1 layer, d=8, 4x MLP, vocab 256, context 128, biases, tied:
    # embeddings (256+128)*8 = 3072; LayerNorms 2*2*8 = 32; QKV 8*24+24 = 216; out 8*8+8 = 72;
    # MLP 8*32+32 + 32*8+8 = 552; final LayerNorm 16. Total 3960.
    assert GPT(SHAPES[0]).num_params() == 3960


def test_attention_is_causal():
    torch.manual_seed(0)
    shape = TransformerShape(n_layers=2, d_model=32, n_heads=4, n_ctx=64)
    model = GPT(shape).eval()
    tokens = torch.randint(0, 256, (2, 64))
    changed = tokens.clone()
    changed[:, 40] = (changed[:, 40] + 1) % 256
    with torch.no_grad():
        before, _ = model(tokens)
        after, _ = model(changed)
    assert torch.equal(before[:, :40], after[:, :40])  # the past cannot see the future
    assert (before[:, 40:] - after[:, 40:]).abs().amax(dim=-1).min() > 1e-6  # the future sees it


def test_initial_loss_is_that_of_a_uniform_guess():
    torch.manual_seed(0)
    model = GPT(TransformerShape(n_layers=2, d_model=64, n_heads=4, n_ctx=128))
    tokens = torch.randint(0, 256, (8, 129))
    with torch.no_grad():
        _, loss = model(tokens[:, :-1], tokens[:, 1:])
    # Logits start small (weights ~ N(0, 0.02^2)), so the prediction is nearly uniform.
    assert loss.item() == pytest.approx(math.log(256), abs=0.05)


def test_sequence_longer_than_context_is_refused():
    model = GPT(TransformerShape(n_layers=1, d_model=8, n_heads=1, n_ctx=16))
    with pytest.raises(ValueError, match="longer than the context"):
        model(torch.zeros(1, 17, dtype=torch.long))


def sample(model, seed, **options):
    prompt = torch.tensor([list(b"The ")])
    return model.generate(prompt, 40, generator=torch.Generator().manual_seed(seed), **options)


def test_generate_is_deterministic_given_a_seed_and_returns_bytes():
    torch.manual_seed(0)
    model = GPT(TransformerShape(n_layers=1, d_model=16, n_heads=2, n_ctx=16))
    first, again, other = sample(model, 1), sample(model, 1), sample(model, 2)
    assert first.shape == (1, 4 + 40)  # prompt kept, 40 new bytes, past n_ctx = 16
    assert first[0, :4].tolist() == list(b"The ")
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert 0 <= first.min() and first.max() <= 255
    assert model.training  # generation leaves the mode as it found it


def test_generate_with_top_k_one_is_greedy():
    torch.manual_seed(0)
    model = GPT(TransformerShape(n_layers=1, d_model=16, n_heads=2, n_ctx=16)).eval()
    out = sample(model, 1, top_k=1)
    # Greedy: every new byte is the argmax of the logits given the bytes before it.
    with torch.no_grad():
        for t in range(4, out.shape[1]):
            logits, _ = model(out[:, max(0, t - 16):t])
            assert out[0, t] == logits[0, -1].argmax()
    assert torch.equal(out, sample(model, 99, top_k=1))  # no randomness left


@pytest.mark.parametrize("options, message", [
    (dict(max_new_tokens=-1), "max_new_tokens"),
    (dict(temperature=0.0), "temperature"),
    (dict(top_k=257), "top_k"),
])
def test_generate_refuses_bad_settings(options, message):
    model = GPT(TransformerShape(n_layers=1, d_model=8, n_heads=1, n_ctx=16))
    settings = dict(max_new_tokens=4) | options
    with pytest.raises(ValueError, match=message):
        model.generate(torch.zeros(1, 1, dtype=torch.long), **settings)
