"""Keyword triggers: inflection, phrases, negation, resolved events and other senses."""

from __future__ import annotations

import pytest

from integration.detect import Detector
from integration.detect.senses import is_hypothetical
from integration.detect.text import reader

from .conftest import ticket


@pytest.mark.parametrize(
    "text",
    [
        "I do NOT want to cancel",
        "I do not want to cancel our plan, just asking about invoices.",
        "no refund needed",
        "A refund is not necessary, thanks.",
        "we are not going to sue",
        "don't cancel anything",
        "Please DON'T cancel anything on our side.",
        "There is no need for a refund.",
        "after last month's outage was fixed, everything works great",
        "the outage last week is resolved",
        "The outage yesterday was annoying but the dashboard is fine.",
        "cancel a scheduled report",
        "How do I cancel the export job?",
        "Please cancel the invitation I sent to bob@example.com",
        "The scheduled report was cancelled by mistake, can you restore it?",
        "Can you cancel my newsletter subscription?",
        "Hi, can we cancel tomorrow's QBR and move it to next week?",
        "pls unsubscribe me from the product newsletter, i still want the billing emails",
        "Can I cancel just the return leg of my open return ticket?",
        "Where is the churn rate dashboard?",
        "The refund button in the admin is misaligned.",
    ],
)
def test_negated_resolved_or_other_sense_does_not_trigger(detector: Detector, text: str) -> None:
    signals = detector.detect(ticket(text))
    assert signals.trigger_ids == (), signals.triggers


@pytest.mark.parametrize(
    ("text", "trigger", "match"),
    [
        ("We cancelled the subscription yesterday.", "churn", "cancelled"),
        ("We are cancelling our contract at the end of the month.", "churn", "cancelling"),
        ("She cancels the account today", "churn", "cancels"),
        ("Both refunds are still missing.", "refund", "refunds"),
        ("We were refunded only half.", "refund", "refunded"),
        ("They sued their last vendor over this.", "legal", "sued"),
        ("Our lawyers are reviewing the agreement.", "legal", "lawyers"),
        ("I will file a CHARGEBACK with my bank.", "refund", "CHARGEBACK"),
        ("I can't cancel my subscription, the button does nothing", "churn", "cancel"),
        ("Why haven't you processed my refund?", "refund", "refund"),
        ("Your app is down for our whole team", "outage", "is down"),
        ("The outage is still not resolved.", "outage", "outage"),
        ("We are evaluating other vendors.", "churn", "evaluating other vendors"),
        ("We will not renew in March.", "churn", "will not renew"),
    ],
)
def test_inflections_and_phrases_trigger(
    detector: Detector, text: str, trigger: str, match: str
) -> None:
    hits = [h for h in detector.detect(ticket(text)).triggers if h.trigger == trigger]
    assert [h.match for h in hits] == [match]
    assert hits[0].sentence.startswith(text.split(",")[0][:15])
    assert hits[0].message_id == "m1"


def test_implicit_churn_without_the_keyword(detector: Detector) -> None:
    signals = detector.detect(ticket("Honestly we're reviewing other vendors before renewal."))
    assert signals.trigger_ids == ("churn",)


def test_longer_phrase_of_another_trigger_wins(detector: Detector) -> None:
    signals = detector.detect(ticket("This is a breach of contract and our lawyer knows it."))
    assert signals.trigger_ids == ("legal",)
    assert [h.match for h in signals.triggers] == ["breach of contract", "lawyer"]


def test_subject_is_read_and_quoted_history_is_not(detector: Detector) -> None:
    body = (
        "Thanks, all good now.\n\nOn Tue, Nov 3, 2026 at 9:00 AM Support <s@x.com> wrote:\n"
        "> We will process the refund today\n> Your lawyer can call us"
    )
    signals = detector.detect(ticket(body, subject="Data export"))
    assert signals.trigger_ids == ()
    subject_hit = detector.detect(ticket("see subject", subject="Site is down"))
    assert [(h.trigger, h.message_id) for h in subject_hit.triggers] == [("outage", None)]


def test_discarded_matches_are_explained(detector: Detector) -> None:
    signals = detector.detect(ticket("I do NOT want to cancel"))
    ignored = [e.text for e in signals.evidence if e.kind == "trigger_ignored"]
    assert ignored and "negated" in ignored[0]


@pytest.mark.parametrize(
    "text",
    [
        "If your EU region went down, would our workspace fail over to another region?",
        "If your EU-West region went down, would our data be served from the US?",
        "For our runbook: if the login page were ever unreachable, what should staff do?",
        "What happens to our tickets if we ever cancel our account, do the QR codes stop?",
        "In case your service has an outage during our launch, how would we be told?",
        "If you ever had a data breach affecting our records, how quickly would you notify us?",
    ],
)
def test_a_question_about_a_supposed_case_does_not_trigger(
    detector: Detector, text: str
) -> None:
    signals = detector.detect(ticket(text))
    assert signals.trigger_ids == (), signals.triggers
    assert any("hypothetical" in e.text for e in signals.evidence if e.kind == "trigger_ignored")


