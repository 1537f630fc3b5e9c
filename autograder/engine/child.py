"""The sandbox child: imports a student's code and calls its functions on request.

This file runs as a *script* inside the sandbox (``python -I child.py``), beside the grader's
pristine provided files (an assignment's given files, its suite's ``CHILD_FILES``) and the
student's files; it imports nothing from the autograder, so nothing of the grader or the reference
is loaded into the student's process. The grader imports this module only for the plain-data codec
(``encode`` / ``decode``), which is shared by both sides.

Wire format: each message is a 4-byte big-endian length and a UTF-8 JSON object. Arrays travel as
``{"__nd__": [dtype, shape, base64 bytes]}`` with a numeric dtype (large integer arrays as
``[dtype, shape, base64 bytes, narrower integer dtype of the bytes]``); nothing is ever pickled.
Requests: ``{"op": "import", "module": m}``, ``{"op": "call", "module": m, "func": f, "args": [...],
"kwargs": {...}}`` with optional ``"seed": int`` (seeds numpy's global generator and ``random`` just
before the call) and ``"patch": {name: value}`` (globals of the module set for the call). Objects
travel as ``{"__obj__": {"module": m, "class": c, "kwargs": {...}}}``, ``m`` a provided module.
During a call the child may ask ``{"op": "fvp", "v": array}`` and wait for ``{"value": array}``
(Fisher-vector products are served, and counted, by the grader). Replies: ``{"ok": true, "value":
..., "seconds": t, "reports": {name: the patched object's report()}}`` or ``{"ok": false, "kind":
..., "error": ...}``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import sys
import time
import traceback
from typing import Any, Optional

# Largest message either side accepts (bytes).
MAX_MESSAGE = 64 * 1024 * 1024
# Most JSON containers and items ("[", "{", ",") one message may hold: the grader decodes what a
# hostile child sends, and 64 MB of "[]," would be 20 million Python lists (1.5 GB). Arrays travel
# as base64 strings, which hold none of these characters, so honest messages stay far below.
MAX_ITEMS = 1_000_000
# Most arrays (not numbers) one message may hold: an honest reply holds a few; a list of 140 000
# arrays cost the grader seconds to decode and minutes to format. (Lists of numbers, as a sampler
# that appends to lists returns, are bounded by MAX_ITEMS only.)
MAX_ARRAYS = 10_000
# Deepest nesting of sequences ``decode`` accepts (``encode`` refuses more than 8 levels).
MAX_DEPTH = 16
# Integer arrays of at least this many entries travel in the narrowest integer dtype that holds their
# values (``_packed_dtype``); smaller ones are not worth the scan.
PACK_MIN_SIZE = 256
# Bound at start-up: a module that monkeypatches json later cannot break the channel for the others.
_dumps = json.dumps
_loads = json.loads
_DTYPE_RE = re.compile(r"^[<>|=]?[biuf][1248]$")


# ----------------------------------------------------------------------------------------------
# Plain-data codec (used on both sides).
# ----------------------------------------------------------------------------------------------
def encode(value: Any, _depth: int = 0) -> Any:
    """Encode numbers, numeric arrays, and lists/tuples of them as JSON-ready plain data.

    Anything else (objects, strings, object or complex arrays) raises TypeError with a message
    meant for the student.
    """
    import numpy as np

    if _depth > 8:
        raise TypeError("returned value is nested too deeply")
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return {"__nd__": ["|b1", [], base64.b64encode(bytes([bool(value)])).decode()]}
    if isinstance(value, (list, tuple)):
        return {"__seq__": [encode(v, _depth + 1) for v in value]}
    if isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, np.ndarray):
        arr = np.asarray(value)
    else:
        raise TypeError(
            f"returned an object of type {type(value).__name__}; expected a number or a numpy array"
        )
    arr = np.array(arr, order="C", subok=False)  # a plain C-ordered copy: ndarray subclasses dropped
    if arr.dtype.kind not in "biuf" or arr.dtype.itemsize > 8:
        raise TypeError(f"returned an array of dtype {arr.dtype}; expected a numeric (int or float) array")
    if arr.dtype.kind == "f" and arr.dtype.itemsize == 2:
        arr = arr.astype(np.float32)
    packed = _packed_dtype(arr)
    if packed is not None:  # same values, fewer bytes: the reader restores arr's dtype
        return {"__nd__": [arr.dtype.str, list(arr.shape), base64.b64encode(arr.astype(packed).tobytes()).decode(),
                           packed.str]}
    return {"__nd__": [arr.dtype.str, list(arr.shape), base64.b64encode(arr.tobytes()).decode()]}


def _packed_dtype(arr: Any) -> Any:
    """The smallest integer dtype that holds every value of the integer array ``arr`` exactly, when it
    is narrower than ``arr``'s own and ``arr`` has at least PACK_MIN_SIZE entries; else None.

    A sampler's 40,000 states and actions travel as 1-byte integers instead of 8-byte ones: encoding,
    sending and decoding them cost ~20 ms of a grade each time in base64 JSON. Signed arrays pack into
    signed dtypes, unsigned ones into unsigned dtypes (``decode`` checks that)."""
    import numpy as np

    if arr.dtype.kind not in "iu" or arr.size < PACK_MIN_SIZE:
        return None
    low, high = int(arr.min()), int(arr.max())
    for size in (1, 2, 4):
        if size >= arr.dtype.itemsize:
            return None
        candidate = np.dtype(f"{arr.dtype.byteorder if size > 1 else '|'}{arr.dtype.kind}{size}")
        info = np.iinfo(candidate)
        if info.min <= low and high <= info.max:
            return candidate
    return None


def decode(value: Any, _depth: int = 0) -> Any:
    """Decode what ``encode`` produced, trusting nothing: numeric dtypes only, sizes and nesting checked.

    Returns plain ``numpy.ndarray`` (never a subclass), lists, or None.
    """
    import numpy as np

    if value is None:
        return None
    if _depth > MAX_DEPTH:
        raise ValueError("the value is nested too deeply")
    if isinstance(value, dict) and len(value) == 1:
        if "__seq__" in value and isinstance(value["__seq__"], list):
            return [decode(v, _depth + 1) for v in value["__seq__"]]
        if "__nd__" in value:
            spec = value["__nd__"]
            if not (isinstance(spec, list) and len(spec) in (3, 4)):
                raise ValueError("malformed array")
            dtype, shape, data = spec[:3]
            if not (isinstance(dtype, str) and _DTYPE_RE.match(dtype)):
                raise ValueError(f"refused dtype {dtype!r}")
            dt = np.dtype(dtype)
            packed = dt  # the dtype of the bytes sent (see _packed_dtype)
            if len(spec) == 4:
                if not (isinstance(spec[3], str) and _DTYPE_RE.match(spec[3])):
                    raise ValueError(f"refused dtype {spec[3]!r}")
                packed = np.dtype(spec[3])
                if not (dt.kind in "iu" and packed.kind == dt.kind and packed.itemsize < dt.itemsize):
                    raise ValueError(f"refused packing of {dtype} as {spec[3]}")
            if not (isinstance(shape, list) and len(shape) <= 8):
                raise ValueError("malformed shape")
            if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**40 for n in shape):
                raise ValueError("malformed shape")
            if not isinstance(data, str):
                raise ValueError("malformed array data")
            raw = base64.b64decode(data, validate=True)
            count = 1
            for n in shape:
                count *= n
            if count * packed.itemsize != len(raw):
                raise ValueError("array data does not match its shape")
            return np.frombuffer(raw, dtype=packed).reshape(shape).astype(dt)
    raise ValueError(f"unexpected value of type {type(value).__name__}")


def frame(message: dict) -> bytes:
    """One message as sent on the wire: a 4-byte big-endian length and its JSON."""
    data = _dumps(message, allow_nan=False).encode()
    return struct.pack(">I", len(data)) + data


def write_message(fd: int, message: dict) -> None:
    """Write one length-prefixed JSON message to a (blocking) file descriptor."""
    view = memoryview(frame(message))
    while view:
        written = os.write(fd, view)
        view = view[written:]


def check_items(data: bytes) -> None:
    """Refuse JSON text with more than MAX_ITEMS containers and items, or more than MAX_ARRAYS
    arrays (bounds what decoding it, and formatting it for feedback, costs)."""
    items = data.count(b"[") + data.count(b"{") + data.count(b",")
    if items > MAX_ITEMS:
        raise ValueError(f"{items} lists, numbers or arrays in one message, more than the limit of {MAX_ITEMS}; "
                         "return numpy arrays rather than long Python lists")
    # Arrays that are not numbers: every ``__nd__`` but those whose shape is ``[]`` as ``encode``
    # writes it (other spellings, only in forged messages, count as arrays: refused sooner).
    arrays = data.count(b'"__nd__"') - data.count(b'", [], "')
    if arrays > MAX_ARRAYS:
        raise ValueError(f"{arrays} arrays in one message, more than the limit of {MAX_ARRAYS}; "
                         "return one numpy array rather than a long list of arrays")


def read_exact(fd: int, n: int, deadline: float | None = None) -> bytes:
    """``n`` bytes from ``fd``; with a ``deadline`` (time.monotonic()), TimeoutError once it passes:
    a peer that sends half a message and stops must not block the reader forever."""
    import select

    chunks = []
    while n:
        if deadline is not None:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("the other side stopped in the middle of a message")
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int, deadline: float | None = None) -> dict:
    """One message from ``fd`` (see ``read_exact`` for ``deadline``); ValueError if malformed or too big."""
    (size,) = struct.unpack(">I", read_exact(fd, 4, deadline))
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes is larger than the limit")
    data = read_exact(fd, size, deadline)
    check_items(data)
    try:
        message = _loads(data)
    except RecursionError:
        raise ValueError("message is nested too deeply") from None
    if not isinstance(message, dict):
        raise ValueError("message is not an object")
    return message


# ----------------------------------------------------------------------------------------------
# The child's main loop.
# ----------------------------------------------------------------------------------------------
class _Channel:
    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd

    def send(self, message: dict) -> None:
        write_message(self.write_fd, message)

    def receive(self) -> dict:
        return read_message(self.read_fd)


def _short_traceback(exc: BaseException, workdir: str) -> str:
    """The traceback of the student's frames only (paths relative to the sandbox folder)."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if f.filename.startswith(workdir) and not f.filename.endswith("_grader_child.py")
    ]
    lines = []
    for f in frames[-6:]:
        name = os.path.relpath(f.filename, workdir)
        lines.append(f'  File "{name}", line {f.lineno}, in {f.name}\n    {f.line or ""}'.rstrip())
    head = f"{type(exc).__name__}: {exc}"
    if len(head) > 2000:
        head = head[:2000] + " ..."
    return ("Traceback (most recent call last):\n" + "\n".join(lines) + "\n" + head) if lines else head


