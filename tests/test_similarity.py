"""The similarity report, measured on a synthetic class: five honest students who wrote their
functions in different ways (the reference and the catalogue's correct-but-different
implementations; no two share more than 3 of the 12 functions), and disguised copies of four of
them: every local name renamed, adjacent independent assignments swapped, the functions and
imports in reverse order, every comment rewritten. Every copied pair must rank above every pair of
code by different students (honest-honest, and a copy against anyone else's).

Measured (copydetect 0.5.0, k = 25, window 6, five runs): copied pairs 0.68-0.78, every other pair
at most 0.57 (two honest students who wrote the same three long loop functions). Python salts
``hash()`` per process, so winnowing keeps slightly different fingerprints from run to run and the
figures move by a few hundredths; the test asserts only the ranking, whose margin (about 0.1) is
larger than that.
"""

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

PARTS = ("kl_divergence", "kl_bernoulli", "kl_gaussian", "policy_kl", "score_function", "fisher_information",
         "fisher_estimate", "sample_state_actions", "npg_direction", "trust_region_step", "conjugate_gradient",
         "natural_policy_gradient")
# What each honest student wrote, per part: a folder of correct-but-different implementations under
# tests/submissions/different/, or the reference where a part is not listed.
HONEST = (
    {},
    {part: "loops" for part in PARTS},
    {part: "float32" for part in PARTS},
    {"kl_divergence": "scipy", "kl_bernoulli": "scipy", "kl_gaussian": "scipy", "policy_kl": "scipy",
     "sample_state_actions": "rollout", "npg_direction": "scipy", "trust_region_step": "scipy",
     "conjugate_gradient": "cg_stop", "natural_policy_gradient": "npg_helpers"},
    {"kl_divergence": "loops", "kl_bernoulli": "float32", "policy_kl": "scipy", "score_function": "loops",
     "fisher_information": "float32", "fisher_estimate": "loops", "sample_state_actions": "float32",
     "npg_direction": "eigh", "trust_region_step": "pinv_default"},
)
MAX_SHARED = 3  # no two honest students wrote more than 3 of the 12 functions the same way (checked below)
COPIED_FROM = (0, 1, 2, 4)  # honest students whose code is copied (one disguised copy each)


def _partial(folder: str, file: str, function: str) -> str:
    """The text of ``function`` (and the module's imports) from a catalogue folder's ``file``."""
    text = (HERE / "different" / folder / file).read_text()
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    keep = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) and getattr(n, "module", "") !=
            "__future__" or isinstance(n, ast.FunctionDef) and (n.name == function or n.name.startswith("_"))]
    return "".join("".join(lines[n.lineno - 1:n.end_lineno]) + "\n\n" for n in keep)


def honest_student(index: int, dest: Path) -> Path:
    """Student ``index``'s files: the reference with the parts of ``HONEST[index]`` replaced."""
    materialise(next(s for s in SAMPLES if s.name == "correct"), dest)
    for function, variant in HONEST[index].items():
        for path in (HERE / "different" / variant).glob("*.py"):
            if f"def {function}(" in path.read_text():
                target = dest / path.name
                target.write_text(merge_functions(target.read_text(), _partial(variant, path.name, function)))
    return dest


def swap_independent_statements(text: str) -> str:
    """Swap each pair of adjacent one-line assignments in a function body that do not use each other's
    results (``a = f(x)`` / ``b = g(x)`` become ``b = g(x)`` / ``a = f(x)``): lines reordered, same code."""
    lines = text.splitlines(keepends=True)

    def names(node: ast.AST, ctx: type) -> set[str]:
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)}

    for function in [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.FunctionDef)]:
        body, i = function.body, 0
        while i + 1 < len(body):
            a, b = body[i], body[i + 1]
            one_line = all(isinstance(x, ast.Assign) and x.lineno == x.end_lineno for x in (a, b))
            if one_line and not (names(a, ast.Store) & (names(b, ast.Load) | names(b, ast.Store))
                                 or names(b, ast.Store) & names(a, ast.Load)):
                lines[a.lineno - 1], lines[b.lineno - 1] = lines[b.lineno - 1], lines[a.lineno - 1]
                i += 2
            else:
                i += 1
    return "".join(lines)


def disguise(text: str, salt: str) -> str:
    """A copy of a module as a student would hide it: every local name and argument renamed, adjacent
    independent assignments swapped, the top-level functions and the imports in reverse order, every
    comment rewritten."""
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
    renamed = swap_independent_statements(tokenize.untokenize((t.type, t.string) for t in tokens))
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
    for i in range(len(HONEST)):
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


def test_honest_students_share_few_functions() -> None:
    for a in range(len(HONEST)):
        for b in range(a):
            shared = sum(HONEST[a].get(p, "R") == HONEST[b].get(p, "R") for p in PARTS)
            assert shared <= MAX_SHARED, (a, b, shared)


def test_disguised_copies_rank_above_every_honest_pair(klass: dict[str, str]) -> None:
    pairs = similar_pairs(klass, handout_code(), top=None)
    copied = {tuple(sorted((f"honest-{i}", f"copy-of-{i}"))) for i in COPIED_FROM}
    ranked = [(tuple(sorted((p.a, p.b))), p.score) for p in pairs]
    copy_scores = [score for key, score in ranked if key in copied]
    honest_scores = [score for key, score in ranked if key not in copied]  # written by different students
    n = len(HONEST) + len(COPIED_FROM)
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


def test_identical_copies_are_one_pair_and_leave_room_for_the_others(klass: dict[str, str]) -> None:
    # Five identical submissions would be 10 pairs at 100%: they are one pair naming them all, and
    # each pair with another student is listed once, with the first of them.
    codes = dict(klass)
    codes.update({f"same-{i}": klass["honest-2"] for i in range(4)})
    pairs = similar_pairs(codes, handout_code(), top=None)
    identical = [p for p in pairs if abs(p.score - 1.0) < 1e-12]  # exactly 1.0 by construction
    assert len(identical) == 1 and identical[0].a == "honest-2" and identical[0].b == "same-0"
    assert identical[0].label_a == "honest-2 (also same-1, same-2, same-3: the same code)"
    assert pairs[0] is identical[0] and not any("same-" in p.a + p.b for p in pairs[1:])
    n = len(klass)
    assert len(pairs) == 1 + n * (n - 1) // 2  # the class's pairs, none repeated per copy


def test_the_batch_compares_in_a_background_process_with_the_same_ranking(klass: dict[str, str]) -> None:
    """A batch starts the comparison in a forked process while it grades: the same pairs come back,
    ranked as in the parent (copies first), and a failure there is an error, not a hang."""
    import solutions
    from autograder.batch.similarity import start_similar_pairs
    from autograder.engine.loader import Submission

    submissions = {key: Submission(key, files={"code.py": code}) for key, code in klass.items()}
    pairs = start_similar_pairs(submissions, Path(solutions.__file__).parent)()
    copied = {tuple(sorted((f"honest-{i}", f"copy-of-{i}"))) for i in COPIED_FROM}
    assert {tuple(sorted((p.a, p.b))) for p in pairs[:len(copied)]} == copied
    assert all(p.code_a == student_code(submissions[p.a]) for p in pairs)
    with pytest.raises(RuntimeError, match="FileNotFoundError|NotADirectoryError|UserError"):
        start_similar_pairs(submissions, Path("/nonexistent-assignment-folder"))()
