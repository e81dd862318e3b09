"""Write the reader's training data: trigger words live or only mentioned, intent without the word.

    python -m integration.detect.training.reader_data [--out FILE] [--count N] [--seed N]

Every example is made from templates with many slots (products, industries, people, times,
writing styles), in contrastive pairs: the same trigger word said as a live demand and as
something past, negated, retracted, hypothetical, a feature's name, a joke, someone else's,
quoted, a test, a policy question or routine paperwork. Intent examples are single sentences
that state churn, a relationship at stake, a security incident, data loss or a platform-wide
failure without the keyword, beside ordinary sentences that do not. One line per example:

    {"kind": "hit", "messages": [...], "trigger": "refund", "label": "past", "split": "train"}
    {"kind": "intent", "sentence": "...", "label": "churn", "split": "valid"}

Nothing here is copied from the evaluation sets; a tenth of the templates' fills is kept apart
(``split: valid``) for the model's own validation. The same seed writes the same file.
"""

from __future__ import annotations

import argparse
import json
import random
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from integration.detect.training.reader_written import (
    MORE_INTENTS,
    MORE_LIVE,
    MORE_MENTIONED,
    MORE_RETRACTIONS,
)

__all__ = ["DATA_PATH", "generate", "main"]

DATA_PATH = Path(__file__).resolve().parents[1] / "data" / "reader_examples.jsonl"

Fill = dict[str, str]
Template = str

PRODUCTS = [
    "the dashboard",
    "the mobile app",
    "the API",
    "the reporting module",
    "checkout",
    "the booking portal",
    "the scheduler",
    "the CRM sync",
    "the invoicing tool",
    "the web app",
    "the analytics workspace",
    "the scanner app",
    "the patient portal",
    "the course player",
    "the POS terminal",
    "the payroll run",
    "the admin console",
    "the help center widget",
    "the data export",
    "the SFTP feed",
    "the shipping labels page",
    "the loyalty app",
    "the partner portal",
    "the timesheet app",
    "the billing page",
    "the webhook endpoint",
    "the chat widget",
    "the mapping tool",
    "the inventory sync",
    "the SSO login",
]
COMPANIES = [
    "Northwind",
    "Bluefin Labs",
    "Harbor Clinics",
    "Pinecrest Hotels",
    "Orbit Freight",
    "Maple Credit Union",
    "Quill Legal",
    "Sundial Retail",
    "Kite Logistics",
    "Ember Foods",
    "Atlas Learning",
    "Cobalt Energy",
    "Lumen Dental",
    "Tandem Travel",
    "Fjord Media",
    "Granary Coop",
    "Helix Bio",
    "Juniper Schools",
    "Marlin Telecom",
    "Nimbus Games",
]
COMPETITORS = [
    "Zentrix",
    "a cheaper vendor",
    "another provider",
    "Tallyo",
    "a competitor",
    "Brightdesk",
    "a rival tool",
    "Quotient",
    "an in-house build",
    "a local supplier",
    "Cardiff Systems",
]
NAMES = [
    "Dana",
    "Priya",
    "Tomasz",
    "Aiko",
    "Luis",
    "Fatima",
    "Jonas",
    "Mei",
    "Kwame",
    "Sara",
    "Oleksandr",
    "Ines",
    "Raj",
    "Chloe",
    "Mateo",
]
PAST = [
    "last month",
    "back in June",
    "in March",
    "two weeks ago",
    "last year",
    "in the spring",
    "a while ago",
    "last quarter",
    "on Tuesday",
    "in 2024",
    "earlier this year",
]
SOON = [
    "by Friday",
    "before the end of the month",
    "next week",
    "by the 30th",
    "before our renewal on the 1st",
    "within 14 days",
    "by end of quarter",
    "tomorrow",
]
AMOUNTS = [
    "$49",
    "€120",
    "£300",
    "$1,250",
    "the annual fee",
    "two months of fees",
    "$89.99",
    "the setup fee",
    "€2,400",
    "the duplicate payment",
]
THINGS = [
    "order",
    "invoice",
    "subscription",
    "booking",
    "plan",
    "contract",
    "license",
    "membership",
    "renewal",
    "account",
]

# A new question after a sentence about something settled.
ASKS = [
    "How do I add a new admin?",
    "Where do I download last year's invoices?",
    "Can you help us set up SSO?",
    "How long until it shows on the card?",
    "Can I change the billing email?",
    "Is there a mobile app?",
    "How many days until it shows on the statement?",
    "Could you resend the receipt?",
]

