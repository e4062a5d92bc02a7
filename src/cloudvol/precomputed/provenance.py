"""Layer and dataset provenance documents (``provenance`` file beside ``info``).

Validation is hand-written against the small schema CloudVolume uses, so no
JSON-schema engine is needed at run time.
"""

from __future__ import annotations

import json
from typing import Any

from cloudvol.exceptions import ProvenanceError

__all__ = ["DataLayerProvenance", "DatasetProvenance", "parse_provenance"]


def _check_unique_strings(doc: dict, field: str, min_items: int = 0) -> None:
    value = doc.get(field)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProvenanceError(
            f"provenance field {field!r} must be a list of strings, got {value!r}"
        )
    if len(set(value)) != len(value):
        raise ProvenanceError(f"provenance field {field!r} has duplicate entries: {value!r}")
    if len(value) < min_items:
        raise ProvenanceError(f"provenance field {field!r} needs at least {min_items} entries")


class DataLayerProvenance(dict):
    """Provenance of one layer: ``description``, ``sources``, ``processing``, ``owners``.

    A plain ``dict`` subclass so it serialises as the JSON object it is. Missing
    members are filled in on construction (``sources`` with ``""`` like
    CloudVolume's bare constructor; :func:`parse_provenance` uses ``[]``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.setdefault("description", "")
        self.setdefault("owners", [])
        self.setdefault("processing", [])
        self.setdefault("sources", "")

    def validate(self) -> None:
        """Raise :class:`ProvenanceError` (a ``ValueError``) naming the bad field."""
        if not isinstance(self.get("description"), str):
            raise ProvenanceError("provenance field 'description' must be a string")
        _check_unique_strings(self, "sources")
        _check_unique_strings(self, "owners")
        processing = self.get("processing")
        if not isinstance(processing, list) or not all(isinstance(p, dict) for p in processing):
            raise ProvenanceError("provenance field 'processing' must be a list of objects")

    def serialize(self) -> str:
        return json.dumps(self, separators=(",", ":"))

    def from_json(self, data: str | bytes) -> DataLayerProvenance:
        self.update(_loads(data, "provenance"))
        return self

    description = property(lambda s: s["description"], lambda s, v: s.__setitem__("description", v))
    owners = property(lambda s: s["owners"], lambda s, v: s.__setitem__("owners", v))
    processing = property(lambda s: s["processing"], lambda s, v: s.__setitem__("processing", v))
    sources = property(lambda s: s["sources"], lambda s, v: s.__setitem__("sources", v))


class DatasetProvenance(dict):
    """Dataset-level provenance; ``serialize`` emits only the fields that are set."""

    FIELDS = (
        "dataset_name",
        "dataset_description",
        "organism",
        "imaged_date",
        "imaged_by",
        "references",
        "owners",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self:
            if name not in self.FIELDS:
                raise ProvenanceError(f"unknown dataset provenance field {name!r}")

    def __getattr__(self, name: str) -> Any:
        if name in self.FIELDS:
            return self.get(name)
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self.FIELDS:
            raise AttributeError(f"unknown dataset provenance field {name!r}")
        self[name] = value

    def validate(self) -> None:
        for name in ("dataset_name", "dataset_description", "organism", "imaged_date", "imaged_by"):
            if not isinstance(self.get(name), str):
                raise ProvenanceError(f"dataset provenance field {name!r} must be a string")
        _check_unique_strings(self, "owners", min_items=1)
        if "references" in self:
            _check_unique_strings(self, "references")

    def serialize(self) -> str:
        return json.dumps({k: v for k, v in self.items() if v is not None})


def _loads(data: str | bytes, what: str) -> Any:
    if isinstance(data, bytes):
        data = data.decode("utf8")
    try:
        return json.loads(data)
    except json.JSONDecodeError as err:
        raise ProvenanceError(f"the {what} file is not valid JSON: {err}") from None


def parse_provenance(value: Any) -> DataLayerProvenance:
    """Turn a dict, JSON text or :class:`DataLayerProvenance` into a validated one,
    filling missing members with empty defaults."""
    if isinstance(value, DataLayerProvenance):
        return value
    if isinstance(value, str | bytes):
        value = _loads(value, "provenance")
    if not isinstance(value, dict):
        raise ProvenanceError(f"provenance must be a JSON object, got {type(value).__name__}")
    prov = DataLayerProvenance(**value)
    prov.sources = prov.sources or []
    prov.owners = prov.owners or []
    prov.processing = prov.processing or []
    prov.description = prov.description or ""
    prov.validate()
    return prov
