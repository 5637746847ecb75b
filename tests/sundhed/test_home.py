"""The start page: staff get their department's; a citizen is sent to the portal, which they
enter with MitID."""


def test_a_citizen_who_signs_in_is_sent_to_the_portal(cast, client):
    client.force_login(cast.patient_user)
    answer = client.get("/")
    assert answer.status_code == 302 and answer["Location"] == "/portal/log-paa/"
    page = client.get(answer["Location"]).content.decode()
    assert 'data-testid="mitid-signin"' in page and 'id="patient-search"' not in page
