"""Compiled parts of the packet/flow engine: Cython extensions, built at install time.

Everything else (metadata, dependencies) is in pyproject.toml. The extensions are optional: a
device without a C compiler still installs (the agent needs none of them); the sensor commands
then say in one line what is missing (``hedgerow.native``).
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

MODULES = [
    "hedgerow.capture._walk",
    "hedgerow.capture._decode",
    "hedgerow.flows._meter",
    "hedgerow.flows._derive",
    "hedgerow.flows._conn_tsv",
    "hedgerow.flows._service",
    "hedgerow.flows._text",
    "hedgerow.sense._ring",
]

# -fwrapv: signed overflow wraps (as the arithmetic on hostile lengths and times expects).
extensions = cythonize(
    [
        Extension(
            name,
            ["src/" + name.replace(".", "/") + ".pyx"],
            extra_compile_args=["-O3", "-fwrapv"],
        )
        for name in MODULES
    ],
    compiler_directives={"language_level": 3},
)
for extension in extensions:  # cythonize drops the flag: set it on what it returns
    extension.optional = True

setup(ext_modules=extensions)
