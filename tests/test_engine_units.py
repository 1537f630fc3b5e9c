"""Unit tests of the engine (issue 4): the plain-data codec, the loader, hidden seeds, the
anti-hard-coding rule and the chi-square tail used by the sampler's G-test."""

from __future__ import annotations

import base64
import io
import os
import sys
import zipfile
from pathlib import Path
from typing import Optional

import nbformat
import numpy as np
import pytest
from scipy import stats
from submissions import Spec, build

from autograder.engine import child as codec
from autograder.engine.loader import load_submission, notebook_code_cells
from autograder.engine.sandbox import CallResult
from autograder.engine.stats import chi2_sf, g_test
from autograder.engine.suite import Seeds
from autograder.errors import UserError
from autograder.grade import grade
from autograder.suites.npg import build as build_suite


# ----------------------------------------------------------------------------------------------
# Codec
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [
    np.arange(6, dtype=np.float64).reshape(2, 3) / 7, np.linspace(0, 1, 5, dtype=np.float32),
    np.array([-3, 4], dtype=np.int8), np.array([[True, False]]), np.arange(4, dtype=np.uint16),
    np.zeros((0, 3)), np.float64(np.inf), np.array(np.nan), 3, 2.5,
])
def test_codec_round_trip_keeps_dtype_shape_and_values(value: object) -> None:
    back = codec.decode(codec.encode(value))
    want = np.asarray(value)
    assert type(back) is np.ndarray
    assert back.dtype == want.dtype and back.shape == want.shape
    np.testing.assert_array_equal(back, want)


@pytest.mark.parametrize("value, packed", [
    (np.arange(40_000) % 4, "|i1"),  # a sampler's states: 1 byte each on the wire instead of 8
    (np.arange(1000, dtype=np.uint64) * 60, ">u2" if sys.byteorder == "big" else "<u2"),
    (-np.arange(1000, dtype=np.int64) * 3000, ">i4" if sys.byteorder == "big" else "<i4"),
    (np.array([0, 2**40] * 200), None),  # needs all 8 bytes
    (np.array([[-129, 127]] * 200, dtype=np.int16), None),  # -129 needs 2 bytes, as int16 has
    (np.arange(255), None),  # too small to pack
])
def test_codec_packs_large_integer_arrays_and_restores_them(value: np.ndarray, packed: Optional[str]) -> None:
    encoded = codec.encode(value)
    spec = encoded["__nd__"]
    assert (spec[3] if len(spec) == 4 else None) == packed
    back = codec.decode(encoded)
    assert back.dtype == value.dtype and back.shape == value.shape
    np.testing.assert_array_equal(back, value)
    assert back.flags.writeable


def test_format_value_texts_come_from_the_cache_only_for_the_same_array() -> None:
    """format_value keeps the texts of numeric arrays (batch workers format the same public inputs
    in every grade): a kept text is reused only for the same dtype, shape and bytes."""
    from autograder.engine import compare

    arrays = [np.array([0.0, 1.5]), np.array([-0.0, 1.5]), np.array([0.0, 1.5], dtype=np.float32),
              np.array([[0.0, 1.5]]), np.array([0, 1]), np.arange(40.0) / 3]
    compare._FORMAT_CACHE.clear()
    first = [compare.format_value(a) for a in arrays]
    assert len(compare._FORMAT_CACHE) == len(arrays)
    assert first == [compare._format_value(a, 12) for a in arrays]  # the same text as uncached
    assert first[1] != first[0] and first[3] != first[0]  # -0.0 and a row are not 0.0 and a vector
    assert [compare.format_value(a.copy()) for a in arrays] == first
    assert compare.format_value(arrays[0], max_items=1) != first[0]  # summarised: another entry


def test_codec_round_trip_of_nested_sequences() -> None:
    value = (np.array([1, 2]), [np.float32(0.5), None])
    back = codec.decode(codec.encode(value))
    assert isinstance(back, list) and back[1][1] is None
    np.testing.assert_array_equal(back[0], [1, 2])
    assert back[1][0].dtype == np.float32


