"""Loading and choosing the kernel backends: C (``native/``), Numba, and the NumPy
reference.

The C extension is optional: when it was not built or does not load, Numba serves and
one `KernelBackendWarning` gives the reason.
"""

from __future__ import annotations

import importlib
import os
import threading
import warnings
from types import ModuleType

from loom.exceptions import InvalidParameterError, KernelBackendWarning
from loom.kernels.config import BACKEND_VARIABLE

__all__ = ["BACKENDS", "available_backends", "backend", "load_backend"]

BACKENDS: tuple[str, ...] = ("c", "numba", "numpy")
_MODULES = {
    "c": "loom.kernels._native",
    "numba": "loom.kernels._numba",
    "numpy": "loom.kernels.reference",
}

_lock = threading.Lock()
_loaded: dict[str, ModuleType] = {}
_failures: dict[str, str] = {}
_warned = False


def _import(name: str) -> ModuleType | None:
    with _lock:
        if name in _loaded:
            return _loaded[name]
        if name in _failures:
            return None
        try:
            module = importlib.import_module(_MODULES[name])
        except ImportError as err:
            _failures[name] = str(err)
            return None
        _loaded[name] = module
        return module


def _check_name(name: object, source: str) -> str:
    if name not in BACKENDS:
        msg = f"{source} must be one of {', '.join(BACKENDS)}; got {name!r}."
        raise InvalidParameterError(msg)
    return str(name)


def _requested() -> str | None:
    text = os.environ.get(BACKEND_VARIABLE, "").strip().lower()
    if not text:
        return None
    return _check_name(text, f"the environment variable {BACKEND_VARIABLE}")


def _default() -> str:
    global _warned
    if _import("c") is not None:
        return "c"
    if not _warned:
        _warned = True
        msg = (
            f"the C kernels are not available ({_failures.get('c')}); the Numba "
            "kernels serve instead. Reinstall Loom with a C compiler (gcc or clang) "
            "present to "
            "build them."
        )
        warnings.warn(msg, KernelBackendWarning, stacklevel=4)
    return "numba"


def backend(name: str | None = None) -> str:
    """Return the name of the backend a kernel call uses.

    Parameters
    ----------
    name : {'c', 'numba', 'numpy'}, optional
        A backend to use instead of the default. The default is the one named by the
        environment variable ``LOOM_KERNEL_BACKEND``, else ``'c'`` when the C extension
        loads, else ``'numba'``.

    Raises
    ------
    InvalidParameterError
        If the name is not a backend, or the C backend is requested but did not load.

    Examples
    --------
    >>> backend("numpy")
    'numpy'
    """
    chosen = _check_name(name, "backend") if name is not None else _requested()
    if chosen is None:
        return _default()
    if chosen == "c" and _import("c") is None:
        msg = (
            f"the C kernels are not available ({_failures.get('c')}); pick "
            "backend='numba' or 'numpy', or reinstall Loom with a C compiler present."
        )
        raise InvalidParameterError(msg)
    return chosen


def load_backend(name: str | None = None) -> ModuleType:
    """Return the module that implements the kernels of backend `name`."""
    chosen = backend(name)
    module = _import(chosen)
    if module is None:
        msg = f"the {chosen} kernels failed to load: {_failures.get(chosen)}."
        raise InvalidParameterError(msg)
    return module


def available_backends() -> tuple[str, ...]:
    """Return the backends that load on this machine, fastest first."""
    return tuple(name for name in BACKENDS if _import(name) is not None)
