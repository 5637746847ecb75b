"""The medication pages as a clinician uses them: ordering with the checks, reconciling, the
ward's administration record."""

import html
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from medicinkort.models import (
    Administration,
    CardLine,
    CardRead,
    CardSnapshot,
    CheckOverride,
    Drug,
    MedicationOrder,
)
from medicinkort.services import OrderData, order_create
from medicinkort.services.orders import times_from_text
from patients.access import access_decide
from tests.conftest import force_login_with_second_factor

pytestmark = pytest.mark.django_db


@pytest.fixture
def doctor(client, cast):
    force_login_with_second_factor(client, cast.treating_doctor)
    return client


def url(name, cast, **kwargs):
    return reverse(f"medicinkort:{name}", kwargs={"patient_id": cast.patient.public_id, **kwargs})


def snapshot_of(cast, version="100", lines=()):
    read = CardRead.objects.create(
        patient=cast.patient, requested_by=cast.treating_doctor, occasion="demand", status="done",
        finished_at=timezone.now(),
    )  # fmt: skip
    snapshot = CardSnapshot.objects.create(
        patient=cast.patient, version=version, fetched_at=timezone.now(), raw="<MedicineCard/>"
    )
    read.snapshot = snapshot
    read.save()
    for identifier, name, atc, dosage in lines:
        CardLine.objects.create(
            snapshot=snapshot, identifier=identifier, version="1", drug_name=name,
            atc_code=atc, dosage_text=dosage, status="active", raw="<DrugMedication/>",
            route_code="OR", route_text="Oral anvendelse",
        )  # fmt: skip
    return snapshot


def test_an_order_against_a_penicillin_allergy_needs_a_reason_then_goes_through(cast, doctor):
    amoxicillin = Drug.objects.filter(atc_code="J01CA04").first()
    form = {
        "drug": str(amoxicillin.public_id), "dose_text": "1 kapsel 3 gange daglig",
        "schedule": "fixed", "times": "08:00 14:00 22:00",
    }  # fmt: skip
    refused = doctor.post(url("order_new", cast), form)
    assert refused.status_code == 400
    page = refused.content.decode()
    assert 'data-testid="check-warning"' in page and "Penicillin" in page
    assert not MedicationOrder.objects.exists()
    key = page.split('name="warn:')[1].split('"')[0]
    done = doctor.post(url("order_new", cast), {**form, f"warn:{key}": "Tålt amoxicillin før"})
    assert done.status_code == 302
    order = MedicationOrder.objects.get()
    assert order.times == ["08:00", "14:00", "22:00"]
    assert CheckOverride.objects.get(order=order).reason == "Tålt amoxicillin før"


def test_a_form_error_names_the_field(cast, doctor):
    drug = Drug.objects.filter(atc_code="B01AA03").first()
    response = doctor.post(
        url("order_new", cast),
        {"drug": str(drug.public_id), "dose_text": "1 tablet", "schedule": "pn", "times": ""},
    )
    assert response.status_code == 400
    page = response.content.decode()
    # The error names the field (Danish: "Højst pr. døgn (PN)").
    assert "Højst pr. døgn (PN): " in page
    assert not MedicationOrder.objects.exists()


def test_a_junior_doctors_order_waits_for_a_senior_to_cosign(cast, client):
    access = access_decide(user=cast.junior_doctor, patient=cast.patient, data_kind="medication")
    drug = Drug.objects.filter(atc_code="B01AA03").first()
    order = order_create(access=access, data=OrderData.from_drug(drug, dose_text="1 tablet",
                                                                 times=["18:00"]))  # fmt: skip
    assert order.awaiting_cosign
    force_login_with_second_factor(client, cast.treating_doctor)
    assert b"order-awaiting-cosign" in client.get(url("medication", cast)).content
    client.post(reverse("medicinkort:order_cosign", kwargs={"order_id": order.public_id}))
    order.refresh_from_db()
    assert order.cosigned_by == cast.treating_doctor.staff and not order.awaiting_cosign


