"""Import-time promises of the front door and the model package (checked in fresh interpreters):
names load on first use, so the CLI builds ``lmlm generate``'s flags without torch and importing
the model package opens no store module."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers")
STORES = ("lmlm.kg.embedded_store", "lmlm.kg.neo4j_store", "lmlm.api")


def loaded_after(code: str, watched: tuple[str, ...]) -> list[str]:
    """The ``watched`` modules in ``sys.modules`` after running ``code`` in a new interpreter."""
    probe = f"import sys\n{code}\nprint(','.join(m for m in {watched!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return [m for m in proc.stdout.strip().split(",") if m]


@pytest.mark.parametrize(
    "code",
    [
        "import lmlm.model.decoding_args",
        "import lmlm.model",
        "from lmlm.model import DecodingArgs",
        "from lmlm.cli import build_parser; build_parser()",
        "from lmlm import load_lmlm",
    ],
    ids=["decoding_args", "model", "DecodingArgs", "cli", "load_lmlm"],
)
def test_no_torch_until_a_model_is_needed(code):
    assert loaded_after(code, HEAVY) == []


def test_importing_the_model_package_loads_no_store():
    assert loaded_after("import lmlm.model, lmlm.model.decoding_args", STORES) == []


def test_the_front_door_loads_nothing_until_a_name_is_used():
    assert loaded_after("import lmlm", ("lmlm.kg", "lmlm.api", *HEAVY)) == []
    assert loaded_after("import lmlm; lmlm.KnowledgeGraph", ("lmlm.kg", *HEAVY)) == ["lmlm.kg"]


def test_lazy_names_resolve_and_unknown_ones_fail_clearly():
    import lmlm
    import lmlm.model

    assert lmlm.model.LMLM.__name__ == "LMLM" and "load_lmlm" in dir(lmlm)
    assert set(lmlm.model.__all__) == set(lmlm.model._EXPORTS)
    assert set(lmlm.__all__) == {*lmlm._EXPORTS, "__version__"}
    for name in lmlm.__all__:
        assert getattr(lmlm, name) is not None
    for name in lmlm.model.__all__:
        assert getattr(lmlm.model, name) is not None
    with pytest.raises(AttributeError, match="as_lmlm"):
        lmlm.model.as_lmlm  # noqa: B018
    with pytest.raises(AttributeError, match="nothing"):
        lmlm.nothing  # noqa: B018
