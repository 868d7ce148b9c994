"""Parameter and FLOP counting against Hoffmann Table A4 and Kaplan's conventions."""

import math

import pytest

from scalinglaws.papers import constants as k
from scalinglaws.papers.counting import (TransformerShape, chinchilla_flops_per_token, flops_6nd,
                                         kaplan_flops_per_token, nearest_shape, params_kaplan,
                                         params_non_embedding, params_total)
from scalinglaws.sweeps.presets import CPU_LADDER


def table_a4_shape(shape: k.ModelShape) -> TransformerShape:
    """Hoffmann's models: sequence length 2,048, vocabulary 32,000 (Section 4.1)."""
    return TransformerShape(shape.n_layers, shape.d_model, shape.n_heads, k.CHINCHILLA_CONTEXT,
                            k.CHINCHILLA_VOCAB, d_ff=shape.d_ff, d_head=shape.d_head)


def appendix_f_ratio(shape, nominal_params, include_embeddings):
    return chinchilla_flops_per_token(table_a4_shape(shape), include_embeddings) / (6 * nominal_params)


@pytest.mark.parametrize("shape, nominal, printed", [row for row in k.TABLE_A4 if row[0].name != "1.1B"])
def test_table_a4_ratios_without_embedding_and_logit_terms(shape, nominal, printed):
    """Convention: Appendix F's count WITHOUT the embedding and final-logit terms, over 6 N D
    with N the nominal (total) size. This is the only convention that reproduces Table A4."""
    assert appendix_f_ratio(shape, nominal, include_embeddings=False) == pytest.approx(printed, abs=0.01)


def test_table_a4_11b_row_is_inconsistent_with_its_own_configuration():
    """The 1.1B row prints 1.04, but its configuration (26 layers, d 1792, ffw 7168, 14 heads of
    128) gives 1.085 under the same convention that reproduces the other five rows."""
    shape, nominal, printed = next(row for row in k.TABLE_A4 if row[0].name == "1.1B")
    ratio = appendix_f_ratio(shape, nominal, include_embeddings=False)
    assert ratio == pytest.approx(1.085, abs=0.002)
    assert abs(ratio - printed) > 0.04


def test_table_a4_ratios_with_embeddings_included_are_far_off():
    """With the embedding and logit terms the 73M model's ratio is ~1.60, not 1.03."""
    shape, nominal, printed = k.TABLE_A4[0]
    assert appendix_f_ratio(shape, nominal, include_embeddings=True) == pytest.approx(1.60, abs=0.01)
    for shape, nominal, printed in k.TABLE_A4:
        assert appendix_f_ratio(shape, nominal, include_embeddings=True) > printed


def test_parameter_conventions_for_a_tiny_byte_model():
    # 2 layers, width 64, 4 heads, context 128, bytes: embeddings are a large share
    shape = TransformerShape(n_layers=2, d_model=64, n_heads=4, n_ctx=128)
    per_layer = 2 * 2 * 64 + (64 * 192 + 192 + 64 * 64 + 64) + (64 * 256 + 256 + 256 * 64 + 64)
    assert params_non_embedding(shape) == 2 * per_layer + 2 * 64
    assert params_total(shape) == params_non_embedding(shape) + (256 + 128) * 64
    assert params_kaplan(shape) == 12 * 2 * 64**2
    # Kaplan's 12 L d^2 leaves out biases and layer norms: within 2% here
    assert params_kaplan(shape) == pytest.approx(params_non_embedding(shape), rel=0.02)
    assert (params_total(shape) - params_non_embedding(shape)) / params_total(shape) == pytest.approx(0.195, abs=0.005)


def test_untied_head_counts_as_non_embedding():
    tied = TransformerShape(1, 32, 2, 64)
    untied = TransformerShape(1, 32, 2, 64, tied_embeddings=False)
    assert params_non_embedding(untied) - params_non_embedding(tied) == 256 * 32
    assert params_total(untied) - params_total(tied) == 256 * 32


def test_flops_conventions_agree_for_large_models_and_differ_for_tiny_ones():
    # Gopher-like width at a short context: attention terms are negligible, all ~ 6N
    big = TransformerShape(n_layers=80, d_model=8192, n_heads=64, n_ctx=2048, vocab_size=32000, bias=False)
    six_n = 6 * params_non_embedding(big)
    assert kaplan_flops_per_token(big) / six_n == pytest.approx(1.0 + 2048 / (12 * 8192), rel=1e-3)
    assert chinchilla_flops_per_token(big, include_embeddings=False) / six_n == pytest.approx(1.04, abs=0.01)
    # a tiny byte model at context 128: attention adds n_ctx / (12 d) = 17% over 6N (Kaplan Table 1)
    tiny = TransformerShape(n_layers=2, d_model=64, n_heads=4, n_ctx=128, bias=False)
    assert kaplan_flops_per_token(tiny) / (6 * params_non_embedding(tiny)) == pytest.approx(1 + 128 / (12 * 64), rel=0.02)


def test_flops_6nd():
    assert flops_6nd(70e9, 1.4e12) == pytest.approx(5.88e23)
    assert flops_6nd(280e9, 300e9) == pytest.approx(5.04e23)
    with pytest.raises(ValueError, match="positive N and D"):
        flops_6nd(-1, 10)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_layers=0, d_model=64, n_heads=4, n_ctx=128), "n_layers must be a positive integer"),
        (dict(n_layers=2, d_model=64, n_heads=5, n_ctx=128), "not divisible by n_heads"),
        (dict(n_layers=2, d_model=64.0, n_heads=4, n_ctx=128), "d_model must be a positive integer"),
    ],
)
def test_bad_shapes_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TransformerShape(**kwargs)


def test_nearest_shape_is_nearest_in_log_n():
    sizes = [params_total(shape) for shape in CPU_LADDER]
    assert sizes[4] == 25_056 and sizes[5] == 37_760
    assert nearest_shape(CPU_LADDER, 25_056) == CPU_LADDER[4]
    assert nearest_shape(CPU_LADDER, 35_000) == CPU_LADDER[5]
    midpoint = math.sqrt(sizes[4] * sizes[5])
    assert nearest_shape(CPU_LADDER, midpoint * 0.999) == CPU_LADDER[4]
    assert nearest_shape(CPU_LADDER, midpoint * 1.001) == CPU_LADDER[5]
    assert nearest_shape(CPU_LADDER, 1.0) == CPU_LADDER[0]
    assert nearest_shape(CPU_LADDER, 1e12) == CPU_LADDER[-1]
    with pytest.raises(ValueError):
        nearest_shape([], 1e4)
    with pytest.raises(ValueError):
        nearest_shape(CPU_LADDER, 0)
