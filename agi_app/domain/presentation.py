"""The caller ID a customer sees when called back, and on the informative call.

By default the number they called (the DID the request recorded): call screening answers an
unknown number less often, and the customer knows the number they dialed. A dialed number
is presented only if the destination policy would let the PBX call it: the DID arrives in
the caller's INVITE, so a caller could otherwise make the PBX present any number (premium,
foreign, an emergency service) to whomever it calls back. Else the queue's own caller ID
(queue_caller_ids), else outbound_caller_id.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from agi_app.domain.errors import BlockedNumber, InvalidNumber
from agi_app.domain.numbers import NumberRules, normalize_number
from agi_app.domain.request import CallbackRequest

CALLER_ID = r'^("[^"\r\n]*" )?<\+?[0-9]+>$'  # "Name" <number>, as the settings take them
_NAME = re.compile(r'^"([^"]*)" ')


@dataclass(frozen=True)
class Presentation:
    default: str  # outbound_caller_id
    per_queue: Mapping[str, str]  # queue_caller_ids
    dialed: bool = True  # present_dialed_number

    def caller_id(self, request: CallbackRequest, rules: NumberRules) -> str:
        fallback = self.per_queue.get(request.queue, self.default)
        if not self.dialed or not request.dialed_number:
            return fallback
        try:
            number = normalize_number(request.dialed_number, rules)
        except (InvalidNumber, BlockedNumber):
            return fallback  # a short internal number, or one the policy refuses
        name = _NAME.match(fallback)
        return f'"{name[1]}" <{number}>' if name else f"<{number}>"
