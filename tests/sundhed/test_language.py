"""Danish that reads as Danish: no offer to sign up where nobody may, no "logged in as laege"
banner, a template named once, and "1 kritisk"; and pages the content security policy keeps
whole (no style attributes)."""

from django.urls import reverse
from django.utils import translation


def test_the_sign_in_page_offers_no_sign_up(client, db):
    page = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert reverse("account_signup") not in page
    assert "opret dig" not in page.lower()


def test_signing_in_shows_no_banner_naming_the_username(cast, client):
    response = client.post(
        reverse("account_login"),
        {"login": "treating_doctor", "password": cast.PASSWORD},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="da",
    )
    page = response.content.decode().lower()
    assert "succesfuldt" not in page and "loggede" not in page


def test_a_template_named_after_its_type_is_named_once(cast):
    from journal.forms import _template_label
    from journal.models import NoteTemplate

    with translation.override("da"):
        labels = [_template_label(t) for t in NoteTemplate.objects.all()]
    assert "Epikrise" in labels and not any("(Epikrise)" in label for label in labels)


def test_one_critical_result_is_one_kritisk():
    from django.template import Context, Template

    template = Template(
        "{% load i18n %}{% blocktranslate count n=n %}{{ n }} critical{% plural %}"
        "{{ n }} critical{% endblocktranslate %}"
    )
    with translation.override("da"):
        assert template.render(Context({"n": 1})) == "1 kritisk"
        assert template.render(Context({"n": 2})) == "2 kritiske"


def test_no_template_carries_a_style_attribute_the_csp_would_block():
    """The content security policy allows styles from our stylesheets only."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.html")
        if 'style="' in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_the_favicon_is_found(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("favicon.svg")


def test_the_admin_sections_are_danish_and_named_once(cast, client):
    from tests.conftest import force_login_with_second_factor

    cast.it_administrator.is_superuser = True
    cast.it_administrator.save()
    force_login_with_second_factor(client, cast.it_administrator)
    apps = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="da").context["app_list"]
    sections = [app["name"] for app in apps]
    models = [model["name"] for app in apps for model in app["models"]]
    assert len(sections) == len(set(sections)), sections  # one "Konti", not two
    english = {"Access attempts", "Access failures", "Access logs", "Authenticators", "Events"}
    assert not english & set(models), models
    assert "Axes" not in sections and "MFA" not in sections and "Audit" not in sections
