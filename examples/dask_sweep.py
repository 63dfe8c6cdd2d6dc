"""A hyper-parameter sweep on a dask.distributed cluster, with compiled theon functions.

A one-hidden-layer tanh network is trained by minibatch SGD on a synthetic two-class
problem, once per (learning rate, hidden width) pair, each run a dask task on a cluster of
local worker processes.  Then the best network classifies a test set chunk by chunk.

The patterns shown:

1. Pickled functions.  The client compiles a model once and sends the compiled functions
   to the workers, packed with their shared variables in one task argument (pickling keeps
   the aliasing: the training function updates the very parameters the predictor reads).
   A compiled function pickles as its schedule; a worker re-links the kernels from the disk
   cache (``f.report``: cache 'stored', 0 kernels compiled) and never runs the passes.  A
   worker on a machine without the code compiles it from the schedule once; its next tasks
   find it in memory.
2. Workers compiling the graph themselves.  A task that builds the same graph and calls
   ``theon.function`` finds it in the disk cache ('disk'): for code that builds its model
   where it runs.
3. Mapping over array chunks.  ``dask.array``'s ``map_blocks`` calls the trained predictor
   on each chunk of the test set, on the workers.

All processes share one cache directory (``THEON_CACHE_DIR``, here a temporary one; by
default the user's cache, which every process of the user on this machine shares).  On a
cluster of several machines, point ``THEON_CACHE_DIR`` at a directory on a shared file
system (owned by the user, writable by nobody else), or let each machine fill its own.

Run it from a clone of the repository (``pip install ".[dask]"`` first)::

    python examples/dask_sweep.py --workers 2
"""
import argparse
import os
import tempfile
import time

import numpy as np


