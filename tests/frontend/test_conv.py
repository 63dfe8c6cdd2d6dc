"""conv1d/conv2d/conv3d, causal_conv1d and the convolution gradients, against a numpy
reference that shifts and adds one filter tap at a time (not im2col, which theon uses), and
against ``numpy.convolve`` for 1-D; gradients against central differences."""
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import theon as theano
import theon.tensor as T
from theon import ir
from theon.gradient import verify_grad
from theon.ir.errors import DTypeError, ShapeError
from theon.tensor.nnet import abstract_conv


def _pads(border, kernel, dilation):
    extents = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    if border == "valid":
        return [(0, 0)] * len(kernel)
    if border == "full":
        return [(e - 1, e - 1) for e in extents]
    if border == "half":
        return [(e // 2, e // 2) for e in extents]
    items = [border] * len(kernel) if isinstance(border, int) else border
    return [(i, i) if isinstance(i, int) else tuple(i) for i in items]


def reference(x, w, border="valid", stride=None, dilation=None, flip=True, groups=1):
    """The convolution as a sum over filter taps of shifted, strided input slices."""
    n = x.ndim - 2
    stride = stride or (1,) * n
    dilation = dilation or (1,) * n
    kernel = w.shape[2:]
    if flip:
        w = w[(slice(None), slice(None)) + (slice(None, None, -1),) * n]
    xp = np.pad(x, [(0, 0), (0, 0)] + _pads(border, kernel, dilation))
    out = [(p - ((k - 1) * d + 1)) // s + 1
           for p, k, d, s in zip(xp.shape[2:], kernel, dilation, stride)]
    result = np.zeros((x.shape[0], w.shape[0]) + tuple(out))
    per_in, per_out = w.shape[1], w.shape[0] // groups
    for g in range(groups):
        xs = xp[:, g * per_in:(g + 1) * per_in]
        ws = w[g * per_out:(g + 1) * per_out]
        for tap in itertools.product(*[range(k) for k in kernel]):
            region = tuple(slice(t * d, t * d + s * (o - 1) + 1, s)
                           for t, d, s, o in zip(tap, dilation, stride, out))
            patch = xs[(slice(None), slice(None)) + region]
            result[:, g * per_out:(g + 1) * per_out] += np.tensordot(
                ws[(Ellipsis,) + tap], patch, axes=([1], [1])).swapaxes(0, 1)
    return result


def _tensor(ndim, dtype="float64", name=None):
    return T.TensorType(dtype, (False,) * ndim)(name)


def test_reference_agrees_with_a_scalar_loop():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 2, 5, 4)), rng.standard_normal((2, 2, 3, 2))
    expected = np.zeros((1, 2, 3, 3))
    for o, i, j, c, u, v in itertools.product(range(2), range(3), range(3), range(2),
                                              range(3), range(2)):
        expected[0, o, i, j] += x[0, c, i + u, j + v] * w[o, c, 2 - u, 1 - v]
    np.testing.assert_allclose(reference(x, w), expected, atol=1e-12)


@pytest.mark.parametrize("border", ["valid", "full", "half", 2, (1, 0), ((0, 2), 1)])
@pytest.mark.parametrize("flip", [True, False])
def test_conv2d_border_modes(border, flip):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2))
    xs, ws = T.tensor4("x"), T.tensor4("w")
    f = theano.function([xs, ws], T.nnet.conv2d(xs, ws, border_mode=border, filter_flip=flip))
    np.testing.assert_allclose(f(x, w), reference(x, w, border, flip=flip), atol=1e-12)


@given(st.data())
def test_conv2d_any_geometry(data):
    groups = data.draw(st.sampled_from([1, 2, 3]), "groups")
    per_in = data.draw(st.integers(1, 2), "channels per group")
    per_out = data.draw(st.integers(1, 2), "filters per group")
    kernel = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)), "kernel")
    stride = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 3)), "stride")
    dilation = data.draw(st.tuples(st.integers(1, 2), st.integers(1, 2)), "dilation")
    border = data.draw(st.sampled_from(["valid", "full", "half", 1, (0, 2)]), "border")
    pads = _pads(border, kernel, dilation)
    spatial = [data.draw(st.integers(max(1, (k - 1) * d + 1 - a - b), 7), "length")
               for k, d, (a, b) in zip(kernel, dilation, pads)]
    batch = data.draw(st.integers(0, 2), "batch")
    dtype = data.draw(st.sampled_from(["float32", "float64"]), "dtype")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((batch, per_in * groups, *spatial)).astype(dtype)
    w = rng.standard_normal((per_out * groups, per_in, *kernel)).astype(dtype)
    xs, ws = T.tensor4("x", dtype=dtype), T.tensor4("w", dtype=dtype)
    y = T.nnet.conv2d(xs, ws, border_mode=border, subsample=stride, filter_dilation=dilation,
                      num_groups=groups)
    got = theano.function([xs, ws], y)(x, w)
    assert got.dtype == dtype
    tol = 1e-4 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, reference(x, w, border, stride, dilation, True, groups),
                               rtol=tol, atol=tol)


