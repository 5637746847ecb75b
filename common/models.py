"""The base of every Sundhed model."""

import uuid

from django.db import models


class BaseModel(models.Model):
    """Integer key inside the database, a UUID outside it, and timestamps."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
