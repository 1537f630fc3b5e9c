"""The similarity report, measured on a synthetic class: honest students who wrote their functions
in different ways (the reference and the catalogue's correct-but-different implementations, one
variant per student and part), and copies of some of them with every local name renamed, the
functions and imports in reverse order and every comment rewritten. Every copied pair must rank
above every pair of code by different students (honest-honest, and a copy against anyone else's).

Measured (copydetect 0.5.0, k = 25, window 6, four runs): copied pairs 0.72-0.85, every other pair
at most 0.37. Python salts ``hash()`` per process, so winnowing keeps slightly different
fingerprints from run to run and the figures move by a few hundredths; the test asserts only the
ranking, whose margin (more than 0.3) is far larger than that."""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import tokenize
from pathlib import Path

import pytest
from submissions import HERE, merge_functions

from autograder.batch.similarity import PAGE, handout_code, similar_pairs, student_code
from autograder.demo.samples import SAMPLES, materialise
from autograder.engine.loader import load_submission

# Correct implementations of each part besides the reference ("R"): tests/submissions/different/<folder>.
VARIANTS = {
    "kl_divergence": ["R", "loops", "float32", "scipy"],
    "kl_bernoulli": ["R", "loops", "float32", "scipy"],
    "kl_gaussian": ["R", "loops", "float32", "scipy"],
    "policy_kl": ["R", "loops", "float32", "scipy"],
    "score_function": ["R", "loops", "float32"],
    "fisher_information": ["R", "loops", "float32"],
    "fisher_estimate": ["R", "loops", "float32"],
    "sample_state_actions": ["R", "loops", "float32", "rollout"],
    "npg_direction": ["R", "loops", "float32", "scipy", "eigh", "lstsq", "nullspace"],
    "trust_region_step": ["R", "loops", "float32", "scipy", "pinv_default"],
    "conjugate_gradient": ["R", "loops", "float32", "cg_stop"],
    "natural_policy_gradient": ["R", "loops", "float32", "npg_helpers"],
}
HONEST = 4  # student i writes variant i (mod the number of variants) of every part: no two students
# share more than 3 of the 12 functions verbatim (students 0 and 3, the Fisher parts)
COPIED_FROM = (0, 1, 2)  # honest students whose code is copied (one copy each)


def _partial(folder: str, file: str, function: str) -> str:
    """The text of ``function`` (and the module's imports) from a catalogue folder's ``file``."""
    text = (HERE / "different" / folder / file).read_text()
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    keep = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) and getattr(n, "module", "") !=
            "__future__" or isinstance(n, ast.FunctionDef) and (n.name == function or n.name.startswith("_"))]
    return "".join("".join(lines[n.lineno - 1:n.end_lineno]) + "\n\n" for n in keep)


def honest_student(index: int, dest: Path) -> Path:
    """Student ``index``: per part, a variant chosen by rotation, merged into the handout's files."""
    materialise(next(s for s in SAMPLES if s.name == "correct"), dest)
    for function, variants in VARIANTS.items():
        variant = variants[index % len(variants)]
        if variant == "R":
            continue
        for path in (HERE / "different" / variant).glob("*.py"):
            if f"def {function}(" in path.read_text():
                target = dest / path.name
                target.write_text(merge_functions(target.read_text(), _partial(variant, path.name, function)))
    return dest


