"""Random streams: ``RandomStreams`` (``theon.tensor.shared_randomstreams``) and the default
stream ``theon.tensor.random``.  Draws are checked against numpy's Philox generator keyed
by the variable's state, and for their distribution; states advance through default
updates, so calls differ, seeds reproduce, and distinct variables are independent."""
import numpy as np
import pytest

import theon
import theon.tensor as T
from theon import DTypeError
from theon.ir import serialize
from theon.tensor.shared_randomstreams import RandomStreams


def _reference(state):
    """numpy's generator for a state [key0, key1, counter] (the documented contract)."""
    words = np.asarray(state, dtype=np.int64).view(np.uint64)
    philox = np.random.Philox(key=words[:2], counter=np.array([0, 0, words[2], 0], np.uint64))
    return np.random.Generator(philox)


def test_draws_match_numpy_and_advance_at_every_call():
    srng = RandomStreams(seed=1234)
    u = srng.uniform((2, 3), low=-1.0, high=2.0)
    f = theon.function([], u)
    seen = []
    for _ in range(3):
        state = u.rng.get_value()
        got = f()
        assert got.dtype == np.float64 and got.shape == (2, 3)
        np.testing.assert_array_equal(got, _reference(state).uniform(-1.0, 2.0, (2, 3)))
        np.testing.assert_array_equal(u.rng.get_value(), state + [0, 0, 1])
        seen.append(got)
    assert not np.array_equal(seen[0], seen[1]) and not np.array_equal(seen[1], seen[2])


@pytest.mark.parametrize("method, kwargs, reference", [
    ("normal", dict(avg=2.0, std=0.5), lambda g: g.normal(2.0, 0.5, (4, 5))),
    ("binomial", dict(n=5, p=0.3), lambda g: g.binomial(5, 0.3, (4, 5))),
    ("random_integers", dict(low=-2, high=3), lambda g: g.integers(-2, 3, (4, 5),
                                                                   endpoint=True)),
    ("choice", dict(a=7), lambda g: g.choice(7, (4, 5))),
])
def test_each_distribution_matches_numpy(method, kwargs, reference):
    srng = RandomStreams(seed=5)
    variable = getattr(srng, method)((4, 5), **kwargs)
    state = variable.rng.get_value()
    got = theon.function([], variable)()
    np.testing.assert_array_equal(got, reference(_reference(state)))


def test_distribution_statistics():
    srng = RandomStreams(seed=7)
    n = 20000
    u, z = srng.uniform((n,), low=2.0, high=4.0), srng.normal((n,), avg=-1.0, std=3.0)
    b = srng.binomial((n,), n=1, p=0.25)
    k = srng.random_integers((n,), low=1, high=6)
    c = srng.choice((n,), a=np.array([10, 20, 30]), p=np.array([0.5, 0.3, 0.2]))
    uu, zz, bb, kk, cc = theon.function([], [u, z, b, k, c])()
    assert 2.0 <= uu.min() and uu.max() < 4.0 and abs(uu.mean() - 3.0) < 0.03
    assert abs(zz.mean() + 1.0) < 0.1 and abs(zz.std() - 3.0) < 0.1
    assert set(np.unique(bb)) == {0, 1} and abs(bb.mean() - 0.25) < 0.02
    assert set(np.unique(kk)) == {1, 2, 3, 4, 5, 6}
    assert set(np.unique(cc)) == {10, 20, 30} and abs((cc == 10).mean() - 0.5) < 0.02


def test_same_seed_same_numbers_other_seed_other_numbers():
    def draw(seed):
        srng = RandomStreams(seed)
        return theon.function([], [srng.uniform((5,)), srng.normal((3,))])()

    first, second, other = draw(99), draw(99), draw(100)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_variables_of_one_stream_are_independent_and_not_merged():
    srng = RandomStreams(seed=3)
    a, b = srng.uniform((4000,)), srng.uniform((4000,))
    assert a.node is not b.node and a.rng is not b.rng
    assert not np.array_equal(a.rng.get_value()[:2], b.rng.get_value()[:2])  # own keys
    got_a, got_b, diff = theon.function([], [a, b, a - a])()
    assert abs(np.corrcoef(got_a, got_b)[0, 1]) < 0.05
    np.testing.assert_array_equal(diff, 0.0)  # one variable is one draw within a call


def test_two_calls_of_two_functions_share_the_state():
    srng = RandomStreams(seed=11)
    u = srng.uniform((3,))
    f, g = theon.function([], u), theon.function([], u * 1.0)
    first, second = f(), g()
    assert not np.array_equal(first, second)  # g continues where f left off
    state = u.rng.get_value()
    np.testing.assert_array_equal(f(), _reference(state).uniform(0.0, 1.0, (3,)))


def test_seed_restarts_every_variable():
    srng = RandomStreams(seed=21)
    u, z = srng.uniform((3,)), srng.normal((2,))
    f = theon.function([], [u, z])
    first = f()
    f()
    srng.seed(21)
    again = f()
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    srng.seed(22)
    assert not np.array_equal(f()[0], first[0])


def test_no_default_updates_repeats_the_draw():
    srng = RandomStreams(seed=2)
    u = srng.uniform((4,))
    f = theon.function([], u, no_default_updates=True)
    np.testing.assert_array_equal(f(), f())
    g = theon.function([], u, no_default_updates=[u.rng])
    np.testing.assert_array_equal(g(), f())
    h = theon.function([], u)
    assert not np.array_equal(h(), h())