@pytest.mark.parametrize("value", [np.array([object()]), np.array(["a"]), np.array([1j]), "0.5", {"F": 1.0},
                                   object(), np.zeros(2, dtype=np.longdouble)])
def test_codec_refuses_non_numeric_values(value: object) -> None:
    with pytest.raises(TypeError):
        codec.encode(value)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix, on purpose
def test_codec_flattens_ndarray_subclasses() -> None:
    for value in (np.matrix([[1.0, 2.0]]), np.ma.masked_array([1.0, 2.0], mask=[False, True])):
        back = codec.decode(codec.encode(value))
        assert type(back) is np.ndarray
        np.testing.assert_array_equal(back, np.asarray(value))


def _nd(dtype: str, shape: list, data: bytes) -> dict:
    return {"__nd__": [dtype, shape, base64.b64encode(data).decode()]}


@pytest.mark.parametrize("bad", [
    _nd("|O", [1], b"\0" * 8), _nd("<c16", [1], b"\0" * 16), _nd("<U1", [1], b"\0" * 4),
    _nd("<f8", [-1], b""), _nd("<f8", [True], b"\0" * 8), _nd("<f8", [1] * 9, b"\0" * 8),
    _nd("<f8", [2**40], b"\0" * 8), _nd("<f8", [2**39, 2**39], b"\0" * 8),  # huge shapes: refused, not allocated
    _nd("<f8", [3], b"\0" * 8), {"__nd__": ["<f8", [1], "not base64!"]}, {"__nd__": ["<f8", [1]]},
    {"something": 1}, "text", 3,
    # packed integers: only into a narrower dtype of the same kind, with bytes of the packed size
    {"__nd__": ["<i8", [2], base64.b64encode(b"\1\2").decode(), "|u1"]},
    {"__nd__": ["<u8", [2], base64.b64encode(b"\1\2").decode(), "|i1"]},
    {"__nd__": ["<i2", [2], base64.b64encode(b"\1\0\2\0").decode(), "<i2"]},
    {"__nd__": ["<f8", [2], base64.b64encode(b"\1\2").decode(), "|i1"]},
    {"__nd__": ["<i8", [2], base64.b64encode(b"\1\2\3").decode(), "|i1"]},
    {"__nd__": ["<i8", [2], base64.b64encode(b"\1\2").decode(), "|O"]},
    {"__nd__": ["<i8", [2], base64.b64encode(b"\1\2").decode(), 1]},
])
def test_codec_decode_refuses_malformed_or_dangerous_data(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        codec.decode(bad)


def test_read_message_refuses_an_oversized_message() -> None:
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, (codec.MAX_MESSAGE + 1).to_bytes(4, "big"))
        with pytest.raises(ValueError, match="larger than the limit"):
            codec.read_message(read_fd)
    finally:
        os.close(read_fd)
        os.close(write_fd)


# ----------------------------------------------------------------------------------------------
# Loader
# ----------------------------------------------------------------------------------------------
def test_loader_reads_a_folder_and_ignores_a_submitted_mdp(tmp_path: Path) -> None:
    folder = build(Spec("reference", ""), tmp_path / "sub")
    (folder / "mdp.py").write_text("raise SystemExit('a tampered mdp.py')\n")
    sub = load_submission(folder)
    assert set(sub.files) == {"kl.py", "fisher.py", "npg.py"}
    assert any("mdp.py is provided" in n for n in sub.notes)


def test_loader_reads_a_zip_with_a_nested_folder(tmp_path: Path) -> None:
    folder = build(Spec("reference", ""), tmp_path / "sub")
    archive = tmp_path / "submission.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("kl.py", "fisher.py", "npg.py"):
            zf.write(folder / name, f"my_homework/{name}")
        zf.writestr("__MACOSX/my_homework/._kl.py", "junk")
    sub = load_submission(archive)
    assert set(sub.files) == {"kl.py", "fisher.py", "npg.py"}
    assert sub.files["kl.py"] == (folder / "kl.py").read_text()


