"""What two reports must agree on before they share a group: the specific things they name.

An anchor is something a report names that one bug has and another does not: a product error
code ("BNK-417", "ERR_IMPORT_113"), an exception or HTTP status, an endpoint
("/api/v2/employees"), a device platform, and the kind of failure it describes (a crash,
slowness, something missing, something shown twice, a wrong figure), and whether the failure
reaches one person or place only ("for one tenant who changed banks"). Reports that read alike
but disagree on one of these are different problems: "the app crashes on Android 14" and "the
app drains the battery on Android 14", or an HTTP 504 on two different endpoints. Agreement on
a specific anchor (a code, an endpoint) is evidence; a report that names none is neutral.
Pure: text in, anchors out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["FAILURE_WORDS", "Anchors", "anchors_of", "conflict", "shared"]

# Product error codes as support sees them: "BNK-417", "TERM-E41", "ERR_IMPORT_113", "E1004".
_CODE = re.compile(r"\b([A-Z][A-Z0-9]{1,9}(?:[-_][A-Z0-9]+)*[-_][A-Z]{0,3}\d{2,6}[A-Z]?)\b")
# Tracker keys and version-like tokens look like codes but are not failures.
_NOT_CODE = re.compile(r"^(?:V\d|ISO|UTF|RFC|TLS|SHA|MD5|IPV|HTTP|CVE|PR-|PO-|INV-|ORDER)", re.I)
# An endpoint after an HTTP method or the word "endpoint", or under /api/ or /v1/ (not a file
# path from a build log).
_ENDPOINT = re.compile(
    r"(?:\b(?:GET|POST|PUT|PATCH|DELETE|HEAD|[Ee]ndpoint:?)\s+[`'\"]?(?:https?://[\w.:-]+)?|"
    r"(?<![\w.:/])(?=/(?:api|v\d+)/)|(?<![\w.:/])(?=/[\w/{}:-]+[`'\"]?\s+endpoint\b))"
    r"(/[A-Za-z0-9_.{}:-]+(?:/[A-Za-z0-9_.{}:-]+)*)"
)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

_PLATFORMS = {
    "android": "android", "samsung": "android", "pixel": "android", "galaxy": "android",
    "ios": "ios", "iphone": "ios", "ipad": "ios", "ipados": "ios", "ipads": "ios",
    "iphones": "ios", "windows": "windows", "macos": "mac", "macbook": "mac", "osx": "mac",
}

# The kind of failure, by the words customers use for it. A report may name several.
_SYMPTOM_WORDS = {
    "crash": "crash crashes crashed crashing disappears closes quits shuts",
    "slow": "slow slower slowly lag lags lagging laggy sluggish hang hangs hanging freezes frozen "
            "freeze freezing spins spinning forever timeout timeouts unresponsive",
    "late": "late delayed delay delays",
    "twice": "twice double doubled duplicate duplicated duplicates repeated",
    "missing": "missing",
    "blank": "blank black empty",
    "wrong": "wrong incorrect inflated negative swapped inaccurate underpaid overcharged "
             "undercharged miscalculated mismatch",
    "loop": "loop loops looping",
    "rejected": "rejected refused refuses rejects denied declined invalid",
    "stale": "stale outdated",
    "not_found": "404",
    "battery": "battery drain drains draining overheating overheats",
    "expired": "expired",
    "garbled": "garbled gibberish unreadable",
    "logout": "logout",
}
_SYMPTOMS = {w: kind for kind, words in _SYMPTOM_WORDS.items() for w in words.split()}
# The words that name a kind of failure, as written.
FAILURE_WORDS = frozenset(_SYMPTOMS)
_SYMPTOM_PHRASES = (
    (re.compile(r"\bnever (?:arrives?|came|comes|got|get|gets|received?|sent|shows? up)\b|"
                r"\b(?:not|never|isn't|wasn't|aren't|weren't) (?:being )?(?:sent|received|"
                r"delivered|receiving|getting)\b|\bno (?:email|e-mail|notification|message)s?\b|"
                r"\bnothing (?:arrives|comes|downloads)\b|\b(?:arrives?|came|comes) without\b|"
                r"\bnot attached\b|\bno attachments?\b|\b(?:didn't|don't|doesn't) "
                r"(?:get|receive)\b"), "missing"),
    # "Overtime not paid", "fees not applied": the thing the report expects is not there.
    (re.compile(r"\b(?:not|never|isn't|aren't|wasn't|weren't) (?:being )?(?:collected|taken|"
                r"paid|applied|added|calculated|included|created|generated|shown|showing|"
                r"visible|listed|counted)\b"), "missing"),
    (re.compile(r"\btimes? out\b|\btimed out\b|\bloading (?:circle|spinner)\b|\btakes? ages\b|"
                r"\btakes? (?:forever|minutes)\b|\bstops? responding\b"), "slow"),
    (re.compile(r"\bforce[- ]clos|\bkicks? (?:me|us|them|users?) out\b"), "crash"),
    (re.compile(r"\blogs? (?:me|us|them|users?|people|everyone) out\b|\blogged out\b|"
                r"\bsession expire"), "logout"),
    (re.compile(r"\bhours? (?:later|after|late)\b|\btoo late\b"), "late"),
    (re.compile(r"\b(?:two|2) times\b"), "twice"),
    (re.compile(r"\bwhite (?:screen|page)\b"), "blank"),
    (re.compile(r"\btoo (?:high|low|much|little)\b|\boff by\b|\b(?:don't|doesn't) add up\b"),
     "wrong"),
    (re.compile(r"\bin circles\b|\bredirect loop\b|\bback to (?:the )?login\b"), "loop"),
    (re.compile(r"\bnot (?:updating|refreshing|syncing)\b|\b(?:doesn't|don't|won't) "
                r"(?:refresh|update|sync)\b|\bout of date\b"), "stale"),
    (re.compile(r"\bpage not found\b"), "not_found"),
    # Something cannot be done at all ("won't save", "can't book"): not a wrong or stale figure.
    (re.compile(r"\b(?:can't|cannot|can not|won't|unable to|not able to|fails? to|failing to|"
                r"doesn't let|won't let)\b|\bnot (?:saving|loading|submitting|opening|"
                r"uploading)\b"), "blocked"),
)
# A failure that reaches one person or place only ("PAY-305 for one tenant who changed banks",
# "one customer's inverter ... the others are fine") has a cause of its own: it is not the bug
# that hits everyone, even with the same code or symptom.
_WHO = (r"(?:customer|user|patient|tenant|employee|member|driver|site|account|client|store|"
        r"shop|location|person|guest|vehicle|device|terminal|phone|worker|student|owner|"
        r"property|unit|starter|hire|farm|field|practitioner|clinic|teacher|contractor)")
_JUST_ONE = re.compile(r"\b(?:(?:only|just) (?:for |to )?|for )(?:one|a single) (?:new )?"
                       + _WHO + r"s?\b")
_ONE = re.compile(r"\b(?:one|a single) (?:new )?" + _WHO + r"(?:'s)?\b")
_OTHERS_FINE = re.compile(
    r"\b(?:everyone|everybody|all the others|anyone) else\b|\bthe others? (?:are|is|work|works|"
    r"can|seem)\b|\bothers (?:are|work|can|go)\b|\bother \w+ (?:are|is|work|works|can) "
    r"(?:fine|ok|okay)\b")
# Kinds of failure that one bug shows together, or that describe its effect rather than the
# failure itself ("the app crashes" -> "hours are missing"; "emails arrive hours late" -> "the
# payroll is late"). Any other two kinds are different failures.
_COMPATIBLE = frozenset(
    frozenset(pair.split())
    for pair in (
        "missing crash", "missing blank", "missing stale",
        "late slow", "late wrong", "late stale", "wrong twice", "wrong stale",
        "wrong garbled", "blank garbled", "slow crash", "late expired",
        "rejected missing", "rejected expired", "rejected late",
        "logout expired", "logout loop",
        # A thing that cannot be done may be refused, crash, hang or never come back.
        "blocked rejected", "blocked crash", "blocked slow", "blocked loop", "blocked missing",
        "blocked expired", "blocked logout",
    )
)
# Said of nearly every bug ("rejected", "invalid"): agreeing or not on it means nothing.
_WEAK_SYMPTOMS: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True, slots=True)
class Anchors:
    """The specific things one report names."""

    codes: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    endpoints: frozenset[str] = frozenset()
    platforms: frozenset[str] = frozenset()
    symptoms: frozenset[str] = frozenset()
    # The report says the failure reaches one person or place only, the others being fine.
    single: bool = False

    @property
    def specific(self) -> bool:
        """Whether the report names a code or an endpoint."""
        return bool(self.codes or self.endpoints)


def anchors_of(subject: str, body: str, error_keys: Iterable[str] = ()) -> Anchors:
    """The anchors of one report, from its subject, first message and detected error keys."""
    text = f"{subject}\n{body}"
    codes = {k for k in error_keys if not k.startswith(("http_", "frame:"))}
    codes.update(_code_key(m.group(1)) for m in _CODE.finditer(text)
                 if not _NOT_CODE.match(m.group(1)))
    statuses = {k for k in error_keys if k.startswith("http_")}
    lower = text.lower()
    words = _WORD.findall(lower)
    symptoms = {_SYMPTOMS[w] for w in words if w in _SYMPTOMS}
    symptoms.update(kind for pattern, kind in _SYMPTOM_PHRASES if pattern.search(lower))
    return Anchors(
        codes=frozenset(codes),
        statuses=frozenset(statuses),
        endpoints=frozenset(_endpoint_key(m.group(1)) for m in _ENDPOINT.finditer(text)
                            if _is_endpoint(m.group(1))),
        platforms=frozenset(_PLATFORMS[w] for w in words if w in _PLATFORMS),
        symptoms=frozenset(symptoms),
        single=_reaches_one(lower),
    )


def shared(a: Anchors, b: Anchors) -> tuple[str, ...]:
    """The specific anchors (codes, endpoints) both reports name."""
    return tuple(sorted((a.codes & b.codes) | (a.endpoints & b.endpoints)))


def conflict(a: Anchors, b: Anchors) -> str | None:
    """Why two reports describe different problems (None: nothing says so)."""
    if a.codes and b.codes and not a.codes & b.codes:
        return f"different errors ({min(a.codes)} / {min(b.codes)})"
    if a.endpoints and b.endpoints and not a.endpoints & b.endpoints:
        return f"different endpoints ({min(a.endpoints)} / {min(b.endpoints)})"
    if a.platforms and b.platforms and not a.platforms & b.platforms:
        return f"different platforms ({min(a.platforms)} / {min(b.platforms)})"
    if a.single != b.single:
        return "different reach (only one affected / many)" if a.single else \
            "different reach (many / only one affected)"
    kinds_a, kinds_b = a.symptoms - _WEAK_SYMPTOMS, b.symptoms - _WEAK_SYMPTOMS
    if kinds_a and kinds_b and not _agree(kinds_a, kinds_b):
        return f"different failures ({', '.join(sorted(kinds_a))} / {', '.join(sorted(kinds_b))})"
    return None


def _reaches_one(lower: str) -> bool:
    """Whether the report says its failure reaches one person or place, the others fine."""
    return bool(_JUST_ONE.search(lower) or (_ONE.search(lower) and _OTHERS_FINE.search(lower)))


def _agree(kinds_a: frozenset[str], kinds_b: frozenset[str]) -> bool:
    """Whether some failure kind of one report goes with some kind of the other."""
    return bool(kinds_a & kinds_b) or any(
        frozenset((x, y)) in _COMPATIBLE for x in kinds_a for y in kinds_b
    )


def _code_key(code: str) -> str:
    return "code:" + code.lower().replace("_", "-")


def _is_endpoint(path: str) -> bool:
    # "/trips", "/api/v2/employees", not "/06/07" or a file ("/tmp/report.csv").
    parts = [p for p in path.strip("/").split("/") if p]
    last = parts[-1] if parts else ""
    has_file = "." in last and last.rsplit(".", 1)[1].isalpha()
    return any(p.isalpha() and len(p) > 2 for p in parts) and not has_file


def _endpoint_key(path: str) -> str:
    parts = [":id" if any(c.isdigit() for c in p) and not p[:1].isalpha() else p.lower()
             for p in path.split("?")[0].strip("/").split("/")]
    return "/" + "/".join(parts)
