"""ConfigMaps and Secrets: key names, and Secret's stringData convenience.

A Secret's `stringData` is write-only: it is merged into `data` (base64) on every
write and never stored, as in Kubernetes.

Kubernetes counterpart: pkg/registry/core/secret/strategy.go, pkg/apis/core/validation
(ValidateConfigMap, ValidateSecret)
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from apiserver.strategy import Obj, Strategy
from tinykube.api.validation import FieldError, invalid, too_long

_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
MAX_DATA_BYTES = 1024 * 1024


def _validate_keys(data: Any, path: str) -> list[FieldError]:
    if data is None:
        return []
    if not isinstance(data, dict):
        return [invalid(path, data, "must be a map of strings")]
    return [invalid(f"{path}[{key}]", key, "a valid config key must consist of alphanumeric "
                    "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
                    "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")
            for key in data if not _CONFIG_KEY.match(key) or key in (".", "..")]


class ConfigMapStrategy(Strategy):
    def validate(self, obj: Obj) -> list[FieldError]:
        errs = super().validate(obj) + _validate_keys(obj.get("data"), "data")
        errs += _validate_keys(obj.get("binaryData"), "binaryData")
        size = sum(len(str(v)) for v in (obj.get("data") or {}).values())
        if size > MAX_DATA_BYTES:
            errs.append(too_long("data", MAX_DATA_BYTES))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        return self.validate(new)

    def tracks_generation(self, obj: Obj) -> bool:
        return False


class SecretStrategy(ConfigMapStrategy):
    def _fold_string_data(self, obj: Obj) -> None:
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict):
            data = obj.setdefault("data", {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
        obj.setdefault("type", "Opaque")

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        self._fold_string_data(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        self._fold_string_data(new)

    def validate(self, obj: Obj) -> list[FieldError]:
        errs = super().validate(obj)
        for key, value in (obj.get("data") or {}).items():
            try:
                base64.b64decode(str(value), validate=True)
            except (binascii.Error, ValueError):
                errs.append(invalid(f"data[{key}]", "<secret contents redacted>",
                                    "illegal base64 data"))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> list[FieldError]:
        errs = self.validate(new)
        if old.get("immutable") and (new.get("data") != old.get("data")):
            errs.append(invalid("data", "<secret contents redacted>", "field is immutable when "
                                "`immutable` is set"))
        if old.get("type") and new.get("type") != old.get("type"):
            errs.append(invalid("type", new.get("type"), "field is immutable"))
        return errs
