"""Cue lists: default triggers, intent phrases behind well-known trigger ids, category cues.

Words are written as a customer would; they are lemmatized with the same pipeline as the
tickets when compiled, so "cancelled" in a cue and "cancelling" in a ticket meet at "cancel".
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from integration.models import Category, TriggerSpec

__all__ = [
    "CATEGORY_CUES",
    "DEFAULT_TRIGGERS",
    "INTENT_CUES",
    "PAIR_CUES",
    "TRIGGER_CATEGORY",
]


def _t(id: str, lemmas: str, phrases: tuple[str, ...] = ()) -> TriggerSpec:
    return TriggerSpec(id=id, lemmas=tuple(lemmas.split()), phrases=phrases)


# Used when no matrix is given; the matrix's own `triggers:` section replaces them.
DEFAULT_TRIGGERS: tuple[TriggerSpec, ...] = (
    _t(
        "churn",
        "cancel cancellation terminate termination churn",
        (
            "evaluating other vendors",
            "reviewing other vendors",
            "switch to a competitor",
            "not renew",
            "close our account",
        ),
    ),
    _t("refund", "refund chargeback reimbursement", ("money back",)),
    _t(
        "legal",
        "lawyer attorney sue lawsuit gdpr subpoena",
        ("legal action", "breach of contract", "law enforcement", "legal team"),
    ),
    _t(
        "outage",
        "outage downtime 503",
        ("is down", "not loading", "service unavailable", "site down", "bad gateway"),
    ),
    _t(
        "security",
        "breach hacked vulnerability phishing",
        ("unauthorized access", "security incident", "account compromised"),
    ),
    _t(
        "data_loss",
        "",
        (
            "data loss",
            "lost data",
            "lost all",
            "data is gone",
            "data missing",
            "deleted all",
            "wiped out",
        ),
    ),
    _t(
        "production_blocked",
        "",
        (
            "production is down",
            "blocking production",
            "production blocked",
            "cannot go live",
            "can not go live",
        ),
    ),
    _t(
        "password_reset",
        "",
        (
            "reset password",
            "reset my password",
            "forgot password",
            "forgot my password",
            "password reset",
        ),
    ),
    _t(
        "reset_failed",
        "",
        (
            "reset link not working",
            "reset link expired",
            "reset email",
            "reset does not work",
            "never received the reset",
        ),
    ),
)

# Intent without the trigger's keyword, added to a trigger of that id when the matrix has one.
INTENT_CUES: Mapping[str, tuple[str, ...]] = {
    "churn": (
        "evaluating other vendors",
        "evaluate other vendors",
        "reviewing other vendors",
        "review other vendors",
        "looking at other vendors",
        "look at alternatives",
        "looking at alternatives",
        "evaluate alternatives",
        "evaluating alternatives",
        "switch to a competitor",
        "switch to another provider",
        "switch to another vendor",
        "move to another provider",
        "moving to a competitor",
        "other options before renewal",
        "not renew",
        "not be renewing",
        "not going to renew",
        "will not renew",
        "take our business elsewhere",
        "stop using your",
        "close our account",
        "close my account",
        "end our contract",
        "end the contract",
        "leave your platform",
        "want out of the contract",
        "considering other tools",
        "before renewal",
        # Intent patterns: "a|b" is either word, "..." a short gap inside the clause.
        "look|evaluate|consider|review|explore|test|trial|compare ... other|another|alternative"
        "|different|competing tool|tools|vendor|vendors|provider|providers|platform|platforms"
        "|solution|solutions|product|products|option|options|system|systems|supplier|suppliers",
        "look|evaluate|consider|explore|review ... alternative|alternatives|competitor|competitors",
        "move|switch|migrate|transition|go ... to ... another|other|different|competing|competitor"
        " platform|tool|vendor|provider|solution|system|product|supplier|competitor",
        "account|subscription|contract|workspace be|get close|terminate|cancel|delete|end",
        # "we'll have to move to a vendor that offers it", "switching to a tool that works"
        "move|switch|migrate|go to a|an vendor|provider|platform|tool|solution|supplier|system"
        " that|which|who|with",
        "before we leave|go|switch",
        "not going to renew",
        "not planning to renew",
        # Calm churn: a cheaper rival against a deadline, a spend freeze, a new owner's system.
        "compare|comparing your platform|product|tool|software|service|app|system with|against",
        "side-by-side with",
        "side by side with",
        "half your price",
        "cheaper than you|yours",
        "which one we keep",
        "which one to keep",
        "freeze|froze|frozen ... spend|spending|budget|budgets",
        "spend|spending|budget freeze",
        "pause ... or end|cancel|close|terminate",
        "ask|asked ... to move|switch|migrate over|across",
        "ask|asked ... to move|switch|migrate to it|them",
        "prepare|plan the switch|move|migration",
        "take with us",
        "close the|this account with you",
    ),
    "refund": ("money back", "reimburse", "credit back", "pay us back", "get our money"),
    # A refund the company already granted, which the customer traces or redirects.
    "refund_granted": (
        "refund you process|issue|offer|approve|promise|confirm|grant",
        "you process|issue|offer|approve|promise|confirm|grant ... refund",
        "you offer to refund",
        "refund be|have process|issue|approve|send|confirm|grant",
    ),
    "legal": (
        "legal action",
        "our counsel",
        "breach of contract",
        "small claims",
        "take you to court",
        "right to be forgotten",
        "data subject request",
        "law-enforcement",
        "court order",
        "legal process",
        "preservation request",
        "preserve ... record|records|data|logs|information",
        "sheriff|police|prosecutor|fbi",
    ),
    "relationship": (
        "rethink|reconsider|reevaluate|re-evaluate|question ... partnership|relationship",
        "condition|conditional|prerequisite|contingent ... renewal|renew",
        "renewal ... depend|depends|hinge|hinges|contingent|conditional",
        "lose|losing|lost confidence|faith|trust",
        "feel|felt ignored",
        # An executive asks, politely, where the partnership stands.
        "state of the|our partnership|relationship",
        "where we stand",
        "where the two of us stand",
        "where thing|things be|are head|heading",
        "between our two companies",
        "what we be|are get|getting from this|you",
        "honest|frank|open|candid conversation|talk|discussion",
        "talk|speak frankly|openly|honestly|candidly",
        "someone senior",
        "your ceo|founder|coo|cto|president",
        "board have|has ask|asked",
        "our software partners",
    ),
    "plan_info": (
        "which|what plan|plans|tier|tiers|edition|editions|package|packages",
        "plan|tier|edition|enterprise|pro|starter|business|premium|basic|package ... include"
        "|includes|cover|covers|come with",
        "does|do|is|are ... include|included|cover|covered",
        "how much",
        "what ... cost|costs|price|pricing",
        "cost|price|pricing of|for|on",
        "be it prorate|prorated",
        "do we already have",
        "difference between ... plan|plans|tier|tiers",
    ),
    "admin_change": (
        "amendment",
        "contracting entity",
        "company name change",
        "update|change ... company|legal|entity name",
        "update|change ... contracting entity",
        "order form",
        # The paperwork of data protection, asked for as routine: a DPA, its sub-processors.
        "dpa",
        "data processing agreement",
        "sub-processor|sub-processors|subprocessor|subprocessors",
        "update|amend ... agreement|contract",
        "for signature",
    ),
    "blocker": (
        "can not",
        "unable to",
        "not work|working",
        "won't let",
        "keep|keeps fail|failing",
    ),
    "outage": (
        "is down",
        "are down",
        "went down",
        "goes down",
        "site down",
        "app down",
        "not loading",
        "won't load",
        "service unavailable",
        "bad gateway",
        "gateway timeout",
        "cannot reach",
        "can not reach",
        "unreachable",
        "nothing loads",
        "status page",
    ),
    "security": (
        "unauthorized access",
        "unauthorised access",
        "security incident",
        "suspicious login",
        "suspicious activity",
        "account compromised",
        "someone accessed",
        "leaked",
        "data breach",
        "exposed credentials",
        "enter|entered|typed ... password|passwords|credential|credentials",
        "credential|credentials|password|passwords be|were|got phish|phished|steal|stolen|leak"
        "|leaked|compromise|compromised",
        "sign-ins|logins|sign-in|login ... since",
        # Signs of an incident that never say "security": another customer's data on screen,
        # sign-ins from where nobody is, payments nobody made, a lookalike message, a leaver
        # still inside, a vulnerability reported by a researcher.
        "result|results|record|records|details|data|pdf|file|letter|invoice|invoices|order"
        "|orders for|of a|another different patient|person|customer|passenger|family"
        "|household|user|client|company|business",
        "result|results|record|records|details|data|pdf|file|letter|invoice|invoices|order"
        "|orders for|of another patient|person|customer|passenger|family|household|user|client"
        "|company|business",
        "see|saw|show|shows|showed|open|opened ... for a company|business|customer call",
        "that be|is not us",
        "that be|is not ours",
        "be|is not mine",
        "never hear|heard of the|this store|shop|company|merchant|site",
        "never hear|heard of them",
        "successful logins|sign-ins",
        "login|logins|sign-in|sign-ins from ... country|countries",
        "nobody|no one travel|travels",
        "we have nobody outside",
        "transaction|transactions|payment|payments|charge|charges|purchase|purchases ... i|we do"
        " not recognise|recognize",
        "not recognise|recognize ... transaction|transactions|payment|payments|charge|charges",
        "i never shop|shopped there",
        "purchase|payment|charge|order|transaction i|we do not make",
        # Money, a login or the account's address gone somewhere the customer disowns.
        "withdrawal|withdrawals|transfer|transfers|payout|payouts i|we do not make|recognise"
        "|recognize",
        "to a|an|some address|wallet|account|number i|we do not know|recognise|recognize",
        "change|changed to ... address|email|number i|we do not know|recognise|recognize",
        "i do not do any of that|this",
        "neither|none of us ... abroad",
        "look|looks like it be|have|is|was from you",
        "is this really|actually you",
        "is this you",
        "look|looks dodgy|phishy",
        "enter|entered|type|typed|give|gave ... details|login|pin|password before i|we realise"
        "|realised|realize|realized",
        "he|she|they|be|was|were still log|logged|logging|sign|signed|signing in",
        "he|she|they still have|has access",
        "proof of concept",
        "proof-of-concept",
        "stored xss",
        "cross-site scripting",
        "without escape|escaping",
        "execute|executes|run|runs in the browser",
        "disclosure contact",
        "independent|security researcher",
    ),
}

# A trigger hit nudges the category of the same meaning.
TRIGGER_CATEGORY: Mapping[str, Category] = {
    "churn": Category.CANCELLATION,
    "refund": Category.REFUND,
    "legal": Category.LEGAL,
    "outage": Category.OUTAGE,
    "security": Category.SECURITY,
    "data_loss": Category.BUG,
    "production_blocked": Category.OUTAGE,
    "password_reset": Category.ACCOUNT_ACCESS,
    "reset_failed": Category.ACCOUNT_ACCESS,
    "plan_info": Category.BILLING,
    "compliance": Category.LEGAL,
}


_GROUP = re.compile(r"\|\s*(?=[\d.]+:)")


def _w(spec: str) -> dict[str, float]:
    """Parse "weight: cue, cue | weight: cue" into {cue: weight} ("a|b" inside a cue stays)."""
    out: dict[str, float] = {}
    for group in _GROUP.split(spec):
        weight, _, cues = group.partition(":")
        for cue in cues.split(","):
            if cue.strip():
                out[cue.strip()] = float(weight)
    return out


CATEGORY_CUES: Mapping[Category, Mapping[str, float]] = {
    Category.BILLING: _w(
        "3: charged twice, double charged, overcharged, billing, invoice, wrong amount"
        "| 2.5: receipt, vat, credit card, payment method, billing address, proration, prorate"
        "| 2: charge, payment, pay, pricing, price, tax, downgrade, upgrade, seat, discount,"
        " coupon, quote, purchase order, bank transfer, annual plan, billing cycle"
        "| 2.5: bill"
        "| 1.5: cost, subscription, license, buy, purchase, fee, plan, card, renewal"
        "| 0.7: order, monthly, annual, account"
    ),
    Category.REFUND: _w(
        "4: refund, money back, chargeback, reimbursement, reimburse, rebate"
        "| 3: compensation, restitution, credit back, pay us back, compensate, reimbursable"
    ),
    Category.CANCELLATION: _w(
        "3: cancel, cancellation, terminate, termination, not renew, close our account,"
        " close my account, delete my account, delete account, account deletion,"
        " remove account, account removal, end our contract, stop using, cancellation fee,"
        " termination fee, exit fee, early exit, notice period"
        "| 2: churn, competitor, other vendors, alternatives, unsubscribe, deactivate,"
        " early termination"
        "| 3: look|evaluate|consider|review|explore ... other|alternative vendors|tools|providers"
        "|platforms|solutions, before we leave, move ... to another platform|tool|vendor|provider"
    ),
    Category.ACCOUNT_ACCESS: _w(
        "3: log in, login, sign in, password, locked out, 2fa, mfa, two-factor, sso, saml,"
        " reset link, access key, can not access, magic link, verification code"
        "| 2: okta, azure ad, credential, authenticator, username, logged out, lock,"
        " sign-up, signup, sign up, registration, register, user access, recover, retrieve"
        "| 1: access, permission, invite, role"
        "| 3: admin access, transfer ownership, ownership, no admin"
    ),
    Category.BUG: _w(
        "3: bug, steps to reproduce, stack trace, regression, crash, exception,"
        " not working, does not work, do not work, doesn't work"
        "| 2: error, broken, break, fail, failure, glitch, freeze, incorrect, wrong,"
        " unexpected, disappear, blank, stuck, timeout, time out, duplicate, reproduce,"
        " missing, not showing, not syncing, not sync, does not load"
        "| 1: webhook, sync, slow, issue, problem, weird, empty, api, dashboard, export, import"
        "| 2: drop, dropping, skip, skipping, it fixed, this fixed, even though, overlap, overlaps,"
        " only happens, cut off, misaligned"
    ),
    Category.OUTAGE: _w(
        "4: outage, downtime, is down, are down, site down, service unavailable, went down"
        "| 3: unreachable, bad gateway, gateway timeout, 503, 502, offline, nobody can,"
        " no one can, degraded, status page, all users"
        "| 1.5: down, not loading, incident, unresponsive, everyone"
    ),
    Category.HOW_TO: _w(
        "3: can you explain, what is the best way, difference between, walk me through"
        "| 2: how do i, how can i, how to, how do we, how can we, where can i, where do i,"
        " is there a way"
        "| 2: documentation, docs, guide, tutorial, instructions, step by step, figure out,"
        " wondering, where is, what does, help me understand"
        "| 1: question, configure, set up, can i, way to, explain, help me, change, update,"
        " edit, find"
    ),
    Category.FEATURE_REQUEST: _w(
        "4: feature request, would be great if, it would be great, any chance of, pls add,"
        " would be ... handy|useful|helpful|great|awesome|amazing"
        "| 3: would be nice, a wish, can we get, could we get"
        "| 4: please add, add support for, any plans to, could you add, can you add"
        "| 3: roadmap, suggestion, enhancement, would love, missing feature, ability to,"
        " we wish, i wish, feature idea, upvote"
        "| 1.5: suggest, option to, improvement, feature, idea, feedback, review, support for"
    ),
    Category.LEGAL: _w(
        "4: lawyer, attorney, sue, lawsuit, legal action, breach of contract, subpoena,"
        " law enforcement, court order, legal team, counsel"
        "| 3: gdpr, dpa, data processing agreement, right to be forgotten, data subject,"
        " dsar, ccpa, hipaa, court, legal, regulator, liability"
        "| 2: compliance, soc 2, soc2, terms of service, privacy policy, personal data,"
        " contract dispute, dispute, contract, amendment, contracting entity, msa, order form"
    ),
    Category.SECURITY: _w(
        "4: security incident, unauthorized access, unauthorised access, hack, hacked,"
        " vulnerability, phishing, data breach, ransomware, malware, compromise, compromised"
        "| 3: breach, suspicious, leak, leaked, exposed, xss, sql injection, cve,"
        " penetration test, pen test, security"
        "| 1.5: audit log, api key, impersonate, spam, ip allowlist, encryption"
        "| 3: phishing email, credentials, sign-ins, pretending to be"
    ),
    Category.ONBOARDING: _w(
        "4: onboarding, onboard, getting started, kickoff, just signed up"
        "| 2.5: rollout, roll out, go-live, checklist, new clinicians|users|employees ... start"
        "| 2.5: get started, new account, create account, create an account, open account,"
        " new to, trial, implementation, migrate, migration, walkthrough, training,"
        " invite my team, import our data, setup, set up our"
        "| 1.5: set up, install, connect, integration, first time, demo"
    ),
    Category.OTHER: _w(
        "3: talk to a human, speak to a human, real person, talk to someone, speak to someone,"
        " partner program, reseller, affiliate program, sales team, stop calling, do-not-call,"
        " feel ignored, account team, account manager, no response,"
        " human agent, file a complaint, make a complaint, lodge a complaint"
        "| 2: customer service, customer support, phone number, opening hours, talk to,"
        " speak to, complaint, claim"
    ),
}
# (verbs, objects, category, weight): a verb with its object a few words later, so
# "close the free account" and "reset my user PIN" count without listing every adjective.
PAIR_CUES: tuple[tuple[frozenset[str], frozenset[str], Category, float], ...] = tuple(
    (frozenset(v.split()), frozenset(o.split()), c, w)
    for v, o, c, w in (
        (
            "create open register setup",
            "account workspace profile organization org tenant",
            Category.ONBOARDING,
            3.0,
        ),
        (
            "close delete remove deactivate terminate",
            "account workspace profile organization",
            Category.CANCELLATION,
            3.0,
        ),
        (
            "reset recover restore retrieve forget change",
            "password pin pass passcode passphrase credential 2fa mfa",
            Category.ACCOUNT_ACCESS,
            3.0,
        ),
        (
            "download get find see send resend",
            "invoice bill receipt statement",
            Category.BILLING,
            2.0,
        ),
        (
            "update change replace add remove",
            "card payment seat license billing",
            Category.BILLING,
            2.0,
        ),
        (
            "upgrade downgrade switch change move",
            "plan tier edition package",
            Category.BILLING,
            2.0,
        ),
        ("add invite remove", "user member teammate colleague", Category.HOW_TO, 1.5),
    )
)