def test_a_reconciliation_on_a_card_that_changed_shows_what_changed(cast, doctor):
    old = snapshot_of(cast, "100", [("1", "Panodil", "N02BE01", "2 tabletter 4 gange daglig")])
    snapshot_of(cast, "101", [("1", "Panodil", "N02BE01", "1 tablet 3 gange daglig"),
                              ("2", "Furix", "C03CA01", "1 tablet morgen")])  # fmt: skip
    response = doctor.post(
        url("reconcile", cast, kind="admission"),
        {"card_version": old.version, "decision-1": "continue"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-testid="card-changes"' in page
    assert "Furix" in page.split('data-testid="card-changes"')[1]


def test_the_ward_round_shows_doses_due_and_records_them_once(cast, client):
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="medication")
    drug = Drug.objects.filter(atc_code="B01AA03").first()
    now = timezone.localtime()
    due = (now - timedelta(hours=1)).strftime("%H:%M")
    order = order_create(
        access=access, course=cast.course,
        data=OrderData.from_drug(drug, dose_text="1 tablet", times=[due],
                                 starts_at=timezone.now() - timedelta(days=1)),
    )  # fmt: skip
    force_login_with_second_factor(client, cast.nurse)
    page = client.get(reverse("medicinkort:mar")).content.decode()
    assert 'data-testid="mar-row"' in page and 'data-testid="overdue"' in page
    due_at = page.split('name="due_at" value="')[1].split('"')[0]
    give = reverse("medicinkort:administration_new", kwargs={"order_id": order.public_id})
    assert client.post(give, {"status": "given", "due_at": due_at}).status_code == 302
    assert client.post(give, {"status": "given", "due_at": due_at}).status_code == 302
    assert Administration.objects.filter(order=order).count() == 1  # once per time
    page = client.get(reverse("medicinkort:mar")).content.decode()
    assert 'data-testid="recorded"' in page and 'data-testid="overdue"' not in page


def test_an_as_needed_dose_needs_why_and_stops_at_the_maximum(cast, client):
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="medication")
    drug = Drug.objects.filter(atc_code="B01AA03").first()
    order = order_create(
        access=access, course=cast.course,
        data=OrderData.from_drug(drug, dose_text="1 tablet efter behov", schedule="pn",
                                 pn_max_per_day=1),
    )  # fmt: skip
    force_login_with_second_factor(client, cast.nurse)
    give = reverse("medicinkort:administration_new", kwargs={"order_id": order.public_id})
    client.post(give, {"status": "given"})
    assert not Administration.objects.exists()  # no reason: refused
    client.post(give, {"status": "given", "reason": "Smerter i brystet"})
    client.post(give, {"status": "given", "reason": "Igen"})
    assert Administration.objects.filter(order=order).count() == 1  # the maximum a day


def test_med_the_timeline_and_the_work_list_show_medication(cast, doctor):
    from medicinkort.models import Reconciliation
    from medicinkort.selectors import medication_text

    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="medication")
    drug = Drug.objects.filter(atc_code="B01AA03").first()
    data = OrderData.from_drug(drug, dose_text="1 tablet aften", times=["18:00"])
    order_create(access=access, course=cast.course, data=data)
    snapshot_of(cast, "7", [("1", "Panodil", "N02BE01", "2 tabletter 4 gange daglig")])
    text = medication_text(access)
    assert "Marevan" in text and "Panodil" in text
    # The card is named by when FMK made it, as on the pages, never by its version number.
    snapshot = CardSnapshot.objects.get(patient=cast.patient, version="7")
    made = timezone.localtime(snapshot.modified_at or snapshot.fetched_at)
    assert f"FMK-kort fra {made:%d.%m.%Y %H:%M}" in text and "version 7" not in text
    macro = doctor.get(reverse("journal:macro", kwargs={"patient_id": cast.patient.public_id,
                                                        "name": "med"}))  # fmt: skip
    assert "Marevan" in macro.json()["text"]
    timeline = doctor.get(reverse("chart:timeline", kwargs={"patient_id": cast.patient.public_id}))
    assert "Marevan" in timeline.content.decode()
    Reconciliation.objects.create(
        patient=cast.patient, care_course=cast.course, kind="discharge", card_version="7",
        confirmed_by=cast.treating_doctor.staff, confirmed_at=timezone.now(), status="sending",
    )  # fmt: skip
    worklist = doctor.get(reverse("chart:worklist")).content.decode()
    assert 'data-testid="fmk-not-updated"' in worklist


