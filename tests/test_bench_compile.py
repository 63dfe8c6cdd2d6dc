"""``theon bench compile``: regimes, numpy checks, n/a rows and failing children."""
import json
import sys
import types

from theon.bench import graphs, main, report, runner
from theon.bench.compile import REGIMES


def test_quick_run_writes_three_checked_regimes_per_graph(tmp_path, capsys):
    path = tmp_path / "bench.json"
    status = main(["compile", "--quick", "--graphs", "elementwise,chain10,logreg",
                   "--repeat", "1", "--peers", "none", "--json", str(path)])
    assert status == 0
    results = json.loads(path.read_text())
    for name in ("elementwise", "chain10"):
        theon = results["graphs"][name]["peers"]["theon"]
        assert theon["status"] == "ok", theon
        assert set(theon["regimes"]) == set(REGIMES)
        for summary in theon["regimes"].values():
            assert summary["median_ms"] > 0
            assert summary["checked_against_numpy"] and summary["matches_numpy"]
            run = summary["median_run"]
            assert run["check"]["ok"] and run["check"]["max_rel_err"] <= run["check"]["tol"]
            assert run["cache"] in ("miss", "memory", "disk")
            assert isinstance(run["stages_s"], dict)
        assert theon["regimes"]["rebuilt"]["median_run"]["cache"] == "memory"
    assert results["import"]["theon"]["median_ms"] > 0
    # logreg needs features theon may not have yet: n/a with a reason, never a crash
    logreg = results["graphs"]["logreg"]["peers"]["theon"]
    assert logreg["status"] in ("ok", "n/a"), logreg
    text = capsys.readouterr().out
    if logreg["status"] == "n/a":
        assert logreg["reason"].startswith("needs ")
        assert f"n/a ({logreg['reason']})" in text
    assert "elementwise" in text and "rebuilt" in text


def test_missing_names_lists_what_the_namespace_lacks():
    T = types.SimpleNamespace(matrix=1, nnet=types.SimpleNamespace(sigmoid=1))
    th = types.SimpleNamespace(T=T, function=1)
    assert graphs.missing_names(graphs.SUITE["softmax"], th) == ["T.nnet.softmax"]
    assert "grad" in graphs.missing_names(graphs.SUITE["logreg"], th)


def test_training_reference_matches_finite_differences():
    # the hand-written numpy gradient behind the logreg/mlp checks
    case = graphs._training_case(0, 4, (3, 5, 2))
    x, y = case.args[0].astype("float64"), case.args[1]
    params = [v.astype("float64") + 0.1 for v in case.init.values()]
    cost, updated = graphs._nll_step(x, y, [p.copy() for p in params], 1.0)
    grad_w1 = params[0] - updated[0]
    eps = 1e-6
    bumped = [p.copy() for p in params]
    bumped[0][1, 2] += eps
    cost_up, _ = graphs._nll_step(x, y, bumped, 1.0)
    assert abs((cost_up - cost) / eps - grad_w1[1, 2]) < 1e-4


def test_a_timeout_or_crash_is_a_row_not_an_exception():
    env = runner.child_env({})
    slow = runner.run_process([sys.executable, "-c", "import time; time.sleep(5)"], env, 0.5)
    assert slow["status"] == "timeout"
    crash = runner.run_process([sys.executable, "-c", "raise RuntimeError('boom\\nmore')"],
                               env, 30)
    assert crash == {"status": "error", "error": "RuntimeError: boom", "wall_s": crash["wall_s"]}
    entry = {"status": "error", "error": crash["error"]}
    assert report._status_text(entry) == "error: RuntimeError: boom"


def test_bad_usage_returns_2(capsys):
    assert main(["compile", "--graphs", "nosuch"]) == 2
    assert main(["nosuch"]) == 2
