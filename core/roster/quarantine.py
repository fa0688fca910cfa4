"""Why a row is quarantined: a code for counting and a sentence a clerk can act on.

The sentences name the problem and the fix, never the row's values (they are personal data);
the clerk finds the row by its source and row number.
"""

from __future__ import annotations

UNREADABLE = "unreadable"
NO_IDENTITY = "no_identity"
NAME_ONLY = "name_only"
INVALID_ID_UNLINKED = "invalid_id_unlinked"
INVALID_ID_REPEATED = "invalid_id_repeated"
ID_CONFLICT = "id_conflict"
AMBIGUOUS = "ambiguous"
OVERLONG = "overlong"

_TEXT = {
    UNREADABLE: "the row could not be read ({detail}); re-export the file and ingest it again",
    NO_IDENTITY: (
        "no name and no valid ID number (ID: {detail}); the row identifies nobody: "
        "fill in the driver's name and ID number"
    ),
    NAME_ONLY: (
        "a name with no ID number, phone or plate: too little to tell which driver it is; "
        "add the ID number or a phone number"
    ),
    INVALID_ID_UNLINKED: (
        "the ID number is invalid ({detail}) and nothing else ties the row to a driver: no "
        "driver of the same name has its phone or plate or an ID number one typo from it, and no "
        "other row of the same name outside quarantine shares its phone, plate or ID number; "
        "correct the ID number"
    ),
    INVALID_ID_REPEATED: (
        "the ID number is invalid ({detail}); other rows of the same name carry the same number "
        "(or another typo of the same valid number), but none of them has a phone or plate to "
        "tell the driver by; correct the ID number"
    ),
    ID_CONFLICT: (
        "{detail} records carry this ID number under different names, and this row's name is "
        "not the one the roster keeps for it; nor do its phone and plate point to one other "
        "driver. Check whose ID number it is, and correct the ID number or the name"
    ),
    OVERLONG: (
        "the {detail}: no real value is that long, so the cell holds something else "
        "(a run of other rows, a pasted text); correct the cell"
    ),
    AMBIGUOUS: (
        "the ID number is missing or invalid and the name, phone and plate fit {detail} "
        "drivers equally; add the ID number"
    ),
}

REASONS = tuple(_TEXT)


def reason_text(code: str, detail: str) -> str:
    """The clerk's sentence for a quarantine code."""
    return f"{code}: " + _TEXT[code].format(detail=detail or "unknown")
