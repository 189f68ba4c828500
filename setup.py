"""Build the optional C kernels (``loom.kernels._native``) from ``native/``.

Everything else about the package is in pyproject.toml. When no C compiler is present
or the build fails, the install goes on without the extension and Loom uses its Numba
kernels (it warns once at run time).
"""

from __future__ import annotations

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """Build extensions, but let a failed build leave the install intact."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as err:  # noqa: BLE001 - any build failure falls back to Numba
            self._report(err)

    def build_extension(self, extension: Extension) -> None:
        try:
            super().build_extension(extension)
        except Exception as err:  # noqa: BLE001 - see run()
            self._report(err)

    @staticmethod
    def _report(err: Exception) -> None:
        print(
            f"warning: the C kernels were not built ({err}); Loom will use its Numba "
            "kernels instead.",
            file=sys.stderr,
        )


compile_args = (
    [] if sys.platform == "win32" else ["-O3", "-std=c11", "-fno-strict-aliasing"]
)

setup(
    ext_modules=[
        Extension(
            "loom.kernels._native",
            sources=["native/loom_kernels.c"],
            depends=["native/kernels_impl.h"],
            extra_compile_args=compile_args,
        )
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
