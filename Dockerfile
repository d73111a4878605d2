# The API image: gunicorn on Python 3.11, running as an unprivileged user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GUNICORN_BIND=0.0.0.0:8000

WORKDIR /app
RUN useradd --create-home --uid 10001 overworld

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# The key only lets collectstatic import the settings; the container gets its own at run time.
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput --verbosity 0 \
    && chown -R overworld:overworld /app

USER overworld
EXPOSE 8000
CMD ["gunicorn", "--config", "gunicorn.conf.py", "overworld.wsgi"]
