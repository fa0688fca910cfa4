"""Why a row is quarantined: a code for counting and a sentence a clerk can act on.

The sentences name the problem and the fix, never the row's values (they are personal data);
the clerk finds the row by its source and row number.
"""

from __future__ import annotations

UNREADABLE = "unreadable"
NO_IDENTITY = "no_identity"
NAME_ONLY = "name_only"
INVALID_ID_UNLINKED = "invalid_id_unlinked"
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
        "the ID number is invalid ({detail}) and no record of the same name shares its "
        "phone or plate; correct the ID number"
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
