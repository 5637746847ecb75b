"""DICOM files: store what arrives, read its metadata, render a key-image thumbnail.

Files come from an upload on the patient's imaging tab or from a folder that a modality or a
PACS export drops them into (`manage.py dicom_inbox`). Every file is kept as received; the task
reads it with pydicom. A file that is not DICOM, or lacks a study UID, fails with the reason; a
file whose pixels cannot be decoded keeps its metadata and says why there is no thumbnail."""

import io
import zlib
from datetime import date

import numpy as np
import pydicom
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image
from pydicom.errors import InvalidDicomError

from audit.models import Action, DataKind
from labresults.kinds import IMAGING as IMAGING_KIND
from labresults.models import DicomObject
from labresults.selectors import open_course_in_department, report_origin
from outbox import engine, kinds
from patients.access import access_change_record, access_patient_as_system
from patients.models import Patient
from patients.selectors import patient_by_cpr

THUMBNAIL_SIZE = (256, 256)


def dicom_upload_problem(upload) -> str:
    """Why an uploaded file is refused (too large, or not a DICOM file by its content), or "".

    Only DICOM Part 10 files are taken by upload: 128 bytes of preamble, then "DICM".
    """
    if upload.size > settings.SUNDHED_DICOM_MAX_UPLOAD_BYTES:
        return _("%(name)s is larger than %(limit)s MB.") % {
            "name": upload.name,
            "limit": settings.SUNDHED_DICOM_MAX_UPLOAD_BYTES // 2**20,
        }
    upload.seek(0)
    head = upload.read(132)
    upload.seek(0)
    if len(head) < 132 or head[128:132] != b"DICM":
        return _("%(name)s is not a DICOM file.") % {"name": upload.name}
    return ""


def dicom_object_receive(
    *, content: File, name: str, source: str, patient=None, staff=None, access=None
):
    """Store one file as received and commit; a worker reads it after the commit.

    An upload by a clinician (`access`) is on the patient's log with who uploaded it; a file
    from the folder is logged as the system when it is read and matched.
    """
    if access is not None:
        patient, staff = access.patient, access.staff
    with transaction.atomic():
        row = DicomObject(
            original_name=name[:255], source=source, patient=patient, uploaded_by=staff
        )
        row.file.save("object.dcm", content, save=False)
        row.save()
        if access is not None:
            access_change_record(access, data_kind=DataKind.IMAGING, action=Action.CREATE, obj=row)
        engine.dispatch_on_commit(IMAGING_KIND, row.pk)
    return row


def _text(dataset, keyword: str, limit: int) -> str:
    value = dataset.get(keyword, "")
    return str(value).strip()[:limit] if value is not None else ""


def _date(value) -> date | None:
    text = str(value or "").strip()
    if len(text) >= 8 and text[:8].isdigit():
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            return None
    return None


def render_thumbnail(dataset) -> bytes:
    """A PNG of the key image (the middle frame), windowed as the modality intends.

    Raises ValueError with a reason a clinician can read when there is nothing to draw.
    """
    if "PixelData" not in dataset:
        kind = _text(dataset, "Modality", 16) or "object"
        raise ValueError(f"No image in this DICOM object ({kind}).")
    try:
        pixels = dataset.pixel_array
    except Exception as error:  # noqa: BLE001 - pydicom raises many kinds; the reason is shown
        syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
        name = getattr(syntax, "name", str(syntax or "unknown"))
        raise ValueError(f"The pixel data cannot be decoded ({name}): {error}") from None
    photometric = _text(dataset, "PhotometricInterpretation", 16)
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        pixels = pixels[frames // 2]
    if pixels.ndim == 3 and pixels.shape[-1] in (3, 4):
        if photometric.startswith("YBR"):
            pixels = pydicom.pixels.convert_color_space(pixels, photometric, "RGB")
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)[..., :3], "RGB")
    elif pixels.ndim == 2:
        data = pixels.astype(np.float64)
        slope = float(dataset.get("RescaleSlope", 1) or 1)
        intercept = float(dataset.get("RescaleIntercept", 0) or 0)
        data = data * slope + intercept
        center, width = dataset.get("WindowCenter"), dataset.get("WindowWidth")
        if center is not None and width is not None:
            center = float(center[0] if isinstance(center, pydicom.multival.MultiValue) else center)
            width = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
            low, high = center - width / 2, center + width / 2
        else:
            low, high = float(np.min(data)), float(np.max(data))
        scaled = np.clip((data - low) / max(high - low, 1e-6), 0, 1) * 255
        if photometric == "MONOCHROME1":
            scaled = 255 - scaled
        image = Image.fromarray(scaled.astype(np.uint8), "L")
    else:
        raise ValueError(f"Unusual pixel layout {pixels.shape}; no thumbnail drawn.")
    image.thumbnail(THUMBNAIL_SIZE)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class TooLarge(Exception):
    """A file over one of the limits: it fails with the reason and is never tried again."""