# Trigger families: the words that fire the trigger, and what a live and a mentioned use say.
KEYWORDS: dict[str, list[str]] = {
    "refund": [
        "a refund",
        "the refund",
        "a full refund",
        "the refund for the {thing}",
        "our money back",
        "a refund of {amount}",
        "reimbursement",
        "a partial refund",
        "my money back",
    ],
    "churn": [
        "cancel our subscription",
        "cancel my subscription",
        "cancel my membership",
        "cancel my account",
        "cancel the account",
        "terminate the contract",
        "cancel our plan",
        "end our contract",
        "close our account",
        "cancel everything",
        "terminate our agreement",
        "cancel the service",
        "end the contract",
    ],
    "legal": [
        "our lawyer",
        "legal action",
        "an attorney",
        "sue you",
        "our legal team",
        "a lawsuit",
        "small claims court",
        "litigation",
        "court action",
    ],
    "chargeback": ["a chargeback", "file a chargeback", "dispute the charge with the bank"],
    "dispute": ["a dispute", "the dispute", "a formal dispute"],
    "outage": [
        "an outage",
        "is down",
        "downtime",
        "not loading",
        "completely unavailable",
        "the site is down",
        "503 service unavailable",
    ],
    "security": [
        "a data breach",
        "unauthorized access",
        "phishing",
        "a security incident",
        "hacked",
        "account compromised",
        "suspicious login",
        "leaked credentials",
    ],
    "compliance": [
        "a GDPR request",
        "a data subject request",
        "the right to be forgotten",
        "a GDPR deletion",
    ],
}

# Live templates: the customer's own, current, meant.
LIVE: dict[str, list[Template]] = {
    "refund": [
        "I want {kw} for the {thing}, you charged us twice.",
        "can i get {kw}?",
        "Could I get {kw} please? The {thing} was cancelled by you.",
        "Is {kw} possible? The {thing} never arrived.",
        "When will I get {kw}? It has been three weeks.",
        "{kw}?? you charged me {amount} for nothing",
        "I'd like {kw} for the unused months, thanks.",
        "hello, {kw} for the {thing} please, it was a mistake purchase",
        "Please process {kw} today, we never used {product}.",
        "We are requesting {kw} for {amount} that was taken without our consent.",
        "{product} has not worked for three weeks and we expect {kw}.",
        "give me {kw} now",
        "i need {kw} asap for the {thing} i cancelled",
        "Kindly do {kw} of {amount}, the service was not delivered to us.",
        "Either fix it {soon} or we want {kw}.",
        "Still waiting on {kw} you owe us, this is the third time I ask.",
        "We were billed for 40 seats but use 12, so we are asking for {kw} of the difference.",
    ],
    "churn": [
        "We want to {kw} effective immediately.",
        "can you {kw} today?",
        "How can I {kw}? We no longer need it.",
        "Do not renew our contract.",
        "We will not renew when the term ends.",
        "please don't renew us next year",
        "Is there a fee if we {kw} now? We are leaving.",
        # Unable to leave is still leaving.
        "I've tried to {kw} three times and the page just errors.",
        "it won't let me {kw}, fix this",
        "Why is there no way to {kw} online? I want out.",
        "Please {kw} before the next billing date.",
        "Please {kw}, we are done.",
        "After this week we have decided to {kw}.",
        "how do i {kw} right now",
        "If this is not fixed {soon} we will {kw}.",
        "Our board approved it: we will {kw} at the end of this term.",
        "I am writing to formally {kw} with {company}.",
        "We need to {kw}, nobody on the team uses {product} anymore.",
        "pls {kw} today, no more charges",
        "We would like to {kw} and get confirmation in writing.",
    ],
    "legal": [
        "If we do not hear back {soon}, {kw} will be in touch.",
        "Do I need to get {kw} involved to get an answer?",
        "Shall I hand this to {kw} then?",
        # A lawsuit against an earlier vendor over the same thing is a warning, not history.
        "We sued our last vendor over exactly this kind of failure.",
        "Just so you know, we took our previous provider to court when this happened.",
        "The last supplier who lost our data heard from {kw}, and so will you.",
        "I have forwarded this to {kw} and we are preparing to act.",
        "We are prepared to take {kw} over the lost data.",
        "This is unacceptable and we will {kw} if needed.",
        "Consider this formal notice before {kw}.",
        "Our counsel says we have grounds and {kw} is the next step.",
        "you leave me no choice, im talking to {kw}",
    ],
    "chargeback": [
        "If the refund is not in my account {soon} I will {kw}.",
        "I have already opened {kw} with my card issuer for this.",
        "Refund me or I will {kw}.",
        "We are going to {kw} for the unauthorized renewal.",
    ],
    "outage": [
        "{product} {kw} for all of our users right now.",
        "Is {product} down? Nothing loads for us.",
        "is there an outage right now?? we cant work",
        "{product} down?",
        "anyone there? {product} {kw} since this morning",
        "Is the service down? Every page gives an error.",
        "We are seeing {kw} across every region since 9:10 this morning.",
        "URGENT: {product} {kw} and our stores cannot take payments.",
        "{product} {kw} again, third time today, nobody can work.",
        "hey {product} {kw} for us, is it down for everyone?",
        "There is {kw} affecting our whole team at the moment.",
        "{product} has been {kw} for two hours and our support line is flooded.",
    ],
    "security": [
        "We believe there was {kw} on our admin account last night.",
        "Was my account {kw}? I see logins I don't know.",
        "Do we have {kw}? Someone changed our admin email.",
        "I think my account was {kw}, there are logins I do not recognize.",
        "We are reporting {kw}: someone is using one of our API tokens.",
        "Our team received {kw} emails that look like they came from your domain.",
        "There is {kw} in progress, please lock the workspace now.",
        "URGENT {kw} on our tenant, data is being exported",
    ],
    "compliance": [
        "I am making {kw}: delete every record you hold about me within 30 days.",
        "This is {kw} under Article 17, please confirm erasure of my data.",
        "As a customer I submit {kw} for all my personal data.",
        "Please treat this email as {kw} for my account and my children's accounts.",
    ],
}