def _argument_names(func: Any, args: list, kwargs: dict) -> list:
    """``[(parameter name, value)]`` for a call, by the function's signature when it binds
    (``argument 1``, ... otherwise)."""
    import inspect

    try:
        bound = inspect.signature(func).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return [(f"argument {i + 1}", v) for i, v in enumerate(args)] + list(kwargs.items())
    named = []
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind == inspect.Parameter.VAR_POSITIONAL:
            named += [(f"{name}[{i}]", v) for i, v in enumerate(value)]
        elif kind == inspect.Parameter.VAR_KEYWORD:
            named += list(value.items())
        else:
            named.append((name, value))
    return named


# numpy's array type, bound when the child starts and before any student code is imported: the
# argument checks below use only its C methods (copy, tobytes) and bytes equality, none of which
# student code can monkeypatch (``np.array_equal = lambda *a: True`` changes nothing here). A
# submission that tampers with this process's memory on purpose can still hide an in-place write;
# it gains no more than the points of its own right answers (docs/conventions.md, security terms).
_NDARRAY: Any = None
# The provided modules (given files, suite CHILD_FILES): objects of their classes may be built from
# ``__obj__`` arguments, and their attributes must be unchanged after a call (unless the class sets
# ``grader_mutable = True``, e.g. an environment that records the steps taken). Set from the layout;
# None outside a served child (tests), where every plain object's attributes are snapshot.
_PROVIDED: Optional[frozenset] = None