def test_the_overview_panel_shows_orders_and_the_card_with_its_age(cast, doctor):
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="medication")
    drug = Drug.objects.filter(atc_code="B01AA03").first()
    data = OrderData.from_drug(drug, dose_text="1 tablet aften", times=["18:00"])
    order_create(access=access, course=cast.course, data=data)
    snapshot = snapshot_of(
        cast, "1733580000000000009", [("1", "Panodil", "N02BE01", "2 tabletter 4 gange daglig")]
    )
    snapshot.modified_at = timezone.now() - timedelta(hours=3)
    snapshot.save(update_fields=["modified_at"])
    page = doctor.get(
        reverse("chart:overview", kwargs={"patient_id": cast.patient.public_id}),
        HTTP_ACCEPT_LANGUAGE="da",
    )
    panel = page.content.decode().split('data-testid="panel-medication"')[1]
    assert 'data-testid="panel-order-line"' in panel and "Marevan" in panel
    assert 'data-testid="panel-medication-line"' in panel and "Panodil" in panel
    # The card is named by when FMK made it, not by FMK's 19-digit version.
    made = timezone.localtime(snapshot.modified_at).strftime("%d.%m. %H:%M")
    assert 'data-testid="fmk-age"' in panel and f"kortet fra {made}" in panel
    assert "1733580000000000009" not in panel


def test_after_a_conflict_the_reconciliation_page_shows_what_changed_on_fmk(cast, doctor):
    from medicinkort.models import Reconciliation

    snapshot_of(cast, "100", [("1", "Panodil", "N02BE01", "2 tabletter 4 gange daglig")])
    Reconciliation.objects.create(
        patient=cast.patient, care_course=cast.course, kind="admission", card_version="100",
        confirmed_by=cast.treating_doctor.staff, confirmed_at=timezone.now(), status="conflict",
    )  # fmt: skip
    snapshot_of(cast, "101", [("1", "Panodil", "N02BE01", "2 tabletter 4 gange daglig"),
                              ("2", "Furix", "C03CA01", "1 tablet morgen")])  # fmt: skip
    page = doctor.get(url("reconcile", cast, kind="admission")).content.decode()
    assert 'data-testid="card-changes"' in page
    assert "Furix" in page.split('data-testid="card-changes"')[1].split("</div>")[0]


def test_a_reconciliation_posted_wrong_names_the_line_and_changes_nothing(cast, doctor):
    from medicinkort.models import Reconciliation

    snapshot_of(cast, "100", [("1", "Panodil", "N02BE01", "2 tabletter 4 gange daglig")])
    reconcile = url("reconcile", cast, kind="admission")
    for body in (
        {"card_version": "100", "decision-1": "forget"},
        {"card_version": "100", "new-drug-1": "not-a-drug", "new-dose-1": "1 tablet"},
        {"card_version": "100", "dose-1": "x" * 501},
    ):
        answer = doctor.post(reconcile, body, HTTP_ACCEPT_LANGUAGE="da")
        assert answer.status_code == 400, body
        page = answer.content.decode()
        assert "Panodil: " in page or "Lægemiddel: " in page or "Dosering: " in page, body
    # The service's own refusal names the line by its drug too.
    answer = doctor.post(
        reconcile, {"card_version": "100", "decision-1": "change"}, HTTP_ACCEPT_LANGUAGE="da"
    )
    assert answer.status_code == 400
    assert "Panodil: " in answer.content.decode() and "Line-1" not in answer.content.decode()
    assert not Reconciliation.objects.exists()


