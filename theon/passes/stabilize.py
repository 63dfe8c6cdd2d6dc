"""Numerical stabilisation: rewrite expressions that overflow, underflow or cancel into
equal ones that do not.

Every rule matches on structure, whoever built the graph: the softmax of ``T.nnet.softmax``
is the composite ``exp(x - max(x)) / sum(exp(x - max(x)))`` of Reduce and elementwise nodes
(see ``frontend/reduce.py``), and the same expression written by hand matches too.  Rules
match both operand orders of commutative ops, so the pass may run on a graph that was never
canonicalised, as ``theon.grad`` does on a cost before differentiating it: the gradients of
the stable forms are then stable as well.

The identities (the rule names say the same):

    log(1 + x) -> log1p(x)                 log(1 - x) -> log1p(-x)
    exp(x) - 1 -> expm1(x)                 log1p(exp(x)) -> softplus(x)
    1 / (1 + exp(-x)) -> sigmoid(x)        exp(x) / (1 + exp(x)) -> sigmoid(x)
    1 - sigmoid(x) -> sigmoid(-x)          log(sigmoid(x)) -> -softplus(-x)
    exp(x) / sum(exp(x)) -> exp(x - m) / sum(exp(x - m)),  m = max(x) along the same axes
    log(softmax(x)) -> (x - m) - log(sum(exp(x - m)))
    log(sum(exp(x))) -> m + log(sum(exp(x - m)))  (m = 0 where the maximum is infinite)
    f(x[index]) -> f(x)[index]  when f(x) is rewritten by a rule above (indexing, dimshuffle
                                and reshape move elements and commute with elementwise ops)

so ``log(1 - sigmoid(x))`` becomes ``-softplus(x)`` and ``log(softmax(x)[arange(n), y])``
becomes ``logsoftmax(x)[arange(n), y]``.  Rules keep each node's type exactly (dtype and
static shape) and decline when they cannot.

The shift m enters as ``zero_grad(m)``: each expression above is independent of m, so its
exact gradient treats m as a constant, and differentiating through the max would only add
terms that cancel (a row reduction and a comparison per softmax in every training step).
``theon.grad`` runs ``stabilize_for_gradient``, which keeps those markers; the compile
pipeline's ``stabilize`` removes them, as ``canonicalize`` removed the user's.
"""
import numpy as np

from ..ir import ELEMENTWISE, Constant, ElementwiseOp, Node, cast_op, dtypes
from ..ir.ops import AdvancedSubtensor, DimShuffle, Reduce, Reshape, Subtensor, ZeroGrad
from .canonicalize import constant_value, remove_gradient_op, sort_commutative_operands
from .rewrite import rewrite

_ADD = ELEMENTWISE["add"]
_SUB = ELEMENTWISE["sub"]
_DIV = ELEMENTWISE["true_div"]
_NEG = ELEMENTWISE["neg"]
_EXP = ELEMENTWISE["exp"]
_EXPM1 = ELEMENTWISE["expm1"]
_LOG = ELEMENTWISE["log"]
_LOG1P = ELEMENTWISE["log1p"]
_SIGMOID = ELEMENTWISE["sigmoid"]
_SOFTPLUS = ELEMENTWISE["softplus"]
_SWITCH = ELEMENTWISE["switch"]
_ISINF = ELEMENTWISE["isinf"]

# ops that only move elements: f(move(x)) == move(f(x)) for an elementwise f
_MOVES = (Subtensor, AdvancedSubtensor, DimShuffle, Reshape)


# ---- helpers ------------------------------------------------------------------------------

def _make(op, *inputs):
    return Node.make(op, inputs)


def _unsteered(node):
    """``node`` without a ``zero_grad`` around it."""
    return node.inputs[0] if isinstance(node.op, ZeroGrad) else node


def _is_constant(node, value):
    """Whether ``node`` is a constant whose elements all equal ``value`` (any dtype; True
    counts as 1)."""
    scalar = constant_value(node)
    return scalar is not None and scalar == value


def _other_than(node, value, op):
    """``x`` when ``node`` is ``op(x, c)`` or ``op(c, x)`` with ``c`` the constant ``value``
    (the second form only for a commutative op), else None."""
    if node.op != op:
        return None
    left, right = node.inputs
    if _is_constant(right, value):
        return left
    if op.commutative and _is_constant(left, value):
        return right
    return None


