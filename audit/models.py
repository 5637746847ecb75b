"""The access log: one row per disclosure of a patient's data, append-only in the database."""

import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LegalBasis(models.TextChoices):
    """Why the data could be shown (the Danish Health Act's grounds, in plain words)."""

    TREATMENT = "treatment", _("Treatment (care relation)")
    BREAK_GLASS = "break_glass", _("Break the glass (værdispring)")
    SELF = "self", _("The patient themself")
    PROXY = "proxy", _("Proxy for the patient")
    ADMINISTRATION = "administration", _("Administration")
    SYSTEM = "system", _("System integration")


class DataKind(models.TextChoices):
    """What kind of a patient's data was shown or changed, in the words the patient reads.

    The patient's "who has looked" shows the label; every gate, list and service names its
    kind with one of these, never with a free string.
    """

    SUMMARY = "summary", _("the patient page")
    OVERVIEW = "overview", _("the overview of the record")
    TIMELINE = "timeline", _("the timeline of the record")
    JOURNAL = "journal", _("notes")
    JOURNAL_SEARCH = "journal_search", _("a search in the notes")
    DIAGNOSES = "diagnoses", _("diagnoses")
    VITALS = "vitals", _("vital signs")
    MACRO = "macro", _("data inserted in a note")
    CAVE = "cave", _("CAVE (allergies and other warnings)")
    BLOCKING = "blocking", _("blockings")
    BREAK_GLASS = "break_glass", _("break the glass")
    BREAK_GLASS_REVIEW = "break_glass_review", _("review of break the glass")
    ACCESS_LOG = "access_log", _("the log of who has looked")
    DEMOGRAPHICS = "demographics", _("personal details")
    CARE_COURSE = "care_course", _("care courses")
    LAB_RESULTS = "lab_results", _("laboratory results")
    LAB_ORDERS = "lab_orders", _("laboratory orders")
    LAB_QUEUE = "lab_queue", _("a message from the laboratory")
    LAB_INBOX = "lab_inbox", _("the results inbox")
    IMAGING = "imaging", _("scans and X-rays")
    WORKLIST = "worklist", _("the department's work list")
    SEARCH = "search", _("a patient search")
    COSIGN_QUEUE = "cosign_queue", _("notes awaiting co-signature")
    ADMIN = "admin", _("hospital administration")
    MEDICATION = "medication", _("medication")
    FMK_CARD = "fmk_card", _("the shared medication card (FMK)")
    BOOKING = "booking", _("appointments")
    CALENDAR = "calendar", _("a department's calendar")
    MESSAGES = "messages", _("messages with the hospital")
    PROXY = "proxy", _("who may see the record on the patient's behalf")


class Action(models.TextChoices):
    """What happened to the data."""

    VIEW = "view", _("Viewed")
    LIST = "list", _("Listed")
    SEARCH = "search", _("Searched")
    CREATE = "create", _("Created")
    UPDATE = "update", _("Changed")
    EXPORT = "export", _("Exported")
    PRINT = "print", _("Printed")


class AccessEvent(models.Model):
    """Who saw or changed which patient's data, when, from where and why.

    Rows are never changed or removed: triggers refuse UPDATE and DELETE, and in production the
    application's database role is granted only SELECT and INSERT on this table
    (docs/operations.md), so it cannot TRUNCATE it either (a trigger there would also stop the
    test suite's flush).
    The patient is kept as a plain id because this layer sits below `patients`
    (docs/architecture.md); the actor's role and department are copied, because they change
    and the log must not.
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    user_display = models.CharField(_("user"), max_length=200)
    role = models.CharField(_("role"), max_length=40, blank=True)
    department_code = models.CharField(_("department SOR code"), max_length=20, blank=True)
    department_name = models.CharField(_("department"), max_length=200, blank=True)
    patient_id = models.BigIntegerField(_("patient"), null=True, blank=True)
    data_kind = models.CharField(_("kind of data"), max_length=40, choices=DataKind.choices)
    object_type = models.CharField(_("object type"), max_length=60, blank=True)
    object_id = models.CharField(_("object"), max_length=64, blank=True)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    legal_basis = models.CharField(_("legal basis"), max_length=20, choices=LegalBasis.choices)
    reason = models.TextField(_("reason"), blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    path = models.CharField(_("address"), max_length=300, blank=True)
    flagged = models.BooleanField(_("flagged for review"), default=False)

    class Meta:
        verbose_name = _("access event")
        verbose_name_plural = _("access events")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["patient_id", "-occurred_at"], name="audit_event_patient_time"),
            models.Index(fields=["user", "-occurred_at"], name="audit_event_user_time"),
        ]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return (
            f"{self.occurred_at:%Y-%m-%d %H:%M} {self.user_display} {self.action} {self.data_kind}"
        )


class RightsChange(models.Model):
    """A change of someone's rights: superuser, admin access, permissions, role, departments.

    Written by the admin pages that make the change, in the same transaction; append-only like
    the access log, so whoever gave themselves or others access stays on record.
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    changed_by_display = models.CharField(_("changed by"), max_length=200)
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("whose rights"),
    )
    target_display = models.CharField(_("whose rights"), max_length=200)
    what = models.CharField(_("what"), max_length=60)
    before = models.TextField(_("before"), blank=True)
    after = models.TextField(_("after"), blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("change of rights")
        verbose_name_plural = _("changes of rights")
        ordering = ["-occurred_at", "-id"]
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.changed_by_display}: {self.what}"