# Mentioned templates by kind: the same words, not a live demand of this customer.
MENTIONED: dict[str, dict[str, list[Template]]] = {
    "past": {
        "refund": [
            "We got {kw} {past}, how long until it shows on the card?",
            "Thanks, {kw} arrived {past}. Now I need help with {product}.",
            "The {thing} issue was handled well {past} with {kw}; today's question is about "
            "{product}.",
            "You already issued {kw} {past}, so this is only about the receipt.",
            "{kw} went through fine {past}, thanks again.",
            "We got {kw} {past}, thanks. {ask}",
            "{kw} arrived {past}, all good. {ask}",
            "Thanks for {kw} {past}! {ask}",
        ],
        "churn": [
            "We had asked to {kw} {past} but we changed our minds and stayed.",
            "Our sister team did {kw} {past}; we are the ones still using {product}.",
            "The request to {kw} from {past} was withdrawn, please keep everything as is.",
        ],
        "legal": [
            "The dispute where {kw} was involved was settled {past}.",
            "{kw} looked at this {past} and it was closed amicably.",
        ],
        "chargeback": [
            "The {kw} we opened {past} was withdrawn after you helped.",
            "{kw} from {past} was reversed, so no action needed there.",
        ],
        "outage": [
            "The {kw} {past} was handled well; today I just need an invoice copy.",
            "Since the {kw} {past} was fixed everything runs smoothly.",
            "{product} had {kw} {past} but it is fine now, thanks.",
            "You handled the {kw} {past} really well. {ask}",
            "After the {kw} {past} you sent a great postmortem, could you share it again for "
            "our auditors?",
        ],
        "security": [
            "The {kw} {past} was fully resolved by your team, we just need the report for "
            "our files.",
            "We closed the {kw} case {past}; this is only about adding a user.",
        ],
        "compliance": [
            "{kw} we sent {past} was completed, thank you.",
        ],
    },
    "negated": {
        "refund": [
            "We are not asking for {kw}, just a corrected invoice.",
            "No need for {kw}, please apply it as credit.",
            "I don't want {kw}, I want {product} to work.",
        ],
        "churn": [
            "We are NOT looking to {kw}, we just want to remove two seats.",
            "To be clear we don't plan to {kw}, we love {product}.",
            "no we dont want to {kw}, just pause emails",
        ],
        "legal": ["We have no intention of involving {kw}, we just want this fixed."],
        "chargeback": ["I do not want to {kw}, I'd rather sort it out with you."],
        "outage": [
            "It's not {kw}, just slow on my laptop.",
            "{product} is not down, I just cannot find the export button.",
        ],
        "security": [
            "This is not {kw}, I simply forgot my password.",
            "No sign of {kw}, but can you confirm the audit log settings?",
        ],
        "compliance": ["This is not {kw}, we only want to update the billing email."],
    },
    "retracted": {
        "refund": [
            "Update: never mind about {kw}, the charge was a pending authorization and dropped off."
        ],
        "churn": ["Ignore my earlier note about wanting to {kw}, our CFO sorted the budget."],
        "outage": [
            "Never mind, it was our proxy, {product} is fine. Sorry for the {kw} alarm.",
            "False alarm about {kw}: our own firewall blocked it. Works now.",
            "scratch that, not {kw}, our VPN was off",
        ],
        "security": ["Please disregard the {kw} report, it was our own pentest team logging in."],
        "legal": ["Sorry, I was angry when I mentioned {kw}, we just want it fixed."],
    },
    "hypothetical": {
        "refund": [
            "Before we buy: if we are not happy, can we get {kw} in the first 30 days?",
            "What is your policy on {kw} if a renewal is charged by mistake?",
            "Hypothetically, would {kw} be possible for unused seats?",
        ],
        "churn": [
            "If we ever wanted to {kw}, how much notice do we give?",
            "What happens to our data if we {kw} at some point?",
            "Just curious, is there a fee to {kw} mid-term?",
        ],
        "outage": [
            "If your EU region had {kw}, would our data fail over?",
            "What is the SLA credit in case of {kw}?",
            "How do you notify customers when there is {kw}?",
        ],
        "security": [
            "For our vendor review: how would you inform us of {kw}?",
            "If there were {kw}, who on your side would call us?",
        ],
        "legal": ["In case of a dispute, which court is {kw} filed in under your terms?"],
        "compliance": ["How do you handle {kw} from our end users, and how fast?"],
        "chargeback": ["What happens to an account if a customer files {kw}?"],
    },
    "name": {
        "churn": [
            "How do I cancel a scheduled report in {product}?",
            "Our churn rate dashboard shows blank since the update.",
            "Can I cancel the export job that is stuck?",
            "I want to unsubscribe from the weekly newsletter.",
            "How do I cancel a meeting invite sent from {product}?",
            "Please cancel the duplicate order #4411, we placed it twice by mistake.",
            "cancel my order please, it hasn't shipped yet",
            "I need to cancel the booking for Friday, something came up.",
            "Can you cancel the delivery slot for tomorrow and rebook it?",
            "Please cancel my appointment on the 12th.",
            "How do I cancel one item from my order?",
            "cancel the table reservation for 4 tonight",
        ],
        "refund": [
            "Where is the refund button in the orders screen?",
            "The refund report in {product} exports an empty CSV.",
            "How do we issue a refund to one of our shoppers from {product}?",
        ],
        "security": [
            "How do I give someone the Security Reviewer role?",
            "The phishing training module in {product} will not load for new hires.",
            "Can we rename the 'security incident' field in our form?",
        ],
        "outage": [
            "Can outage notifications go to Slack instead of email?",
            "The downtime widget on our status page shows the wrong timezone.",
        ],
        "legal": [
            "How do I add our lawyer as a read-only user?",
            "Where do I upload the legal team contact list?",
        ],
    },
    "joke": {
        "legal": [
            "my boss will sue me lol if this report is late, can you help me format it?",
            "haha my lawyer would love this UI. Anyway, how do I change the logo?",
            "I'll sue you for making me this productive :) Quick question on exports.",
        ],
        "churn": ["lol I'd cancel my own birthday for this feature. When is dark mode coming?"],
        "outage": ["my brain is down before coffee haha, where is the export button again?"],
        "security": [
            "haha I feel hacked by how good the new dashboard is. "
            "Is there a keyboard shortcut list?"
        ],
    },
    "others": {
        "chargeback": [
            "One of our shoppers filed {kw} against us, how do we upload evidence in {product}?",
            "A customer of ours opened {kw}; which report shows their order history?",
        ],
        "refund": [
            "Our client asked us for {kw}; how do I do that from {product}?",
            "A guest wants {kw} for their booking, where do we process it?",
        ],
        "compliance": [
            "We received {kw} from one of our end users; how do we export their data from "
            "{product}?",
            "A member of our app sent us {kw}, what is the best way to find their records?",
        ],
        "churn": [
            "Our own customers want to {kw} with us, can {product} show which ones are at risk?"
        ],
        "outage": [
            "Our client's website {kw}, but that is their host, not you. Can we pause their alerts?"
        ],
        "legal": ["Our customer threatened {kw} against us; can we pull their message history?"],
        "security": [
            "One of our users fell for {kw} on another site; "
            "can we force a password reset for them?"
        ],
    },
    "quoted": {
        "refund": [
            "Your bot menu said 'Press 2 for {kw}' but I only want my invoice address changed.",
            'The template you sent reads: "We have processed {kw}". Can we change that wording?',
        ],
        "churn": [
            "Your email subject said 'We are sorry to see you {kw}' but I didn't cancel anything?"
        ],
        "outage": [
            'The agent wrote "there is no {kw}" last time; today I have a billing question.'
        ],
        "legal": [
            "Your footer says 'contact {kw} for notices'; who is the right contact for our DPA?"
        ],
        "security": ["The alert title says '{kw}' but it is just the monthly test notice, right?"],
    },
    "test": {
        "refund": ["TEST ticket please ignore: requesting {kw}."],
        "churn": ["This is a test of our Zendesk trigger, please ignore: {kw}."],
        "outage": ["testing the integration - {kw} - please close this ticket"],
        "security": ["[TEST] {kw} drill, no action needed."],
        "legal": ["Test message for the new form: {kw}. Ignore."],
    },
    "question": {
        "refund": [
            "Do you offer {kw} on annual plans before we purchase?",
            "What is your {thing} refund policy for new customers?",
            "Is {kw} available if we downgrade mid-year?",
        ],
        "security": [
            "How long is the lockout timer after failed logins, "
            "is that a security incident setting?"
        ],
        "compliance": ["Do you sign a DPA and how do you handle {kw}?"],
        "churn": ["Where can I read the terms about how to {kw} before we sign?"],
    },
    "routine": {
        "legal": [
            "Our legal team needs the countersigned order form for the new seats.",
            "Please send the NDA to our attorney for signature.",
            "Our lawyer asked for the updated contracting entity name on the invoice.",
        ],
        "compliance": ["Please send your GDPR data processing agreement for our records."],
        "security": [
            "Attached is our annual security questionnaire, no incident, just the review."
        ],
    },
}

