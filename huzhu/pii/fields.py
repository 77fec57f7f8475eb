"""A model field that stores a string encrypted with the configured FieldCipher."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models

from .crypto import cipher


class EncryptedTextField(models.BinaryField):
    """Hold a str in Python and AEAD ciphertext in the database.

    The associated data is ``<app_label>.<model>.<field>`` (or ``aad``, given when a model
    moved to another app: what its stored values were sealed with), so a value copied into another
    column or table does not decrypt. Decryption failures raise ``DecryptionError`` loudly.
    Lookups on this column are meaningless (random nonces): use the blind-index column.
    """

    # For django-stubs: on a model instance the value is a str (from_db_value), where the
    # BinaryField it stores through has bytes.
    _pyi_private_set_type: str
    _pyi_private_get_type: str  # type: ignore[assignment]  # a str, not BinaryField's bytes

    def __init__(self, *args: Any, aad: str | None = None, **kwargs: Any):
        kwargs.setdefault("editable", True)
        self._aad = aad  # fixed associated data: a model moved to another app keeps its own
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self._aad is not None:
            kwargs["aad"] = self._aad
        return name, path, args, kwargs

    def aad(self) -> str:
        return self._aad or f"{self.model._meta.label_lower}.{self.name}"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        return cipher().decrypt(bytes(value), field=self.aad())

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, bytes | memoryview):
            return bytes(value)
        return cipher().encrypt(str(value), field=self.aad())

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if not prepared:
            value = self.get_prep_value(value)
        if value is None:
            return None
        return connection.Database.Binary(value)

    def value_to_string(self, obj: Any) -> str:
        return "<encrypted>"

    def formfield(
        self,
        form_class: type[forms.Field] | None = None,
        choices_form_class: type[forms.ChoiceField] | None = None,
        **kwargs: Any,
    ) -> forms.Field:
        """A text field: the value is a str in Python, never the BinaryField's bytes."""
        return (form_class or forms.CharField)(**{"required": not self.blank, **kwargs})