def test_symbolic_sizes():
    srng = RandomStreams(seed=4)
    x = T.dmatrix("x")
    n = T.lscalar("n")
    like_x = srng.uniform(x.shape)
    assert like_x.ndim == 2
    by_entries = srng.normal((n, 3))
    assert by_entries.type.shape == (None, 3)
    shape_vector = T.lvector("shape")
    by_vector = srng.binomial(shape_vector, p=0.5, ndim=2)
    f = theon.function([x, n, shape_vector], [like_x + x, by_entries, by_vector])
    a, b, c = f(np.zeros((2, 5)), 4, np.array([3, 1]))
    assert a.shape == (2, 5) and b.shape == (4, 3) and c.shape == (3, 1)
    a, b, c = f(np.zeros((1, 2)), 0, np.array([2, 2]))
    assert a.shape == (1, 2) and b.shape == (0, 3) and c.shape == (2, 2)


def test_symbolic_parameters_and_size_from_the_parameters():
    srng = RandomStreams(seed=8)
    low, high = T.dscalar("low"), T.dscalar("high")
    bounded = srng.uniform((1000,), low=low, high=high)
    means = T.dvector("means")
    around = srng.normal(avg=means, std=0.0)  # size None: the parameters' shape
    assert around.ndim == 1
    p = T.dmatrix("p")
    coins = srng.binomial(p=p)
    f = theon.function([low, high, means, p], [bounded, around, coins])
    got, centred, flips = f(5.0, 6.0, np.array([1.0, -2.0, 3.0]), np.array([[0.0, 1.0]]))
    assert 5.0 <= got.min() and got.max() < 6.0
    np.testing.assert_array_equal(centred, [1.0, -2.0, 3.0])
    np.testing.assert_array_equal(flips, [[0, 1]])


def test_dtypes():
    srng = RandomStreams(seed=6)
    assert srng.uniform((2,)).dtype == theon.config.floatX
    assert srng.uniform((2,), dtype="float32").dtype == "float32"
    assert srng.normal((2,), avg=T.fscalar()).dtype == theon.config.floatX
    assert srng.binomial((2,)).dtype == "int64"
    assert srng.choice((2,)).dtype == "int64"
    old = theon.config.floatX
    try:
        theon.config.floatX = "float32"
        u = srng.uniform((3,))
        assert u.dtype == "float32"
        assert theon.function([], u)().dtype == np.float32
    finally:
        theon.config.floatX = old


def test_dropout_mask():
    srng = RandomStreams(seed=10)
    x = T.dmatrix("x")
    mask = srng.binomial(x.shape, n=1, p=0.8, dtype="float64")
    f = theon.function([x], x * mask / 0.8)
    value = np.ones((50, 40))
    got = f(value)
    assert set(np.unique(got)) <= {0.0, 1.25}
    assert abs((got > 0).mean() - 0.8) < 0.03
    assert not np.array_equal(got, f(value))


def test_choice_without_replacement_and_with_a_vector():
    srng = RandomStreams(seed=12)
    picks = srng.choice((5,), a=5, replace=False)
    f = theon.function([], picks)
    for _ in range(3):
        assert sorted(f().tolist()) == [0, 1, 2, 3, 4]
    values = srng.choice((2, 2), a=np.array([1.5, 2.5]), dtype="float64")
    assert set(np.unique(theon.function([], values)())) <= {1.5, 2.5}
    too_many = srng.choice((6,), a=5, replace=False)
    with pytest.raises(ValueError, match=r"random.choice\(6,\): "):
        theon.function([], too_many)()


def test_bad_arguments():
    srng = RandomStreams(seed=0)
    with pytest.raises(DTypeError, match="binomial: n has dtype float64; expected an integer "
                                         "dtype"):
        srng.binomial((2,), n=1.5)
    with pytest.raises(TypeError, match="choice: a has rank 2; expected an integer or a "
                                        "vector"):
        srng.choice((2,), a=np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"uniform: negative length in size \(2, -1\)"):
        srng.uniform((2, -1))
    with pytest.raises(ValueError, match="normal: size has 2 entries but ndim=3"):
        srng.normal((2, 3), ndim=3)
    with pytest.raises(TypeError, match="uniform: cannot read the entries of the shape vector"):
        srng.uniform(T.lvector("s"))
    n = T.lscalar("n")
    f = theon.function([n], srng.uniform((n,)))
    with pytest.raises(ValueError, match=r"random.uniform\(\?,\): negative length in size "
                                         r"\(-3,\)"):
        f(-3)


def test_rng_update_and_updates_like_theano():
    srng = RandomStreams(seed=13)
    u = srng.uniform((2,))
    assert isinstance(u.rng, theon.SharedVariable)
    assert u.update[0] is u.rng and u.rng.default_update is u.update[1]
    assert srng.updates() == [u.update]
    state = srng[u.rng]
    assert state.dtype == np.int64 and state.shape == (3,)
    srng[u.rng] = np.array([1, 2, 0])
    np.testing.assert_array_equal(theon.function([], u, no_default_updates=True)(),
                                  _reference([1, 2, 0]).uniform(0.0, 1.0, (2,)))


def test_state_update_is_in_place_and_the_schedule_serialises():
    srng = RandomStreams(seed=14)
    u = srng.uniform((3,))
    f = theon.function([], u)
    address = u.rng.get_value(borrow=True).ctypes.data
    f()
    f()
    assert u.rng.get_value(borrow=True).ctypes.data == address
    schedule = f.schedule
    loaded = serialize.loads_schedule(serialize.dumps_schedule(schedule))
    assert loaded.steps == schedule.steps


def test_default_stream_module():
    T.random.seed(123)
    a = theon.function([], T.random.uniform((3,)))()
    assert a.shape == (3,) and ((0.0 <= a) & (a < 1.0)).all()
    assert T.random.normal((2, 2)).ndim == 2
    assert issubclass(T.random.RandomStreams, object)
    assert T.shared_randomstreams.RandomStreams is RandomStreams
