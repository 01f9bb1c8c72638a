"""Model fields: values encrypted at rest with :mod:`ecitizen.core.crypto`, and JSON that
is never changed once written (:class:`WriteOnceJSONField`).

Encrypted fields:

The column holds the token; Python code sees the plaintext. Because the stored value is
randomised, equality lookups on these fields are meaningless and are refused: find rows by
the blind index that sits beside the field (see ``ResidentProfile.national_id_index``).
The only lookups allowed are ``isnull`` and ``encrypted_under`` (rows whose token was
wrapped with a given key id), which the key-rotation command uses.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.fields.json import KeyTransform
from django.db.models.lookups import IsNull, Lookup

from ecitizen.core import crypto


class EncryptedUnder(Lookup[Any]):
    """``field__encrypted_under="k2"``: the token names KEK ``k2`` (``"*"``: any key)."""

    lookup_name = "encrypted_under"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        key = "" if self.rhs == "*" else f"{self.rhs}:"
        pattern = f"{crypto.TOKEN_PREFIX}:{key}%"
        return f"{lhs} LIKE %s", [*lhs_params, pattern]


class EncryptedTextField(models.TextField):
    """A text value stored as an AES-256-GCM envelope token."""

    def contribute_to_class(
        self, cls: type[models.Model], name: str, private_only: bool = False
    ) -> None:
        super().contribute_to_class(cls, name, private_only=private_only)
        self.encryption_context = f"{cls._meta.label_lower}.{name}"

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "isnull":
            return IsNull
        if lookup_name == "encrypted_under":
            return EncryptedUnder
        return None

    def to_plaintext(self, value: Any) -> str:
        """The string that gets encrypted for a Python value of this field."""
        return str(value)

    def from_plaintext(self, text: str) -> Any:
        """The Python value for a decrypted string."""
        return text

    def get_db_prep_save(self, value: Any, connection: BaseDatabaseWrapper) -> Any:
        if value is None or value == "":
            return None if self.null else ""
        return crypto.encrypt(self.to_plaintext(value), context=self.encryption_context)

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> Any:
        if not value:
            return value
        return self.from_plaintext(crypto.decrypt(value, context=self.encryption_context))


class EncryptedDateField(EncryptedTextField):
    """A date stored encrypted as its ISO-8601 text."""

    def to_plaintext(self, value: Any) -> str:
        if isinstance(value, datetime.date):
            return value.isoformat()
        return datetime.date.fromisoformat(str(value)).isoformat()

    def from_plaintext(self, text: str) -> Any:
        return datetime.date.fromisoformat(text)

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, datetime.date):
            return value
        return datetime.date.fromisoformat(str(value))


class EncryptedJSONField(EncryptedTextField):
    """A JSON value (lists, dicts, strings, numbers) stored encrypted as its JSON text.

    ``None`` and an empty string are stored as they are (no ciphertext); an empty list or
    dict is encrypted like any other value, so the column never tells whether it is empty.
    """

    # What django-stubs types the attribute as (a JSON value, not the TextField's str).
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def to_plaintext(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def from_plaintext(self, text: str) -> Any:
        return json.loads(text)

    def to_python(self, value: Any) -> Any:
        return value


class WriteOnceJSONField(models.JSONField):
    """JSON in rows that are never changed once written (a published service version's
    definition): each distinct stored text is decoded once per process, and every row read
    afterwards with the same text gets the same decoded object.

    Decoding a service's three-language definition was a seventh of an officer's queue
    page (every row's version, every service of the filters). Readers must treat the
    value as read-only, as they must the row: a change is a new row. At most
    :attr:`DECODED_LIMIT` texts are kept; past that the memory starts again empty.
    """

    DECODED_LIMIT = 256
    _decoded: dict[str, Any] = {}

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> Any:
        if not isinstance(value, str) or isinstance(expression, KeyTransform):
            return super().from_db_value(value, expression, connection)
        decoded = self._decoded.get(value)
        if decoded is None:
            decoded = super().from_db_value(value, expression, connection)
            if len(self._decoded) >= self.DECODED_LIMIT:
                self._decoded.clear()
            self._decoded[value] = decoded
        return decoded