@pytest.mark.parametrize("member", ["../evil.py", "/etc/evil.py", "a/../../evil.py", "C:/evil.py"])
def test_loader_refuses_zip_path_traversal(tmp_path: Path, member: str) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("kl.py", "x = 1\n")
        zf.writestr(zipfile.ZipInfo(member), "x = 2\n")
    with pytest.raises(UserError, match="unsafe path"):
        load_submission(archive)


def test_loader_refuses_a_zip_bomb(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("kl.py", "x = 1\n")
        zf.writestr("data.py", b"\0" * (3 << 20))  # 3 MB of zeros: ~1000x compression
    assert archive.stat().st_size < 100_000
    with pytest.raises(UserError, match="zip bomb"):
        load_submission(archive)


def test_loader_refuses_a_zip_that_expands_past_the_total_limit(tmp_path: Path) -> None:
    archive = tmp_path / "big.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(25):
            zf.writestr(f"f{i}.txt", b"\0" * (1 << 20))
    archive.write_bytes(buffer.getvalue())
    with pytest.raises(UserError, match="zip bomb"):
        load_submission(archive)


def test_loader_keeps_notebook_code_and_drops_magics_shell_check_and_plot_cells(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# KL"),
        nbformat.v4.new_code_cell("%matplotlib inline\nimport numpy as np\n!pip install foo\nfiles = !ls\n"
                                  "def kl_gaussian(mu1, mu2, sigma):\n    %time x = 1\n"
                                  "    return np.sum((mu1 - mu2) ** 2, axis=-1) / (2 * sigma**2)"),
        nbformat.v4.new_code_cell("%%bash\nrm -rf /"),
        nbformat.v4.new_code_cell("import check\ncheck.all()", metadata={"tags": ["check"]}),
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1])", metadata={"tags": ["plot"]}),
        nbformat.v4.new_code_cell("%%time\ny = 2"),
    ]
    cells = notebook_code_cells(nbformat.writes(nb))
    assert [index for index, _ in cells] == [2, 6]
    code = cells[0][1]
    for dropped in ("%matplotlib", "!pip", "!ls", "%time"):
        assert dropped not in code
    compile(code, "cell_2", "exec")
    compile(cells[1][1], "cell_6", "exec")
    path = tmp_path / "npg.ipynb"
    path.write_text(nbformat.writes(nb))
    sub = load_submission(path)
    assert sub.notebook == "npg.ipynb" and sub.files == {}
    assert [i for i, _ in sub.notebook_cells] == [2, 6]


def test_a_helper_defined_only_in_a_skipped_cell_is_named_in_a_note(tmp_path: Path) -> None:
    """The grader skips check/plot cells: a helper the graded code needs from one of them is named
    (tester c's notebook defined it in the check cell); a function's own parameter of the same name
    as a plot cell's variable is not."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("def score(x, iterations):\n    return _helper(x) + iterations"),
        nbformat.v4.new_code_cell("def _helper(x):\n    return 2 * x\nprint(score(1, 2))",
                                  metadata={"tags": ["check"]}),
        nbformat.v4.new_code_cell("iterations = 30", metadata={"tags": ["plot"]}),
    ]
    path = tmp_path / "npg.ipynb"
    path.write_text(nbformat.writes(nb))
    notes = [n for n in load_submission(path).notes if "the grader skips it" in n]
    assert len(notes) == 1 and "cell 2 is tagged check" in notes[0] and "_helper" in notes[0]
    assert "iterations" not in notes[0]


# ----------------------------------------------------------------------------------------------
# Seeds: hidden cases per identity, public ones for everybody
# ----------------------------------------------------------------------------------------------
def test_hidden_seeds_differ_per_identity_and_are_stable() -> None:
    a, b = Seeds(b"secret", "alice"), Seeds(b"secret", "bob")
    assert a.hidden("case") != b.hidden("case")
    assert a.hidden("case") == Seeds(b"secret", "alice").hidden("case")
    assert a.hidden("case") != a.hidden("other case")
    assert a.hidden("case") != Seeds(b"another secret", "alice").hidden("case")
    assert 0 <= a.hidden("case") < 2**63


class _Recorder:
    """A context that records each check's arguments and returns no value."""

    def __init__(self, suite: object) -> None:
        self.suite = suite
        self.calls: list = []

    def call(self, part: str, *args: object, **kwargs: object) -> CallResult:
        self.calls.append(codec.encode([np.asarray(getattr(a, "P", a), dtype=float) if not hasattr(a, "seed")
                                        else a.seed for a in args if not hasattr(a, "phi") and not hasattr(a, "F")]))
        return CallResult("exception", error="recorded")


