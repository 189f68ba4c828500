"""The file format of saved networks and training checkpoints: one ``.npz`` archive
with a JSON header and named arrays.

The header (array ``meta``, UTF-8 JSON) carries the format version, the estimator's
options, the schema, the classes, the training counters, the history and the state of
the random generator. The arrays are the latent parameters, the batch-normalization
buffers, the optimizer's moment estimates, the best weights kept for early stopping,
and the packed binary weights and thresholds of the inference layers. A file is
written to a temporary name and moved into place, so an interrupted write leaves the
previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from loom.exceptions import CheckpointError, DataFileNotFoundError, OutputError

__all__ = ["CHECKPOINT_FORMAT", "read_checkpoint", "write_checkpoint"]

CHECKPOINT_FORMAT = 1
_KIND = "loom.bnn.BinaryNetwork"


def write_checkpoint(
    path: str | os.PathLike[str],
    meta: Mapping[str, Any],
    arrays: Mapping[str, NDArray[Any]],
) -> None:
    """Write a header and arrays to `path`, replacing the file only once complete.

    Raises
    ------
    OutputError
        If the folder does not exist or the file cannot be written.
    """
    target = Path(os.fspath(path))
    header = {"format": CHECKPOINT_FORMAT, "kind": _KIND, **meta}
    text = json.dumps(header, sort_keys=True)
    contents: dict[str, NDArray[Any]] = {
        "meta": np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    }
    contents.update(arrays)
    try:
        handle, temporary = tempfile.mkstemp(
            dir=target.parent if str(target.parent) else ".", suffix=".partial"
        )
    except OSError as err:
        msg = f"cannot write the checkpoint {str(target)!r}: {err}."
        raise OutputError(msg) from err
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **contents)  # type: ignore[arg-type]
        os.replace(temporary, target)
    except OSError as err:
        Path(temporary).unlink(missing_ok=True)
        msg = f"cannot write the checkpoint {str(target)!r}: {err}."
        raise OutputError(msg) from err
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_checkpoint(
    path: str | os.PathLike[str],
) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """Read a file written by `write_checkpoint`: the header and the arrays.

    Raises
    ------
    DataFileNotFoundError
        If the file does not exist.
    CheckpointError
        If it is not a saved network, is damaged, or has a newer format.
    """
    source = Path(os.fspath(path))
    if not source.exists():
        msg = f"network file not found: {str(source)!r}."
        raise DataFileNotFoundError(msg)
    arrays: dict[str, NDArray[Any]] | None = None
    try:
        with open(source, "rb") as handle:
            stored = np.load(handle, allow_pickle=False)
            if isinstance(stored, np.lib.npyio.NpzFile):
                with stored:
                    arrays = {key: stored[key] for key in stored.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        # NumPy's own message may advise allow_pickle, which is unsafe here.
        msg = (
            f"{str(source)!r} is not a saved network: BinaryNetwork.save writes an "
            f".npz archive, and this file is not one ({type(err).__name__})."
        )
        raise CheckpointError(msg) from err
    if arrays is None:
        msg = f"{str(source)!r} is not a saved network: it holds a single array."
        raise CheckpointError(msg)
    if "meta" not in arrays:
        msg = f"{str(source)!r} is not a saved network: it has no 'meta' header."
        raise CheckpointError(msg)
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        msg = f"{str(source)!r}: the header of the saved network is damaged ({err})."
        raise CheckpointError(msg) from err
    if not isinstance(meta, dict) or meta.get("kind") != _KIND:
        msg = f"{str(source)!r} is not a saved BinaryNetwork."
        raise CheckpointError(msg)
    version = meta.get("format")
    if version != CHECKPOINT_FORMAT:
        msg = (
            f"{str(source)!r} has network format {version!r}; this Loom reads format "
            f"{CHECKPOINT_FORMAT}. Train and save the network again with this version."
        )
        raise CheckpointError(msg)
    return meta, arrays