def disguise(text: str, salt: str) -> str:
    """A copy of a module as a student would hide it: every local name and argument renamed, the
    top-level functions and the imports in reverse order, every comment rewritten."""
    tree = ast.parse(text)
    protected = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)} | set(dir(builtins))
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    protected |= {(a.asname or a.name).split(".")[0] for n in imports for a in n.names}
    protected |= {n.module for n in imports if isinstance(n, ast.ImportFrom) and n.module}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    names |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in n.args + n.kwonlyargs}
    rename = {name: f"{salt}_{i}" for i, name in enumerate(sorted(names - protected - set(keyword.kwlist)))}
    tokens = []
    previous = None
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.NAME and tok.string in rename and not (previous and previous.string == "."):
            tok = tok._replace(string=rename[tok.string])
        elif tok.type == tokenize.COMMENT:
            tok = tok._replace(string=f"# {salt}: my own note")
        tokens.append(tok)
        previous = tok
    renamed = tokenize.untokenize((t.type, t.string) for t in tokens)
    tree = ast.parse(renamed)
    lines = renamed.splitlines(keepends=True)

    def segment(node: ast.stmt) -> str:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        return "".join(lines[first - 1:node.end_lineno]).rstrip() + "\n"

    imports = [segment(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
               and getattr(n, "module", "") != "__future__"]
    functions = [segment(n) for n in tree.body if isinstance(n, ast.FunctionDef)]
    rest = [segment(n) for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom, ast.FunctionDef))]
    return "from __future__ import annotations\n" + "".join(imports[::-1]) + "\n" + "".join(rest) + "\n\n" + \
        "\n\n".join(functions[::-1])


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """id -> student code for the synthetic class (honest-N and copy-of-N)."""
    root = tmp_path_factory.mktemp("class")
    codes = {}
    for i in range(HONEST):
        folder = honest_student(i, root / f"honest-{i}")
        codes[f"honest-{i}"] = student_code(load_submission(folder))
        if i in COPIED_FROM:
            copy = root / f"copy-of-{i}"
            copy.mkdir()
            for path in folder.glob("*.py"):
                (copy / path.name).write_text(disguise(path.read_text(), f"v{i}"))
            ast.parse((copy / "kl.py").read_text())
            codes[f"copy-of-{i}"] = student_code(load_submission(copy))
    return codes


def test_disguised_copies_rank_above_every_honest_pair(klass: dict[str, str]) -> None:
    pairs = similar_pairs(klass, handout_code(), top=None)
    copied = {tuple(sorted((f"honest-{i}", f"copy-of-{i}"))) for i in COPIED_FROM}
    ranked = [(tuple(sorted((p.a, p.b))), p.score) for p in pairs]
    copy_scores = [score for key, score in ranked if key in copied]
    honest_scores = [score for key, score in ranked if key not in copied]  # written by different students
    n = HONEST + len(COPIED_FROM)
    assert len(copy_scores) == len(COPIED_FROM) and len(honest_scores) == n * (n - 1) // 2 - len(COPIED_FROM)
    assert {key for key, _ in ranked[:len(copied)]} == copied
    assert min(copy_scores) > max(honest_scores)
    print(f"\nsimilarity: copied pairs {sorted(round(s, 3) for s in copy_scores)}; honest pairs max "
          f"{max(honest_scores):.3f}, median {sorted(honest_scores)[len(honest_scores) // 2]:.3f}")
    assert all(klass[f"honest-{i}"] != klass[f"copy-of-{i}"] for i in COPIED_FROM)


def test_the_handout_alone_matches_nothing(klass: dict[str, str]) -> None:
    """A student who submits the untouched stubs shares nothing with anyone once the handout is excluded."""
    stubs = Path(__file__).resolve().parent.parent / "assignments" / "npg"
    codes = {"stubs": student_code(load_submission([stubs / f for f in ("kl.py", "fisher.py", "npg.py")])),
             "honest-1": klass["honest-1"]}
    assert similar_pairs(codes, handout_code(), top=None) == []  # nothing of its own to compare
    from autograder.batch.similarity import _fingerprint

    assert _fingerprint(codes["stubs"], []).token_coverage > 1000  # it is the handout that was excluded


def test_page_shows_matching_regions_side_by_side(tmp_path: Path, klass: dict[str, str]) -> None:
    from autograder.batch.similarity import render_page

    pairs = similar_pairs({k: klass[k] for k in ("honest-0", "copy-of-0", "honest-1")}, handout_code())
    page = render_page(pairs, "NPG homework")
    assert page.count('class="pair"') == len(pairs) >= 1 and "<mark>" in page
    assert "not evidence of copying" in page and PAGE == "similarity.html"
