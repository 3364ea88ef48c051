"""The package version, in a module of its own: submodules that need it (the User-Agent header, the
journal's format stamp) import it from here instead of from the package root, which would make them
depend on everything ``cuepipe/__init__.py`` imports."""

__version__ = "0.1.0"
