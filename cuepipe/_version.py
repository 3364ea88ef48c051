"""The one place the package version is written.

The build reads it from here (``[tool.hatch.version]`` in pyproject.toml) and modules that need it
import this module, not the package root, so nothing depends on the order ``cuepipe/__init__.py``
imports things in.
"""

__version__ = "0.1.0"
