"""Secure messages between a citizen and a department: threads, messages, attachments.

The citizen starts a thread in the portal with a department that treats them; the department's
staff answer from the chart's message inbox. Attachments are PDF, JPEG or PNG up to 10 MB, the
type read from the file's first bytes (a name or a browser's word is not trusted). Who may write:
the patient themself (or a proxy) through the gate with the patient as the audience, and staff
of the thread's department through the gate with a care relation.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import Action, DataKind, LegalBasis
from journal.models import Message, MessageAttachment, MessageThread
from organisation.models import Department
from patients.access import PatientAccess, access_change_record

MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 5
# The first bytes of each allowed type.
SIGNATURES = [
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
]
CITIZEN_BASES = {LegalBasis.SELF, LegalBasis.PROXY}


def attachment_type(upload) -> str:
    """The content type read from the file's first bytes; a ValidationError naming the file
    when it is too large, empty, or not a PDF, JPEG or PNG."""
    name = getattr(upload, "name", "") or _("the file")
    if upload.size > MAX_BYTES:
        raise ValidationError({"attachments": _("%(name)s is larger than 10 MB.") % {"name": name}})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    raise ValidationError(
        {"attachments": _("%(name)s is not a PDF, JPEG or PNG file.") % {"name": name}}
    )


def _side(access: PatientAccess, thread: MessageThread | None = None) -> str:
    if access.legal_basis in CITIZEN_BASES and access.staff is None:
        return Message.Sender.CITIZEN
    if access.staff is None:
        raise PermissionDenied(_("You may not write here."))
    if thread is not None:
        members = access.staff.memberships.filter(department_id=thread.department_id)
        if not members.exists():
            raise PermissionDenied(_("Only the department's staff answer its messages."))
    return Message.Sender.STAFF


def _attach(message: Message, files) -> None:
    files = list(files or [])
    if len(files) > MAX_FILES:
        raise ValidationError({"attachments": _("At most 5 files with one message.")})
    checked = [(upload, attachment_type(upload)) for upload in files]
    for upload, content_type in checked:
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        MessageAttachment.objects.create(
            message=message, file=upload, name=(upload.name or "fil")[:200],
            content_type=content_type, size=upload.size, sha256=digest.hexdigest(),
        )  # fmt: skip


# What a subject and a message may hold (characters); longer is an error, never cut.
LONGEST = {"subject": 200, "text": 5000}


def _too_long(**values: str) -> dict:
    return {
        name: _("At most %(n)s characters (this is %(length)s).")
        % {"n": LONGEST[name], "length": len(value)}
        for name, value in values.items()
        if len(value) > LONGEST[name]
    }


def thread_start(
    *,
    access: PatientAccess,
    department: Department,
    subject: str,
    text: str,
    files=(),
    allowed_department_ids=(),
) -> MessageThread:
    """The citizen writes to a department that treats them (`allowed_department_ids`: the
    caller's list of those, e.g. courses and appointments)."""
    if _side(access) != Message.Sender.CITIZEN:
        raise PermissionDenied(_("Staff answer threads; the patient starts them."))
    subject, text = (subject or "").strip(), (text or "").strip()
    errors = _too_long(subject=subject, text=text)
    if not subject:
        errors["subject"] = _("Write a subject.")
    if not text:
        errors["text"] = _("Write your message.")
    if department.pk not in set(allowed_department_ids):
        errors["department"] = _("Choose a department that treats you.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        thread = MessageThread.objects.create(
            patient=access.patient, department=department, subject=subject,
            awaiting_department=True, last_message_at=now,
        )  # fmt: skip
        message = Message.objects.create(
            thread=thread, sender=Message.Sender.CITIZEN, author=access.user, text=text
        )
        _attach(message, files)
        access_change_record(access, data_kind=DataKind.MESSAGES, action=Action.CREATE, obj=thread)
    return thread


def message_send(*, access: PatientAccess, thread: MessageThread, text: str, files=()) -> Message:
    """A reply in a thread, by the citizen or by the department's staff."""
    if thread.patient_id != access.patient.pk:
        raise PermissionDenied(_("This thread belongs to another patient."))
    side = _side(access, thread)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write your message.")})
    if errors := _too_long(text=text):
        raise ValidationError(errors)
    with transaction.atomic():
        locked = MessageThread.objects.select_for_update().get(pk=thread.pk)
        message = Message.objects.create(
            thread=locked, sender=side, author=access.user, text=text,
            staff=access.staff if side == Message.Sender.STAFF else None,
        )  # fmt: skip
        _attach(message, files)
        locked.awaiting_department = side == Message.Sender.CITIZEN
        locked.last_message_at = message.created_at
        locked.save(update_fields=["awaiting_department", "last_message_at", "updated_at"])
        access_change_record(access, data_kind=DataKind.MESSAGES, action=Action.CREATE, obj=message)
    return message


def thread_mark_read(*, access: PatientAccess, thread: MessageThread) -> int:
    """The other side's messages in the thread are read by this viewer's side."""
    side = _side(access, thread)
    other = Message.Sender.STAFF if side == Message.Sender.CITIZEN else Message.Sender.CITIZEN
    return thread.messages.filter(sender=other, read_at__isnull=True).update(read_at=timezone.now())


# --- reading ------------------------------------------------------------------------------------
def threads_for_patient(access: PatientAccess) -> list[MessageThread]:
    """The patient's threads (a viewer's blocked departments left out), newest first, each with
    `unread` (messages from the other side not read yet)."""
    from django.db.models import Count, Q

    threads = access.unblocked(
        MessageThread.objects.filter(patient=access.patient), care_course=None
    )
    other = Message.Sender.STAFF if access.staff is None else Message.Sender.CITIZEN
    return list(
        threads.select_related("department__hospital")
        .annotate(
            unread=Count("messages", filter=Q(messages__sender=other, messages__read_at=None))
        )
        .order_by("-last_message_at")
    )


def thread_get(access: PatientAccess, public_id) -> MessageThread:
    from django.http import Http404

    thread = (
        access.unblocked(MessageThread.objects.filter(patient=access.patient), care_course=None)
        .select_related("department__hospital")
        .filter(public_id=public_id)
        .first()
    )
    if thread is None:
        raise Http404(_("No such thread."))
    return thread


def thread_messages(thread: MessageThread) -> list[Message]:
    return list(
        thread.messages.select_related("staff__user", "author").prefetch_related("attachments")
    )


def attachment_get(access: PatientAccess, public_id) -> MessageAttachment:
    from django.http import Http404

    found = (
        MessageAttachment.objects.filter(
            public_id=public_id, message__thread__patient=access.patient
        )
        .select_related("message__thread")
        .first()
    )
    if found is None or access.hides(department_id=found.message.thread.department_id):
        raise Http404(_("No such file."))
    return found


def department_inbox(department_id: int, *, limit: int = 200) -> list[MessageThread]:
    """Threads of the department that wait for an answer, oldest waiting first."""
    return list(
        MessageThread.objects.filter(department_id=department_id, awaiting_department=True)
        .select_related("patient")
        .order_by("last_message_at")[:limit]
    )


def awaiting_count(department_id: int) -> int:
    return MessageThread.objects.filter(
        department_id=department_id, awaiting_department=True
    ).count()


def usual_response_time(department_id: int, *, days: int = 90) -> timedelta | None:
    """The median time from a citizen's first message in a thread to the department's first
    answer, over the threads of the last `days`; None without answered threads."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY answered - asked)
            FROM (
                SELECT min(m.created_at) FILTER (WHERE m.sender = 'citizen') AS asked,
                       min(m.created_at) FILTER (WHERE m.sender = 'staff') AS answered
                FROM journal_message m
                JOIN journal_messagethread t ON t.id = m.thread_id
                WHERE t.department_id = %s AND t.created_at >= now() - make_interval(days => %s)
                GROUP BY m.thread_id
            ) firsts
            WHERE answered IS NOT NULL AND asked IS NOT NULL AND answered > asked
            """,
            [department_id, days],
        )
        row = cursor.fetchone()
    return row[0] if row and row[0] is not None else None