def _cast(node, dtype):
    """``node`` converted to ``dtype`` (itself when it has that dtype)."""
    return node if node.type.dtype == dtype else _make(cast_op(dtype), node)


def _negated(node, dtype):
    """``-node`` computed in the float ``dtype``: ``y`` when ``node`` is ``-y`` of that
    dtype, so that rewrites leave no double negation behind."""
    if node.op == _NEG and node.inputs[0].type.dtype == dtype:
        return node.inputs[0]
    return _make(_NEG, _cast(node, dtype))


def _fit(replacement, node):
    """``replacement`` in ``node``'s type: itself, or cast between float dtypes when only the
    dtype differs; None when the static shapes differ."""
    if replacement.type == node.type:
        return replacement
    if replacement.type.shape != node.type.shape or node.type.dtype not in dtypes.FLOATS \
            or replacement.type.dtype not in dtypes.FLOATS:
        return None
    return _make(cast_op(node.type.dtype), replacement)


def _float_dtype(node):
    return node.type.dtype if node.type.dtype in dtypes.FLOATS else None


def _reduced_keeping_axes(node, combiner):
    """``(x, axes)`` when ``node`` is the ``combiner`` reduction of ``x`` over ``axes`` with
    those axes kept (keepdims, or a dimshuffle putting them back as 'x'), else None."""
    if isinstance(node.op, DimShuffle):
        inner = node.inputs[0]
        if not isinstance(inner.op, Reduce) or inner.op.keepdims:
            return None
        axes = inner.op.axes
        kept = [axis for axis in range(inner.inputs[0].type.ndim) if axis not in axes]
        pattern = tuple("x" if axis in axes else kept.index(axis)
                        for axis in range(inner.inputs[0].type.ndim))
        if node.op.pattern != pattern:
            return None
        node = inner
    elif not isinstance(node.op, Reduce) or not node.op.keepdims:
        return None
    if node.op.combiner != combiner:
        return None
    return node.inputs[0], node.op.axes


def _unshifted(shifted, axes):
    """``x`` when ``shifted`` is ``x - m`` with ``m`` the maximum of ``x`` over ``axes``
    (kept), possibly guarded as ``switch(isinf(m), 0, m)``; else None."""
    if shifted.op != _SUB:
        return None
    x, peak = shifted.inputs
    peak = _unsteered(peak)
    if peak.op == _SWITCH:
        condition, zero, unguarded = peak.inputs
        if condition.op != _ISINF or condition.inputs[0] is not unguarded \
                or not _is_constant(zero, 0):
            return None
        peak = _unsteered(unguarded)
    reduced = _reduced_keeping_axes(peak, "maximum")
    if reduced is None or reduced[0] is not x or reduced[1] != axes:
        return None
    return x


def _sum_of_exp(node):
    """``(exp node, axes)`` when ``node`` is ``sum(exp(.))`` keeping the summed axes."""
    reduced = _reduced_keeping_axes(node, "add")
    if reduced is None or reduced[0].op != _EXP:
        return None
    return reduced


def _softmax_parts(node):
    """``(shifted, total)`` when ``node`` is ``exp(shifted) / total``, ``shifted`` is
    ``x - max(x)`` and ``total`` is ``sum(exp(shifted))`` over the same axes; else None."""
    if node.op != _DIV:
        return None
    numerator, total = node.inputs
    summed = _sum_of_exp(total)
    if summed is None or summed[0] is not numerator:
        return None
    shifted = numerator.inputs[0]
    if _unshifted(shifted, summed[1]) is None:
        return None
    return shifted, total


def _max_keeping(x, axes):
    """``max(x)`` over ``axes``, kept as length-1 dimensions."""
    return _make(Reduce("maximum", axes, True, x.type.dtype), x)


def _shift(peak):
    """``peak`` as a shift that the expression does not depend on: zero_grad(peak)."""
    return _make(ZeroGrad(), peak)


# ---- rules --------------------------------------------------------------------------------

def log_one_plus_to_log1p(node):
    """log(1 + x) -> log1p(x), for a float sum (an integer one may wrap)."""
    if node.op != _LOG:
        return None
    total = node.inputs[0]
    x = _other_than(total, 1, _ADD)
    if x is None or _float_dtype(total) is None or x.type.shape != total.type.shape:
        return None
    return _fit(_make(_LOG1P, _cast(x, total.type.dtype)), node)