def test_an_admission_continues_x_3_three_times_a_day_and_leaves_a_weekly_drug_to_be_ordered(
    cast, doctor, settings
):
    from medicinkort.models import MedicationOrder

    settings.SUNDHED_OUTBOX_DISPATCH = False  # FMK's writes wait; the orders are what we read
    snapshot_of(cast, "100", [("1", "Ibuprofen", "M01AE01", "400 mg x 3"),
                              ("2", "Methotrexat", "L04AX03", "15 mg ugentligt")])  # fmt: skip
    answer = doctor.post(
        url("reconcile", cast, kind="admission"),
        {"card_version": "100", "decision-1": "continue", "decision-2": "continue"},
        follow=True, HTTP_ACCEPT_LANGUAGE="en",
    )  # fmt: skip
    page = answer.content.decode()
    ibuprofen = MedicationOrder.objects.get(patient=cast.patient, drug_name="Ibuprofen")
    assert (ibuprofen.schedule, list(ibuprofen.times)) == ("fixed", ["08:00", "14:00", "20:00"])
    # Never a daily order of a weekly drug: the clinician is told to order it by hand.
    assert not MedicationOrder.objects.filter(drug_name="Methotrexat").exists()
    assert "Methotrexat (15 mg ugentligt)" in page


def test_the_indication_typed_for_a_new_drug_is_the_orders_and_goes_to_fmk(cast, doctor, settings):
    from medicinkort.models import FmkWrite, MedicationOrder

    settings.SUNDHED_OUTBOX_DISPATCH = False
    snapshot_of(cast, "100", [])
    paracetamol = Drug.objects.filter(atc_code="N02BE01").first()
    doctor.post(url("reconcile", cast, kind="admission"), {
        "card_version": "100", "new-drug-1": str(paracetamol.public_id),
        "new-dose-1": "1 g x 4", "new-reason-1": "Smerter",
    })  # fmt: skip
    order = MedicationOrder.objects.get(patient=cast.patient, atc_code="N02BE01")
    assert (order.indication, len(order.times)) == ("Smerter", 4)
    create = FmkWrite.objects.get(patient=cast.patient, operation="create")
    assert create.payload["data"]["indication"] == "Smerter"


def test_a_nurse_reaches_the_medication_round_from_the_bar_and_each_work_list_row(cast, client):
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="medication")
    drug = Drug.objects.filter(atc_code="B01AA03").first()
    due = (timezone.localtime() - timedelta(hours=1)).strftime("%H:%M")
    order_create(
        access=access, course=cast.course,
        data=OrderData.from_drug(drug, dose_text="1 tablet", times=[due],
                                 starts_at=timezone.now() - timedelta(days=1)),
    )  # fmt: skip
    force_login_with_second_factor(client, cast.nurse)
    home = client.get(reverse("chart:worklist")).content.decode()
    assert 'data-testid="nav-mar"' in home  # in the bar, for nurses
    row_link = home.split('data-testid="worklist-mar"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert row_link == f"{reverse('medicinkort:mar')}?patient={cast.patient.public_id}"
    page = client.get(row_link).content.decode()
    assert page.count('data-testid="mar-row"') == 1
    other = client.get(
        reverse("medicinkort:mar"), {"patient": "00000000-0000-0000-0000-000000000000"}
    )
    assert 'data-testid="mar-row"' not in other.content.decode()
    assert client.get(reverse("medicinkort:mar"), {"patient": "x"}).status_code == 400


def test_the_drug_picker_finds_by_name_substance_atc_and_strength(cast, doctor):
    search = reverse("medicinkort:drug_search")

    def found(**query):
        answer = doctor.get(search, query)
        assert answer.status_code == 200, query
        return answer.content.decode()

    assert "Brufen" in found(q="bruf")  # the name
    assert "Brufen" in found(q="ibuprofen")  # the active substance
    assert "Brufen" in found(q="M01AE")  # the start of the ATC code
    by_strength = found(q="ibuprofen 400")
    assert "400 mg" in by_strength and "600 mg" not in by_strength
    assert 'data-testid="drug-result"' not in found(q="b")  # two letters at least
    assert 'data-testid="drug-no-result"' in found(q="zzqx")
    assert found(q="bruf", **{"for": "new-drug-2"}).count('data-for="new-drug-2"') >= 1
    # A picker that is none, or text no one types, is a 400 naming the parameter.
    for bad in ({"for": "nothing"}, {"q": "x" * 101}, {"q": "a\x00b"}):
        answer = doctor.get(search, bad, HTTP_ACCEPT_LANGUAGE="en")
        assert answer.status_code == 400 and list(bad)[0] in answer.content.decode(), bad


def test_checks_appear_when_the_drug_is_picked_and_answer_the_confirmations(cast, doctor):
    """Finding 3: CAVE, interaction and duplicate warnings show as the drug is picked, keyed as
    the confirmation keys them, so reasons given then confirm at the first attempt; the
    confirmation still refuses without them."""
    from audit.models import AccessEvent
    from medicinkort.models import Reconciliation

    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="medication")
    marevan = Drug.objects.filter(atc_code="B01AA03").first()
    data = OrderData.from_drug(marevan, dose_text="1 tablet", times=["18:00"])
    order_create(access=access, course=cast.course, data=data)
    snapshot_of(cast, "100", [])
    ibuprofen = Drug.objects.filter(atc_code="M01AE01").first()
    checks = url("drug_checks", cast)
    before = AccessEvent.objects.filter(patient_id=cast.patient.pk).count()
    answer = doctor.get(checks, {"for": "new-drug-1", "new-drug-1": str(ibuprofen.public_id)})
    page = answer.content.decode()
    assert answer.status_code == 200 and "Marevan" in page
    reasons = re.findall(r'name="(warn:new-1:[^"]+)"', page)
    assert reasons and AccessEvent.objects.filter(patient_id=cast.patient.pk).count() == before + 1
    assert doctor.get(checks, {"for": "new-drug-1"}).content.decode().strip() == ""  # none yet
    assert doctor.get(checks, {"for": "new-drug-1", "new-drug-1": "x"}).status_code == 400
    body = {"card_version": "100", "new-drug-1": str(ibuprofen.public_id),
            "new-dose-1": "400 mg x 3", "new-reason-1": "Smerter"}  # fmt: skip
    reconcile = url("reconcile", cast, kind="admission")
    assert doctor.post(reconcile, body).status_code == 400  # no reasons: refused
    assert not Reconciliation.objects.exists()
    answered = body | dict.fromkeys(reasons, "Kortvarigt, med PPI")
    assert doctor.post(reconcile, answered).status_code == 302  # one round trip
    assert Reconciliation.objects.filter(patient=cast.patient).count() == 1


