"""Switching the active department reads its body by a form: an id that is none is a 404."""

from django.urls import reverse


def test_a_department_that_is_no_id_is_a_404_and_the_active_one_stays(cast, client):
    client.force_login(cast.treating_doctor)
    before = cast.treating_doctor.staff.active_department_id
    for body in ({"department": "x"}, {}, {"department": "00000000-0000-0000-0000-000000000000"}):
        assert client.post(reverse("organisation:switch_department"), body).status_code == 404
    cast.treating_doctor.staff.refresh_from_db()
    assert cast.treating_doctor.staff.active_department_id == before