def make_data(n, n_features, seed):
    """Two classes separated by a noisy quadratic boundary: (x, labels), float32/int64."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_features)).astype("float32")
    score = x[:, 0] * x[:, 1] + 0.5 * x[:, 2] - 0.3 * (x[:, 3] ** 2 - 1)
    labels = (score + 0.3 * rng.standard_normal(n) > 0).astype("int64")
    return x, labels


def build_model(n_features, n_hidden, seed=0):
    """The network, its training function and its predictor.

    Returns
    -------
    dict
        'train': f(x, labels, learning_rate) -> mean cross-entropy, updating the
        parameters; 'predict': f(x) -> P(class 1); 'params': the shared variables;
        'initial': their initial values.
    """
    import theon
    import theon.tensor as T
    rng = np.random.default_rng(seed)
    bound = np.sqrt(6.0 / (n_features + n_hidden))
    initial = [rng.uniform(-bound, bound, (n_features, n_hidden)).astype("float32"),
               np.zeros(n_hidden, dtype="float32"),
               rng.uniform(-bound, bound, n_hidden).astype("float32"),
               np.zeros((), dtype="float32")]
    W, b, v, c = params = [theon.shared(value.copy(), name=name)
                           for value, name in zip(initial, ("W", "b", "v", "c"))]
    x, labels, rate = T.fmatrix("x"), T.lvector("labels"), T.fscalar("learning_rate")
    logit = T.dot(T.tanh(T.dot(x, W) + b), v) + c
    # softplus(-logit) = -log(sigmoid(logit)): the stable cross-entropy
    cost = T.mean(T.nnet.softplus(logit) - labels * logit)
    gradients = theon.grad(cost, params)
    train = theon.function([x, labels, rate], cost, name="train",
                           updates=[(p, p - rate * g) for p, g in zip(params, gradients)])
    predict = theon.function([x], T.nnet.sigmoid(logit), name="predict")
    return {"train": train, "predict": predict, "params": params, "initial": initial}


def fit(model, learning_rate, x, labels, epochs, batch_size=100):
    """Train ``model`` (a ``build_model`` dict) from its initial values; run on a worker.

    Returns
    -------
    dict
        The learning rate, the final training cost, the trained parameter values and how
        the worker obtained the compiled code.
    """
    for shared, value in zip(model["params"], model["initial"]):
        shared.set_value(value)
    train = model["train"]
    start = time.perf_counter()
    for _ in range(epochs):
        for first in range(0, len(x), batch_size):
            cost = train(x[first:first + batch_size], labels[first:first + batch_size],
                         learning_rate)
    return {"learning_rate": learning_rate, "cost": float(cost),
            "params": [p.get_value() for p in model["params"]],
            "seconds": time.perf_counter() - start,
            "link": (train.report.cache, train.report.kernels_compiled), "pid": os.getpid()}


def accuracy(probabilities, labels):
    """The fraction of ``labels`` that thresholding ``probabilities`` at 0.5 gets right."""
    return float(np.mean((probabilities > 0.5) == labels))


def main():
    """Run the sweep on a local cluster and print what each pattern did."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--features", type=int, default=8)
    args = parser.parse_args()
    import dask.array as da
    from distributed import Client, LocalCluster

    cache_dir = tempfile.mkdtemp(prefix="theon-dask-sweep-")
    os.environ["THEON_CACHE_DIR"] = cache_dir   # before the first compile of this process
    from theon.runtime.loader import wait_for_optimized

    x_train, y_train = make_data(4000, args.features, seed=1)
    x_valid, y_valid = make_data(2000, args.features, seed=2)
    x_test, y_test = make_data(20000, args.features, seed=3)
    widths = (8, 32)
    rates = (0.03, 0.1, 0.3, 1.0)
    models = {width: build_model(args.features, width) for width in widths}
    wait_for_optimized()   # the optimised kernels are on disk before workers ask for them
    print(f"compiled in the client: {models[widths[0]]['train'].report}")

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, env={"THEON_CACHE_DIR": cache_dir}) as cluster, \
            Client(cluster) as client:
        [x_remote, y_remote] = client.scatter([x_train, y_train], broadcast=True)
        # pattern 1: each task receives a pickled model (functions and parameters together)
        futures = {(width, rate): client.submit(fit, models[width], rate, x_remote, y_remote,
                                                args.epochs, pure=False)
                   for width in widths for rate in rates}
        runs = {key: future.result() for key, future in futures.items()}
        print(f"\n{'hidden':>6} {'rate':>6} {'train cost':>10} {'valid acc':>9} "
              f"{'seconds':>8}  link (cache, compiled)  worker")
        scores = {}
        for (width, rate), run in runs.items():
            model = models[width]
            for shared, value in zip(model["params"], run["params"]):
                shared.set_value(value)
            scores[width, rate] = accuracy(model["predict"](x_valid), y_valid)
            print(f"{width:>6} {rate:>6} {run['cost']:>10.4f} {scores[width, rate]:>9.3f} "
                  f"{run['seconds']:>8.3f}  {str(run['link']):<22}  {run['pid']}")
        best = max(scores, key=scores.get)
        print(f"\nbest: {best[0]} hidden units, learning rate {best[1]}")

        # pattern 2: workers build and compile the same graph: a disk-cache hit
        def compile_here():
            report = build_model(args.features, widths[0])["train"].report
            return report.cache, report.kernels_compiled
        print(f"workers compiling the graph themselves: {client.run(compile_here)}")

        # pattern 3: the trained predictor mapped over the chunks of the test set
        model = models[best[0]]
        for shared, value in zip(model["params"], runs[best]["params"]):
            shared.set_value(value)
        chunks = da.from_array(x_test, chunks=(2500, args.features))
        # each chunk's task carries the pickled predictor, its trained parameters included
        probabilities = chunks.map_blocks(model["predict"], drop_axis=1,
                                          dtype="float32").compute()
        print(f"test accuracy over {chunks.numblocks[0]} chunks: "
              f"{accuracy(probabilities, y_test):.3f}")


if __name__ == "__main__":
    main()
