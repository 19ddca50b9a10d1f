"""Forms: importing a document, and the inspector of a node (its type's declared params) or of an
edge (the ``edge_params`` its source node's type declares)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import QueryDict

from playground import engine
from playground.engine.document import MAX_LABEL
from playground.topologies import services


class ImportForm(forms.Form):
    """Upload a .json file or paste the document; either way it is validated by the engine."""

    file = forms.FileField(required=False, label="JSON file")
    text = forms.CharField(required=False, strip=False, widget=forms.Textarea, label="Or paste it")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.document: engine.Document | None = None
        self.document_errors: list[engine.FieldError] = []
        self.uploaded_text = ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("file")
        text = cleaned.get("text") or ""
        raw: bytes | str
        if upload and text.strip():
            raise forms.ValidationError("Give a file or pasted text, not both.")
        if upload:
            if upload.size > engine.MAX_DOCUMENT_BYTES:
                self.document_errors = services.too_big_error(upload.size).errors
                raise forms.ValidationError("The document was refused.")
            raw = upload.read()
            try:
                # Shown in the textarea after an error, so the person can fix it in place.
                self.uploaded_text = raw.decode("utf-8")
            except UnicodeDecodeError:
                pass
        elif text.strip():
            raw = text
        else:
            raise forms.ValidationError("Choose a .json file or paste a document.")
        try:
            self.document = services.parse(raw)
        except engine.DocumentError as exc:
            self.document_errors = exc.errors
            raise forms.ValidationError("The document was refused.") from None
        return cleaned

    @property
    def text_value(self) -> str:
        return self["text"].value() or self.uploaded_text


#: a text parameter allowed more characters than this is edited in a text area
LONG_TEXT = 1000


@dataclass(frozen=True)
class InspectorField:
    param: Any  # engine.Param
    value: str
    checked: bool
    error: str | None

    @property
    def widget(self) -> str:
        if self.param.kind == "string" and self.param.max_length > LONG_TEXT:
            return "textarea"  # a schema, a list of them: text of many lines
        kinds = {"bool": "checkbox", "enum": "select", "string": "text", "map": "textarea"}
        return kinds.get(self.param.kind, "number")

    @property
    def min(self) -> str | None:
        return None if self.param.min is None else format_number(self.param.min)

    @property
    def max(self) -> str | None:
        return None if self.param.max is None else format_number(self.param.max)

    @property
    def step(self) -> str:
        if self.param.step is not None:
            return format_number(self.param.step)
        return "1" if self.param.kind == "int" else "any"


@dataclass(frozen=True)
class Inspector:
    node_type: Any  # a NodeType class
    node_id: str
    label: str
    label_error: str | None
    fields: tuple[InspectorField, ...]
    params: dict[str, Any]
    readonly: bool
    #: an edge's inspector: node_id is then the edge's id, and there is no label
    edge: bool = False
    source: str = ""
    target: str = ""

    @property
    def valid(self) -> bool:
        return self.label_error is None and all(f.error is None for f in self.fields)

    @property
    def params_json(self) -> str:
        return json.dumps(self.params, separators=(",", ":"))


def build_inspector(node_type: Any, data: QueryDict, *, edge: bool = False) -> Inspector:
    """Coerce the submitted values with the node type's own declarations.

    Only declared params are read from ``data``; anything else (node_id, label, readonly)
    is not a parameter. A bool is a hidden "false" followed by a checkbox, so the last value
    submitted wins and an unchecked box still says false. With ``edge``, the params are the
    type's ``edge_params`` (an edge out of a node of that type) and ``edge_id`` names the edge.
    """
    declared = node_type.edge_params if edge else node_type.params
    coerce = node_type.coerce_edge_params if edge else node_type.coerce_params
    raw: dict[str, Any] = {}
    for param in declared:
        values = data.getlist(param.name)
        if values:
            raw[param.name] = values[-1]
    params, errors = coerce(raw)
    messages = {e.path: e.message for e in errors}
    fields = []
    for param in declared:
        error = messages.get(param.name)
        value = params[param.name]
        if error is not None:
            shown = str(raw[param.name])
        elif param.kind == "bool":
            shown = "true"
        elif param.kind in ("enum", "string"):
            shown = str(value)
        elif param.kind == "map":
            shown = "\n".join(f"{k}={v}" for k, v in value.items())
        else:
            shown = format_number(value)
        checked = bool(value) and error is None
        fields.append(InspectorField(param=param, value=shown, checked=checked, error=error))
    if edge:
        label, label_error = "", None
    else:
        label = data.get("label", node_type.label)
        label_error = f"must be at most {MAX_LABEL} characters" if len(label) > MAX_LABEL else None
    return Inspector(
        node_type=node_type,
        node_id=data.get("edge_id" if edge else "node_id", ""),
        label=label,
        label_error=label_error,
        fields=tuple(fields),
        params=params,
        readonly=data.get("readonly", "") in ("1", "true", "on"),
        edge=edge,
        source=data.get("source", "")[:MAX_LABEL] if edge else "",
        target=data.get("target", "")[:MAX_LABEL] if edge else "",
    )


def format_number(value: Any) -> str:
    """A number as a person would type it: 20000 rather than 20000.0, 0.15 as 0.15."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
