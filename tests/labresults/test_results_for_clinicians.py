"""The catalogue, computed flags and critical values, the inbox with escalation, the results
tab (cumulative table, trend with downsampling), orders, the overview panel and `.labs`."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from labresults.models import Analysis, InboxItem, LabOrder, LabResult
from labresults.selectors import downsample
from labresults.services import (
    critical_results_escalate,
    inbound_message_process,
    inbound_message_receive,
)

pytestmark = pytest.mark.django_db

ORU = (
    "MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|{control_id}|P|2.5\r"
    "PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
    "OBR|1|{placer}|{filler}|NPU03429^P-Natrium|||{when}|||||||||||||||20261124101000|||F\r"
    "OBX|1|NM|NPU03429^P-Natrium^NPU||{sodium}|mmol/L|||||F\r"
    "OBX|2|NM|NPU03230^P-Kalium^NPU||{potassium}|mmol/L|3.5-4.4|{kflag}|||F\r"
)


def receive(
    control_id, *, sodium="141", potassium="4.1", kflag="N", placer="", when=None, filler=None
):
    """File one report; `filler` names an earlier report to correct (F + its control id)."""
    raw = ORU.format(
        control_id=control_id,
        placer=placer,
        filler=filler or f"F{control_id}",
        sodium=sodium,
        potassium=potassium,
        kflag=kflag,
        when=when or "20261124093000",
    )
    receipt = inbound_message_receive(raw=raw.encode(), transport="mllp")
    return inbound_message_process(message_id=receipt.message.pk)


def test_the_catalogue_has_forty_analyses_with_intervals_by_sex(cast):
    assert Analysis.objects.count() >= 40
    hb = Analysis.objects.prefetch_related("intervals").get(code="NPU02319")
    assert (hb.interval_for(sex="F", age=40).low, hb.interval_for(sex="M", age=40).low) == (
        Decimal("7.300"),
        Decimal("8.300"),
    )
    assert hb.interval_for(sex="F", age=10).high == Decimal("9.000")


def test_a_flag_is_computed_when_the_sender_sends_none(cast):
    receive("C1", sodium="131")
    sodium = LabResult.objects.get(code="NPU03429")
    assert (sodium.flag, sodium.flag_computed, sodium.is_critical) == ("L", True, False)
    # The sender said normal (N), and the interval for her sex and age agrees.
    potassium = LabResult.objects.get(code="NPU03230")
    assert (potassium.flag, potassium.flag_computed) == ("", True)


HB = (
    "MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|{control_id}|P|2.5\r"
    "PID|1||{cpr}^^^CPR^CPR\r"
    "OBR|1||{control_id}|NPU02319^B-Hb|||20261124093000|||||||||||||||20261124101000|||F\r"
    "OBX|1|NM|NPU02319^B-Haemoglobin^NPU||7.6|mmol/L|7.3-10.5|N|||F\r"
)


def test_a_sender_that_says_normal_by_an_interval_for_both_sexes_is_not_the_last_word(cast):
    """Hb 7.6 with the laboratory's N: low for a man of 68 (his interval is 8.3-10.5, as the
    page shows), normal for a woman of 68 (7.3-9.5)."""
    from patients.models import Patient

    man = Patient.objects.create(
        cpr="0303580017",
        birth_date=date(1958, 3, 3),
        sex="M",
        given_names="Jens",
        family_name="Hansen",
    )
    woman = Patient.objects.create(
        cpr="0303580028",
        birth_date=date(1958, 3, 3),
        sex="F",
        given_names="Hanne",
        family_name="Hansen",
    )
    for n, patient in enumerate([man, woman]):
        raw = HB.format(control_id=f"HB{n}", cpr=patient.cpr)
        receipt = inbound_message_receive(raw=raw.encode(), transport="mllp")
        assert inbound_message_process(message_id=receipt.message.pk).status == "processed"
    his, hers = (LabResult.objects.get(patient=p, code="NPU02319") for p in (man, woman))
    assert (his.flag, his.flag_computed) == ("L", True)
    assert (hers.flag, hers.flag_computed) == ("", True)


@pytest.mark.parametrize("sex", ["F", "M"])
def test_every_analysis_has_one_interval_for_every_adult_age_and_a_sex_specific_one_wins(sex):
    """Across the whole catalogue: no adult age (18 to 110) without an interval, never two
    candidates of the same kind (so the choice is unambiguous), and where an interval for the
    patient's sex exists for that age it is the one chosen."""
    from labresults.catalogue import catalogue_data

    for row in catalogue_data()["analyses"]:
        analysis = Analysis.objects.prefetch_related("intervals").get(code=row["code"])
        for age in range(0, 111):
            covering = [
                i
                for i in analysis.intervals.all()
                if i.sex in ("", sex) and i.age_from <= age and (i.age_to is None or age < i.age_to)
            ]
            chosen = analysis.interval_for(sex=sex, age=age)
            own = [i for i in covering if i.sex == sex]
            assert len(own) <= 1 and len(covering) - len(own) <= 1, (row["code"], sex, age)
            if age >= 18:
                assert chosen is not None, (row["code"], sex, age)
            if own:
                assert chosen == own[0], (row["code"], sex, age)


