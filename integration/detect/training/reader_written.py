"""More hand-written reader templates: the kinds the first set generalized worst on.

Written for this project in one pass, across industries (airlines, banks, clinics, schools,
gyms, delivery, utilities, SaaS) and styles (chat, e-mail, tweets), without reading any
evaluation ticket. Each template names its trigger word itself (no ``{kw}``), so the word is
said the way that situation says it. ``generate`` in ``reader_data`` mixes them with the first
templates, in the same live / mentioned pairs.
"""

from __future__ import annotations

__all__ = ["MORE_INTENTS", "MORE_LIVE", "MORE_MENTIONED", "MORE_RETRACTIONS"]

# Live uses in plain words of many trades: the contrast each mentioned one is paired with.
MORE_LIVE: dict[str, list[str]] = {
    "dispute": [
        "This invoice is not what we agreed and we are raising a formal dispute.",
        "We dispute the renewal: you renewed without our consent and we want it reversed.",
        "The price increase violates our agreement, we dispute every charge above the old rate.",
        "We're in dispute with you over the minimum term, which was never in the contract we "
        "signed.",
        "I dispute this invoice in full; your team promised the setup fee would be waived.",
    ],
    "refund": [
        "I'm so sorry to bother you, but would it be at all possible to have the {amount} back?",
        "I hate to ask, but could we possibly get a refund for the month we couldn't use?",
        "If it's not too much trouble, I'd really appreciate a refund for the duplicate order.",
        "Would you be able to refund the second charge? Many thanks, and sorry for the hassle.",
        "Sorry to trouble you, but would it be possible to get a refund for the session we "
        "missed because of your outage?",
        "I know it's not your fault, but would it be possible to refund the delivery fee? Thanks.",
        "If at all possible, could we have a refund for the unused licences? We'd be very "
        "grateful.",
        "Apologies for asking, but is there any chance of a refund for the broken item?",
        "Could you possibly refund the late fee? I've always paid on time until now.",
        "Hello, I hope you're well. Would a refund of the second payment be possible, please?",
        "I'm really sorry to be a pain, but I'd like to ask for my money back for the cancelled "
        "trip.",
        "We'd be so grateful if you could refund the overcharge when you have a moment.",
        "The class was cancelled by the studio and I want a refund, not a credit.",
        "Your courier never delivered the parcel. Refund me please.",
        "I was charged {amount} twice for the same prescription, I need that refunded.",
        "We paid for the training day that you called off, so we expect our money back.",
        "My train was four hours late and I'm claiming a refund under your charter.",
        "The room was nothing like the photos, we left after one night and want a refund.",
        "refund the upgrade fee, the feature has never worked for us",
    ],
    "churn": [
        "It's been a good run, but we'd like to cancel when the current term ends, if that's okay.",
        "Would you mind closing our account at the end of the month? Thanks for everything.",
        "Please cancel my gym membership from the end of this month.",
        "We have decided to terminate the contract at the end of the notice period.",
        "I want to cancel my broadband, the speed has been awful for weeks.",
        "cancel my plan. done with this.",
        "Our school will not renew the licence next term; please confirm the end date.",
        "Consider this our notice: we are cancelling all 40 seats in {soon}.",
        "I'm cancelling the insurance policy, please stop the direct debit.",
    ],
    "legal": [
        "If the deposit is not returned {soon} I will take you to small claims court.",
        "Our solicitor has been instructed and will write to you this week.",
        "We are considering legal action over the missed deadline.",
        "I will sue for the costs this outage has caused us.",
        "Our lawyers are reviewing the breach and you will hear from them.",
        "I'm not paying this and my attorney will contact you about the contract.",
    ],
    "outage": [
        "The patient portal is down for all our clinics right now.",
        "Nothing is loading, the whole booking site is down since 7am.",
        "Your API is down again, every call times out.",
        "There is an outage in our region, none of our terminals connect.",
        "the app is down. whole office cant work",
        "The checkout page is not loading for any of our shoppers.",
    ],
    "security": [
        "Someone hacked my account and changed the email address.",
        "There is fraud on my card: three payments I never made this morning.",
        "My account was hacked last night and the points are gone.",
        "We had a phishing email sent from your domain to all our staff today.",
        "I lost my card at the station an hour ago, please block it.",
        "An ex-employee still has access and we think it is a data breach.",
    ],
    "compliance": [
        "Under GDPR I want a copy of all data you hold on me.",
        "Please erase my account and all my personal data, this is a GDPR request.",
    ],
}