def _inputs(secret: bytes, identity: str) -> dict:
    suite = build_suite(Seeds(secret, identity))
    out = {}
    for check in suite.checks:
        recorder = _Recorder(suite)
        check.run(recorder)
        out[(check.part, check.name, check.kind)] = repr(recorder.calls)
    return out


def test_public_inputs_ignore_the_secret_and_hidden_inputs_depend_on_it() -> None:
    base = _inputs(b"secret one", "alice")
    other_secret = _inputs(b"secret two", "alice")
    other_identity = _inputs(b"secret one", "bob")
    again = _inputs(b"secret one", "alice")
    assert base == again
    hidden = [key for key in base if key[2] == "hidden"]
    public = [key for key in base if key[2] != "hidden"]
    assert len(hidden) >= 10 and len(public) >= 30
    for key in public:
        assert base[key] == other_secret[key] == other_identity[key], key
    for key in hidden:
        assert base[key] != other_secret[key], key
        assert base[key] != other_identity[key], key


# ----------------------------------------------------------------------------------------------
# Anti-hard-coding: the lecture example's points need a general implementation
# ----------------------------------------------------------------------------------------------
_FISHER_START = "    # BEGIN SOLUTION\n    pi = policy.probs(theta)\n    d = discounted_state_distribution(mdp, pi)"
HARD_CODED = Spec(
    "hard-coded-example", "fisher_information is right only on the lecture example (k = 1), zeros elsewhere",
    (("fisher.py", _FISHER_START,
      "    # BEGIN SOLUTION\n    if policy.num_features != 1:\n"
      "        return np.zeros((policy.num_features, policy.num_features))\n"
      + _FISHER_START.replace("    # BEGIN SOLUTION\n", "")),),
)


def test_hard_coded_example_values_earn_nothing_for_the_example(tmp_path: Path) -> None:
    report, results = grade(build(HARD_CODED, tmp_path / "hard"), secret=b"test-secret")
    mine = [r for r in report.results if r.check.part == "fisher_information"]
    examples = [r for r in mine if r.check.kind == "example"]
    assert len(examples) == 3
    for r in examples:
        assert r.score == 0.0 and not r.outcome.passed
        assert "hard-coded" in r.outcome.message
    assert not any(r.outcome.passed for r in mine if r.check.kind in ("random", "hidden"))
    # the rest of the submission is the reference: nothing else lost (NPG calls fisher_information)
    for part, (score, max_score) in report.part_scores().items():
        if part not in ("fisher_information", "natural_policy_gradient"):
            assert score == pytest.approx(max_score, abs=1e-9), part


# ----------------------------------------------------------------------------------------------
# Statistics
# ----------------------------------------------------------------------------------------------
def test_chi2_sf_matches_scipy_to_1e_10_relative() -> None:
    checked = 0
    for df in [*range(1, 41), 50, 75, 100, 200, 500]:
        for x in np.geomspace(1e-3, 5 * df + 200, 60):
            want = stats.chi2.sf(x, df)
            if want > 1e-290:  # below that, scipy's value is itself at the end of the double range
                np.testing.assert_allclose(chi2_sf(float(x), df), want, rtol=1e-10, atol=0)
                checked += 1
    assert checked > 2000
    assert chi2_sf(0.0, 3) == 1.0
    with pytest.raises(ValueError):
        chi2_sf(1.0, 0)


def test_g_test_pools_small_cells_and_rejects_counts_in_impossible_cells() -> None:
    probs = np.array([0.5, 0.4999, 1e-4, 0.0])
    counts = np.array([5000, 5000, 0, 0])
    result = g_test(counts, probs)
    assert result.cells == 3 and result.df == 2 and result.p_value > 1e-6
    impossible = g_test(np.array([5000, 4999, 0, 1]), probs)
    assert impossible.p_value == 0.0


