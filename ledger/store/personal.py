"""Personal data in the log, sealed with a key of its subject (crypto-shredding).

A customer's personal fields (today the owner's name of an account) are never written to the log
in clear: the store seals them with AES-GCM under a key of their own subject, the account, kept in
ledger_subject_key, the one table of the store that is not append-only. Forgetting the customer
deletes that key: every copy of the name, in every event, snapshot, backup and audit export, stays
unreadable for good, while the events themselves, their hash chain and every balance are untouched.
Readers of the store get the name in clear while the key exists, and ERASED_NAME after.

A sealed value is {"subject": <uuid>, "sealed": <base64 of nonce + ciphertext>}. The subject and the
field's name are the cipher's associated data, and a value opens only where its subject is the one
the reader expects (an event's own account, a snapshot's stream), so a sealed name copied into
another account's event does not open there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.domain.account import ERASED_NAME
from ledger.store.records import NewEvent
from ledger.store.sql import fetch

# Event type -> its personal fields. A subject's key is made with the first event that names it
# (an account's AccountOpened, version 1), in the same statement (ledger/store/write.py).
PERSONAL_FIELDS: Mapping[str, tuple[str, ...]] = {"AccountOpened": ("owner",)}
# Event types that forget their stream's subject: the append that records one deletes the key.
FORGETTING = frozenset({"CustomerForgotten"})
SNAPSHOT_FIELDS = ("owner",)  # an account snapshot's copy of the name, sealed as in its opening event
NONCE_BYTES = 12


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _aad(subject: UUID, field: str) -> bytes:
    return f"{subject}/{field}".encode()


def seal(subject: UUID, field: str, text: str, key: bytes) -> dict[str, str]:
    nonce = os.urandom(NONCE_BYTES)
    sealed = nonce + AESGCM(key).encrypt(nonce, text.encode(), _aad(subject, field))
    return {"subject": str(subject), "sealed": base64.b64encode(sealed).decode()}


def keyed_hash(key: bytes, text: str) -> str:
    """HMAC-SHA256 of `text` under a key derived from the subject's (the cipher's key itself is
    used for nothing else): what a command's fingerprint holds of personal data (ledger/execute.py)."""
    derived = hmac.new(key, b"tally: fingerprint", hashlib.sha256).digest()
    return hmac.new(derived, text.encode(), hashlib.sha256).hexdigest()


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and "sealed" in value and "subject" in value


def subject_of(value: Any) -> UUID | None:
    return UUID(value["subject"]) if is_sealed(value) else None


def unseal(value: Any, field: str, keys: Mapping[UUID, bytes], subject: UUID | str | None) -> str:
    """The clear text of a sealed value of `subject`, ERASED_NAME once its key is gone (or when the
    value names another subject). A plain string is returned as it is: a test's bulk SQL writes names
    that way (ledger migration 0006 sealed those of every database that existed before sealing)."""
    if not is_sealed(value):
        return value if isinstance(value, str) else ""
    if str(subject) != value["subject"]:
        return ERASED_NAME
    owner = UUID(value["subject"])
    key = keys.get(owner)
    if key is None:
        return ERASED_NAME
    raw = base64.b64decode(value["sealed"])
    try:
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(owner, field)).decode()
    except InvalidTag:  # altered, or moved from another subject: nothing personal can be read from it
        return ERASED_NAME


def seal_new(events: Sequence[NewEvent], given: Mapping[UUID, bytes]) -> tuple[list[NewEvent], dict[UUID, bytes]]:
    """The events to append with their personal fields sealed, and the new subjects' keys (those
    `given`, or made here). A subject is named first by the event that opens its stream (version 1):
    its key is made with it."""
    sealed: list[NewEvent] = []
    keys: dict[UUID, bytes] = {}
    for event in events:
        fields = [f for f in PERSONAL_FIELDS.get(event.type, ()) if isinstance(event.data.get(f), str)]
        if not fields:
            sealed.append(event)
            continue
        if event.version != 1:
            raise ValueError(f"{event.type} v{event.version}: personal data is sealed only in a stream's first event")
        key = keys.setdefault(event.stream_id, given.get(event.stream_id) or new_key())
        data = {**event.data, **{f: seal(event.stream_id, f, event.data[f], key) for f in fields}}
        sealed.append(replace(event, data=data))
    return sealed, keys


def keys_of(subjects: Iterable[UUID]) -> dict[UUID, bytes]:
    """The keys that still exist of `subjects`, in one query."""
    wanted = list(set(subjects))
    if not wanted:
        return {}
    return {
        s: bytes(k)
        for s, k in fetch("SELECT subject_id, key FROM ledger_subject_key WHERE subject_id = ANY(%s)", [wanted])
    }


def sealed_subjects(type_name: str, data: Mapping[str, Any]) -> set[UUID]:
    return {s for f in PERSONAL_FIELDS.get(type_name, ()) if (s := subject_of(data.get(f))) is not None}


def open_fields(type_name: str, data: dict[str, Any], keys: Mapping[UUID, bytes]) -> None:
    """Replace the sealed personal fields of one event's data (in place) with their clear text: an
    account's event names its own account."""
    for field in PERSONAL_FIELDS.get(type_name, ()):
        if field in data:
            data[field] = unseal(data[field], field, keys, data.get("account_id"))


def open_events(events: Iterable[tuple[str, dict[str, Any]]], keys: Mapping[UUID, bytes] | None = None) -> None:
    """Open the personal fields of (type, data) pairs in place; the keys they need in one query
    unless given."""
    events = [(t, d) for t, d in events if t in PERSONAL_FIELDS]
    if not events:
        return
    if keys is None:
        keys = keys_of(s for t, d in events for s in sealed_subjects(t, d))
    for type_name, data in events:
        open_fields(type_name, data, keys)