def test_hints_fix_the_static_shape_and_are_checked():
    xs, ws = T.tensor4("x"), T.tensor4("w")
    hinted = T.nnet.conv2d(xs, ws, input_shape=(None, 1, 28, 28), filter_shape=(20, 1, 5, 5))
    assert hinted.type.shape == (None, 20, 24, 24)
    assert T.nnet.conv2d(xs, ws).type.shape == (None,) * 4
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 1, 28, 28)), rng.standard_normal((20, 1, 5, 5))
    f = theano.function([xs, ws], hinted)
    np.testing.assert_allclose(f(x, w), reference(x, w), atol=1e-12)
    with pytest.raises(ShapeError, match=r"conv2d: input 0 has shape \(2, 1, 27, 28\); the "
                                         r"input_shape hint says \(\?, 1, 28, 28\)"):
        f(x[:, :, :27], w)


def test_static_shapes_follow_the_geometry():
    xs = T.tensor("float32", shape=(None, 3, 32, 31), name="x")
    ws = T.tensor("float32", shape=(8, 3, 5, 4), name="w")
    assert T.nnet.conv2d(xs, ws).type.shape == (None, 8, 28, 28)
    assert T.nnet.conv2d(xs, ws, border_mode="full").type.shape == (None, 8, 36, 34)
    assert T.nnet.conv2d(xs, ws, border_mode="half", subsample=(2, 3)).type.shape == \
        (None, 8, 16, 11)
    assert T.nnet.conv2d(xs, ws, filter_dilation=(2, 1)).type.shape == (None, 8, 24, 28)
    assert abstract_conv.get_conv_output_shape((None, 3, 32, 31), (8, 3, 5, 4), "half",
                                               (2, 3)) == (None, 8, 16, 11)


def test_conv3d():
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((2, 4, 5, 6, 4)), rng.standard_normal((4, 2, 2, 3, 2))
    xs, ws = _tensor(5), _tensor(5)
    y = T.nnet.conv3d(xs, ws, border_mode=(1, 0, (0, 1)), subsample=(2, 1, 1),
                      filter_dilation=(1, 2, 1), num_groups=2)
    got = theano.function([xs, ws], y)(x, w)
    np.testing.assert_allclose(got, reference(x, w, (1, 0, (0, 1)), (2, 1, 1), (1, 2, 1),
                                              True, 2), atol=1e-12)


def test_conv1d_runs_on_sequences_of_any_length_with_one_compile():
    rng = np.random.default_rng(5)
    xs, ws = T.tensor3("x"), T.tensor3("w")
    f = theano.function([xs, ws], T.nnet.conv1d(xs, ws, border_mode="full"))
    w = rng.standard_normal((2, 3, 4))
    for length in (1, 4, 9, 33):
        x = rng.standard_normal((2, 3, length))
        expected = np.array([[sum(np.convolve(x[b, c], w[o, c]) for c in range(3))
                              for o in range(2)] for b in range(2)])
        np.testing.assert_allclose(f(x, w), expected, atol=1e-12)
    assert len(f.schedule.steps) == 1


def test_causal_conv1d_sees_only_the_past():
    rng = np.random.default_rng(6)
    xs, ws = T.tensor3("x"), T.tensor3("w")
    y = abstract_conv.causal_conv1d(xs, ws, filter_shape=(2, 3, 3), filter_dilation=2)
    f = theano.function([xs, ws], y)
    x, w = rng.standard_normal((1, 3, 12)), rng.standard_normal((2, 3, 3))
    out = f(x, w)
    assert out.shape == (1, 2, 12)
    np.testing.assert_allclose(out, reference(x, w, (((4, 0)),), dilation=(2,)), atol=1e-12)
    later = x.copy()
    later[:, :, 7] += 1.0
    changed = f(later, w)
    np.testing.assert_array_equal(changed[:, :, :7], out[:, :, :7])
    assert not np.allclose(changed[:, :, 7], out[:, :, 7])


GRADIENT_CASES = {
    "valid": dict(border_mode="valid"),
    "full_flipped_off": dict(border_mode="full", filter_flip=False),
    "half_strided": dict(border_mode="half", subsample=(2, 2)),
    "padded_dilated": dict(border_mode=(1, (0, 2)), filter_dilation=(2, 1)),
    "groups_stride_not_dividing": dict(num_groups=2, subsample=(3, 2)),
}