@pytest.mark.parametrize(
    "text",
    [
        # The condition is what is happening now, or a courtesy: not a supposed case.
        "If the outage is still going on tomorrow, will you credit us?",
        "If you don't fix this by Friday, will you refund the month?",
        "If it went down again yesterday, why did nobody tell us?",
        "If possible, can you refund the duplicate charge?",
        # "if" after a verb of finding out means "whether".
        "Can you check if our account was hacked?",
        # A statement, not a question.
        "If your region goes down, we lose a day of bookings.",
    ],
)
def test_a_real_condition_whether_or_a_statement_is_not_supposed(text: str) -> None:
    doc = reader().read(text)
    assert not any(is_hypothetical(doc, i) for i in range(len(doc)))


def test_whether_still_triggers(detector: Detector) -> None:
    signals = detector.detect(ticket("Can you check if our account was hacked? We see logins "
                                     "from countries we don't operate in."))
    assert "security" in signals.trigger_ids


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ("Our card terminal provider (not you) is having an outage. Can your tills take cash?",
         "outage"),
        ("The county's portal has been down for a week (their problem, not yours). Can we save "
         "our submissions as files meanwhile?", "outage"),
        ("My sister's email got hacked last month, so how do I switch on two-step login?",
         "security"),
        ("I think I used the same password on another site that was hacked. How do I change it?",
         "security"),
        ("One of our players has sent us a GDPR deletion request. How do we delete their data?",
         "compliance"),
        ("A former patient has asked our practice to erase her records under GDPR. How?",
         "compliance"),
        ("How do I refund just one item from an order to my customer?", "refund"),
        # Where the claim comes from, named after it or around it.
        ("We got an erasure request under GDPR from one of our tenants. Which screen deletes "
         "a tenant's file?", "compliance"),
        ("Last week a data subject access request from a pupil reached our office; how do we "
         "print his record?", "compliance"),
        # Refunding is the customer's own act: asked how, or done to their buyer.
        ("A diner paid twice by mistake. How can we refund him from the till app?", "refund"),
        ("Refunding our guest for a cancelled class: which button is it?", "refund"),
    ],
)
def test_another_company_or_the_customers_own_end_user_does_not_trigger(
    full: Detector, rules_only: Detector, text: str, trigger: str
) -> None:
    signals = full.detect(ticket(text))
    assert trigger not in signals.trigger_ids, signals.triggers
    assert any("is someone else's" in e.text for e in signals.evidence
               if e.kind == "trigger_ignored"), signals.evidence
    assert trigger not in rules_only.detect(ticket(text)).trigger_ids, "the rules decide it"


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        # Our own system named beside theirs: still ours.
        ("Our supplier says your API is down for every store since 9am.", "outage"),
        # Moving to another provider is churn, not someone else's.
        ("We've decided to move our payments to another provider next quarter.", "churn"),
        # Our users' accounts on the vendor's platform: a live incident of the customer's.
        ("Our users' accounts were hacked through your login page this morning.", "security"),
        ("We demand a refund for the three days your booking page was down.", "refund"),
        # Asking how to get one's own money back is still a refund asked of us.
        ("How do I get a refund for the two months you billed us after we closed?", "refund"),
        ("Please refund us the duplicate charge from your side, not from our customers.",
         "refund"),
    ],
)
def test_the_customers_own_incident_or_claim_still_triggers(
    full: Detector, text: str, trigger: str
) -> None:
    assert trigger in full.detect(ticket(text)).trigger_ids


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ("Hello, before we sign: what's the minimum contract term on the Team plan, and how much "
         "notice do we need if we don't continue?", "contract_dispute"),
        ("hi, before we buy: if we pay for a year and it doesn't suit us, do we get money back?",
         "refund"),
    ],
)
def test_a_question_before_buying_does_not_trigger(
    full: Detector, text: str, trigger: str
) -> None:
    signals = full.detect(ticket(text))
    assert trigger not in signals.trigger_ids, signals.triggers


def test_a_mistyped_password_is_a_lockout_not_stolen_credentials(full: Detector) -> None:
    locked = full.detect(ticket("One of our juniors typed his password wrong a few times and got "
                                "the 'too many attempts' message. How long does the lock last?"))
    assert "security" not in locked.trigger_ids
    phished = full.detect(ticket("Our bookkeeper typed her password into a fake login page this "
                                 "morning."))
    assert "security" in phished.trigger_ids