# Mentioned uses by kind and trigger.
MORE_MENTIONED: dict[str, dict[str, list[str]]] = {
    "negated": {
        "dispute": [
            "This is not a dispute, we just need a copy of the invoice with our new VAT number.",
        ],
    },
    "past": {
        "dispute": [
            "The dispute about the March invoice was settled {past}, thanks. {ask}",
            "We resolved the billing dispute with your finance team {past}; the invoice still "
            "shows the old flag. How do we clear it?",
        ],
        "refund": [
            "The refund for the cancelled flight came through {past}, thanks. {ask}",
            "I got my money back for the broken kettle {past}. Different question today.",
            "The refund you sent {past} is on my statement now. {ask}",
            "Thanks for sorting the refund {past}. Now: {ask}",
            "The refund for the double-booked room landed {past}, all good. {ask}",
        ],
        "churn": [
            "We cancelled the old plan {past} when we moved to the new one. {ask}",
            "I cancelled the second membership {past}; the main one stays. {ask}",
            "The course I booked was cancelled {past} and the credit is on my account. {ask}",
            "Our concert date was cancelled {past}, the new date suits us. {ask}",
        ],
        "legal": [
            "The lawsuit with our previous landlord ended {past}; this is about your invoices.",
            "Our lawyer checked your terms {past} and we signed. {ask}",
            "We had a dispute with a supplier {past} that went to court; unrelated, {ask}",
        ],
        "outage": [
            "After the outage {past} you sent a credit, thanks. {ask}",
            "The site was down {past} but everything has worked since. {ask}",
            "You fixed the outage {past} quickly. Now {ask}",
            "The downtime {past} is long forgotten, we are happy. {ask}",
        ],
        "security": [
            "My account was hacked {past}; you helped me recover it. {ask}",
            "We reported a phishing email {past} and your team handled it. {ask}",
            "I lost my card {past} and the replacement arrived. {ask}",
            "Someone used my card online {past}; the bank reversed it and I have a new card. {ask}",
            "The suspicious login {past} turned out to be our auditor; case closed. {ask}",
        ],
        "compliance": [
            "You completed my GDPR request {past}, thank you. {ask}",
        ],
    },
    "hypothetical": {
        "dispute": [
            "If we ever had a dispute over an invoice, who should we contact first?",
            "In case of a dispute about service credits, which clause applies?",
        ],
        "refund": [
            "If the concert is cancelled, would I get a refund or a voucher?",
            "Say the parcel never shows up: how does the refund work?",
            "Before I book, what happens to a refund if I change dates?",
            "If I return the jacket after 30 days, is a refund still possible?",
        ],
        "churn": [
            "If we ever had to cancel mid-term, what notice do we give?",
            "What would happen to our files if the contract ended one day?",
            "Just so I know for later: can I cancel online or only by phone?",
            "In case we terminate next year, do unused credits carry over?",
            "For our board pack: if we ever cancel, do we keep read-only access for a while?",
        ],
        "legal": [
            "If there were ever a dispute, would it go to court in Ireland or England?",
            "Hypothetically, if someone sued us over a review, would you keep the messages?",
        ],
        "outage": [
            "If your platform had an outage during our exam week, what is the fallback?",
            "What happens to queued messages if the service is down for an hour?",
            "Do you post on a status page when there is an outage, or email us?",
            "Should there be downtime during the sale, how do we get told?",
        ],
        "security": [
            "What should staff do if they get a phishing email that looks like yours?",
            "If my phone were stolen, how would I lock the banking app?",
            "Suppose a student's account got hacked, can a teacher reset it?",
            "Would I be covered for fraud if someone cloned my card at a cash machine?",
            "What's the refund rule if the ferry is cancelled for weather, in general?",
        ],
        "compliance": [
            "If a customer sends us a GDPR request, what can we export from your side?",
        ],
    },
    "joke": {
        "legal": [
            "my kids will sue me if the streaming stops during the final lol. how do I add a "
            "screen?",
            "grandma says she will get a lawyer if the photo frame stops syncing 😄 how do I add "
            "her?",
            "the chef will sue me if the till freezes during service, joking. where is the tips "
            "report?",
        ],
        "churn": [
            "if the wifi drops one more time I'm cancelling my whole life lol. what's the router "
            "reset?",
            "lol I'd cancel Christmas for this feature. when is it coming?",
            "one more rainy week and I cancel summer 🙃 can I move my pitch booking?",
        ],
        "outage": [
            "my brain had an outage this morning 😅 where was the invoice download again?",
            "Team morale is down but the app is fine lol. How do I add a new user?",
            "Monday morning and I am down, the app is not haha. How do I add a holiday?",
        ],
        "security": [
            "my toddler hacked the tablet again haha, how do I set a parental PIN?",
            "feels like fraud how cheap this plan is 😂 can I add a second line?",
        ],
        "refund": [
            "I want a refund on my Monday lol. anyway, how do I change the shift rota?",
        ],
    },
    "others": {
        "dispute": [
            "One of our buyers opened a dispute with their bank; which report shows the order?",
            "Our client is in a dispute with their landlord and wants the signed lease from our "
            "document vault; how do I share it?",
        ],
        "security": [
            "Oops, this was for our bank's fraud team, please disregard.",
            "My mum got a phishing text pretending to be another bank. How do I report it?",
            "One of our students had her social account hacked; can we hide her profile in "
            "{product}?",
            "A neighbour had fraud on his card so I want to know how your alerts work.",
            "Our sister school was hacked last term, so we want to review our admin roles.",
            "The bakery next door had a data breach, we want to know what you log.",
        ],
        "outage": [
            "Our internet provider was down yesterday, so the sync missed a day. How do we rerun "
            "it?",
            "The payment gateway we use had downtime, not your system; can we retry the orders?",
            "Our own server was down overnight; will the webhooks be redelivered?",
            "The hotel wifi was down, not your app, so my check-in failed. Can I check in now?",
        ],
        "refund": [
            "Sorry, wrong inbox: this refund request was meant for the airline, not for you.",
            "A patient asked us for a refund of their deposit; where do I record that?",
            "One of our members wants a refund, which screen do I use to process it?",
            "My daughter's school asked for a refund of the trip fee; how do I pay it to them?",
        ],
        "churn": [
            "We are cancelling our contract with our old helpdesk vendor to move everything to "
            "you. How do we import their tickets?",
            "We've just terminated our agreement with the previous payroll provider; when can we "
            "start with you?",
            "Our old supplier's notice period ends in May, so we switch to your platform in June.",
            "A tenant wants to cancel their lease early; can the portal show the notice date?",
            "One of our subscribers wants to cancel, how do I pause their invoices?",
            "Our client is terminating their contract with us; how do we archive their project?",
        ],
        "legal": [
            "Apologies, this email was meant for our landlord: we will take legal action if the "
            "heating is not repaired.",
            "Please ignore, wrong address. Message for our builder: our solicitor will be in "
            "touch about the delays.",
            "One of our customers threatened legal action against us; can we see their tickets?",
            "A contractor of ours took a client to court; can we pull the signed timesheets?",
        ],
        "compliance": [
            "One of our patients made a data subject request to us, where do we find their data?",
        ],
    },
    "name": {
        "dispute": [
            "Our case system has a Dispute status; can your API set it when a payment fails?",
            "How do I rename the 'dispute reason' field on our returns form?",
            "Does the legal expenses add-on cover a dispute with a neighbour, in general?",
        ],
        "refund": [
            "How do I rename the Refund status in our workflow?",
            "Our refund reason list needs a new option, where do I add it?",
            "The refund report in {product} shows last month twice.",
        ],
        "churn": [
            "Our churn dashboard tile shows zero since yesterday.",
            "How do I cancel a single lesson without cancelling the course booking?",
            "Cancel button on the appointment page is grey for receptionists, is that a role "
            "setting?",
            "Where is the churn rate metric defined in the board report?",
            "I need to cancel a duplicate payment request I sent to a client.",
        ],
        "legal": [
            "How do I give our lawyer a read-only login for the documents?",
            "What does the Legal Hold toggle on a mailbox do?",
            "The court date column sorts alphabetically instead of by date.",
        ],
        "security": [
            "Where do I assign the Fraud Analyst role to a new colleague?",
            "The Security Incident form has a typo in the title.",
            "Can the phishing awareness course be assigned to new starters?",
        ],
        "outage": [
            "Can outage alerts go to a second phone number?",
            "The downtime report shows the wrong time zone.",
            "Where do I set the planned outage banner text for our customers?",
        ],
    },
    "quoted": {
        "legal": [
            "The field in your API is called legal_hold_flag; what values can it take?",
        ],
        "outage": [
            "Our monitor logs 'upstream service unavailable (503)' once a night at 02:00 during "
            "the backup, then recovers. Can we silence that check?",
            "Your status page said 'partial outage' yesterday; is the report export safe to use "
            "now?",
            "You wrote 'no outage on our side' on Monday. Today I have a billing question.",
        ],
        "refund": [
            "The webhook we receive is named refund.created, but our handler expects "
            "order.updated. Which one should we subscribe to?",
            "Stack trace: at RefundService.apply(RefundService.java:212) NullPointerException. "
            "This is in the sandbox, nothing urgent.",
            "Your chatbot keeps saying 'refund requested' but I only asked about my address.",
        ],
        "churn": [
            "The job log ends with 'ERROR worker-3: abnormal termination (exit 137)'. How do I "
            "rerun it?",
            "Our import shows status TERMINATED_BY_TIMEOUT on row 88; which limit do we raise?",
            "The email said 'your subscription will be cancelled' but I paid; is that a template?",
        ],
        "security": [
            "The log says FraudCheckService timeout after 30s on some checkouts; can we raise it?",
            "We get 'java.lang.SecurityException: permission denied' when the plugin starts. "
            "Which scope is missing?",
            "Your message said 'suspicious login blocked' and it was me on the train. All fine.",
        ],
    },
    "test": {
        "outage": [
            "Testing the new webhook: URGENT OUTAGE. Please close, nothing is wrong.",
        ],
        "legal": [
            "Ignore this, only a test of the routing rule for the word lawsuit.",
        ],
        "security": [
            "Dummy ticket for training new agents: account hacked. Please disregard.",
            "[sample] customer wants a refund - this is a demo ticket for the training session.",
        ],
    },
    "question": {
        "dispute": [
            "What is your process for a billing dispute, before we sign?",
        ],
        "refund": [
            "What is the refund policy on annual plans if we buy now?",
            "Are event tickets eligible for a refund under your terms?",
            "Do you refund unused nights on a prepaid rate?",
        ],
        "churn": [
            "What are the cancellation terms before we sign the three-year deal?",
            "Is there a fee to cancel within the first month, asking before I join?",
            "Can members cancel a class booking online, and up to when? We are choosing a gym app.",
        ],
        "security": [
            "What does your fraud protection cover for online purchases?",
        ],
        "compliance": [
            "How long do you take to answer a GDPR access request?",
        ],
    },
    "routine": {
        "churn": [
            "Please cancel the reporting add-on from next month; we're keeping the main plan.",
            "We'd like to cancel five unused seats but stay on the business plan.",
            "Can you terminate the old test workspace? The production one stays as it is.",
            "We're downgrading to the standard plan, not leaving; please cancel the premium "
            "extras.",
        ],
        "legal": [
            "Our legal team asks for the signed DPA copy for the annual review, nothing urgent.",
            "Our lawyer needs the certificate of insurance for the tender file.",
            "Our counsel needs the updated company address for the contract notice clause.",
        ],
        "compliance": [
            "For our records, please send the GDPR annex signed by your side.",
            "Our DPO asks for your GDPR records of processing for the yearly audit.",
        ],
        "security": [
            "Our annual security questionnaire is attached; no incident, it's the yearly review.",
        ],
    },
}