@pytest.mark.parametrize("case", sorted(GRADIENT_CASES))
def test_conv2d_gradients_match_central_differences(case):
    kwargs = GRADIENT_CASES[case]
    rng = np.random.RandomState(7)
    x, w = rng.uniform(-1, 1, (2, 2, 7, 6)), rng.uniform(-1, 1, (4, 1 if "groups" in case
                                                                  else 2, 3, 2))
    verify_grad(lambda a, b: T.nnet.conv2d(a, b, **kwargs), [x, w], rng=rng)


def test_gradients_of_gradients():
    def cost(a, b):
        y = T.nnet.conv2d(a, b, border_mode="half", subsample=(2, 1))
        ga, gb = T.grad(T.sum(T.tanh(y) ** 2), [a, b])
        return T.sum(ga ** 2) + T.sum(T.sin(gb))

    rng = np.random.RandomState(8)
    verify_grad(cost, [rng.uniform(-1, 1, (2, 2, 5, 6)), rng.uniform(-1, 1, (3, 2, 3, 3))],
                rng=rng)


def test_conv3d_and_conv1d_gradients():
    rng = np.random.RandomState(9)
    verify_grad(lambda a, b: T.nnet.conv3d(a, b, border_mode="half", subsample=(1, 2, 1)),
                [rng.uniform(-1, 1, (1, 2, 4, 5, 3)), rng.uniform(-1, 1, (2, 2, 2, 3, 2))],
                rng=rng)
    verify_grad(lambda a, b: T.nnet.conv1d(a, b, filter_dilation=2),
                [rng.uniform(-1, 1, (2, 2, 9)), rng.uniform(-1, 1, (3, 2, 3))], rng=rng)


def test_explicit_gradient_functions_equal_theon_grad():
    rng = np.random.default_rng(10)
    xs, ws, gs = T.tensor4("x"), T.tensor4("w"), T.tensor4("g")
    kwargs = dict(border_mode="half", subsample=(2, 2), filter_dilation=(1, 2))
    y = T.nnet.conv2d(xs, ws, **kwargs)
    grads = T.grad(None, [xs, ws], known_grads={y: gs})
    explicit = [abstract_conv.conv2d_grad_wrt_inputs(gs, ws, xs.shape, **kwargs),
                abstract_conv.conv2d_grad_wrt_weights(xs, gs, (4, 3, 3, 3), **kwargs)]
    f = theano.function([xs, ws, gs], grads + explicit)
    x, w = rng.standard_normal((2, 3, 8, 7)), rng.standard_normal((4, 3, 3, 3))
    g = rng.standard_normal(reference(x, w, "half", (2, 2), (1, 2)).shape)
    gx, gw, ex, ew = f(x, w, g)
    np.testing.assert_allclose(ex, gx, atol=1e-12)
    np.testing.assert_allclose(ew, gw, atol=1e-12)
    # the adjoint identity <conv(x, w), g> = <x, grad_x> = <w, grad_w>
    value = np.sum(reference(x, w, "half", (2, 2), (1, 2)) * g)
    np.testing.assert_allclose(np.sum(x * gx), value)
    np.testing.assert_allclose(np.sum(w * gw), value)


def test_grad_wrt_inputs_needs_the_input_length_under_a_stride():
    gs, ws = T.tensor4("g"), T.tensor4("w")
    rng = np.random.default_rng(11)
    g, w = rng.standard_normal((1, 2, 3, 3)), rng.standard_normal((2, 1, 3, 3))
    for rows in (7, 8):
        f = theano.function([gs, ws], abstract_conv.conv2d_grad_wrt_inputs(
            gs, ws, (1, 1, rows, 7), subsample=(2, 2)))
        assert f(g, w).shape == (1, 1, rows, 7)
    with pytest.raises(ValueError, match=r"conv2d_grad_wrt_inputs: input_shape \(1, 1, None, "
                                         r"7\): the spatial lengths \(the last entries\) are "
                                         r"required"):
        abstract_conv.conv2d_grad_wrt_inputs(gs, ws, (1, 1, None, 7))


def test_float32_stays_float32_and_mixed_upcasts():
    xs32, ws32, ws64 = T.tensor4("x", dtype="float32"), T.tensor4("w", dtype="float32"), \
        T.tensor4("w64")
    assert T.nnet.conv2d(xs32, ws32).dtype == "float32"
    assert T.nnet.conv2d(xs32, ws64).dtype == "float64"
    assert T.grad(T.sum(T.nnet.conv2d(xs32, ws32)), xs32).dtype == "float32"


def test_schedule_round_trips_through_serialisation():
    xs, ws = T.tensor4("x"), T.tensor4("w")
    cost = T.sum(T.nnet.conv2d(xs, ws, border_mode=((1, 0), 2), subsample=(2, 1)) ** 2)
    f = theano.function([xs, ws], T.grad(cost, [xs, ws]))
    loaded = ir.serialize.loads_schedule(ir.serialize.dumps_schedule(f.schedule))
    assert [step.op.key() for step in loaded.steps if hasattr(step, "op")] == \
        [step.op.key() for step in f.schedule.steps if hasattr(step, "op")]


