"""The build's one extra step: compile the Babel catalogs into the built package.

A wheel (or any build) carries `web/locale/<lang>/LC_MESSAGES/messages.mo` beside each `.po`, so an
installed Retorno reads compiled catalogs and never writes into its own package at run time. A source
checkout has no `.mo` (they are not kept in git); there `web.i18n` compiles the `.po` in memory.
Everything else about the package is declared in pyproject.toml.
"""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithCatalogs(build_py):  # type: ignore[misc]
    """build_py, then each copied messages.po compiled to the messages.mo beside it."""

    def run(self) -> None:
        super().run()
        for po_path in sorted(Path(self.build_lib, "retorno", "web", "locale").glob("*/LC_MESSAGES/*.po")):
            with po_path.open("rb") as source:
                catalog = read_po(source, locale=po_path.parent.parent.name)
            with po_path.with_suffix(".mo").open("wb") as compiled:
                write_mo(compiled, catalog)


setup(cmdclass={"build_py": BuildPyWithCatalogs})