# Intent without the keyword: frames whose slots come from SLOTS (and the common fills), so
# one frame says the same thing in many words. "none" frames share the words but not the
# intent ("we have a demo with our new hires", "we moved the team to a new office").
SLOTS: dict[str, list[str]] = {
    "we": [
        "we",
        "our team",
        "the company",
        "management",
        "our leadership",
        "finance",
        "my boss",
        "the board",
        "procurement",
        "our CFO",
        "our ops group",
        "I",
    ],
    "rival": [
        "another vendor",
        "a competitor",
        "{competitor}",
        "a cheaper tool",
        "a rival",
        "two other providers",
        "an alternative",
        "a different platform",
        "your competitor",
    ],
    "meeting": [
        "a demo",
        "a call",
        "a trial",
        "a pilot",
        "a workshop",
        "a proof of concept",
        "a pricing meeting",
        "an evaluation",
    ],
    "money": [
        "at that price",
        "with a 30% increase",
        "given the new renewal quote",
        "at almost double last year's cost",
        "with the price going up again",
        "at these rates",
        "with the new per-seat pricing",
    ],
    "leave": [
        "we'll have to look elsewhere",
        "we can't justify renewing",
        "staying just isn't realistic",
        "we will need to find another option",
        "we'll be shopping around",
        "we cannot continue",
        "it no longer makes sense for us",
        "we'll move on",
        "the numbers don't work for us anymore",
    ],
    "freeze": [
        "finance froze all software spend",
        "our budget was cut in half",
        "every tool renewal is on hold",
        "we lost our main funding",
        "the new CFO is cutting vendors",
        "spending is frozen until next year",
    ],
    "stop": [
        "pause or end this",
        "wind this down",
        "drop the subscription",
        "stop paying for it",
        "let it lapse",
        "shut it off",
        "not continue after this term",
        "let the contract run out",
    ],
    "move": [
        "moving the team over to",
        "migrating everything to",
        "switching our agents to",
        "consolidating onto",
        "standardising on",
        "rolling out",
        "transferring our workspace to",
    ],
    "exec": [
        "our CEO",
        "our COO",
        "our VP of Operations",
        "the managing director",
        "our head of customer success",
        "my director",
        "our founder",
        "the executive team",
    ],
    "talk": [
        "would like a call about",
        "wants to discuss",
        "asked me to set up a meeting about",
        "needs a conversation about",
        "wants to review",
        "has questions about",
    ],
    "partnership": [
        "the state of our partnership",
        "where this relationship is going",
        "whether this is still working for us",
        "the future of this account",
        "how the last two quarters went between us",
        "our overall experience with you",
        "whether we continue together",
    ],
    "intruder": [
        "an offboarded employee",
        "a former contractor",
        "someone outside our company",
        "a user we removed last month",
        "an unknown account",
        "an ex-employee",
        "a person we don't recognise",
    ],
    "did": [
        "still logged in and exported customer data",
        "downloaded our full contact list",
        "changed the payout bank details",
        "created two new admin users",
        "accessed payroll records last night",
        "is still making API calls with an old token",
        "viewed confidential files this weekend",
    ],
    "foreign": [
        "logins from countries we don't operate in",
        "sign-ins from Russia and Brazil at 3am",
        "sessions from IP addresses nobody here recognises",
        "password reset emails nobody asked for",
        "API traffic from a server that isn't ours",
    ],
    "vuln": [
        "a stored XSS in the comment field",
        "an IDOR on the invoices endpoint",
        "a way to read other tenants' files by changing the ID in the URL",
        "an open redirect on your login page",
        "SQL injection in the search box",
    ],
    "leak": [
        "our API key was posted in a public GitHub repo",
        "an admin token ended up in a public Slack",
        "our credentials were pasted in a public forum",
        "a secret key leaked in a screenshot",
    ],
    "crossdata": [
        "I can see another customer's invoices",
        "our dashboard shows a different company's orders",
        "a stranger's patient records appear in my account",
        "we received someone else's payroll export",
    ],
    # A consumer's account or card taken over, said without "fraud" or "hacked".
    "taken": [
        "there are three payments on my card that I never made",
        "someone moved money out of my savings account overnight",
        "my phone suddenly lost signal and then my bank app showed a transfer I didn't do",
        "my email and phone number on the account were changed and it wasn't me",
        "I got a text with a login code I didn't ask for and now I can't get in",
        "a new device was added to my account last night and I don't own it",
        "my card was used in another country while it's in my wallet",
        "orders I never placed are showing up in my account",
        "my loyalty points were spent by someone else",
    ],
    "gone": [
        "half of our records are gone",
        "all attachments from before March disappeared",
        "every project older than a year is missing",
        "the contact list is empty",
        "three months of timesheets vanished",
        "our historical reports show zeros",
        "the customer notes were wiped",
        "the whole archive is blank",
    ],
    "when_lost": [
        "after the migration",
        "since the upgrade",
        "after the sync ran",
        "overnight",
        "since your maintenance window",
        "after the import",
        "after we switched plans",
    ],
    "everyone": [
        "none of our users",
        "nobody in the company",
        "not a single one of our 40 stores",
        "every agent on our team",
        "all our clients",
        "none of our offices",
        "the whole organisation",
    ],
    "cant": [
        "can log in",
        "can open {product}",
        "can load any page",
        "can reach the API",
        "can send messages",
        "can check out",
    ],
    "others_too": [
        "our sister company says the same",
        "other customers on the forum report it too",
        "it's the same on every network and device",
        "colleagues in three countries see it",
        "it fails for every account we tried",
    ],
    "benign_meet": [
        "a demo of the new reporting features",
        "a call with our account manager about training",
        "a workshop for new hires",
        "a pricing meeting for adding seats",
        "a pilot of your new mobile app",
    ],
    "benign_move": [
        "moving the team to a new office",
        "migrating our own servers to a new host",
        "switching our agents to the night shift",
        "rolling out {product} to the Berlin branch",
    ],
}
INTENTS: dict[str, list[Template]] = {
    "churn": [
        "{money}, {leave}.",
        "{we} scheduled {meeting} with {rival} {soon}.",
        "{freeze}, so we'll need to {stop} {soon}.",
        "{rival} quoted us half your price and {we} decide {soon}.",
        "{we} are {move} {rival} next quarter.",
        "{money} {leave}, unless something changes.",
        "Honestly, {money}, {leave}.",
        "{we} already signed with {rival}; please tell us how to export our data.",
        "{we} asked me to find a replacement for {product} {soon}.",
        "{freeze} and {we} told me to {stop}.",
        "just fyi {we} have {meeting} with {rival} {soon}",
        "{we} will {stop}, {money}.",
        "I'm moving my accounts to another bank next month.",
        "My contract is up and a rival carrier offered me the same for half.",
        "I've found a cheaper energy supplier and I'm going with them.",
        "After this I'll take my business somewhere else.",
        "I'm done with your service, I'll be signing up with {competitor} instead.",
    ],
    "relationship": [
        "{exec} {talk} {partnership}.",
        "Could we set up a call this week? {exec} {talk} {partnership}.",
        "{exec} is unhappy and {talk} {partnership}.",
        "Before the renewal, {exec} {talk} {partnership}.",
        "{exec} {talk} {partnership} with your leadership.",
    ],
    "security": [
        "{intruder} {did}.",
        "We noticed {foreign}.",
        "I found {vuln} and am reporting it responsibly.",
        "{leak}.",
        "{crossdata}.",
        "Our audit log shows {intruder} {did}.",
        "Since Monday we see {foreign}, and {intruder} {did}.",
        "Heads up: {leak}, please rotate it.",
        "While testing I noticed {vuln}.",
        "Something is wrong, {crossdata}.",
        "Help, {taken}.",
        "{taken}, please block everything now.",
        "I think {taken}.",
        "{taken}. what do I do?",
    ],
    "data_loss": [
        "{when_lost} {gone}.",
        "{gone} {when_lost}.",
        "We just noticed that {gone} {when_lost}.",
        "Please help, {gone} and the backup is empty too.",
        "{when_lost}, {gone} and our team cannot work.",
    ],
    "platform": [
        "{everyone} {cant} and {others_too}.",
        "{everyone} {cant} this morning; {others_too}.",
        "It's not just us: {others_too}, {everyone} {cant}.",
        "Since 8am {everyone} {cant}.",
        "{everyone} {cant}, every request times out, {others_too}.",
        "The app won't open for anyone in my family and my neighbours say the same.",
        "Card payments are failing at every shop in town, {others_too}.",
        "No one on my street has had internet since 6am.",
        "Nobody can book tickets on your website tonight, {others_too}.",
    ],
    "none": [
        "How do I export a report from {product} to CSV?",
        "Can you add two seats to our plan?",
        "Please update our billing address to the new office.",
        "We migrated last week and everything looks good, thanks.",
        "Is there a way to change the date format in {product}?",
        "Could you resend the invoice for {past}?",
        "{we} would like {benign_meet} {soon}.",
        "{we} are {benign_move} {soon}.",
        "Our new hire needs access to {product}.",
        "Thanks for the quick fix yesterday!",
        "We compared a few tools {past} and chose you, happy so far.",
        "What is the price for the premium tier?",
        "We are growing and want to add the analytics add-on.",
        "Where do I find the API documentation?",
        "Can we schedule onboarding for the new branch {soon}?",
        "The export is slow when it has more than 10,000 rows.",
        "I can't find the button to invite a colleague.",
        "Could you check why my invoice shows the old company name?",
        "Please move the renewal date to the first of the month.",
        "The filter in {product} resets when I change pages.",
        "{exec} loved the quarterly review, thanks for the slides.",
        "My colleague {name} will be the main contact from now on.",
        "I logged in from my phone while travelling in Spain, all fine.",
        "After the migration we just need to re-invite three users.",
        "We'd like to understand your roadmap for the partner portal.",
        "The import finished, but two columns are in the wrong order.",
        "One user on our team {cant} after changing her password.",
        "I deleted an old test project by mistake, can you restore it?",
        "How do we remove a user who left the company?",
        "{exec} asked for a copy of our signed contract.",
        "We plan to add 20 users {soon} when the new team starts.",
        "The chart on the home page loads slowly for me.",
        "Can you confirm which data centre we are hosted in?",
        "Our security team would like your SOC 2 report.",
        "We rotated our API key, how do we update the webhook?",
        "I made a payment on my card yesterday, when will it show?",
        "I got a new phone, how do I move my banking app to it?",
        "Can I add my partner as a second card holder?",
        "Where can I see the transfers I made last month?",
        "My new card arrived, how do I activate it?",
        "Is your app down for maintenance tonight as the email said?",
        "I'm moving house next month, how do I change my address?",
        "Which of your plans is cheapest for a family of four?",
    ],
}