def test_a_critical_value_goes_to_the_top_of_the_inbox_and_escalates(cast, client):
    receive("N1")
    receive("K1", potassium="6.9", kflag="HH")
    critical = InboxItem.objects.get(is_critical=True)
    assert critical.department == cast.cardiology
    client.force_login(cast.treating_doctor)
    response = client.get(reverse("labresults:inbox"))
    assert response.content.decode().count('data-testid="inbox-row"') == 2
    groups = response.context["groups"]
    assert [item.is_critical for group in groups for item in group.items] == [True, False]
    InboxItem.objects.filter(pk=critical.pk).update(arrived_at=timezone.now() - timedelta(hours=1))
    assert critical_results_escalate(after_minutes=15) == 1
    assert critical_results_escalate(after_minutes=15) == 0  # not again until 15 minutes pass
    critical.refresh_from_db()
    assert critical.escalation_level == 1
    response = client.post(
        reverse("labresults:inbox_acknowledge", kwargs={"item_id": critical.public_id})
    )
    assert response.status_code == 302
    critical.refresh_from_db()
    assert critical.acknowledged_by == cast.treating_doctor.staff
    InboxItem.objects.filter(pk=critical.pk).update(
        escalated_at=timezone.now() - timedelta(hours=1)
    )
    assert critical_results_escalate(after_minutes=15) == 0


def test_another_department_cannot_acknowledge(cast, client):
    receive("A1")
    item = InboxItem.objects.get()
    client.force_login(cast.other_doctor)
    response = client.post(
        reverse("labresults:inbox_acknowledge", kwargs={"item_id": item.public_id})
    )
    assert response.status_code == 403


def test_new_values_need_a_new_acknowledgement(cast):
    receive("V1")
    item = InboxItem.objects.get()
    InboxItem.objects.filter(pk=item.pk).update(
        acknowledged_at=timezone.now(), acknowledged_by=cast.treating_doctor.staff
    )
    raw = ORU.format(
        control_id="V2",
        placer="",
        filler="FV1",
        sodium="128",
        potassium="4.1",
        kflag="N",
        when="20261124093000",
    )
    inbound_message_process(
        message_id=inbound_message_receive(raw=raw.encode(), transport="mllp").message.pk
    )
    item.refresh_from_db()
    assert item.acknowledged_at is None


def test_the_cumulative_table_puts_analyses_down_and_times_across(
    cast, client, django_assert_max_num_queries
):
    for i in range(15):
        receive(f"T{i}", sodium=str(135 + i % 5), when=f"202611{10 + i:02d}080000")
    client.force_login(cast.treating_doctor)
    url = reverse("labresults:results", kwargs={"patient_id": cast.patient.public_id})
    # With its list of new reports to acknowledge: the items, their results, the catalogue.
    with django_assert_max_num_queries(23):
        response = client.get(url)
    table = response.context["table"]
    assert len(table.get("times")) == 12
    assert [row.code for row in table["rows"]] == ["NPU03429", "NPU03230"]
    assert table["older"] is not None
    page = response.content.decode()
    assert "result-abnormal" in page  # 135 and 136 are below 137


def test_a_long_series_is_downsampled_but_keeps_its_extremes():
    start = timezone.now() - timedelta(days=3650)
    points = [(start + timedelta(hours=8 * i), Decimal(140), "", False) for i in range(11000)]
    points[5000] = (points[5000][0], Decimal(118), "LL", True)
    kept = downsample(points, limit=400)
    assert len(kept) <= 400
    assert (points[5000][0], Decimal(118), "LL", True) in kept
    assert kept == sorted(kept, key=lambda p: p[0])