# A report, then a later message of the customer taking it back.
MORE_RETRACTIONS: dict[str, list[tuple[str, str]]] = {
    "security": [
        ("I think my account was hacked, there's a device I don't know.",
         "Found it, it's my old tablet. All fine, ignore me."),
        ("Someone logged in to our shop admin from an address we do not know.",
         "Please ignore, it was the agency building our new theme. All good."),
        ("There's fraud on my card, a payment I don't recognise.",
         "my bad, that was my husband's gym payment. apologies"),
    ],
    "outage": [
        ("Is the site down? Nothing loads.",
         "never mind, my VPN was off. back up for me."),
        ("The booking page is down, customers can't pay.",
         "update: it was our payment plugin, we rolled it back and it works."),
        ("The portal has not been loading since 9.",
         "Please disregard: our proxy update broke it, fixed on our side."),
    ],
    "refund": [
        ("I need a refund, you charged me twice.",
         "Scratch that, one of the charges was a pending hold and it's gone."),
    ],
    "churn": [
        ("We want to cancel our subscription today.",
         "Update: please ignore my last message, the budget was approved and we're staying."),
    ],
    "legal": [
        ("This is unacceptable, our lawyer will hear about it.",
         "Sorry, that was written in anger. We just need the invoice corrected."),
    ],
}

