"""The start page: staff get their department's, a citizen one meant for citizens."""


def test_a_citizen_who_signs_in_sees_a_page_for_citizens_without_staff_navigation(cast, client):
    client.force_login(cast.patient_user)
    page = client.get("/").content.decode()
    assert 'data-testid="citizen-home"' in page and "Karen" in page
    assert 'id="patient-search"' not in page