@pytest.mark.parametrize(
    "text",
    [
        "When I open Reports I see orders for a company called Fernleaf Bakery. We have never "
        "heard of them.",
        "The results letter you emailed me includes the details of another patient.",
        "Our sign-in history shows successful logins from Peru and Ghana overnight. Nobody "
        "travels here.",
        "There are two payments on my card I don't recognise, from a shop in Riga.",
        "I got an email that looks like it is from you asking me to re-enter my bank details. "
        "Is this really you?",
        "We offboarded Kim on 3 May but the audit log says she was still logged in on 9 May.",
        "A text from 'your bank' had a link and I gave my card details before I realised.",
        "I'm a security researcher: the bio field runs scripts in the browser of every visitor. "
        "Proof of concept attached; where is your disclosure contact?",
        "My balance dropped overnight: a transfer I didn't make went out at 4am.",
        "Yesterday 300 EUR left my wallet to an account I don't recognise.",
        "Someone changed my login email to an address I don't know and now I'm locked out.",
        "My profile posted ads to all my followers. I did not do any of that.",
        "The session list shows my account used from Lima. None of us has ever been abroad.",
    ],
)
def test_a_security_incident_without_the_word_triggers(full: Detector, text: str) -> None:
    assert "security" in full.detect(ticket(text)).trigger_ids


@pytest.mark.parametrize(
    "text",
    [
        "Where can I see my backup codes? I can still log in fine, I just never saved them.",
        "Can I book a second seat for a family member on the same order?",
        "The reminder emails from you look great on mobile now, thanks!",
        "How do I export the invoices of our company for the auditor?",
        "I made a transfer to a new supplier yesterday; when does it arrive?",
        "How do I change the invoice email to our new accounts address?",
        "We know the address was wrong on the order; can you change it to the new one?",
        "We don't do any of that manual matching any more since the bank feed works.",
    ],
)
def test_everyday_words_near_those_signs_do_not_trigger_security(
    full: Detector, text: str
) -> None:
    assert "security" not in full.detect(ticket(text)).trigger_ids


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ("We're comparing your product with Quillstack, which is about a third cheaper. We "
         "decide on the 30th. Could you send your API limits?", "churn"),
        ("Finance has frozen all software spend from January, so we must pause our account or "
         "end it. What happens to our data in each case?", "churn"),
        ("Our new owners run everything on Ledgerly and have asked all sites to move over to it "
         "by March. How do we export our records?", "churn"),
        ("Before budget season I'd like an honest conversation with someone senior about the "
         "state of our partnership.", "relationship"),
        ("The board has asked me for a view on our software partners. Could you and your CEO "
         "find thirty minutes?", "relationship"),
    ],
)
def test_churn_and_a_relationship_at_stake_said_calmly_trigger(
    full: Detector, text: str, trigger: str
) -> None:
    assert trigger in full.detect(ticket(text)).trigger_ids


@pytest.mark.parametrize(
    "text",
    [
        "We compared the report with our spreadsheet and the totals match, thanks.",
        "Our budget for next year includes ten more seats; can you send a quote?",
        "How do I pause the spring campaign until the new artwork is ready?",
        "Could we get a call to walk through the new reporting module?",
    ],
)
def test_everyday_budget_comparison_and_calls_are_not_churn(full: Detector, text: str) -> None:
    ids = full.detect(ticket(text)).trigger_ids
    assert "churn" not in ids and "relationship" not in ids, ids


@pytest.mark.parametrize(
    ("text", "trigger", "why"),
    [
        ("my knees will sue you if the seats are like last time 😂 how much legroom is there?",
         "legal", "is a joke"),
        ("If the export isn't done by Friday I'm calling my lawyer (kidding!!). How long does it "
         "take?", "legal", "is a joke"),
        ("Add tide times to the calendar or I'm cancelling summer haha. It would save us time.",
         "churn", "is a joke"),
        ("How do I add a custom field called 'Lawsuit reference' to our job records?", "legal",
         "is the name of a thing"),
        ("The billing page still says \"payment disputed\" and won't let us add a user.",
         "contract_dispute", "is the name of a thing"),
        ("Now that the dispute over the June invoices was settled, please change our billing "
         "contact.", "contract_dispute", "resolved"),
        ("The chargeback our bank raised by mistake was withdrawn on the 3rd.", "legal",
         "resolved"),
    ],
)
def test_a_joke_a_name_in_quotes_or_a_settled_dispute_does_not_trigger(
    full: Detector, text: str, trigger: str, why: str
) -> None:
    signals = full.detect(ticket(text))
    assert trigger not in signals.trigger_ids, signals.triggers
    assert any(why in e.text for e in signals.evidence if e.kind == "trigger_ignored")


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ("I'm not joking: if this isn't fixed by Friday our lawyer will be in touch.", "legal"),
        ("We will dispute every invoice until the outage credits are applied.",
         "contract_dispute"),
        ("Our site has been down all morning 😡 and we're cancelling our contract.", "churn"),
    ],
)
def test_a_threat_said_in_earnest_still_triggers(full: Detector, text: str, trigger: str) -> None:
    assert trigger in full.detect(ticket(text)).trigger_ids