STYLES = ("plain", "email", "chat", "non_native", "quoted", "multi", "caps")


def _joined(first: dict[str, list[Template]], more: dict[str, list[str]]) -> dict[str, list[str]]:
    """The first templates with the hand-written ones (``reader_written``) after them."""
    joined = {key: [*first.get(key, []), *more.get(key, [])] for key in {**first, **more}}
    return {key: templates for key, templates in joined.items() if templates}


ALL_LIVE = _joined(LIVE, MORE_LIVE)
ALL_MENTIONED = {
    kind: _joined(MENTIONED.get(kind, {}), MORE_MENTIONED.get(kind, {}))
    for kind in {**MENTIONED, **MORE_MENTIONED}
}
ALL_INTENTS = _joined(INTENTS, MORE_INTENTS)


def _fill(rng: random.Random) -> Fill:
    return {
        "product": rng.choice(PRODUCTS),
        "company": rng.choice(COMPANIES),
        "competitor": rng.choice(COMPETITORS),
        "name": rng.choice(NAMES),
        "past": rng.choice(PAST),
        "soon": rng.choice(SOON),
        "amount": rng.choice(AMOUNTS),
        "thing": rng.choice(THINGS),
        "ask": rng.choice(ASKS),
    }


def _render(template: Template, fill: Fill, keyword: str = "") -> str:
    kw = keyword.format(**fill) if keyword else ""
    return template.format(kw=kw, **fill)