def _ndarray() -> Any:
    """numpy's array type as bound at start-up (imported here only outside a served child: tests)."""
    if _NDARRAY is None:
        import numpy

        return numpy.ndarray
    return _NDARRAY


def _snapshot(value: Any) -> Any:
    """What must be unchanged after a call, computed in the child before it: an array's contents;
    an object's attributes when its class comes from a provided module, each by identity and
    contents; None for the rest (numbers cannot change, generators and callables are meant to)."""
    ndarray = _ndarray()
    if isinstance(value, ndarray):
        return ndarray.copy(value)
    if (not callable(value) and hasattr(value, "__dict__") and not getattr(value, "grader_mutable", False)
            and (_PROVIDED is None or type(value).__module__ in _PROVIDED)):
        return {k: (v, ndarray.copy(v) if isinstance(v, ndarray) else v) for k, v in vars(value).items()}
    return None


def _changes(name: str, value: Any, snap: Any) -> list:
    """The names of what a call changed in argument ``name`` (e.g. ``theta0``, ``mdp.P``)."""
    ndarray = _ndarray()

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, ndarray) or isinstance(b, ndarray):
            return (isinstance(a, ndarray) and isinstance(b, ndarray) and a.dtype == b.dtype
                    and a.shape == b.shape and ndarray.tobytes(a) == ndarray.tobytes(b))
        try:
            return bool(a == b)
        except Exception:  # noqa: BLE001 - an odd object compares as changed
            return False

    if isinstance(snap, ndarray):
        return [] if same(value, snap) else [name]
    if isinstance(snap, dict):
        now = vars(value)
        changed = [f"{name}.{k}" for k in sorted(set(now) ^ set(snap))]
        for k in sorted(set(now) & set(snap)):
            obj, contents = snap[k]
            if now[k] is not obj or not same(now[k], contents):
                changed.append(f"{name}.{k}")
        return changed
    return []