# Keyword-less intents, more ways of saying them (and sentences that share words only).
MORE_INTENTS: dict[str, list[str]] = {
    "security": [
        "The delivery address on my account changed to a city I have never lived in.",
        "A gift card balance of 200 euros was drained and I still have the card in my drawer.",
        "Our accounting firm received invoices with our logo but a different bank account number.",
        "Two of our drivers say they got a text asking them to confirm their login on a fake page.",
        "The app shows a session on a Windows laptop and nobody in our house owns one.",
        "My child's school profile now lists a parent who is not me.",
        "An order history I don't recognise appeared overnight with deliveries to a stranger.",
        "Someone is replying to our customers from an address that looks like ours but isn't.",
        "The staff portal let me open the payslips of every employee, not just mine.",
        "Our webhook secret shows up in the page source of the public booking form.",
        "My loyalty account was emptied and the email on it now belongs to someone else.",
        "A contractor whose contract ended in June still opened our planning files this week.",
        "Someone changed the payout bank details on our account and it wasn't any of us.",
        "There were three card payments at midnight that I never made.",
        "We got an email with our customer list attached from an address we don't know.",
        "A login code arrived by text that I didn't request, then my password stopped working.",
        "Money left my account to a payee I never added.",
        "Our shop admin now has two staff accounts none of us created.",
        "A parent reports seeing other pupils' reports when she logs in.",
        # Written 2026-12-06: an incident told as events, with a question after it.
        "Our sign-in history lists four logins from a country where we have no staff. Should "
        "we be worried?",
        "A driver we let go in August signed in on Sunday and downloaded the route sheets. How?",
        "The supplier portal showed me purchase orders belonging to a different restaurant "
        "group.",
        "I opened the shared inbox and it was full of another firm's client emails.",
        "Guests got an email in our hotel's name with a payment link we never sent. Is that "
        "from your system?",
        "The comment box on the public form runs any script pasted into it; I have a proof of "
        "concept and have told no one else.",
        "Researcher here: your file upload accepts an svg with script inside and it executes "
        "for every admin who previews it.",
        "The export I downloaded contains a column of card numbers from someone else's store.",
        "My appointment letter came with another patient's date of birth and address on it.",
        "An API token we revoked last month is still being accepted, our logs show calls with "
        "it yesterday.",
        "Two of our cashiers received a message asking them to re-enter their password on a "
        "site that is not yours. Is this you?",
        "There are bookings made from our account at 3am from an IP in a country we never "
        "travel to.",
    ],
    "data_loss": [
        "Every recipe we entered before the summer update has vanished from the menu builder.",
        "The student grades from last term are blank after the nightly sync.",
        "Since the server move, scanned contracts older than 2023 can't be opened, they show as "
        "empty.",
        "Our call recordings from the whole of October are no longer in the archive.",
        "After merging the two accounts, the older account's history is simply gone.",
        "The inventory counts were reset to zero for all warehouses after the import.",
        "Patient notes written last week have disappeared from the timeline.",
        "The photo gallery lost every image uploaded by our field team in September.",
        "After the upgrade our historical orders show as empty.",
        "Since the sync last night every contact we had has no phone number any more.",
        "Half of the photos we uploaded this year can no longer be found.",
        # Written 2026-12-06: data gone after a move the vendor made.
        "Since the move to the new storage last weekend, every signed form from before 2024 "
        "opens blank.",
        "After the version 4 upgrade the notes field is empty on all 9,000 customer records.",
        "The migration finished with no errors but the price history of every product is gone.",
        "Once our account was moved to the EU region, three years of timesheets no longer show.",
        "After switching to the new API as you asked, the tags on all older records were wiped.",
        "Your import tool said complete, yet every invoice line item from last year is missing.",
    ],
    "platform": [
        "None of the lockers in the city will open, and the help line says it is everywhere.",
        "Every store on our chain gets the same timeout when it tries to log in.",
        "All three of our offices lost the phone system at the same moment.",
        "Our members across the country can't book a single class tonight.",
        "The tills in every branch are rejecting cards, it isn't one terminal.",
        "No driver in our fleet can start a route, the app shows the same error for everyone.",
        "None of our branches can take card payments and the other shops on the street say the "
        "same.",
        "Every user in the company gets the same error page since this morning.",
        "No one in the building can reach the portal, on any device or network.",
        "The payment terminals in all of our stores went offline at the same minute.",
    ],
    "churn": [
        "We have a budget review next month and your tool is on the list of things to cut.",
        "Another supplier has offered to take over our contract from January at a lower rate.",
        "The team has been testing a rival app for two weeks and likes it better.",
        "Please send our data export, we're setting up with a new system this quarter.",
        "We are only keeping the subscription until our new provider is live.",
        "I'll be moving my mortgage to another lender when the fixed term ends.",
        "Finance asked us to justify every licence, and honestly we use yours less and less.",
        "We're shortlisting replacements for you and want to know our notice period.",
        "We've signed with another provider and want to know how to take our data with us.",
        "Our board has asked us to replace you before the contract ends.",
        "Unless the price comes down we will take the renewal elsewhere.",
        "Procurement asked me for a quote from two of your competitors before we decide.",
        # Written 2026-12-08: the choice between the vendor and another one, said politely,
        # often wrapped around a product question and a date.
        "At that price we will have to look elsewhere; we are seeing another vendor on Monday.",
        "We have a demo booked with a competing platform next week, ahead of our renewal.",
        "Our directors choose between you and another system at the end of the month.",
        "A rival supplier has quoted us roughly half of what we pay you, and we decide by Friday.",
        "The committee compares you with two other providers next Tuesday.",
        "We're trialling a different scheduling tool alongside yours to see which one stays.",
        "If the new price stands we'll be taking our business somewhere cheaper.",
        "Our board meets on the 12th to decide whether we keep your system or switch.",
        "The renewal quote is well over budget, so we're talking to other vendors.",
        "Honestly we're wondering whether it's worth keeping the subscription past this term.",
        "I'm moving my savings to another bank that pays more interest.",
        "We're running a pilot with a competitor this month before our contract is up.",
        "The one thing that would keep us with you is offline mode; the other vendor has it.",
        "Our head office wants everyone on the same platform the other branches use, not yours.",
        "I've started transferring my pension to another provider.",
        "Our renewal is in February and another company has offered the same for less.",
        "Unless you can match their price we'll move the whole team over in January.",
        "We've been asked to justify staying with you against a cheaper quote we received.",
    ],
    "relationship": [
        # Written 2026-12-06: a senior person asks to talk about the relationship itself.
        "Our managing director would like a call with your leadership about whether this "
        "partnership still works for us.",
        "Before we plan next year, I want an honest conversation with someone senior on your "
        "side about where we stand.",
        "Can your head of customer success and I meet? The last quarter raises questions about "
        "the fit between our companies.",
        "Our board wants to review all software vendors; I'd like to hear from your CEO why we "
        "should stay with you.",
        "I'd like thirty minutes with your COO to talk frankly about the past year with you.",
        "Given the problems this term, our principal asks for a meeting with your leadership "
        "about the future of our agreement.",
        "Please set up a call with your executive team; we need to discuss the direction of our "
        "relationship.",
        "As CFO I'm asking for a candid discussion with your leadership before our budget "
        "decisions.",
        "We should talk at a senior level about what has gone wrong between our teams this "
        "year.",
        "Our owner wants to speak with your founder about whether we carry on together.",
        # Written 2026-12-08: the question whether the arrangement still makes sense, asked
        # calmly by someone senior.
        "I'd like to understand honestly whether you're still the right partner for us.",
        "Could we meet to review whether the current arrangement makes sense for both sides?",
        "I want to talk about the partnership and whether the shape of our agreement still "
        "works for us.",
        "Before I answer our board again, I want to understand how you see the partnership.",
        "It's been a difficult year on both sides and I think it is time we sat down together.",
        "Our governors have questions about value, and I want to discuss the future of our "
        "arrangement with you.",
        "I'd like to understand whether the arrangement still makes sense for both of us.",
        "As managing director I'd like half an hour with you about where this relationship is "
        "going.",
    ],
    "none": [
        "Could we book a call with your onboarding lead to plan the rollout to our second site?",
        "Our CEO would love a demo of the new reporting module next week.",
        "Can someone from your team join our quarterly meeting to walk through the new features?",
        "I'd like a call with our account manager to add ten seats.",
        "Our director asked for a copy of the signed order form for our records.",
        "I don't recognise the new menu layout, where did settings go?",
        "The address on the invoice is our old one, please change it.",
        "The report is empty because we had no orders on Sunday.",
        "We're testing the new mobile app with two drivers before rolling it out.",
        "Can you export our data to CSV for the board meeting?",
        "Our offices will be closed over the holidays, no deliveries please.",
        "The budget for next year includes more seats for the sales team.",
        "Is there a cheaper plan for schools with fewer than 50 pupils?",
        "Someone on our team deleted a draft, can it be restored?",
        "My child's class changed, how do I update it in the app?",
        "Every member of our team loves the new calendar view.",
        "We moved our archive to cold storage on purpose, no action needed.",
        "The new supplier form asks for your VAT number, could you send it?",
        "I'd like to compare plans before our renewal in March.",
        "We added a new branch and need two more logins.",
        "The report shows decimals with a comma, can we change it?",
        "My parcel arrived, thanks for the quick delivery.",
        "Could you move my appointment to next Tuesday?",
        "Our team moved to a new office and the address on invoices needs updating.",
        "I changed banks and need to update the direct debit.",
        "The chart went flat because we paused the campaign, all fine.",
        "We noticed a new login screen this morning, looks nice.",
        # Written 2026-12-08: the same words as a competitive choice, with nothing at stake.
        "We have a demo of your new forecasting module with our team leads next Tuesday.",
        "Our board meets on the 12th and would like the usage report beforehand.",
        "Can you quote us for ten more seats before our renewal in February?",
        "We compared the two plans you offer and want to move up to the larger one.",
        "We moved from another vendor to you last year and want to import the old archive.",
        "Our director asked for a price for adding the second warehouse next quarter.",
        "Another team in our company uses you too; can we merge the two accounts?",
        "We are looking at your premium tier for the extra storage, what does it cost?",
        "Could we meet to plan how the partnership rolls out to our new sites next year?",
        "Our managing director would like an invoice for the partnership fee.",
        "I'd like half an hour with your trainer to set up the new dashboards.",
        "Our board would like to understand the new features before the roll-out.",
    ],
}