def log_one_minus_to_log1p(node):
    """log(1 - x) -> log1p(-x), for a float difference."""
    if node.op != _LOG or node.inputs[0].op != _SUB:
        return None
    difference = node.inputs[0]
    one, x = difference.inputs
    dtype = _float_dtype(difference)
    if not _is_constant(one, 1) or dtype is None or x.type.shape != difference.type.shape:
        return None
    return _fit(_make(_LOG1P, _negated(x, dtype)), node)


def exp_minus_one_to_expm1(node):
    """exp(x) - 1 -> expm1(x), and exp(x) + (-1) -> expm1(x)."""
    if node.op == _SUB and _is_constant(node.inputs[1], 1):
        power = node.inputs[0]
    else:
        power = _other_than(node, -1, _ADD)
    if power is None or power.op != _EXP or power.type.shape != node.type.shape:
        return None
    return _fit(_make(_EXPM1, power.inputs[0]), node)


def log1p_exp_to_softplus(node):
    """log1p(exp(x)) -> softplus(x)."""
    if node.op != _LOG1P or node.inputs[0].op != _EXP:
        return None
    return _fit(_make(_SOFTPLUS, node.inputs[0].inputs[0]), node)


def sigmoid_from_exp(node):
    """1 / (1 + exp(-x)) -> sigmoid(x), exp(x) / (1 + exp(x)) -> sigmoid(x)."""
    if node.op != _DIV:
        return None
    numerator, denominator = node.inputs
    power = _other_than(denominator, 1, _ADD)
    if power is None or power.op != _EXP or power.type.shape != node.type.shape:
        return None
    argument = power.inputs[0]
    dtype = power.type.dtype
    if _is_constant(numerator, 1):
        replacement = _make(_SIGMOID, _negated(argument, dtype))
    elif numerator is power:
        replacement = _make(_SIGMOID, argument)
    else:
        return None
    return _fit(replacement, node)


def one_minus_sigmoid_to_sigmoid_of_negation(node):
    """1 - sigmoid(x) -> sigmoid(-x): no cancellation where sigmoid(x) is near 1."""
    if node.op != _SUB or not _is_constant(node.inputs[0], 1):
        return None
    sigmoid = node.inputs[1]
    if sigmoid.op != _SIGMOID or sigmoid.type.shape != node.type.shape:
        return None
    return _fit(_make(_SIGMOID, _negated(sigmoid.inputs[0], sigmoid.type.dtype)), node)


def log_sigmoid_to_softplus(node):
    """log(sigmoid(x)) -> -softplus(-x)."""
    if node.op != _LOG or node.inputs[0].op != _SIGMOID:
        return None
    sigmoid = node.inputs[0]
    argument = _negated(sigmoid.inputs[0], sigmoid.type.dtype)
    return _fit(_make(_NEG, _make(_SOFTPLUS, argument)), node)


def softmax_shifted_by_max(node):
    """exp(x) / sum(exp(x)) -> exp(x - max(x)) / sum(exp(x - max(x))) along the summed axes:
    no overflow to inf / inf for large x, no 0 / 0 for very negative x."""
    if node.op != _DIV or _softmax_parts(node) is not None:
        return None
    numerator, total = node.inputs
    summed = _sum_of_exp(total)
    if summed is None or summed[0] is not numerator:
        return None
    axes = summed[1]
    x = _cast(numerator.inputs[0], numerator.type.dtype)
    power = _make(_EXP, _make(_SUB, x, _shift(_max_keeping(x, axes))))
    new_total = _make(Reduce("add", axes, True, total.type.dtype), power)
    return _fit(_make(_DIV, power, new_total), node)


def log_softmax_from_log_of_softmax(node):
    """log(exp(s) / sum(exp(s))) -> s - log(sum(exp(s))) with s = x - max(x): no -inf from
    an underflowed exp, and a gradient without 0 / 0."""
    if node.op != _LOG:
        return None
    parts = _softmax_parts(node.inputs[0])
    if parts is None:
        return None
    shifted, total = parts
    return _fit(_make(_SUB, shifted, _make(_LOG, total)), node)


