"""Error signatures and severity: what broke, and how badly it hurts the customer.

Error keys are normalized so the same failure reported by two customers in different words
gives the same key: "HTTP 500", "500 Internal Server Error" and "error 500" are all
``http_500``; ``java.lang.NullPointerException`` is ``exc:nullpointerexception``; "ERR-1234" and
"err_1234" are ``code:err_1234``; errno names, Windows result codes and identity-provider
codes get keys too, and the innermost stack frame (``frame:com.acme.foo.bar``) tells two
reports of the same exception apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from integration.detect.senses import is_question, suppression
from integration.detect.text import Parsed

__all__ = ["error_keys", "severity_cues"]

_REASONS = {
    "bad request": 400,
    "unauthorized": 401,
    "unauthorised": 401,
    "forbidden": 403,
    "not found": 404,
    "method not allowed": 405,
    "request timeout": 408,
    "conflict": 409,
    "payload too large": 413,
    "unprocessable entity": 422,
    "too many requests": 429,
    "internal server error": 500,
    "not implemented": 501,
    "bad gateway": 502,
    "service unavailable": 503,
    "service temporarily unavailable": 503,
    "gateway timeout": 504,
    "gateway time-out": 504,
}
_REASON_RE = "|".join(sorted((re.escape(r) for r in _REASONS), key=len, reverse=True))
_HTTP_CONTEXT = re.compile(
    r"\b(?:http(?:/\d(?:\.\d)?)?|status(?: code)?|error(?: code)?|code|response|returns?|"
    r"returned|returning|got|getting|throws?|with(?: an?)?|an?)\s*[:#(]?\s*([45]\d\d)\b"
    r"(?!\s*(?:%|\$|(?:users?|seats?|customers?|people|records?|rows?|items?|ms|kb|mb|gb|"
    r"dollars|euros?|licen[cs]es?|employees|accounts?)\b))",
    re.IGNORECASE,
)
_HTTP_WITH_REASON = re.compile(rf"\b([45]\d\d)[\s:-]+(?:{_REASON_RE})\b", re.IGNORECASE)
_REASON_ONLY = re.compile(rf"\b({_REASON_RE})\b", re.IGNORECASE)
_EXCEPTION = re.compile(r"\b(?:[a-z_][\w]*\.)*([A-Z][A-Za-z0-9]*(?:Exception|Error|Fault|Panic))\b")
_CODE = re.compile(r"\b(ERR(?:OR)?[_-][A-Z0-9_-]*[A-Z0-9])\b", re.IGNORECASE)
_ERROR_CODE = re.compile(
    r"\berror code\s*[:#]?\s*([A-Za-z]*[-_]?\d{2,}[A-Za-z0-9-]*)\b", re.IGNORECASE
)
_GENERIC_EXC = frozenset({"error", "exception", "servererror", "fault"})
# POSIX / Node errno names ("connect ECONNREFUSED 10.0.0.5:5432").
_ERRNO = re.compile(
    r"\b(ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|EADDRINUSE|"
    r"EACCES|EPERM|EPIPE|ENOENT|ENOSPC|EMFILE)\b"
)
# Windows / COM result codes ("0x80070005") and Microsoft identity platform codes
# ("AADSTS50011"), the two most common coded errors in SSO and desktop-client tickets.
_HEX_CODE = re.compile(r"\b(0[xX][0-9A-Fa-f]{8})\b")
_IDP_CODE = re.compile(r"\b(AADSTS\d{4,6})\b", re.IGNORECASE)
# The first frame of a stack trace, which tells two NullPointerExceptions apart:
# Java/Kotlin "at com.acme.Foo.bar(Foo.java:42)", Python 'File "x/y.py", line 3, in func'.
_JAVA_FRAME = re.compile(r"^\s*at\s+((?:[\w$]+\.)+[\w$<>]+)\(", re.MULTILINE)
_PY_FRAME = re.compile(r'File "([^"]+)", line \d+, in ([\w<>]+)')
# Every pattern above needs one of these; most tickets have none, and one search is cheap.
_ANY_ERROR = re.compile(
    rf"[45]\d\d|err|exception|fault|panic|0x|aadsts|file \"|e(?:conn|timedout|notfound|"
    rf"hostunreach|addrinuse|acces|perm|pipe|noent|nospc|mfile)|{_REASON_RE}",
    re.IGNORECASE,
)
# The same test without a regular expression for ASCII text (nearly every ticket): a
# case-insensitive search tries every alternative at every position, while substring tests on
# the lower-cased text are exact for ASCII and several times cheaper.
_ERROR_WORDS = (
    "err", "exception", "fault", "panic", "0x", "aadsts", 'file "', "econn", "etimedout",
    "enotfound", "ehostunreach", "eaddrinuse", "eacces", "eperm", "epipe", "enoent", "enospc",
    "emfile", *_REASONS,
)
_STATUS_DIGITS = re.compile(r"[45]\d\d")


def _may_have_error(text: str) -> bool:
    if not text.isascii():
        return _ANY_ERROR.search(text) is not None
    lower = text.lower()
    for word in _ERROR_WORDS:
        if word in lower:
            return True
    return _STATUS_DIGITS.search(text) is not None


def _code_key(code: str) -> str:
    return "code:" + code.lower().replace("-", "_")


def error_keys(texts: Iterable[str]) -> tuple[str, ...]:
    """Normalized error signatures found in the texts, in order of first appearance."""
    found: dict[str, None] = {}
    for text in texts:
        if not _may_have_error(text):
            continue
        spans: list[tuple[int, str]] = []
        for m in _HTTP_WITH_REASON.finditer(text):
            spans.append((m.start(), f"http_{m.group(1)}"))
        for m in _HTTP_CONTEXT.finditer(text):
            spans.append((m.start(1), f"http_{m.group(1)}"))
        for m in _REASON_ONLY.finditer(text):
            # "not found" and "conflict" are everyday words; only distinctive phrases count.
            status = _REASONS[m.group(1).lower()]
            if status >= 500 or m.group(1)[0].isupper():
                spans.append((m.start(), f"http_{status}"))
        for m in _EXCEPTION.finditer(text):
            name = m.group(1).lower()
            if name not in _GENERIC_EXC:
                spans.append((m.start(1), f"exc:{name}"))
        for m in _CODE.finditer(text):
            spans.append((m.start(), _code_key(m.group(1))))
        for m in _ERROR_CODE.finditer(text):
            spans.append((m.start(1), _code_key(m.group(1))))
        for m in _ERRNO.finditer(text):
            spans.append((m.start(1), f"errno:{m.group(1).lower()}"))
        for m in _HEX_CODE.finditer(text):
            spans.append((m.start(1), _code_key(m.group(1))))
        for m in _IDP_CODE.finditer(text):
            spans.append((m.start(1), _code_key(m.group(1))))
        frame = _JAVA_FRAME.search(text)
        if frame is not None:
            spans.append((frame.start(1), f"frame:{frame.group(1).lower()}"))
        py_frames = _PY_FRAME.findall(text)
        if py_frames:
            # Python prints the innermost frame last.
            path, func = py_frames[-1]
            name = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
            spans.append((len(text), f"frame:{name}:{func.lower()}"))
        for _, key in sorted(spans):
            found.setdefault(key, None)
    return tuple(found)


_CRITICAL = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\bdata loss\b|\blost (all |some |most )?(of )?(our |my |the )?(data|records|files|"
        r"history|work|customers)|\b(data|records|files) (is |are |has |have )?(been )?"
        r"(gone|lost|wiped|deleted|disappeared|corrupted)|\b(deleted|wiped) (all|every)",
        r"\b(production|prod)( environment| site| system)? (is |are )?(down|blocked|broken)|"
        r"\bblock(s|ed|ing)? (our |the )?production|\b(can ?not|can't|unable to) go live",
        r"\b(all|every one of|all of) (our |my |the )?(users|customers|employees|staff|agents)"
        r"|\b(nobody|no one|none of us) (can|is able)|\bentire (team|company|organi[sz]ation)"
        r"|\bwhole (team|company)|\bdown for everyone",
        r"\b(can ?not|can't|unable to) (process|take|accept|collect|receive) "
        r"(any )?(payments|orders|credit cards)|\bpayments are (failing|down|broken)|"
        r"\bcheckout is (down|broken)",
        r"\bsecurity incident|\bunauthori[sz]ed access|\b(we|i|account|accounts) "
        r"(were|was|got|have been|has been) hacked|\bdata breach|\bransomware|"
        r"\bcredentials (were |have been )?(leaked|exposed)",
        r"\b(complete|total|full) outage|\beverything is down|\b(site|app|platform|service)"
        r" is (completely )?down",
        # Work that stops, said as the business sees it: "our billing run is blocked", "none
        # of our 14 depots can close work orders", "we're turning patients away".
        r"\b(process|run|operations?|production|payroll|invoicing|shipments?|dispatch|"
        r"deliveries|trading|release|launch|go-live|month-end)\b[^.!?\n]{0,40}?\b((is|are|"
        r"has been|have been) (completely |totally |fully )?(blocked|halted|at a standstill)|"
        r"(blocked|halted) for (all|every))\b"
        r"|\bnone of (our|the) (\d+ )?(sites|depots|stores|shops|branches|clinics|offices|"
        r"warehouses|schools|locations|venues|hotels|restaurants|drivers|staff|agents|users|"
        r"teams|nurses|engineers|technicians|vehicles|trucks|employees) (can|could|are able to)"
        r"\b"
        r"|\bno (lorry|lorries|truck|trucks|driver|train|vessel|patient|order|shipment)"
        r" (can|could)\b"
        r"|\bturning (\w+ )?(patients|customers|guests|clients|passengers|students|people)"
        r" away\b|\b(trucks|lorries|vehicles|passengers|patients) (are |were )?(waiting|queued|"
        r"queueing|stranded)\b",
        # Nothing where there should be thousands: "0 of 38,206 readings accepted", "0 charging
        # sessions since 02:00", and backups written empty.
        r"\b(0|zero|none) (of|out of) (the |our )?\d[\d,]{2,}\b"
        r"|\b0 (\w+ ){0,2}(orders|sessions|readings|bookings|payments|transactions|sales|"
        r"scans|check-?ins)\b[^.!?\n]{0,40}\b(vs|versus|expected|instead of|since)\b"
        r"|\bbackups?\b[^.!?\n]{0,80}\b(0|zero) ?(bytes|kb)\b"
        r"|\b(0|zero) ?(bytes|kb)\b[^.!?\n]{0,40}\bbackups?\b",
    )
)
_HIGH = re.compile(
    r"\b(urgent|urgently|asap|critical|blocker|blocking|severe|severely|showstopper|"
    r"many (users|customers)|several (users|customers)|our customers|revenue|deadline|"
    r"outage|down|not loading|can ?not work|can't work|unable to work)\b",
    re.IGNORECASE,
)


# Every match of a pattern contains one of its words (in lower case): a pattern whose words
# are all absent from the lower-cased text cannot match, and is not run. Most messages have
# none, and a text that says "down" runs the two patterns that can use it, not eight.
_GATES: tuple[tuple[str, ...], ...] = (
    ("data loss", "lost", "gone", "wiped", "deleted", "disappeared", "corrupted"),
    ("prod", "go live"),
    ("users", "customers", "employees", "staff", "agents", "nobody", "no one", "none of us",
     "entire", "whole", "down"),
    ("payments", "orders", "credit cards", "checkout"),
    ("security incident", "unauthori", "hacked", "data breach", "ransomware", "credentials"),
    ("outage", "down"),
    ("block", "halt", "stopped", "standstill", "none of", "no lorr", "no truck", "no driver",
     "no train", "no vessel", "no patient", "no order", "no shipment", " away", "waiting",
     "queued", "queueing", "stranded"),
    ("0 ", "zero", "none of", "none out", "0bytes", "0kb"),
)
_HIGH_GATE = (
    "urgent", "asap", "critical", "block", "severe", "showstopper", "users", "customers",
    "revenue", "deadline", "outage", "down", "not loading", "not work", "can't work",
    "unable to work",
)
_SEVERITY: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = (
    *(("critical", p, gate) for p, gate in zip(_CRITICAL, _GATES, strict=True)),
    ("high", _HIGH, _HIGH_GATE),
)


# Data lost in a change the vendor made or asked for: "since the migration to v3, two years of
# photos show 'attachment unavailable'", "after the upgrade the logs are missing from every farm",
# "after last night's sync all annotations are gone".
_CHANGE = re.compile(
    r"\b(?:migrat\w*|upgrad\w*|sync|synced|switch(?:ed)? (?:our|to|from)|v\d|version \d)"
)
_LOSS = re.compile(
    r"\b(?:missing|disappeared|gone|lost (?:their|its|all)|not there any ?more|no longer there"
    r"|(?:attachment|file|document)s? unavailable|not in the|0 bytes|zero bytes)\b"
)
# Every loss above contains one of these: most messages are passed over by substring tests
# before either pattern runs.
_LOSS_WORDS = ("missing", "disappeared", "gone", "lost ", "not there", "no longer there",
               "unavailable", "not in the", "0 bytes", "zero bytes")
# Data at scale, not a button gone from a page.
_AT_SCALE = re.compile(
    r"\d|\b(?:all|every|everything|months|years|weeks|records|data|logs|history|files"
    r"|documents|photos|attachments|fields|entries|notes|reviews|contacts|orders|backups)\b"
)


def _loss_after_change(doc: Parsed) -> str:
    """The sentence reporting data lost after a migration or upgrade, or ""."""
    lower = doc.text.lower()
    if not any(map(lower.__contains__, _LOSS_WORDS)) or _CHANGE.search(lower) is None:
        return ""
    for m in _LOSS.finditer(lower):
        start, end = doc.char_span(m.start(), m.end())
        if start < 0 or end <= start or suppression(doc, start, end, incident=False):
            continue
        if is_question(doc, start):
            # "Will any records go missing?" asks; it reports nothing lost.
            continue
        sentence = doc.sentence_text(start)
        if _AT_SCALE.search(sentence.lower()):
            return sentence
    return ""


def severity_cues(doc: Parsed) -> tuple[str | None, str]:
    """("critical" | "high" | None, sentence) for the strongest counted impact cue in ``doc``."""
    text = doc.text
    lost = _loss_after_change(doc)
    if lost:
        return "critical", lost
    lower = text.lower()
    for level, pattern, gate in _SEVERITY:
        if not any(map(lower.__contains__, gate)):
            continue
        for m in pattern.finditer(text):
            start, end = doc.char_span(m.start(), m.end())
            if start < 0 or end <= start:
                continue
            if suppression(doc, start, end, incident=level == "high"):
                continue
            return level, doc.sentence_text(start)
    return None, ""
