"""Answering Tier-1 questions from the team's own help-centre articles and macros.

Pure, like the decision core: documents come in as ``KnowledgeDoc`` values (the store and the
helpdesk adapters fill them), a ticket comes in as ``Ticket``, and what comes out is an
``Answer``: the document that answers it with a calibrated confidence and the reply to send, or
silence with the reason and the best suggestions for the agent.

- ``KnowledgeIndex.build(docs)``: the searchable index of one workspace's knowledge (picklable;
  rebuild it when the knowledge changes);
- ``Answerer(index).answer(ticket, silence=reason)``: the answer, or silence and why;
- ``gate(tier=..., signals=..., account=..., text=...)``: the reason triage gives to stay
  silent (not Tier 1, upset, urgent, account at risk, an action asked for), or None;
- ``integration.answer.batch``: many tickets at once, triaged, gated and answered, as
  ``escalade answer`` does; ``integration.answer.training`` trains the confidence model.
"""

from integration.answer.answerer import Answerer
from integration.answer.gate import gate, refusal
from integration.answer.index import KnowledgeIndex
from integration.answer.types import Answer, DocKind, KnowledgeDoc, Suggestion

__all__ = ["Answer", "Answerer", "DocKind", "KnowledgeDoc", "KnowledgeIndex", "Suggestion",
           "gate", "refusal"]
