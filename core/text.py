"""Free text that people and devices send (an officer's note, a name): one line of
printable characters.

Control characters -- C0 (U+0000-U+001F, so also tab and line breaks: a note is one
line), DEL (U+007F) and C1 (U+0080-U+009F) -- are refused where the text enters
floodwatch, with a reason that names them, rather than carried into the JSON, CAP XML
and line protocol that every alert record is written in.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")


def refuse_control_characters(text: str) -> str:
    found = CONTROL_CHARACTERS.search(text)
    if found is not None:
        raise ValueError(f"control character U+{ord(found.group()):04X} at position "
                         f"{found.start()}: only one line of printable text is accepted")
    return text


OneLineText = Annotated[str, AfterValidator(refuse_control_characters)]
