"""Reports and images that know their department but not their course get the patient's
course in that department (the open one, else the latest); those that know neither get the
patient's open course (else the latest). A course blocking then hides them too."""

from django.db import migrations
from django.db.models import F


def _course(CareCourse, patient_id, department_id=None):
    courses = CareCourse.objects.filter(patient_id=patient_id)
    if department_id is not None:
        courses = courses.filter(department_id=department_id)
    return courses.order_by(F("ended_at").desc(nulls_first=True), "-started_at").first()


def backfill(apps, schema_editor):
    CareCourse = apps.get_model("patients", "CareCourse")
    for name in ("LabReport", "DicomObject"):
        model = apps.get_model("labresults", name)
        rows = model.objects.filter(care_course__isnull=True, patient__isnull=False)
        for row in rows.only("id", "patient_id", "department_id").iterator():
            course = _course(CareCourse, row.patient_id, row.department_id)
            if course is None:
                continue
            model.objects.filter(pk=row.pk).update(
                care_course_id=course.pk, department_id=course.department_id
            )


class Migration(migrations.Migration):
    dependencies = [
        ("labresults", "0012_inbound_sender_refused"),
        ("patients", "0002_cave_error_by_staff"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
