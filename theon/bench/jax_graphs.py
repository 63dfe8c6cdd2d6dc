"""The suite's graphs as JAX functions, for the ``jax`` peer of ``theon bench compile``.

``device_args(spec, case)`` puts the first call's arguments on the device (outside the timed
region); ``program(spec, case)`` returns ``(fn, split)``: ``jax.jit(fn).lower(*args).compile()``
is what gets timed, and ``split(out)`` gives ``(output, [updated params])`` for the numpy
check.  Training steps use
``jax.value_and_grad`` and take the parameters as their first argument.
"""


def device_args(spec, case):
    """The arguments of the first call as device arrays; parameters first for training."""
    import jax

    args = [jax.device_put(a) for a in case.args]
    if case.init:
        args.insert(0, tuple(jax.device_put(v) for v in case.init.values()))
    for leaf in jax.tree_util.tree_leaves(args):
        leaf.block_until_ready()
    return args


def program(spec, case):
    """A fresh JAX function for ``spec`` (a new Python object, so jit's cache misses)."""
    import jax
    import jax.numpy as jnp

    name = spec.name
    if name == "elementwise":
        def fn(x, y, z):
            return jnp.exp(-x * x) * jnp.sin(y) + jnp.log1p(jnp.abs(z)) * 0.5
    elif name.startswith("chain"):
        steps = case.params["steps"]

        def fn(x):
            for _ in range(steps):
                x = jnp.tanh(x) * 1.0001 + 0.5 * jnp.sin(x)
            return x
    elif name == "softmax":
        def fn(x):
            return jax.nn.softmax(x, axis=1)
    elif name in ("logreg", "mlp"):
        return _training_step(case.lr), _updated_params
    else:
        raise KeyError(f"jax: no JAX version of graph {name!r}")
    return fn, _no_state


def _no_state(out):
    """Outputs of a graph without shared variables: the output itself, no state."""
    return out, []


def _updated_params(out):
    """A training step returns (cost, params): split them for the check."""
    cost, params = out
    return cost, list(params)


def _training_step(lr):
    """SGD step of logistic regression (two params) or a tanh MLP (four)."""
    import jax
    import jax.numpy as jnp

    def forward(params, x):
        h = x
        for k in range(0, len(params) - 2, 2):
            h = jnp.tanh(h @ params[k] + params[k + 1])
        return h @ params[-2] + params[-1]

    def loss(params, x, y):
        logp = jax.nn.log_softmax(forward(params, x), axis=1)
        return -jnp.mean(logp[jnp.arange(x.shape[0]), y])

    def step(params, x, y):
        cost, grads = jax.value_and_grad(loss)(params, x, y)
        return cost, tuple(p - lr * g for p, g in zip(params, grads))

    return step
