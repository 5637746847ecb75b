# Production image of Sundhed: one image for web, worker, beat and the migrate job.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 DJANGO_SETTINGS_MODULE=sundhed.settings
RUN useradd --create-home --uid 10001 sundhed
WORKDIR /app
COPY pyproject.toml README.md ./
COPY . .
RUN pip install . && python -c "import sundhed" \
    && SECRET_KEY=build DATABASE_URL=postgresql://build@localhost/build REDIS_URL=redis://localhost \
       SUNDHED_ENV=development python manage.py collectstatic --noinput
USER sundhed
EXPOSE 8000
CMD ["gunicorn", "sundhed.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
