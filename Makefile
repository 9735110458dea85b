# CreditFactory — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
HOST   ?= 127.0.0.1
PORT   ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/creditfactory
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/0
PYTEST_ARGS ?=

.PHONY: run test venv install install-dev migrate demo worker beat serve bench messages check clean

$(VENV)/bin/activate:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

venv: $(VENV)/bin/activate

$(VENV)/.installed: requirements.txt | venv
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | venv
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make run: the embedded default — SQLite under var/, Celery eager, demo data, http://$(HOST):$(PORT)/
run: install
	@mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo --base-url http://$(HOST):$(PORT)
	$(PY) manage.py runserver $(HOST):$(PORT)

## make test: the layer contract (.importlinter), then the whole suite against PostgreSQL and Redis
test: install-dev
	$(VENV)/bin/lint-imports
	DATABASE_URL=$(TEST_DATABASE_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) \
	  $(VENV)/bin/pytest $(PYTEST_ARGS)

migrate: install
	$(PY) manage.py migrate --noinput

demo: install
	$(PY) manage.py demo

## make worker: the production shape of background work — a Celery worker with beat embedded
## (database scheduler). Needs CELERY_BROKER_URL and DATABASE_URL.
worker: install
	$(VENV)/bin/celery -A creditfactory worker --beat --scheduler django_celery_beat.schedulers:DatabaseScheduler \
	  --loglevel=INFO --concurrency=$${CELERY_CONCURRENCY:-2}

beat: install
	$(VENV)/bin/celery -A creditfactory beat --scheduler django_celery_beat.schedulers:DatabaseScheduler --loglevel=INFO

## make serve: gunicorn with the production settings (see README: Production shape)
serve: install
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-creditfactory.settings.production} \
	  $(PY) manage.py collectstatic --noinput
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-creditfactory.settings.production} \
	  $(VENV)/bin/gunicorn creditfactory.wsgi --bind $(HOST):$(PORT) --workers $${WEB_CONCURRENCY:-4} \
	  --threads $${WEB_THREADS:-1} --access-logfile - --timeout 60

bench: install-dev
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) bench/schedule.py

## make messages: refresh and compile translations (needs GNU gettext; the .mo files are committed)
messages: install
	$(PY) manage.py makemessages -l zh_Hans -l en --no-location --ignore=.venv --ignore=var
	$(PY) manage.py compilemessages --ignore=.venv

check: install-dev
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var/*.sqlite3 var/static
