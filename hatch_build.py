"""Build hook: compile ``cuepipe/xml/_speedups.pyx`` (Cython, over lxml's public C API).

The extension is the compiled core of both the XML reader and the XML writer. It is optional at
run time: without it cuepipe reads and writes XML with its pure-Python code, the same results,
several times slower. The build fails loudly if it cannot compile, unless
``CUEPIPE_NO_EXTENSIONS=1`` asks for a pure-Python build (``cuepipe.xml.SPEEDUPS`` then says so).

Run ``python hatch_build.py`` to rebuild the extension in place after editing the ``.pyx``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run as a script, outside a build
    BuildHookInterface = object  # type: ignore[assignment,misc]

SOURCE = "cuepipe/xml/_speedups.pyx"


def build_in_place(root: str | os.PathLike[str]) -> list[str]:
    """Compile the extension next to its source; return the built files (relative to ``root``)."""
    import lxml
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension

    root = Path(root)
    old = Path.cwd()
    os.chdir(root)
    tmp = tempfile.TemporaryDirectory(prefix="cuepipe-build-")
    try:
        ext = Extension("cuepipe.xml._speedups", [SOURCE], include_dirs=lxml.get_include())
        modules = cythonize([ext], quiet=True, language_level=3, build_dir=os.path.join(tmp.name, "c"))
        dist = Distribution({"name": "cuepipe-speedups", "ext_modules": modules})
        cmd = dist.get_command_obj("build_ext")
        cmd.build_temp = os.path.join(tmp.name, "temp")
        cmd.build_lib = os.path.join(tmp.name, "lib")
        cmd.ensure_finalized()
        cmd.run()
        built = []
        for e in modules:
            name = cmd.get_ext_filename(e.name)
            # a new file renamed over the old one: a process that has the old one loaded keeps it intact
            staged = root / (name + ".new")
            shutil.copyfile(os.path.join(cmd.build_lib, name), staged)
            os.replace(staged, root / name)
            built.append(name)
        return built
    finally:
        os.chdir(old)
        tmp.cleanup()


class SpeedupsHook(BuildHookInterface):  # type: ignore[misc,valid-type]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel" or os.environ.get("CUEPIPE_NO_EXTENSIONS") == "1":
            return
        built = build_in_place(self.root)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":  # an editable install imports the file from the source tree
            for path in built:
                build_data["force_include"][os.path.join(self.root, path)] = path


if __name__ == "__main__":
    print("\n".join(build_in_place(Path(__file__).parent)), file=sys.stderr)
