"""Core's eligibility rules (docs/recognition.md): pure, over the facts a nomination carries.

Always: the nominee is on the roster and active (a fleet: an active driver of the province works
for it), and a member driver for a member-only award. Then each of the kind's disqualifiers, in
the order ``DISQUALIFIERS`` lists them. The first rule a nominee fails excludes it, with the rule
and a reason that names counts and sources, never personal data.
"""

from __future__ import annotations

from chelun.recognition.models import AwardKind, Eligibility, NominationItem


def _excluded(rule: str, reason: str) -> Eligibility:
    return Eligibility(eligible=False, rule=rule, reason=reason)


def default_eligibility(kind: AwardKind, item: NominationItem) -> Eligibility:
    """Whether ``item`` may be nominated for ``kind`` by core's rules, and why."""
    driver = item.nominee_kind == "driver"
    if kind.nominee == "enterprise" and driver:
        return _excluded("wrong_nominee", f"{kind.code} is for fleets, not drivers")
    if kind.nominee != "enterprise" and not driver:
        return _excluded("wrong_nominee", f"{kind.code} is for drivers, not fleets")
    if not item.on_roster:
        return _excluded(
            "not_on_roster",
            "not an active driver on the province's roster"
            if driver
            else "no active driver of the province's roster works for this enterprise",
        )
    if kind.nominee == "member_driver" and not item.member:
        return _excluded("not_member", f"{kind.code} is for member drivers only")
    safety = item.safety
    checked = ["a member driver"] if kind.nominee == "member_driver" else []
    for rule in kind.disqualifiers:
        if rule == "unverified" and driver:
            if not item.verified:
                return _excluded("unverified", "not confirmed by the roster's verification")
            checked.append("verified")
        elif rule == "upheld_complaint" and safety is not None:
            if safety.upheld_complaints:
                return _excluded(
                    "upheld_complaint",
                    f"{safety.upheld_complaints} complaint(s) about the nominee upheld in the "
                    f"period (record: {safety.source})",
                )
            checked.append("no upheld complaint")
        elif rule == "fraud_claim" and driver:
            if item.fraud_claims:
                return _excluded(
                    "fraud_claim",
                    f"{item.fraud_claims} insurance claim(s) rejected for fraud in the period",
                )
            checked.append("no claim rejected for fraud")
        elif rule == "unsafe" and safety is not None:
            problems = []
            if safety.violations:
                problems.append(f"{safety.violations} violation(s)")
            if safety.accidents:
                problems.append(f"{safety.accidents} accident(s)")
            if safety.blacklisted:
                problems.append("credit blacklisting")
            if problems:
                return _excluded(
                    "unsafe",
                    f"{', '.join(problems)} in the period (record: {safety.source})",
                )
            checked.append("a clean safety record")
        elif rule == "no_safety_record" and safety is None:
            return _excluded("no_safety_record", "no safety record was supplied for the period")
    if safety is None and {"unsafe", "upheld_complaint"} & set(kind.disqualifiers):
        checked.append("no safety record supplied, so none held against it")
    return Eligibility(
        eligible=True,
        reason="on the roster" + "".join(f"; {what}" for what in checked),
    )