class _BrokenSiblings:
    """An import hook: a student file that imports a sibling with a syntax error (``npg.py`` doing
    ``from fisher import fisher_information`` while ``fisher.py`` does not compile) gets a stand-in
    module, so the functions of ``npg.py`` that never call into ``fisher.py`` still run and keep their
    points. Any use of a name from the stand-in raises an error that says which file to fix first."""

    def __init__(self, broken: dict[str, str]) -> None:
        self.broken = broken  # module -> why it cannot be used ("has a syntax error (see the notes)")

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in self.broken:
            return None
        import importlib.util

        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: Any) -> Any:
        import types

        file = f"{spec.name}.py"
        reason = self.broken[spec.name]

        class StandIn(types.ModuleType):
            def __getattr__(self, attr: str) -> Any:
                if attr.startswith("__"):
                    raise AttributeError(attr)

                def unavailable(*_args: Any, **_kwargs: Any) -> Any:
                    raise ImportError(f"{attr} comes from {file}, which {reason}: fix {file} first")

                unavailable.__name__ = attr
                return unavailable

        return StandIn(spec.name)

    def exec_module(self, module: Any) -> None:
        return None


class _Child:
    def __init__(self, channel: _Channel, workdir: str, layout: dict) -> None:
        self.channel = channel
        self.workdir = workdir
        self.layout = layout  # {"notebook": filename or None, "broken": modules whose file has a syntax error}
        self.modules: dict[str, Any] = {}
        self.notebook_ns: dict[str, Any] | None = None
        self.notebook_errors: list[str] = []
        self.broken = dict(layout.get("broken") or {})
        self.provided = frozenset(layout.get("provided") or ())
        self.aliases = dict(layout.get("aliases") or {})  # import name -> the student's module it stands for
        global _PROVIDED
        _PROVIDED = self.provided
        if self.broken:
            sys.meta_path.insert(0, _BrokenSiblings(self.broken))

    # -- modules -------------------------------------------------------------------------------
    def _load_notebook(self) -> dict:
        if self.notebook_ns is None:
            import types

            with open(os.path.join(self.workdir, self.layout["notebook"]), encoding="utf-8") as fh:
                cells = json.load(fh)
            module = types.ModuleType("notebook")
            module.__file__ = os.path.join(self.workdir, "notebook.py")
            sys.modules["notebook"] = module
            ns = module.__dict__
            for index, source in cells:
                try:
                    code = compile(source, os.path.join(self.workdir, f"cell_{index}"), "exec")
                    exec(code, ns)  # noqa: S102 - this *is* the sandboxed student process
                except BaseException as exc:  # a failing cell must not stop the others
                    if isinstance(exc, SystemExit):
                        pass
                    if len(self.notebook_errors) < 20:
                        self.notebook_errors.append(f"cell {index}: {type(exc).__name__}: {str(exc)[:500]}")
            self.notebook_ns = ns
        return self.notebook_ns

    def _module(self, name: str) -> Any:
        if self.layout.get("notebook"):
            return self._load_notebook()
        if name in self.broken:  # its own functions cannot run: raise its SyntaxError (it is compiled, not run)
            own = self.aliases.get(name, name)  # the student's file (an accepted alias stands for it)
            path = os.path.join(self.workdir, f"{own}.py")
            if os.path.exists(path):
                with open(path, encoding="utf-8") as fh:
                    compile(fh.read(), path, "exec")
            raise ModuleNotFoundError(f"{own}.py {self.broken[name]}")
        if name not in self.modules:
            import importlib

            self.modules[name] = vars(importlib.import_module(name))
        return self.modules[name]

    # -- arguments -----------------------------------------------------------------------------
    def _argument(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            key = next(iter(value))
            if key == "__obj__":
                return self._object(value[key])
            if key == "__rng__":
                import numpy as np

                return np.random.default_rng(int(value[key]))
            if key == "__fvp__":
                return self._fvp
            if key == "__float__":
                return float(value[key])
        if isinstance(value, dict) and "__seq__" in value:
            return [self._argument(v) for v in value["__seq__"]]
        if isinstance(value, dict):
            return decode(value)
        return value

    def _object(self, spec: Any) -> Any:
        """``cls(**kwargs)`` for an ``__obj__`` argument; ``cls`` from a provided module only."""
        import importlib

        if not (isinstance(spec, dict) and isinstance(spec.get("kwargs"), dict)
                and spec.get("module") in self.provided and isinstance(spec.get("class"), str)):
            raise ValueError("an object argument must name a class of a provided module")
        cls = getattr(importlib.import_module(spec["module"]), spec["class"])
        return cls(**{str(k): self._argument(v) for k, v in spec["kwargs"].items()})

    def _fvp(self, v: Any) -> Any:
        self.channel.send({"op": "fvp", "v": encode(v)})
        reply = self.channel.receive()
        if "error" in reply:
            raise ValueError(reply["error"])
        return decode(reply["value"])

    # -- requests ------------------------------------------------------------------------------
    def handle(self, request: dict) -> dict:
        op = request.get("op")
        if op == "import":
            start = time.perf_counter()
            try:
                self._module(request["module"])
            except BaseException as exc:
                return {"ok": False, "kind": "import", "error": _short_traceback(exc, self.workdir)}
            reply = {"ok": True, "seconds": time.perf_counter() - start}
            if self.notebook_errors:
                reply["notes"] = self.notebook_errors[:20]
            return reply
        if op == "call":
            try:
                namespace = self._module(request["module"])
            except BaseException as exc:
                return {"ok": False, "kind": "import", "error": _short_traceback(exc, self.workdir)}
            func = namespace.get(request["func"])
            if func is None:
                return {"ok": False, "kind": "missing", "error": f"{request['func']} is not defined"}
            if not callable(func):
                return {"ok": False, "kind": "missing", "error": f"{request['func']} is not a function"}
            args = [self._argument(a) for a in request.get("args", [])]
            kwargs = {k: self._argument(v) for k, v in request.get("kwargs", {}).items()}
            patch = {str(k): self._argument(v) for k, v in (request.get("patch") or {}).items()}
            named = _argument_names(func, args, kwargs)
            before = [(name, _snapshot(value)) for name, value in named]
            # The globals of the function's own module (a notebook's namespace, or an alias's target).
            scope = getattr(func, "__globals__", namespace)
            missing = object()
            saved = {name: scope.get(name, missing) for name in patch}
            for name, obj in patch.items():  # a stand-in with wrap() is given the function it replaces
                if saved[name] is not missing and callable(getattr(obj, "wrap", None)):
                    obj.wrap(saved[name])
            scope.update(patch)
            if request.get("seed") is not None:
                import random

                import numpy

                numpy.random.seed(int(request["seed"]))
                random.seed(int(request["seed"]))
            start = time.perf_counter()
            try:
                result = func(*args, **kwargs)
            except BaseException as exc:
                kind = "not-implemented" if isinstance(exc, NotImplementedError) else "exception"
                return {"ok": False, "kind": kind, "error": _short_traceback(exc, self.workdir)}
            finally:
                for name, old in saved.items():
                    if old is missing:
                        scope.pop(name, None)
                    else:
                        scope[name] = old
            seconds = time.perf_counter() - start
            try:
                value = encode(result)
                reports = {name: encode(obj.report()) for name, obj in patch.items()
                           if callable(getattr(obj, "report", None))}
                check_items(_dumps([value, reports]).encode())
            except BaseException as exc:
                return {"ok": False, "kind": "bad-output", "error": str(exc)}
            modified = [changed for (name, value), (_, snap) in zip(named, before)
                        for changed in _changes(name, value, snap)]
            return {"ok": True, "value": value, "seconds": seconds, "modified": modified[:20], "reports": reports}
        return {"ok": False, "kind": "protocol", "error": f"unknown op {op!r}"}


def _writable_copy(workdir: str) -> str:
    """Inside bubblewrap the submission's folder is read-only (files written there would land on the
    host's disk, unbounded): work in a copy in the sandbox's private, size-limited /tmp instead."""
    if os.access(workdir, os.W_OK):
        return workdir
    return _write_files(_read_files(workdir), "/tmp", workdir)


# Linux constants for the submission's own namespaces and mounts (ctypes: Python 3.10 has no os.unshare).
_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REMOUNT, _MS_BIND = 1, 2, 4, 8, 32, 4096
_MS_REC, _MS_PRIVATE = 0x4000, 0x40000
_PR_CAPBSET_DROP = 24


def _libc_call(libc: Any, name: str, *args: Any) -> None:
    import ctypes

    if getattr(libc, name)(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name}: {os.strerror(errno)}")


def _isolate_submission(identity: dict) -> str:
    """Under root inside bubblewrap (see isolation.BubblewrapIsolation), before any student code:
    give this submission its own IPC and mount namespaces, its own /tmp and /dev/shm (tmpfs of
    ``tmp_bytes`` / ``shm_bytes``), SysV IPC bounded to ``sysv_bytes``, then drop every capability
    and become ``uid``:``gid`` for good. Returns the temporary folder (/tmp).

    Everything here dies with the submission's processes: the namespaces, the mounts and whatever
    student code put in them (files, SysV segments and queues)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    _libc_call(libc, "unshare", _CLONE_NEWNS | _CLONE_NEWIPC)
    _libc_call(libc, "mount", b"none", b"/", None, _MS_REC | _MS_PRIVATE, None)
    # Folders of the Python installation that live in /tmp (a virtualenv there) are put back,
    # read-only, over the new /tmp: held open now, bound again from /proc/self/fd afterwards.
    keep = [(path, os.open(path, os.O_PATH)) for path in identity.get("keep", [])]
    flags = _MS_NOSUID | _MS_NODEV
    for target, size in (("/tmp", identity["tmp_bytes"]), ("/dev/shm", identity["shm_bytes"])):
        _libc_call(libc, "mount", b"tmpfs", target.encode(), b"tmpfs", flags,
                   f"size={int(size)},mode=1777".encode())
    umask = os.umask(0o022)  # the folders above them must be traversable (run_autograder sets 077)
    for path, fd in keep:
        os.makedirs(path, mode=0o755, exist_ok=True)
        _libc_call(libc, "mount", f"/proc/self/fd/{fd}".encode(), path.encode(), None, _MS_BIND | _MS_REC, None)
        _libc_call(libc, "mount", None, path.encode(), None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | flags, None)
        os.close(fd)
    os.umask(umask)
    tmp = "/tmp"
    scratch = "/tmp/.sysv"
    os.mkdir(scratch, 0o700)
    _bound_sysv_ipc(libc, scratch, int(identity["sysv_bytes"]))
    os.rmdir(scratch)
    if os.path.isdir("/dev/mqueue"):  # show this namespace's POSIX queues, not the worker's
        _libc_call(libc, "mount", b"mqueue", b"/dev/mqueue", b"mqueue", flags | _MS_NOEXEC, None)
    for cap in range(64):  # the bounding set: no way back to any capability, even through exec
        libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)
    os.setgroups([])
    os.setresgid(identity["gid"], identity["gid"], identity["gid"])
    os.setresuid(identity["uid"], identity["uid"], identity["uid"])
    if os.getuid() == 0 or os.geteuid() == 0:
        raise OSError("could not leave root")
    return tmp


def _bound_sysv_ipc(libc: Any, scratch: str, total: int) -> None:
    """Limit SysV shared memory and message queues of this (new) IPC namespace. bubblewrap mounts
    /proc/sys read-only, so a fresh proc is mounted for the moment in ``scratch``."""
    proc = os.path.join(scratch, "proc")
    os.mkdir(proc, 0o700)
    _libc_call(libc, "mount", b"proc", proc.encode(), b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, None)
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        settings = {"shmmax": total, "shmall": max(1, total // page), "shmmni": 32,
                    "msgmni": 16, "msgmnb": 1 << 16, "msgmax": 8192}
        for name, value in settings.items():
            with open(os.path.join(proc, "sys", "kernel", name), "w", encoding="ascii") as fh:
                fh.write(str(value))
    finally:
        libc.umount2(proc.encode(), 2)  # MNT_DETACH
        os.rmdir(proc)


def _read_files(folder: str) -> dict[str, bytes]:
    """The files of ``folder`` (not its subfolders), read before the child leaves root."""
    files = {}
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as fh:
                files[name] = fh.read()
    return files


def _write_files(files: dict[str, bytes], parent: str, workdir: str) -> str:
    """Write ``files`` to a new folder in ``parent`` and point HOME and MPLCONFIGDIR into it."""
    import tempfile

    copy = tempfile.mkdtemp(prefix="work-", dir=parent)
    for name, data in files.items():
        with open(os.path.join(copy, name), "wb") as fh:
            fh.write(data)
    for var in ("HOME", "MPLCONFIGDIR"):
        if os.environ.get(var, "").startswith(workdir):
            os.environ[var] = copy + os.environ[var][len(workdir):]
    return copy


def serve(workdir: str) -> None:
    """Serve requests on stdin/stdout for the student code in ``workdir`` until the grader closes."""
    # The protocol keeps private copies of stdin/stdout; the student's prints go to stderr.
    read_fd = os.dup(0)
    write_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    with open(os.path.join(workdir, "layout.json"), encoding="utf-8") as fh:
        layout = json.load(fh)
    identity = layout.get("sandbox")
    if identity:
        files = _read_files(workdir)
        tmp = _isolate_submission(identity)
        os.environ["TMPDIR"] = tmp
        workdir = _write_files(files, tmp, workdir)
    else:
        workdir = _writable_copy(workdir)
    # numpy is imported before the submission's folder goes on sys.path: a submitted numpy.py could
    # otherwise stand in for it and hand the checks above a fake ndarray (the loader also refuses
    # files that shadow a standard or installed module). Imported before any student code, too, so
    # its start-up is not charged. So is every module this file imports later, for the same reason.
    import importlib.util  # noqa: F401
    import inspect  # noqa: F401
    import random  # noqa: F401
    import select  # noqa: F401
    import types  # noqa: F401

    import numpy

    global _NDARRAY
    _NDARRAY = numpy.ndarray
    sys.path.insert(0, workdir)
    os.chdir(workdir)
    channel = _Channel(read_fd, write_fd)
    child = _Child(channel, workdir, layout)

    channel.send({"op": "ready"})
    while True:
        try:
            request = channel.receive()
        except EOFError:
            return
        try:
            reply = child.handle(request)
            channel.send(reply)
        except BaseException as exc:  # e.g. a value JSON cannot hold
            channel.send({"ok": False, "kind": "protocol", "error": f"{type(exc).__name__}: {exc}"})
        sys.stdout.flush()


# ----------------------------------------------------------------------------------------------
# The pre-started worker ("zygote"): numpy imported, no student code, forks one child per
# submission. It runs inside its own bubblewrap sandbox (own PID namespace and /tmp), so after a
# submission it can kill every other process there and wipe /tmp: the next submission starts as
# clean as in a fresh sandbox, without paying for Python's and numpy's start-up again.
# ----------------------------------------------------------------------------------------------
def _make_undumpable() -> None:
    """PR_SET_DUMPABLE = 0: student processes (same uid) can neither ptrace this process nor read
    its /proc files (memory, file descriptors)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE
    except (OSError, AttributeError):
        pass


def _apply_limits(limits: dict) -> None:
    import resource

    for name, value in limits.items():
        which = getattr(resource, name)
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value if hard == resource.RLIM_INFINITY else hard))
    try:
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write("1000")  # under memory pressure the kernel kills student code first
    except OSError:
        pass