# ---- bad input ---------------------------------------------------------------------------

def test_wrong_rank():
    with pytest.raises(ValueError, match=r"^conv2d: input has rank 3; expected 4$"):
        T.nnet.conv2d(T.tensor3("x"), T.tensor4("w"))
    with pytest.raises(ValueError, match=r"^conv3d: filters has rank 4; expected 5$"):
        T.nnet.conv3d(_tensor(5), T.tensor4("w"))


def test_channel_mismatch_names_both_shapes():
    xs = T.tensor("float64", shape=(None, 3, 8, 8), name="x")
    ws = T.tensor("float64", shape=(4, 2, 3, 3), name="w")
    with pytest.raises(ShapeError, match=r"^conv2d: the input has 3 channels; the filters "
                                         r"\(4, 2, 3, 3\) expect 2 per group x 1 group = 2$"):
        T.nnet.conv2d(xs, ws)
    f = theano.function([a := T.tensor4("a"), b := T.tensor4("b")], T.nnet.conv2d(a, b))
    with pytest.raises(ShapeError, match=r"^conv2d: the input has 3 channels; the filters "
                                         r"\(4, 2, 3, 3\) expect 2 per group"):
        f(np.zeros((1, 3, 8, 8)), np.zeros((4, 2, 3, 3)))


def test_filters_larger_than_the_input():
    xs = T.tensor("float64", shape=(None, 1, 4, 8), name="x")
    ws = T.tensor("float64", shape=(2, 1, 5, 3), name="w")
    with pytest.raises(ShapeError, match=r"^conv2d: the filters span 5 along spatial axis 0 "
                                         r"\(kernel 5, dilation 1\) but the input has 4 "
                                         r"there \(4 padded\)$"):
        T.nnet.conv2d(xs, ws)
    f = theano.function([a := T.tensor4("a"), b := T.tensor4("b")],
                        T.nnet.conv2d(a, b, filter_dilation=(1, 3)))
    with pytest.raises(ShapeError, match=r"^conv2d: the filters span 7 along spatial axis 1 "
                                         r"\(kernel 3, dilation 3\) but the input has 6 "):
        f(np.zeros((1, 1, 8, 6)), np.zeros((1, 1, 3, 3)))


@pytest.mark.parametrize("kwargs, message", [
    (dict(border_mode="same"), r"conv2d: border_mode 'same' is not one of 'valid', 'full', "
                               r"'half', an int or a tuple of 2"),
    (dict(border_mode=(1, -1)), r"conv2d: border_mode \(1, -1\): each entry must be an int "
                                r">= 0 or a pair of them \(padding before, after\)"),
    (dict(subsample=(1, 0)), r"conv2d: subsample must be 2 positive ints; got \(1, 0\)"),
    (dict(filter_dilation=(1, 1, 1)), r"conv2d: filter_dilation must be 2 positive ints; "
                                      r"got \(1, 1, 1\)"),
    (dict(num_groups=0), r"conv2d: num_groups must be a positive int; got 0"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match="^" + message + "$"):
        T.nnet.conv2d(T.tensor4("x"), T.tensor4("w"), **kwargs)


def test_unsupported_and_integer_inputs():
    with pytest.raises(NotImplementedError, match=r"^conv2d: unshared \(locally connected\) "
                                                  r"convolution is not supported$"):
        T.nnet.conv2d(T.tensor4("x"), T.tensor4("w"), unshared=True)
    with pytest.raises(DTypeError, match=r"^conv2d: input 0 \(input\) has dtype int32; "
                                         r"expected float32 or float64$"):
        T.nnet.conv2d(T.tensor4("x", dtype="int32"), T.tensor4("w"))


def test_theano_0_7_conv_module():
    from theon.tensor.nnet import conv
    rng = np.random.default_rng(12)
    x, w = rng.standard_normal((2, 1, 9, 8)), rng.standard_normal((3, 1, 4, 3))
    xs, ws = T.tensor4("x"), T.tensor4("w")
    y = conv.conv2d(xs, ws, image_shape=(2, 1, 9, 8), filter_shape=(3, 1, 4, 3),
                    border_mode="full")
    assert y.type.shape == (2, 3, 12, 10)
    np.testing.assert_allclose(theano.function([xs, ws], y)(x, w), reference(x, w, "full"),
                               atol=1e-12)
    with pytest.raises(ValueError, match=r"^conv.conv2d: border_mode 'half' is not 'valid' "
                                         r"or 'full'$"):
        conv.conv2d(xs, ws, border_mode="half")
