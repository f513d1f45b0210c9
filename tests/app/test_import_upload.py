"""An uploaded facts file is read like a file on disk, and its errors name the file as uploaded."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from lmlm.app.import_view import read_upload
from lmlm.kg.errors import InputFormatError


def _upload(name: str, text: str):
    return SimpleNamespace(name=name, getvalue=lambda: text.encode())


def test_an_upload_gives_its_triples_with_progress():
    seen: list[int] = []
    rows = "".join(f'{{"entity": "E{i}", "relation": "r", "value": "v"}}\n' for i in range(2500))
    triples, _ = read_upload(_upload("facts.jsonl", rows), None, True, seen.append)
    assert len(triples) == 2500 and seen == [1000, 2000]


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("facts.csv", "entity,relation,value\nKo,Team,Gladbach\nKo,Team\n", "line 3"),
        ("facts.jsonl", '{"entity": "Ko", "relation": "Team", "value": "X"}\n{not json\n', "line 2"),
    ],
)
def test_a_bad_upload_names_the_uploaded_file_and_line_not_a_temporary_path(name, text, where):
    with pytest.raises(InputFormatError) as raised:
        read_upload(_upload(name, text), None, True, lambda _n: None)
    message = str(raised.value)
    assert message.startswith(f"{name}: {where}") and "lmlm-import-" not in message