def _render_intent(rng: random.Random, template: Template, fill: Fill) -> str:
    slots = {name: rng.choice(options).format(**fill) for name, options in SLOTS.items()}
    text = template.format(**slots, **fill)
    return text[0].upper() + text[1:]


_OPENERS = ["Hi team,", "Hello,", "Hey,", "Good morning,", "Dear support,", "hi", "Hi {name},"]
_CLOSERS = ["Thanks,\n{name}", "Best regards,\n{name}", "Cheers", "Thank you.", "Regards,\n{name}"]
_CONTEXT = [
    "We use {product} at {company} with about 80 people.",
    "I'm the admin for our {company} workspace.",
    "Quick one.",
    "Writing on behalf of our operations team.",
    "Our account is under {company}.",
    "Ticket ref 88213.",
    "We have been customers for three years.",
    "I tried on Chrome and Firefox.",
]


_FOLLOW_UPS = [
    "Any update?",
    "Still waiting on this.",
    "Adding my colleague {name} in cc.",
    "Hello?? anyone",
    "Please call me back on my mobile.",
    "This is urgent for us.",
    "Sorry, forgot to attach the screenshot.",
    "Ticket still open, please reply.",
    "Following up on the above.",
    "Thanks in advance!",
]


def _style(rng: random.Random, sentence: str, fill: Fill, style: str) -> list[str]:
    """The sentence in one of several writing styles, sometimes with a follow-up message."""
    messages = _styled(rng, sentence, fill, style)
    if rng.random() < 0.3:
        # A later message that changes nothing, so "later words" do not mean "taken back".
        messages.append(rng.choice(_FOLLOW_UPS).format(**fill))
    return messages