def test_the_trend_page_shows_the_band_and_the_same_numbers_in_a_table(cast, client):
    for i in range(5):
        receive(f"G{i}", sodium=str(138 + i), when=f"202611{10 + i:02d}080000")
    client.force_login(cast.treating_doctor)
    url = reverse(
        "labresults:trend", kwargs={"patient_id": cast.patient.public_id, "code": "NPU03429"}
    )
    response = client.get(url)
    chart = response.context["trend"]["chart"]
    assert [value for _, value in chart["points"]] == [138.0, 139.0, 140.0, 141.0, 142.0]
    # A time axis: the points keep their distance in time (a day apart here).
    times = [at for at, _ in chart["points"]]
    assert {b - a for a, b in zip(times, times[1:], strict=False)} == {86_400_000}
    assert (chart["low"], chart["high"]) == (137.0, 145.0)
    assert response.content.decode().count('data-testid="trend-row"') == 5


def test_an_order_is_pending_then_partial_then_complete(cast, client):
    client.force_login(cast.treating_doctor)
    results_url = reverse("labresults:results", kwargs={"patient_id": cast.patient.public_id})
    sodium, potassium, creatinine = Analysis.objects.filter(
        code__in=["NPU03429", "NPU03230", "NPU18016"]
    ).order_by("code")
    response = client.post(
        reverse("labresults:order_create", kwargs={"patient_id": cast.patient.public_id}),
        {"analyses": [sodium.pk, potassium.pk, creatinine.pk], "priority": "urgent"},
    )
    assert response.status_code == 302
    order = LabOrder.objects.get()
    assert order.ordered_by == cast.treating_doctor.staff
    progress = lambda: client.get(results_url).context["orders"][0]["progress"]  # noqa: E731
    assert progress() == "pending"
    receive("O1", placer=order.placer_number)
    assert progress() == "partial"
    assert InboxItem.objects.get().clinician == cast.treating_doctor.staff
    raw = (
        "MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124111500||ORU^R01|O2|P|2.5\r"
        "PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
        f"OBR|1|{order.placer_number}|FKREA|NPU18016^P-Kreatinin|||20261124093000\r"
        "OBX|1|NM|NPU18016^P-Kreatinin^NPU||80|umol/L|||||F\r"
    )
    inbound_message_process(
        message_id=inbound_message_receive(raw=raw.encode(), transport="mllp").message.pk
    )
    assert progress() == "complete"


def test_the_overview_shows_key_results_and_polls_for_new_ones(cast, client):
    receive("P1", sodium="130")
    client.force_login(cast.treating_doctor)
    page = client.get(reverse("chart:overview", kwargs={"patient_id": cast.patient.public_id}))
    text = page.content.decode()
    assert 'data-testid="panel-results"' in text
    assert "P-Natrium" in text
    live = reverse("labresults:live_panel", kwargs={"patient_id": cast.patient.public_id})
    since = LabResult.objects.order_by("-updated_at").first().updated_at.isoformat()
    assert client.get(live, {"since": since}).status_code == 204
    receive("P2", sodium="150", when="20261124120000")
    response = client.get(live, {"since": since})
    assert response.status_code == 200
    assert "150" in response.content.decode()


def test_the_labs_macro_lists_key_results(cast, client):
    receive("M1", sodium="131")
    client.force_login(cast.treating_doctor)
    url = reverse("journal:macro", kwargs={"patient_id": cast.patient.public_id, "name": "labs"})
    text = client.get(url).json()["text"]
    assert "P-Natrium 131 mmol/L (L)" in text


def test_the_dashboard_counts_new_results_and_the_queues_for_those_who_handle_them(cast, client):
    receive("D1", potassium="6.9", kflag="HH")
    inbound_message_receive(
        raw=b"MSH|^~\\&|LAB|KBA|SUNDHED|RH|x||ORU^R01|BAD1|P|2.5\rOBX|1", transport="mllp"
    )
    client.force_login(cast.treating_doctor)
    page = client.get(reverse("home")).content.decode()
    assert 'data-testid="dashboard-inbox"' in page
    assert "1 kritisk" in page or "1 critical" in page
    assert 'data-testid="dashboard-failed"' not in page
    client.force_login(cast.administrator)
    dashboard = client.get(reverse("home")).context["dashboard"]
    assert dashboard["queues"]["failed"] == 1


