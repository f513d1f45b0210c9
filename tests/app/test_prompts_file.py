"""The app's prompts file: read through the one JSONL reader, a bad line named by number."""

from __future__ import annotations

import pytest

from lmlm.app.regenerate import load_prompts
from lmlm.kg.errors import InputFormatError


def test_prompts_are_read_and_bad_lines_named(tmp_path):
    good = tmp_path / "prompts.jsonl"
    good.write_text('{"prompt": "Ko was born in", "person": "Ko"}\n\n{"prompt": "Ada works"}\n')
    assert [r["prompt"] for r in load_prompts(str(good))] == ["Ko was born in", "Ada works"]
    assert load_prompts(None) == []
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": "fine"}\n{"prompt": \n')
    with pytest.raises(InputFormatError, match=r"broken\.jsonl.*line 2.*invalid JSON"):
        load_prompts(str(broken))
    no_prompt = tmp_path / "no_prompt.jsonl"
    no_prompt.write_text('{"prompt": "fine"}\n{"text": "no prompt"}\n')
    with pytest.raises(ValueError, match=r"no_prompt\.jsonl: line 2: a record needs a string 'prompt'"):
        load_prompts(str(no_prompt))
