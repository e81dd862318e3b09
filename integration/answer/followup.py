"""After an automatic answer: did the customer write back for more, or only to thank us?

Anything but a plain thank-you goes to a person: a wrong guess here costs a customer who is
left alone with an answer that did not help, while the opposite costs an agent one glance.
"""

from __future__ import annotations

import re
from datetime import datetime

from integration.models import Message, Ticket

__all__ = ["reply_after", "settled"]

_THANKS = re.compile(
    r"\b(thanks?|thank you|thx|ty|cheers|appreciated?|perfect|great|awesome|brilliant"
    r"|(that|it|this) (worked|works|did it|helped|fixed it|solved it)|all (good|sorted|set)"
    r"|sorted|solved|resolved|got it|found it)\b",
    re.IGNORECASE,
)
# Words that turn a thank-you into "thanks, but": the answer did not settle it.
_STILL = re.compile(
    r"\b(not|no|never|nothing|still|but|however|though|yet|again|doesn'?t|didn'?t|isn'?t"
    r"|wasn'?t|won'?t|can'?t|cannot|couldn'?t|don'?t|unfortunately|wrong|same (issue|problem"
    r"|error)|error|fail(s|ed|ing)?|broken|help me|need)\b|\?|n't\b",
    re.IGNORECASE,
)
_POLITE = re.compile(r"\bno (worries|problem)\b", re.IGNORECASE)
# A thank-you is short; a long message after an answer is a new question in polite clothes.
_SHORT = 30


def settled(message: Message) -> bool:
    """Whether ``message`` only thanks us or says the answer worked."""
    words = message.body.split()
    text = _POLITE.sub("", " ".join(words))
    return (bool(words) and len(words) <= _SHORT and _THANKS.search(text) is not None
            and _STILL.search(text) is None)


def reply_after(ticket: Ticket, answered_at: datetime) -> Message | None:
    """The customer's first message after the answer that asks for more, or None."""
    for message in ticket.customer_messages:
        if message.created_at > answered_at and not settled(message):
            return message
    return None
