"""Rights are their own right: nobody makes themselves superuser or gives themselves access,
and every change of a staff member's rights or departments is on record."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from audit.models import RightsChange
from organisation.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def it_admin(cast):
    """The demo administrator's rights: the organisation, audit and accounts apps, not rights."""
    user = cast.administrator
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["organisation", "audit", "accounts"]
        ).exclude(codename="administer_access")
    )
    return user


@pytest.fixture
def access_admin(cast):
    """Someone a superuser made access administrator."""
    from accounts.models import User

    user = User.objects.create_user("adgang", password=cast.PASSWORD, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["organisation", "accounts"])
    )
    return user


def user_form(user, **changes) -> dict:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "08:00:00",
    }
    if user.is_staff:
        data["is_staff"] = "on"
    data.update(changes)
    return data


def test_an_administrator_cannot_make_themselves_superuser(cast, client, it_admin):
    client.force_login(it_admin)
    url = reverse("admin:accounts_user_change", args=[it_admin.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="is_superuser"' not in page.content.decode()
    client.post(url, user_form(it_admin, is_superuser="on", user_permissions=["1"]))
    it_admin.refresh_from_db()
    assert not it_admin.is_superuser
    assert not it_admin.has_perm("accounts.administer_access")


def test_without_the_rights_permission_nobody_changes_anyones_rights(cast, client, it_admin):
    client.force_login(it_admin)
    doctor = cast.treating_doctor
    client.post(
        reverse("admin:accounts_user_change", args=[doctor.pk]),
        user_form(doctor, is_staff="on", is_superuser="on"),
    )
    doctor.refresh_from_db()
    assert not doctor.is_staff and not doctor.is_superuser
    staff_url = reverse("admin:organisation_staffmember_change", args=[doctor.staff.pk])
    assert 'name="role"' not in client.get(staff_url).content.decode()


def test_nobody_gives_themselves_clinical_access_through_memberships(cast, client, it_admin):
    client.force_login(it_admin)
    add = client.post(
        reverse("admin:organisation_membership_add"),
        {"staff": it_admin.staff.pk, "department": cast.cardiology.pk, "valid_from": "2026-01-01"},
    )
    assert add.status_code == 403
    own = it_admin.staff.memberships.get()
    change = reverse("admin:organisation_membership_change", args=[own.pk])
    assert (
        client.post(change, {"staff": own.staff_id, "department": cast.cardiology.pk}).status_code
        == 403
    )
    assert not Membership.objects.filter(staff=it_admin.staff, department=cast.cardiology).exists()


def test_an_access_administrator_changes_others_but_not_themselves_and_it_is_recorded(
    cast, client, access_admin
):
    client.force_login(access_admin)
    doctor = cast.other_doctor
    response = client.post(
        reverse("admin:organisation_membership_add"),
        {"staff": doctor.staff.pk, "department": cast.cardiology.pk, "valid_from": "2026-01-01"},
    )
    assert response.status_code == 302
    change = RightsChange.objects.get(target=doctor, what="staff.departments")
    assert change.changed_by == access_admin
    assert "Kardiologisk" in change.after and "Kardiologisk" not in change.before
    client.post(
        reverse("admin:accounts_user_change", args=[doctor.pk]), user_form(doctor, is_staff="on")
    )
    doctor.refresh_from_db()
    assert doctor.is_staff
    assert RightsChange.objects.get(target=doctor, what="user.is_staff").after == "True"
    # Not a superuser: may not make one.
    client.post(
        reverse("admin:accounts_user_change", args=[doctor.pk]),
        user_form(doctor, is_superuser="on"),
    )
    doctor.refresh_from_db()
    assert not doctor.is_superuser
    # Its own rights are read-only to it, as to everyone.
    own = client.get(reverse("admin:accounts_user_change", args=[access_admin.pk]))
    assert 'name="user_permissions"' not in own.content.decode()
    # The record is shown in admin (to those who may read the audit) and cannot be changed.
    from accounts.models import User

    client.force_login(User.objects.create_superuser("root", "root@x.dk", "x-root-password"))
    listing = client.get(reverse("admin:audit_rightschange_changelist"))
    assert listing.status_code == 200 and "staff.departments" in listing.content.decode()
    assert client.get(reverse("admin:audit_rightschange_add")).status_code == 403


def test_the_record_of_rights_changes_is_append_only(cast, access_admin):
    from django.db import DatabaseError, connection, transaction

    from audit.services import rights_change_record

    row = rights_change_record(
        changed_by=access_admin, target=cast.nurse, what="staff.role", before="a", after="b"
    )
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_rightschange WHERE id = %s", [row.pk])