def _reap(statuses: dict) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        statuses[pid] = os.waitstatus_to_exitcode(status)


def _kill_everything_else() -> None:
    """SIGKILL every process of this PID namespace but this one and init, until none is left."""
    import signal

    me = os.getpid()
    for _ in range(100):
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
        if not others:
            return
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        time.sleep(0.002)
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass


def _mount_points() -> set[str]:
    """The folders something is mounted on in this process's mount namespace (/proc/self/mountinfo,
    whose fifth field is the mount point, with spaces and the like written as octal escapes)."""
    points = set()
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) > 4:
                    points.add(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4]))
    except OSError:
        pass
    return points


def _wipe(folder: str, keep: str, mounts: set[str] | None = None) -> None:
    """Remove everything in ``folder`` but ``keep``, even folders a student made unreadable (chmod 0).

    Mount points are left alone, and so are the folders above them (they are emptied instead): those
    are what bubblewrap bound, e.g. a virtualenv under /tmp bound read-only over the sandbox's /tmp.
    Walking such a read-only tree to remove it changed nothing and cost ~0.25 s per submission.
    Submissions cannot add mount points here: under root each has its own mount namespace, and as
    an ordinary user its mounts live in its own user and mount namespaces."""
    import shutil

    mounts = _mount_points() if mounts is None else mounts
    for entry in os.listdir(folder):
        path = os.path.join(folder, entry)
        if path == keep or path in mounts:
            continue
        if os.path.isdir(path) and not os.path.islink(path) and any(m.startswith(path + "/") for m in mounts):
            try:
                os.chmod(path, 0o755)  # as bubblewrap made it (--dir): the sandbox user must reach Python
                _wipe(path, keep, mounts)
            except OSError:
                pass
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            for parent, dirs, _ in os.walk(path, onerror=None):  # top-down: opened before descending
                for name in [parent, *(os.path.join(parent, d) for d in dirs)]:
                    try:
                        if not os.path.islink(name):
                            os.chmod(name, 0o700)
                    except OSError:
                        pass
            try:
                os.chmod(path, 0o700)
            except OSError:
                pass
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _remove_sysv_objects() -> None:
    """IPC_RMID on every SysV segment, queue and semaphore set this process may remove (its uid's)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    removers = {"shm": lambda i: libc.shmctl(i, 0, None), "msg": lambda i: libc.msgctl(i, 0, None),
                "sem": lambda i: libc.semctl(i, 0, 0)}
    for name, remove in removers.items():
        try:
            with open(f"/proc/sysvipc/{name}", encoding="ascii") as fh:
                ids = [int(line.split()[1]) for line in fh.readlines()[1:] if line.strip()]
        except (OSError, ValueError, IndexError):
            continue
        for ident in ids:
            remove(ident)


def zygote() -> None:
    """Serve spawn / kill / status / reset requests on the SOCK_SEQPACKET socket at fd 0."""
    import signal
    import socket

    control = socket.socket(fileno=os.dup(0))
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    _make_undumpable()
    import numpy  # noqa: F401  (the point of the zygote: children start with numpy imported)

    statuses: dict[int, int] = {}
    control.send(_dumps({"op": "ready"}).encode())
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, 1 << 16, 4)
        except OSError:
            return
        if not data:
            return
        request = _loads(data)
        op = request.get("op")
        _reap(statuses)
        if op == "spawn" and len(fds) == 3:
            pid = os.fork()
            if pid == 0:  # the child: our code only, until serve() imports the student's
                try:
                    control.close()
                    os.setsid()
                    for target, fd in zip((0, 1, 2), fds):
                        os.dup2(fd, target)
                    os.closerange(3, 1 << 16)  # nothing of the zygote's stays reachable
                    _apply_limits(request["limits"])
                    os.environ.clear()
                    os.environ.update(request["env"])
                    serve(request["workdir"])
                finally:
                    os._exit(0)
            for fd in fds:
                os.close(fd)
            reply: dict = {"pid": pid}
        elif op == "kill":
            pid = int(request["pid"])
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                _, status = os.waitpid(pid, 0)
                statuses[pid] = os.waitstatus_to_exitcode(status)
            except ChildProcessError:
                pass
            reply = {"ok": True}
        elif op == "status":
            reply = {"code": statuses.get(int(request["pid"]))}
        elif op == "reset":
            _kill_everything_else()
            _reap(statuses)
            statuses.clear()
            root = os.path.dirname(os.path.abspath(__file__))
            _wipe("/tmp", keep=root)  # the zygote's own folder, bound from the grader's side, is kept
            # That folder holds every submission's scratch folder and is writable by student code:
            # whatever a submission left there beside its own must not reach the next one.
            _wipe(root, keep=os.path.abspath(__file__))
            # As an ordinary user the submissions share this sandbox's /dev/shm and IPC namespace
            # (under root each has its own, gone with its processes): empty them too (SysV and POSIX).
            _wipe("/dev/shm", keep="")
            if os.path.isdir("/dev/mqueue"):
                _wipe("/dev/mqueue", keep="")  # POSIX message queues
            _remove_sysv_objects()
            reply = {"ok": True}
        else:
            for fd in fds:
                os.close(fd)
            reply = {"error": f"unknown op {op!r}"}
        control.send(_dumps(reply).encode())


def main() -> None:
    """``child.py [--zygote] [--path=FOLDER ...]``: started with ``python -I -S`` (no site, so no .pth
    file runs), it adds the grader's site-packages folders (``--path``) to sys.path itself."""
    options = sys.argv[1:]
    for option in options:
        if option.startswith("--path=") and option[7:] not in sys.path:
            sys.path.append(option[7:])
    if "--zygote" in options:
        zygote()
    else:
        serve(os.path.dirname(os.path.abspath(__file__)))


if __name__ == "__main__":
    main()
