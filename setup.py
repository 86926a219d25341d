"""Build step that pyproject.toml cannot express: compile the translation catalogs (.po → .mo)
into the wheel, so an installed Consult speaks Khmer without compiled files kept in git."""

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


def _catalogs_module():
    # Loaded by path: the build environment has Babel but not Consult's dependencies.
    path = Path(__file__).parent / "consult" / "core" / "catalogs.py"
    spec = importlib.util.spec_from_file_location("_consult_catalogs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildWithCatalogs(build_py):
    def run(self):
        super().run()
        if not self.editable_mode:  # a checkout compiles its own on start-up
            _catalogs_module().compile_catalogs(Path(self.build_lib) / "consult" / "translations")


setup(cmdclass={"build_py": BuildWithCatalogs})
