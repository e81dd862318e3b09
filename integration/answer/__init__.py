"""Answering Tier-1 questions from the team's own help-centre articles and macros.

Pure, like the decision core: documents come in as ``KnowledgeDoc`` values (the store and the
helpdesk adapters fill them), a ticket comes in as ``Ticket``, and what comes out is an
``Answer``: the document that answers it with a calibrated confidence and the reply to send, or
silence with the reason and the best suggestions for the agent.
"""

from integration.answer.types import Answer, DocKind, KnowledgeDoc, Suggestion

__all__ = ["Answer", "DocKind", "KnowledgeDoc", "Suggestion"]