def log_sum_exp_shifted_by_max(node):
    """log(sum(exp(x))) -> m + log(sum(exp(x - m))), m = max(x) over the summed axes and 0
    where that maximum is infinite (the frontend's logsumexp)."""
    if node.op != _LOG or not isinstance(node.inputs[0].op, Reduce):
        return None
    total = node.inputs[0]
    power = total.inputs[0]
    if total.op.combiner != "add" or power.op != _EXP or total.op.dtype != power.type.dtype:
        return None
    axes = total.op.axes
    if _unshifted(power.inputs[0], axes) is not None:
        return None
    x = _cast(power.inputs[0], power.type.dtype)
    peak = _max_keeping(x, axes)
    zero = Node.make(Constant(np.zeros((), x.type.dtype)))
    peak = _shift(_make(_SWITCH, _make(_ISINF, peak), zero, peak))
    shifted_total = _make(Reduce("add", axes, True, total.op.dtype),
                          _make(_EXP, _make(_SUB, x, peak)))
    result = _make(_ADD, peak, _make(_LOG, shifted_total))
    result = sort_commutative_operands(result) or result
    if not total.op.keepdims:
        result = _drop_axes(result, axes)
    return _fit(result, node)


def _drop_axes(node, axes):
    """``node`` without its length-1 dimensions ``axes`` (a dimshuffle: a view)."""
    kept = tuple(axis for axis in range(node.type.ndim) if axis not in axes)
    return _make(DimShuffle(kept), node)


# the rules by the op at the root of their pattern: each node tries only its own
RULES = {
    "log": (log_one_plus_to_log1p, log_sigmoid_to_softplus, log_softmax_from_log_of_softmax,
            log_sum_exp_shifted_by_max, log_one_minus_to_log1p),
    "log1p": (log1p_exp_to_softplus,),
    "sub": (exp_minus_one_to_expm1, one_minus_sigmoid_to_sigmoid_of_negation),
    "add": (exp_minus_one_to_expm1,),
    "true_div": (sigmoid_from_exp, softmax_shifted_by_max),
}


def elementwise_through_movement(node):
    """f(x[index]) -> f(x)[index] when a rule rewrites f(x) (index: basic or advanced
    indexing, dimshuffle, reshape, or a chain of them); other operands must be 0-d
    constants.  So log(softmax(x)[arange(n), y]) -> logsoftmax(x)[arange(n), y]."""
    if not isinstance(node.op, ElementwiseOp) or node.op.name not in RULES:
        return None
    moved = [i for i, operand in enumerate(node.inputs)
             if not (isinstance(operand.op, Constant) and operand.type.ndim == 0)]
    if len(moved) != 1 or not isinstance(node.inputs[moved[0]].op, _MOVES):
        return None
    position = moved[0]
    chain, source = [], node.inputs[position]
    while isinstance(source.op, _MOVES):
        chain.append(source)
        source = source.inputs[0]
    inputs = list(node.inputs)
    inputs[position] = source
    whole = Node.make(node.op, inputs)
    result = _first_rewrite(whole)
    if result is None:
        return None
    for move in reversed(chain):
        result = move.replace(inputs=(result,) + move.inputs[1:])
    return _fit(result, node)


def _first_rewrite(node):
    """What the first rule for ``node``'s op returns when it fires, or None."""
    if not isinstance(node.op, ElementwiseOp):
        return None
    for rule in RULES.get(node.op.name, ()):
        replacement = rule(node)
        if replacement is not None and replacement is not node:
            return replacement
    return None


def stabilize_node(node):
    """``node`` rewritten by the first rule that fires on it, or None."""
    replacement = _first_rewrite(node)
    if replacement is None:
        replacement = elementwise_through_movement(node)
    return replacement


def stabilize(graph):
    """Rewrite ``graph``'s numerically unstable expressions into stable equal ones (the
    identities of this module's docstring); ``graph`` itself when there are none.  The
    compile pipeline's pass: gradient-steering ops are removed too.

    Parameters
    ----------
    graph : ir.Graph
        Canonical or not; the pipeline runs ``canonicalize`` first.

    Returns
    -------
    ir.Graph
        Every node of the same type as the one it replaces.
    """
    return rewrite(graph, (stabilize_node, remove_gradient_op))


def stabilize_for_gradient(graph):
    """``stabilize`` for a graph about to be differentiated: the shifts come out as
    ``zero_grad(m)`` and every gradient-steering op stays for ``passes.autodiff``."""
    return rewrite(graph, (stabilize_node,))