def test_results_do_not_swap_sys_stdout(monkeypatch, tmp_path):
    """unittest's output buffering replaces sys.stdout for the whole process while a test runs; two
    grades in threads of one process then break each other (seen: 'EncodedFile' has no getvalue)."""
    import sys

    from autograder.demo.samples import SAMPLES, materialise
    from autograder.engine import results as results_module
    from autograder.engine.loader import load_submission
    from autograder.engine.runner import grade_submission

    report = grade_submission(load_submission(materialise(SAMPLES[2], tmp_path / "s")), secret=b"stdout-test")
    original = sys.stdout
    seen = []
    make = results_module._test_method

    def recording(result, index):
        method = make(result, index)

        def test(self):
            seen.append(sys.stdout is original)
            return method(self)

        for name in ("__doc__", "__weight__", "__score__", "__visibility__", "__number__", "__tags__"):
            if hasattr(method, name):
                setattr(test, name, getattr(method, name))
        return test

    monkeypatch.setattr(results_module, "_test_method", recording)
    data = results_module.gradescope_results(report)
    assert len(seen) == len(report.results) and all(seen)
    assert sum(t["status"] == "failed" for t in data["tests"]) == sum(not r.outcome.passed for r in report.results)


def test_the_package_exports_one_function_per_verb():
    import autograder

    for name in autograder.__all__:
        assert getattr(autograder, name) is not None, name
    assert autograder.run_batch.__module__.startswith("autograder.batch")
    assert callable(autograder.grade.grade)  # the verb's subpackage and its function
    with pytest.raises(AttributeError, match="no_such_name"):
        autograder.no_such_name  # noqa: B018


# ----------------------------------------------------------------------------------------------
# Remembered reference values (engine.memo)
# ----------------------------------------------------------------------------------------------
def test_remember_reuses_a_result_only_for_equal_arguments_and_hands_out_copies() -> None:
    from autograder.engine.memo import remember
    from solutions.mdp import discounted_state_distribution, example_mdp

    calls: list[object] = []

    def scaled(x: np.ndarray, factor: float = 2.0) -> np.ndarray:
        calls.append(x)
        return x * factor

    twice = remember(scaled)
    first = twice(np.array([0.0, 1.0]))
    first[0] = 99.0  # a caller changing its result changes nobody else's
    np.testing.assert_array_equal(twice(np.array([0.0, 1.0])), [0.0, 2.0])
    assert len(calls) == 1
    twice(np.array([-0.0, 1.0]))  # other bytes
    twice(np.array([0.0, 1.0], dtype=np.float32))  # other dtype
    twice(np.array([[0.0, 1.0]]))  # other shape
    twice(np.array([0.0, 1.0]), factor=3.0)
    twice(np.array([0.0, 1.0]), factor=3.0)
    assert len(calls) == 5
    drawn = remember(lambda rng: calls.append(rng) or rng.random())
    drawn(np.random.default_rng(1))
    drawn(np.random.default_rng(1))
    assert len(calls) == 7  # a generator has no value-key: every call goes to the function

    mdp, policy = example_mdp()
    d = remember(discounted_state_distribution)
    pi = policy.probs(np.array([0.0]))
    np.testing.assert_array_equal(d(mdp, pi), discounted_state_distribution(mdp, pi))
    other, _ = example_mdp(gamma=0.5)  # the MDP is keyed by its attributes
    np.testing.assert_array_equal(d(other, pi), discounted_state_distribution(other, pi))


def test_remembered_module_follows_a_replaced_function(monkeypatch: pytest.MonkeyPatch) -> None:
    import solutions.kl
    from autograder.engine.memo import RememberedModule

    ref = RememberedModule(solutions.kl)
    p, q = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    np.testing.assert_allclose(ref.kl_divergence(p, q), solutions.kl.kl_divergence(p, q), rtol=0, atol=0)
    monkeypatch.setattr(solutions.kl, "kl_divergence", lambda p, q: "replaced")
    assert ref.kl_divergence(p, q) == "replaced"
