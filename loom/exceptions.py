"""Exceptions and warnings raised by Loom.

Every error Loom raises on purpose derives from `LoomError`. Subclasses also derive from
the built-in exception a caller would catch for the same fault, so ``except ValueError``
keeps working::

    LoomError
    ├── ClusterError                        a Dask cluster that is unreachable or keeps
    │                                       losing workers
    ├── ConstraintSyntaxError (ValueError)  text that is not in the constraint language
    ├── ConstraintError (ValueError)        a constraint that does not fit a schema
    │   └── UnknownFeatureError (KeyError)  a feature name the schema does not have
    ├── ConstraintFormatError (ValueError)  a dict or JSON that is no constraint
    ├── DataError (ValueError)              input data that cannot be encoded
    │   ├── DataFileNotFoundError (FileNotFoundError)
    │   ├── CsvFormatError                  a malformed CSV file (bad row, bad header)
    │   ├── TargetError                     a missing or unusable target column
    │   └── MemoryLimitError (MemoryError)  an encoding larger than the memory limit
    ├── CheckpointError (ValueError)        an unusable saved network or checkpoint
    ├── InvalidParameterError (ValueError)  an argument outside its allowed values
    ├── KnowledgeBaseClosedError (ValueError)  a query on a closed knowledge base
    ├── MissingDependencyError (ImportError)  an optional package is not installed
    ├── OutputError (OSError)               a result file that cannot be written
    └── StoreError                          a crystal store that cannot be used
        ├── StoreNotFoundError (FileNotFoundError)
        ├── NotAStoreError                  a file that is not a Loom crystal store
        ├── StoreVersionError               a store written in a newer format
        ├── StoreCorruptError               a damaged store file
        ├── CrystalLookupError (KeyError)   no crystal, or several, match an id
        └── CrystalStateError (ValueError)  a change the crystal's history rejects

    LoomWarning (UserWarning)
    ├── ConstantFeatureWarning              a feature with one value gives no literals
    ├── ForeignCrystalWarning               crystals from another data set or backbone
    ├── GradientWarning                     exploding or vanishing gradients in training
    ├── KernelBackendWarning                the C kernels did not load; Numba serves
    ├── NumericTargetWarning                a target of many numbers read as classes
    └── UnseenValueWarning                  a value the schema does not know
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ClusterError",
    "ConstantFeatureWarning",
    "ConstraintError",
    "ConstraintFormatError",
    "ConstraintSyntaxError",
    "CrystalLookupError",
    "CrystalStateError",
    "CsvFormatError",
    "DataError",
    "DataFileNotFoundError",
    "ForeignCrystalWarning",
    "GradientWarning",
    "InvalidParameterError",
    "KernelBackendWarning",
    "KnowledgeBaseClosedError",
    "LoomError",
    "LoomWarning",
    "MemoryLimitError",
    "MissingDependencyError",
    "NumericTargetWarning",
    "NotAStoreError",
    "OutputError",
    "StoreCorruptError",
    "StoreError",
    "StoreNotFoundError",
    "StoreVersionError",
    "TargetError",
    "UnknownFeatureError",
    "UnseenValueWarning",
]


class LoomError(Exception):
    """Base class of every error Loom raises on purpose."""

    def __str__(self) -> str:
        # KeyError would print repr(message); the message is meant to be read as is.
        return str(self.args[0]) if self.args else ""


class ClusterError(LoomError):
    """A Dask cluster that cannot be reached, has no workers, or keeps losing them."""


class ConstraintSyntaxError(LoomError, ValueError):
    """Constraint text that the grammar does not accept.

    Attributes
    ----------
    line, column : int
        1-based position of the offending character or token.
    context : str
        The source line with a caret under the position.
    expected : tuple of str
        Readable names of the tokens that could have come next, sorted.
    """

    def __init__(
        self,
        message: str,
        *,
        line: int,
        column: int,
        context: str = "",
        expected: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.context = context
        self.expected = expected


class ConstraintError(LoomError, ValueError):
    """A well-formed constraint that does not fit the schema it is applied to."""


class UnknownFeatureError(ConstraintError, KeyError):
    """A constraint names a feature that the schema does not have."""


class ConstraintFormatError(LoomError, ValueError):
    """A dict or JSON text that does not describe a constraint tree."""


class DataError(LoomError, ValueError):
    """Input data that cannot be read or encoded."""


class DataFileNotFoundError(DataError, FileNotFoundError):
    """The data file does not exist."""


class CsvFormatError(DataError):
    """A CSV file that is malformed: a bad header, a row of the wrong length."""


class TargetError(DataError):
    """A target column that is missing or cannot serve a classifier."""


class MemoryLimitError(DataError, MemoryError):
    """An encoding would need more memory than the limit allows."""


class CheckpointError(LoomError, ValueError):
    """A saved model or training checkpoint that cannot be read, or that was written
    for other data or options than the run that resumes from it."""


class InvalidParameterError(LoomError, ValueError):
    """An argument outside its allowed values."""


class KnowledgeBaseClosedError(LoomError, ValueError):
    """A query on a `KnowledgeBase` whose solver has been freed by `close`."""


class MissingDependencyError(LoomError, ImportError):
    """A feature needs an optional package that is not installed."""


class OutputError(LoomError, OSError):
    """A result file (rules, figures) that cannot be written."""


class StoreError(LoomError):
    """A crystal store that cannot be opened, read or written."""


class StoreNotFoundError(StoreError, FileNotFoundError):
    """The store file does not exist and may not be created."""


class NotAStoreError(StoreError):
    """A file that is not a Loom crystal store: not SQLite, or another application's."""


class StoreVersionError(StoreError):
    """A store written in a newer format version than this Loom reads."""


class StoreCorruptError(StoreError):
    """A store file that SQLite or the store's own checks find damaged."""


class CrystalLookupError(StoreError, KeyError):
    """No crystal, or more than one, matches an id or id prefix."""


class CrystalStateError(StoreError, ValueError):
    """A change that the crystal's history rejects, such as retiring it twice."""


class LoomWarning(UserWarning):
    """Base class of Loom's warnings."""


class ConstantFeatureWarning(LoomWarning):
    """A feature that takes one value (or none) and so gives no bit columns."""


class KernelBackendWarning(LoomWarning):
    """The C kernels are not available, so a slower backend serves."""


class NumericTargetWarning(LoomWarning):
    """A target whose many values all read as numbers is treated as that many
    classes."""


class UnseenValueWarning(LoomWarning):
    """Data holds a value that the schema it is encoded with does not know."""


class ForeignCrystalWarning(LoomWarning):
    """Crystals recorded on another data set or backbone are applied to this one."""


class GradientWarning(LoomWarning):
    """Gradients of a network layer grew or shrank past the documented limits, or the
    training loss stopped being finite."""