def test_the_round_shows_the_day_and_the_stay_and_a_dose_is_given_in_one_click(cast, client):
    """Finding 5: a 'x 3' order is three doses every day of the stay (to the end of tomorrow);
    today's view and the stay's are one click apart; 'Given' is one click and comes back to the
    same view; PN says what is left today."""
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="medication")
    ibuprofen = Drug.objects.filter(atc_code="M01AE01").first()
    schedule, times = times_from_text("400 mg x 3")
    three_days_ago = timezone.now() - timedelta(days=3)
    order = order_create(access=access, course=cast.course, data=OrderData.from_drug(
        ibuprofen, dose_text="400 mg x 3", schedule=schedule, times=times,
        starts_at=three_days_ago))  # fmt: skip
    paracetamol = Drug.objects.filter(atc_code="N02BE01").first()
    pn = order_create(access=access, course=cast.course,
                      data=OrderData.from_drug(paracetamol, dose_text="1 g", schedule="pn",
                                               times=[], pn_max_per_day=2))  # fmt: skip
    force_login_with_second_factor(client, cast.nurse)
    mar = reverse("medicinkort:mar")
    patient = str(cast.patient.public_id)

    def rows(**query):
        page = client.get(mar, query).content.decode()
        return page, re.findall(r'data-testid="mar-row" data-drug="[^"]*" data-due="([^"]+)"', page)

    page, stay = rows(view="stay", patient=patient)
    by_day: dict[str, list[str]] = {}
    for due in stay:
        by_day.setdefault(due[:10], []).append(due[11:16])
    today = timezone.localdate()
    tomorrow = today + timedelta(days=1)
    assert by_day[str(tomorrow)] == ["08:00", "14:00", "20:00"]  # three a day, every day
    assert by_day[str(today - timedelta(days=1))] == ["08:00", "14:00", "20:00"]
    assert len(by_day) in (4, 5)  # from the start three days ago to the end of tomorrow
    _, day = rows(view="day", patient=patient)
    assert [d[11:16] for d in day] == ["08:00", "14:00", "20:00"]
    assert 'data-testid="mar-stay"' in page  # the stay is offered for one patient
    assert client.get(mar, {"view": "stay"}).status_code == 400  # the stay of nobody
    assert client.get(mar, {"view": "week"}).status_code == 400
    # Given: one click, and the round comes back as it was shown.
    give = reverse("medicinkort:administration_new", kwargs={"order_id": order.public_id})
    from django.utils.dateparse import parse_datetime

    past = max(d for d in stay if parse_datetime(d) <= timezone.now())  # due: it can be given
    answer = client.post(give, {"status": "given", "due_at": past, "view": "day",
                                "patient": patient})  # fmt: skip
    assert answer.status_code == 302 and answer["Location"] == f"{mar}?view=day&patient={patient}"
    assert Administration.objects.filter(order=order, status="given").count() == 1
    # Tomorrow's dose is planned, not given: no button for it, and a post of it is refused.
    tomorrows = [d for d in stay if d.startswith(str(tomorrow))]
    client.post(give, {"status": "given", "due_at": tomorrows[-1]})
    assert Administration.objects.filter(order=order).count() == 1
    planned = page.split(f'data-due="{tomorrows[-1]}"')[1].split("</tr>")[0]
    assert 'data-testid="planned"' in planned and 'data-testid="mar-given"' not in planned
    # Stopped during the stay: its doses until then stay on the stay's record.
    from medicinkort.services import order_stop

    order_stop(access=access, order=order, reason="Smertefri")
    _, after_stop = rows(view="stay", patient=patient)
    assert past in after_stop and not [d for d in after_stop if d.startswith(str(tomorrow))]
    # Not given needs why, in the same row's second form.
    assert 'data-testid="mar-status"' in page and 'data-testid="mar-given"' in page
    # PN: what is left of today's maximum, and no more giving once it is reached.
    assert (
        "2 of at most 2 left today" in client.get(mar, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    )
    give_pn = reverse("medicinkort:administration_new", kwargs={"order_id": pn.public_id})
    for _ in range(2):
        client.post(give_pn, {"status": "given", "reason": "Uro"})
    page = client.get(mar, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "0 of at most 2 left today" in page and "The maximum for today is given." in page


def test_an_order_with_a_structured_dosage_gives_its_days_and_doses_on_the_round(
    cast, doctor, client
):
    """Weekly and tapered orders from the order form: the round's stay shows exactly their
    days and doses; a bad dosage is refused naming its field."""
    methotrexate = Drug.objects.filter(atc_code="L04AX03").first() or Drug.objects.first()
    today = timezone.localdate()
    order = url("order_new", cast)
    answer = doctor.post(order, {
        "drug": str(methotrexate.public_id), "dose_text": "15 mg ugentligt",
        "schedule": "fixed", "every_days": "7", "start": today.strftime("%d.%m.%Y"),
    }, HTTP_ACCEPT_LANGUAGE="da")  # fmt: skip
    assert answer.status_code == 302, answer.content.decode()[-2000:]
    weekly = MedicationOrder.objects.get(patient=cast.patient, drug=methotrexate)
    assert weekly.dosage["periods"][0]["every_days"] == 7 and weekly.times == ["08:00"]
    prednisolone = Drug.objects.filter(atc_code="H02AB06").first() or Drug.objects.last()
    assert doctor.post(order, {
        "drug": str(prednisolone.public_id), "dose_text": "Prednisolon, nedtrapning",
        "schedule": "fixed", "times": "08:00", "taper": "2 dage: 2; 2 dage: 1",
        "start": today.strftime("%d.%m.%Y"),
    }).status_code == 302  # fmt: skip
    taper = MedicationOrder.objects.get(patient=cast.patient, drug=prednisolone)
    assert taper.ends_at is not None  # a taper ends with its last step
    force_login_with_second_factor(client, cast.nurse)
    page = client.get(
        reverse("medicinkort:mar"), {"view": "stay", "patient": str(cast.patient.public_id)}
    )
    rows = re.findall(r'data-testid="mar-row" data-drug="([^"]*)" data-due="([^"]+)"',
                      page.content.decode())  # fmt: skip
    rows = [(html.unescape(drug), due) for drug, due in rows]
    weekly_days = [due[:10] for drug, due in rows if drug == methotrexate.name]
    assert weekly_days == [str(today)]  # once a week: today only, not tomorrow
    taper_days = [due[:10] for drug, due in rows if drug == prednisolone.name]
    assert taper_days == [str(today), str(today + timedelta(days=1))]  # to the end of tomorrow
    # Bad input: named by the field, nothing ordered.
    force_login_with_second_factor(doctor, cast.treating_doctor)  # the nurse had the client
    pantoprazole = Drug.objects.filter(atc_code="A02BC02").first()  # no check to answer
    for bad, field in (
        ({"schedule": "pn", "dose_text": "1 tablet efter behov"}, "Højst pr. døgn (PN): "),
        ({"dose_text": "1 tablet", "start": "10.12.2026", "end": "08.12.2026"}, "Til: "),
        ({"dose_text": "1 tablet", "taper": "snart mindre"}, "Nedtrapning: "),
        (
            {"dose_text": "1 tablet", "taper": "2 dage: 2; 2 dage: 1", "end": "20.12.2026"},
            "Nedtrapning: ",
        ),  # a taper's own days: an until beside it is refused, not dropped
    ):
        answer = doctor.post(order, {"drug": str(pantoprazole.public_id), "schedule": "fixed",
                                     **bad}, HTTP_ACCEPT_LANGUAGE="da")  # fmt: skip
        assert answer.status_code == 400 and field in answer.content.decode(), bad
    assert MedicationOrder.objects.filter(patient=cast.patient).count() == 2


def test_continuing_a_structured_fmk_line_orders_its_structure(cast, doctor, settings):
    """An FMK line whose dosage FMK gave as a structure ('2 tabletter 3 gange daglig': three
    doses of 2, no times) is continued as that structure, not as its text."""
    from medicinkort.dosage import Dosage, Dose, Period

    settings.SUNDHED_OUTBOX_DISPATCH = False
    snapshot = snapshot_of(cast, "100", [("1", "Panodil", "N02BE01", "2 tabletter 3 gange daglig")])
    structure = Dosage(periods=(Period(start=date(2025, 4, 7), doses=(Dose(Decimal(2)),) * 3),),
                       unit_singular="tablet", unit_plural="tabletter")  # fmt: skip
    snapshot.lines.update(dosage=structure.to_json())
    doctor.post(url("reconcile", cast, kind="admission"),
                {"card_version": "100", "decision-1": "continue"})  # fmt: skip
    order = MedicationOrder.objects.get(patient=cast.patient, drug_name="Panodil")
    assert order.dosage == structure.to_json()
    assert order.times == ["08:00", "14:00", "20:00"]


def test_a_write_fmk_has_but_the_card_does_not_show_yet_is_still_the_pages_and_hidden_if_blocked(
    cast, doctor, client, settings
):
    """A write FMK received after the card was last read (the read after it not in yet) is
    still listed, its withdrawn line still not offered, and the next reconciliation builds on
    its answer; a doctor of another department does not see a blocked course's writes."""
    from medicinkort.models import FmkWrite, Reconciliation
    from tests.conftest import block, orthopaedics_course

    settings.SUNDHED_OUTBOX_DISPATCH = False
    snapshot_of(cast, "100", [("1", "Panodil", "N02BE01", "1 g x 4"),
                              ("2", "Furix", "C03CA01", "1 tablet morgen")])  # fmt: skip
    admission = url("reconcile", cast, kind="admission")
    body = {"card_version": "100", "queue_position": "0", "decision-1": "withdraw",
            "reason-1": "Ophørt"}  # fmt: skip
    assert doctor.post(admission, body).status_code == 302
    FmkWrite.objects.filter(patient=cast.patient).update(
        status="sent", finished_at=timezone.now(), result_version="101"
    )  # FMK has them; the card is not read again yet
    discharge = url("reconcile", cast, kind="discharge")
    page = doctor.get(discharge, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="decision-1"' not in page and 'name="decision-2"' in page
    assert page.count('data-testid="fmk-queued-sent"') == 2  # the withdrawal, the review
    position = re.search(r'name="queue_position" value="(\d+)"', page).group(1)
    assert doctor.post(discharge, {"card_version": "100", "queue_position": position,
                                   "decision-2": "change", "dose-2": "2 tabletter morgen"}
                       ).status_code == 302  # fmt: skip
    built = Reconciliation.objects.get(patient=cast.patient, kind="discharge")
    assert built.builds_on == FmkWrite.objects.filter(patient=cast.patient).count() - 1
    # Blocked: the course's writes are not the other department's to see.
    FmkWrite.objects.filter(patient=cast.patient).update(status="pending", finished_at=None)
    block(cast, care_course=cast.course)
    orthopaedics_course(cast)
    force_login_with_second_factor(client, cast.other_doctor)
    tab = client.get(url("medication", cast)).content.decode()
    assert 'data-testid="fmk-queued-write"' not in tab


def test_a_new_drug_at_discharge_is_checked_and_the_override_kept_on_its_line(
    cast, doctor, settings
):
    from medicinkort.models import ReconciliationLine

    settings.SUNDHED_OUTBOX_DISPATCH = False
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="medication")
    marevan = Drug.objects.filter(atc_code="B01AA03").first()
    data = OrderData.from_drug(marevan, dose_text="1 tablet", times=["18:00"])
    order_create(access=access, course=cast.course, data=data)
    snapshot_of(cast, "100", [])
    ibuprofen = Drug.objects.filter(atc_code="M01AE01").first()
    body = {"card_version": "100", "new-drug-1": str(ibuprofen.public_id),
            "new-dose-1": "400 mg x 3", "new-reason-1": "Smerter"}  # fmt: skip
    discharge = url("reconcile", cast, kind="discharge")
    refused = doctor.post(discharge, body)
    assert refused.status_code == 400 and "Marevan" in refused.content.decode()
    reasons = re.findall(r'name="(warn:new-1:[^"]+)"', refused.content.decode())
    assert doctor.post(discharge, body | dict.fromkeys(reasons, "Kort kur, PPI")).status_code == 302
    line = ReconciliationLine.objects.get(drug_name=ibuprofen.name)
    assert line.reason.startswith("Smerter; ") and "Kort kur, PPI" in line.reason
    # A dosage typed for a new drug that was never picked is an error, not left out.
    answer = doctor.post(discharge, {"card_version": "100", "new-dose-1": "1 tablet"},
                         HTTP_ACCEPT_LANGUAGE="da")  # fmt: skip
    assert answer.status_code == 400 and "Vælg et lægemiddel fra listen." in answer.content.decode()


def test_typing_the_dosage_proposes_its_times_until_the_clinician_writes_their_own(cast, doctor):
    proposal = reverse("medicinkort:dosage_proposal")

    def proposed(**query):
        answer = doctor.get(proposal, query)
        if answer.status_code == 204:
            return None
        return re.search(r'value="([^"]*)"', answer.content.decode()).group(1)

    assert proposed(dose_text="1 tablet 3 gange dagligt", times="", proposed="1") == (
        "08:00 14:00 20:00"
    )
    assert proposed(dose_text="400 mg x 2", times="08:00 14:00 20:00", proposed="1") == (
        "08:00 18:00"
    )  # still a proposal: it follows the text
    assert proposed(dose_text="400 mg x 2", times="07:00 19:00", proposed="") is None  # theirs
    assert proposed(dose_text="1 tablet efter behov", times="", proposed="1") == ""
    # The same reading as the order's: every other day, morning and evening, is two times.
    assert proposed(dose_text="1 tablet hver anden dag morgen og aften", times="",
                    proposed="1") == "08:00 18:00"  # fmt: skip
    assert doctor.get(proposal, {"dose_text": "x" * 501}).status_code == 400
    page = doctor.get(url("medication", cast)).content.decode()
    assert f'hx-get="{proposal}"' in page and 'id="id_times_proposed"' in page
