"""Holes found by a second look at rights: nobody raises their own (one test each)."""

import pydicom
import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from audit.models import AccessEvent

pytestmark = pytest.mark.django_db
CT = pydicom.__file__.rsplit("/", 1)[0] + "/data/test_files/CT_small.dcm"


def events(cast):
    return AccessEvent.objects.filter(patient_id=cast.patient.pk)


def test_nobody_raises_their_own_rights_through_a_group(cast, client):
    admin = cast.administrator
    admin.is_staff = True
    admin.save()
    group = Group.objects.create(name="IT")
    group.permissions.set(Permission.objects.filter(codename__in=["change_group", "view_group"]))
    admin.groups.add(group)
    client.force_login(admin)
    rights = Permission.objects.get(codename="administer_access")
    client.post(
        reverse("admin:auth_group_change", args=[group.pk]),
        {"name": "IT", "permissions": [rights.pk]},
    )
    assert not admin.has_perm("accounts.administer_access")
    assert not group.permissions.filter(pk=rights.pk).exists()


def test_nobody_makes_a_staff_member_of_their_own_user(cast, client):
    from accounts.models import User

    holder = User.objects.create_user("adgang", password="x-password-1", is_staff=True)
    holder.user_permissions.set(Permission.objects.filter(content_type__app_label="organisation"))
    holder.user_permissions.add(Permission.objects.get(codename="administer_access"))
    client.force_login(holder)
    response = client.post(
        reverse("admin:organisation_staffmember_add"),
        {
            "user": holder.pk,
            "role": "laege",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert not hasattr(User.objects.get(pk=holder.pk), "staff")


def test_change_user_alone_does_not_change_a_superuser(cast, client):
    from accounts.models import User

    root = User.objects.create_superuser("root", "r@x.dk", "x-root-password")
    admin = cast.administrator
    admin.is_staff = True
    admin.save()
    admin.user_permissions.set(Permission.objects.filter(content_type__app_label="accounts"))
    client.force_login(admin)
    password = reverse("admin:auth_user_password_change", args=[root.pk])
    response = client.post(password, {"password1": "taken-over-1", "password2": "taken-over-1"})
    assert response.status_code == 403
    root.refresh_from_db()
    assert root.check_password("x-root-password")