def _styled(rng: random.Random, sentence: str, fill: Fill, style: str) -> list[str]:
    context = rng.choice(_CONTEXT).format(**fill)
    if style == "email":
        opener = rng.choice(_OPENERS).format(**fill)
        closer = rng.choice(_CLOSERS).format(**fill)
        return [f"{opener}\n\n{context} {sentence}\n\n{closer}"]
    if style == "chat":
        return [sentence.lower().rstrip(".")]
    if style == "non_native":
        text = (
            sentence.replace(" the ", " ")
            .replace("I am", "I am kindly")
            .replace("please", "please to")
        )
        return [f"{context} {text} Thanking you in advance."]
    if style == "quoted":
        return [
            f"{sentence}\n\nOn Mon, Support wrote:\n"
            f"> Thanks for reaching out about {fill['product']}."
        ]
    if style == "multi":
        return [context, sentence]
    if style == "caps":
        return [sentence.upper() if rng.random() < 0.3 else sentence + "!!"]
    return [f"{context} {sentence}" if rng.random() < 0.5 else sentence]


def _split(template: Template) -> str:
    # Whole templates are kept apart, so validation sees sentences the model never saw.
    return "valid" if zlib.crc32(template.encode()) % 7 == 0 else "train"


def _pick_keyword(rng: random.Random, trigger: str, template: Template) -> str:
    if "{kw}" not in template:
        return ""
    return rng.choice(KEYWORDS[trigger])