DEFLATED = "1.2.840.10008.1.2.1.99"


def _inflated_size_check(handle, limit: int) -> None:
    """A deflated dataset is inflated in chunks and counted, never held: a 1 MB file that
    inflates to 1 GiB (a decompression bomb) stops at the limit."""
    # pydicom has no public call that reads the file meta from an open file and stops there.
    # force: a file without the preamble may still carry a (deflated) file meta group.
    pydicom.filereader.read_preamble(handle, True)
    meta = pydicom.filereader._read_file_meta_info(handle)
    if str(meta.get("TransferSyntaxUID", "")) != DEFLATED:
        return
    inflater, total = zlib.decompressobj(-zlib.MAX_WBITS), 0
    while chunk := handle.read(1 << 16):
        data = inflater.decompress(chunk, 1 << 20)
        total += len(data)
        while inflater.unconsumed_tail and total <= limit:
            data = inflater.decompress(inflater.unconsumed_tail, 1 << 20)
            total += len(data)
        if total > limit:
            raise TooLarge(
                f"The deflated dataset inflates to more than {limit // 2**20} MB "
                "(SUNDHED_DICOM_MAX_INFLATED_BYTES)."
            )


def _pixel_size_check(dataset) -> None:
    """Rows × columns × frames × samples × bytes, from the header, before any pixel is read."""
    if "PixelData" not in dataset and "FloatPixelData" not in dataset:
        return
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    if frames > settings.SUNDHED_DICOM_MAX_FRAMES:
        raise TooLarge(
            f"{frames} frames is more than {settings.SUNDHED_DICOM_MAX_FRAMES} "
            "(SUNDHED_DICOM_MAX_FRAMES)."
        )
    pixels = int(dataset.get("Rows") or 0) * int(dataset.get("Columns") or 0) * frames
    size = pixels * int(dataset.get("SamplesPerPixel", 1) or 1)
    size *= max(1, int(dataset.get("BitsAllocated", 8) or 8) // 8)
    if size > settings.SUNDHED_DICOM_MAX_PIXEL_BYTES:
        raise TooLarge(
            f"The pixel data would take {size // 2**20} MB decoded, more than "
            f"{settings.SUNDHED_DICOM_MAX_PIXEL_BYTES // 2**20} MB "
            "(SUNDHED_DICOM_MAX_PIXEL_BYTES)."
        )


def _read(row: DicomObject):
    """The dataset, read only once it is known to fit the limits (size, inflated size, pixels).

    A file without the DICM preamble (old exports) is read if it has UIDs.
    """
    if row.file.size > settings.SUNDHED_DICOM_MAX_UPLOAD_BYTES:
        raise TooLarge(
            f"The file is {row.file.size // 2**20} MB, more than "
            f"{settings.SUNDHED_DICOM_MAX_UPLOAD_BYTES // 2**20} MB "
            "(SUNDHED_DICOM_MAX_UPLOAD_BYTES)."
        )
    with row.file.open("rb") as handle:
        try:
            _inflated_size_check(handle, settings.SUNDHED_DICOM_MAX_INFLATED_BYTES)
            handle.seek(0)
            header = pydicom.dcmread(handle, force=False, stop_before_pixels=True)
            forced = False
        except InvalidDicomError:
            handle.seek(0)
            header = pydicom.dcmread(handle, force=True, stop_before_pixels=True)
            if "SOPClassUID" not in header and "StudyInstanceUID" not in header:
                raise InvalidDicomError("neither a DICOM preamble nor DICOM UIDs") from None
            forced = True
        handle.seek(0)
        dataset = pydicom.dcmread(handle, force=forced)
        _pixel_size_check(dataset)
        return dataset


def _metadata(row: DicomObject, dataset) -> str:
    """Copy the study, series and image tags onto the row; return the SOP instance UID."""
    row.study_uid = _text(dataset, "StudyInstanceUID", 64)
    row.series_uid = _text(dataset, "SeriesInstanceUID", 64)
    row.accession_number = _text(dataset, "AccessionNumber", 16)
    row.modality = _text(dataset, "Modality", 16)
    row.body_part = _text(dataset, "BodyPartExamined", 64)
    row.study_description = _text(dataset, "StudyDescription", 128)
    row.series_description = _text(dataset, "SeriesDescription", 128)
    row.study_date = _date(dataset.get("StudyDate"))
    row.patient_id_in_file = _text(dataset, "PatientID", 64)
    row.rows = int(dataset.get("Rows") or 0) or None
    row.columns = int(dataset.get("Columns") or 0) or None
    row.frames = int(dataset.get("NumberOfFrames", 1) or 1) if "PixelData" in dataset else 0
    return _text(dataset, "SOPInstanceUID", 64)


def _patient_for(patient_id: str) -> Patient | None:
    try:
        return patient_by_cpr(patient_id)
    except ValidationError:  # a PatientID that is no CPR number, or nobody's, matches no one
        return None


def _origin_set(row: DicomObject) -> None:
    """The image belongs to the uploader's department, else to the patient's open course."""
    patient, uploader = row.patient, row.uploaded_by
    assert patient is not None  # the caller matched the patient first
    if uploader is None or uploader.active_department_id is None:
        origin = report_origin("", patient)
    else:
        department_id = uploader.active_department_id
        course = open_course_in_department(patient, department_id)
        origin = {"department_id": department_id, "care_course_id": course.pk if course else None}
    row.department_id = origin["department_id"]
    row.care_course_id = origin["care_course_id"]


# A file whose reading was cut off this often (a worker killed by the kernel for memory) fails.
MAX_ATTEMPTS = 3


def _failed(row: DicomObject, reason: str) -> DicomObject:
    """The file failed with the reason; a failed file is never tried again."""
    engine.finish(kinds.get(IMAGING_KIND), row, DicomObject.Status.FAILED, reason=reason[:1000])
    return row


def dicom_object_process(*, object_id: int) -> DicomObject | None:
    """Read one waiting file now in this process (a test), claimed through the engine as a
    worker does; the row as it is then (a file not waiting is left as it is)."""
    engine.work(IMAGING_KIND, [object_id])
    return DicomObject.objects.filter(pk=object_id).first()


def dicom_objects_perform(rows: list[DicomObject]) -> None:
    """The kind's step: each claimed file read and ended. The attempt was counted when it was
    claimed (committed), so a file that kills its worker while being read stops being tried."""
    for row in rows:
        if row.attempts > MAX_ATTEMPTS:
            _failed(row, f"Reading the file was interrupted {row.attempts - 1} times; "
                    "not tried again.")  # fmt: skip
            continue
        _read_one(row)


def _read_one(row: DicomObject) -> DicomObject:
    """Read the file's metadata and draw its thumbnail (outside any transaction), then store
    what was read while the claim is still this worker's."""
    try:
        dataset = _read(row)
    except TooLarge as error:
        return _failed(row, f"Over a limit: {error}")
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError) as error:
        return _failed(row, f"Not a readable DICOM file: {error}")
    try:
        sop_uid = _metadata(row, dataset)
    except Exception as error:  # noqa: BLE001 - broken tags in real files; the reason is kept
        return _failed(row, f"Unreadable DICOM metadata: {error}")
    if not row.study_uid:
        return _failed(row, "The file has no StudyInstanceUID.")
    try:
        png = render_thumbnail(dataset)
    except Exception as error:  # noqa: BLE001 - any failure to draw is a reason, not a crash
        row.thumbnail_error = str(error)[:300] or type(error).__name__
    else:
        row.thumbnail.save("thumbnail.png", ContentFile(png), save=False)
    with transaction.atomic():
        if not engine.mine(kinds.get(IMAGING_KIND), row).select_for_update().exists():
            return row  # another worker took it over meanwhile and stores its own reading
        if row.patient_id is None:
            row.patient = _patient_for(row.patient_id_in_file)
        if row.patient_id is not None and row.department_id is None:
            _origin_set(row)
        if row.patient_id is None:
            row.status = DicomObject.Status.UNMATCHED
            row.reason = f"No patient with PatientID {row.patient_id_in_file or '(empty)'}."
        else:
            row.status = DicomObject.Status.PROCESSED
        row.sop_uid = sop_uid
        row.finished_at = timezone.now()
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            row.sop_uid = ""
            row.status = DicomObject.Status.FAILED
            row.reason = f"The same image (SOP instance UID {sop_uid}) is already stored."
            row.save()
            return row
        if row.patient_id is not None:
            access_patient_as_system(
                patient=row.patient,
                data_kind=DataKind.IMAGING,
                action=Action.CREATE,
                system=f"DICOM import ({row.get_source_display()})",
                object_type="labresults.dicomobject",
                object_id=str(row.public_id),
            )
    return row


def register_dicom_objects() -> None:
    """DICOM files are a kind of the outbox's durable work, read on the imaging queue by a
    worker of their own (from LabresultsConfig.ready)."""
    from django.utils.translation import gettext_lazy

    kinds.register(
        kinds.Kind(
            name=IMAGING_KIND,
            model=DicomObject,
            perform=dicom_objects_perform,
            label=gettext_lazy("DICOM files"),
            waiting=DicomObject.Status.RECEIVED,
            working=DicomObject.Status.READING,
            failed=DicomObject.Status.FAILED,
            stale_after_setting="SUNDHED_IMAGING_STALE_AFTER",
            stale_handed="again",
            batch=1,
            queue="imaging",
        )  # fmt: skip
    )