def test_load_analyses_adds_what_is_missing_and_leaves_the_rest(cast, tmp_path):
    import json

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from labresults.catalogue import DATA_FILE

    sodium = Analysis.objects.get(code="NPU03429")
    sodium.name = "P-Natrium (lokalt navn)"
    sodium.save()
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    data["analyses"].append(
        {**data["analyses"][0], "code": "DNK99999", "name": "P-Nyt stof", "intervals": []}
    )
    own = tmp_path / "analyses.json"
    own.write_text(json.dumps(data), encoding="utf-8")
    call_command("load_analyses", str(own))
    assert Analysis.objects.get(code="DNK99999").name == "P-Nyt stof"
    assert Analysis.objects.get(code="NPU03429").name == "P-Natrium (lokalt navn)"
    bad = tmp_path / "bad.json"
    bad.write_text('{"analyses": [{"code": "X"}]}', encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("load_analyses", str(bad))


def test_an_unacknowledged_critical_value_is_always_on_the_overview(cast, client):
    from labresults.models import Analysis

    carbamid = Analysis.objects.get(code="NPU01459")
    carbamid.is_key = False
    carbamid.save()
    raw = (
        "MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|CRIT1|P|2.5\r"
        "PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
        "OBR|1||FCRIT1|NPU01459^P-Carbamid|||20261124093000\r"
        "OBX|1|NM|NPU01459^P-Carbamid^NPU||53.1|mmol/L|2.6-6.4|HH|||F\r"
    )
    receipt = inbound_message_receive(raw=raw.encode(), transport="mllp")
    inbound_message_process(message_id=receipt.message.pk)
    client.force_login(cast.treating_doctor)
    overview = reverse("chart:overview", kwargs={"patient_id": cast.patient.public_id})
    assert (
        "53,1" in client.get(overview).content.decode()
        or "53.1" in client.get(overview).content.decode()
    )
    item = InboxItem.objects.get()
    client.post(reverse("labresults:inbox_acknowledge", kwargs={"item_id": item.public_id}))
    page = client.get(overview).content.decode()
    assert "53,1" not in page and "53.1" not in page  # acknowledged, and not a key analysis


def test_results_are_written_with_the_danish_decimal_comma_and_the_labs_decimals(cast, client):
    from django.utils import translation

    from labresults.templatetags.labresults_tags import number

    with translation.override("da"):
        assert [number(v) for v in ("6.9", "7.600", "<0.5", "2.6-6.4", "Positiv", "")] == [
            "6,9", "7,600", "<0,5", "2,6-6,4", "Positiv", "",
        ]  # fmt: skip
        assert number(Decimal("7.600")) == "7,6" and number(Decimal("140")) == "140"
    with translation.override("en"):
        assert number("6.9") == "6.9"
    receive("C1", potassium="6.9", kflag="HH")
    client.force_login(cast.treating_doctor)
    kwargs = {"patient_id": cast.patient.public_id}
    page = client.get(
        reverse("labresults:results", kwargs=kwargs), HTTP_ACCEPT_LANGUAGE="da"
    ).content.decode()
    assert "6,9" in page and ">6.9" not in page
    trend = client.get(
        reverse("labresults:trend", kwargs={**kwargs, "code": "NPU03230"}),
        HTTP_ACCEPT_LANGUAGE="da",
    ).content.decode()
    assert ">6,9<" in trend and "6,900" not in trend


def test_the_overview_shows_each_key_analysis_newest_by_sampling_not_by_arrival(cast):
    from labresults.selectors import latest_key_results
    from patients.access import access_decide

    # The newest sample arrives first; two older ones after it.
    receive("N1", sodium="139", potassium="4.4", when="20261120080000")
    receive("N2", sodium="131", potassium="3.9", when="20261101080000")
    receive("N3", sodium="145", potassium="4.0", when="20261010080000")
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="journal")
    latest = {r.code: r.value_text for r in latest_key_results(access)}
    assert latest == {"NPU03429": "139", "NPU03230": "4.4"}