def _hit_examples(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Live and mentioned uses of the same trigger words, made in pairs."""
    out: list[dict[str, Any]] = []
    kinds = list(ALL_MENTIONED)
    while len(out) < count:
        kind = rng.choice(kinds)
        trigger = rng.choice(list(ALL_MENTIONED[kind]))
        fill = _fill(rng)
        style = rng.choice(STYLES)
        mentioned = rng.choice(ALL_MENTIONED[kind][trigger])
        split = _split(mentioned)
        keyword = _pick_keyword(rng, trigger, mentioned)
        live = rng.choice(ALL_LIVE[trigger])
        # The pair shares its keyword and slots: only what is said around the word differs.
        live_kw = keyword or rng.choice(KEYWORDS[trigger])
        for label, template, kw in (("live", live, live_kw), (kind, mentioned, keyword)):
            sentence = _render(template, fill, kw)
            out.append(
                {
                    "kind": "hit",
                    "messages": _style(rng, sentence, fill, style),
                    "trigger": trigger,
                    "label": label,
                    "split": split,
                }
            )
        if kind == "retracted" and rng.random() < 0.5:
            # A report, then a later message taking it back.
            first = _render(live, fill, live_kw)
            out.append(
                {
                    "kind": "hit",
                    "messages": [first, _render(mentioned, fill, keyword)],
                    "trigger": trigger,
                    "label": "retracted",
                    "split": split,
                }
            )
    return out + _retractions(rng)


def _retractions(rng: random.Random) -> list[dict[str, Any]]:
    """Reports taken back in a later message, beside the same reports followed up as live."""
    out: list[dict[str, Any]] = []
    for trigger, pairs in MORE_RETRACTIONS.items():
        for report, taken_back in pairs:
            split = _split(taken_back)
            for _ in range(6):
                fill = _fill(rng)
                follow_up = rng.choice(_FOLLOW_UPS).format(**fill)
                for label, later in (("retracted", taken_back), ("live", follow_up)):
                    out.append({"kind": "hit", "messages": [report, later], "trigger": trigger,
                                "label": label, "split": split})
    return out


def _intent_examples(rng: random.Random, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    labels = list(ALL_INTENTS)
    weights = [3.0 if label == "none" else 1.0 for label in labels]
    styles: list[Callable[[str], str]] = [
        lambda s: s,
        str.lower,
        lambda s: s.rstrip(".") + ".",
        lambda s: "Also, " + s[0].lower() + s[1:],
        lambda s: "P.S. " + s,
        lambda s: s.replace("We ", "we ").replace("Our ", "our "),
    ]
    while len(out) < count:
        label = rng.choices(labels, weights)[0]
        fill = _fill(rng)
        template = rng.choice(ALL_INTENTS[label])
        sentence = rng.choice(styles)(_render_intent(rng, template, fill))
        split = _split(template)
        out.append({"kind": "intent", "sentence": sentence, "label": label, "split": split})
    return out


def generate(count: int = 6000, seed: int = 13) -> list[dict[str, Any]]:
    """``count`` hit examples and as many intent sentences, deterministic for ``seed``."""
    rng = random.Random(seed)
    return _hit_examples(rng, count) + _intent_examples(rng, count)


def main(argv: list[str] | None = None) -> None:
    """Write the examples as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA_PATH)
    parser.add_argument("--count", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    rows = generate(args.count, args.seed)
    args.out.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    print(json.dumps({"examples": len(rows), "out": str(args.out)}))


if __name__ == "__main__":
    main()
