"""Sundhed: the project package (settings, urls, Celery app, middleware, dev stack)."""

from sundhed.celery import app as celery_app

__all__ = ("celery_app",)
