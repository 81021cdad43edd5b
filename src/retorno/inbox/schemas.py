"""API shape of an official's work queue."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class InboxItem(BaseModel):
    reference: str = Field(description="the case or flight the item is about")
    title: str = Field(description="who or what: the person's name, or the flight's route and number")
    since: datetime = Field(description="when it started waiting (UTC)")
    href: str = Field(description="the page where it is done")
    count: int | None = Field(default=None, description="people on it who wait (passengers to approve, board, "
                                                        "receive), where that applies")
    note: str | None = Field(default=None, description="for an alert, what happened: protection_pull, "
                                                       "identity_changed, document_changed, household_changed, "
                                                       "with_household (taken off with another member), "
                                                       "medical_needs, one_seat, family_link, withdrawn, removed "
                                                       "(by the sending side), "
                                                       "no_show, refused (at the door); every one of them is "
                                                       "taken_off to whoever may not read protection details "
                                                       "(the receiving side); must_deboard to the sending side "
                                                       "and the carrier for a person who had boarded and must "
                                                       "leave the aircraft (whatever took them off); for a "
                                                       "manifest to lock, "
                                                       "lock_time_passed (nobody boards until a side locks it)")


class InboxKind(BaseModel):
    kind: str = Field(description="stable code: concerns, verifications, flights_to_accept, manifests_to_propose, "
                                  "manifests_to_approve, manifests_to_lock, boarding, arrivals, discrepancies, "
                                  "intakes, offers, follow_ups, documents_superseded, alerts")
    label: str = Field(description="the kind's name in the language asked for (Accept-Language: es or en)")
    total: int = Field(description="how many items wait, all of them")
    items: list[InboxItem] = Field(description="the oldest of them, oldest first; among the alerts, every one "
                                               "that people must leave the aircraft (must_deboard) first")
    href: str = Field(description="the page that lists them all")


class Inbox(BaseModel):
    """What waits for the caller's action: each kind their agency and role can act on."""

    total: int
    kinds: list[InboxKind]
