"""Registries that let the clinical apps contribute to each other's pages without importing them.

`journal`, `labresults`, `medicinkort` and `booking` sit on one layer and may not import each
other; `chart` composes them. Each app registers what it offers in its `AppConfig.ready()`:

- patient tabs (the links under the banner),
- overview panels (the chart's overview: latest results, current medication, ...),
- timeline sources (items for the patient's timeline),
- text macros (`.labs`, `.med` in a note),
- course hooks (what happens when a care course opens: an admission reads the FMK card).

Every callable receives the `PatientAccess` the gate granted, so nothing here bypasses it.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise

# What a person reads: a string, or one translated when it is shown (gettext_lazy).
Text = str | Promise


@dataclass(frozen=True)
class PatientTab:
    """A link under the patient banner: url_name takes `patient_id`."""

    key: str
    label: Text
    url_name: str
    order: int = 100


@dataclass(frozen=True)
class OverviewPanel:
    """A panel of the chart overview. `render(access) -> dict` with `template` and context."""

    key: str
    title: Text
    render: Callable
    order: int = 100


@dataclass(frozen=True)
class TimelineSource:
    """Items for the timeline: `items(access, *, before, limit, departments) -> list[dict]`.

    Each dict has at least: at (aware datetime), kind, title, department_id, care_course_id, url.
    """

    kind: str
    label: Text
    items: Callable


@dataclass(frozen=True)
class TextMacro:
    """A note macro: typing `.name` inserts `expand(access) -> str`."""

    name: str
    description: Text
    expand: Callable


@dataclass(frozen=True)
class WorklistMarker:
    """Markers on the work list: `markers(courses, department_id) -> {course_id: [(text, testid,
    css class)]}`, one query for the whole list ("FMK ikke ajourført", "NEWS2 7", "2 nye svar").
    A marker counts only what the department itself recorded or received, so a blocking of
    another department's information is never hinted at."""

    key: str
    markers: Callable


@dataclass(frozen=True)
class CourseHook:
    """Called with a newly opened care course after its transaction commits (an admission
    reads the FMK card, for one)."""

    key: str
    on_open: Callable


class Registry:
    """An ordered collection keyed by a name; registering a key twice replaces it."""

    def __init__(self, key_attr: str):
        self._key_attr = key_attr
        self._items: dict[str, object] = {}

    def register(self, item):
        self._items[getattr(item, self._key_attr)] = item
        return item

    def all(self) -> list:
        items = list(self._items.values())
        return sorted(items, key=lambda item: getattr(item, "order", 0))

    def get(self, key):
        return self._items.get(key)


@dataclass(frozen=True)
class InboundHandler:
    """An app that files a kind of inbound HL7 message the results pipeline receives and
    matches (SIU: appointments). `file(*, message_id, sender, patient, content: dict)`."""

    message_code: str
    file: Callable


patient_tabs = Registry("key")
overview_panels = Registry("key")
timeline_sources = Registry("kind")
text_macros = Registry("name")
course_hooks = Registry("key")
worklist_markers = Registry("key")
inbound_handlers = Registry("message_code")
