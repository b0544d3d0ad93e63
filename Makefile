# Everything goes through scripts/devstack.py, which makes .venv, finds or
# starts PostgreSQL and Redis, and exports DATABASE_URL / REDIS_URL / SECRET_KEY.
PYTHON ?= python3
STACK = $(PYTHON) scripts/devstack.py

.PHONY: run test lint format worker beat shell loadtest bench stop demo simulate-onsale

run:        ## migrate, load the demo, run Daphne + Celery worker + beat
	$(STACK) run

test:       ## lint, type check, migrations check, the whole pytest suite on real PostgreSQL and Redis
	$(STACK) test $(PYTEST_ARGS)

lint:
	$(STACK) exec ruff check .
	$(STACK) exec ruff format --check .
	$(STACK) exec mypy

format:
	$(STACK) exec ruff format .
	$(STACK) exec ruff check --fix .

worker:
	$(STACK) exec celery -A ticketing worker -l INFO -Q celery,payments

beat:
	$(STACK) exec celery -A ticketing beat -l INFO -s .var/celerybeat-schedule

shell:
	$(STACK) exec python manage.py shell

demo:
	$(STACK) exec python manage.py seed_demo

loadtest:   ## headless Locust against a running `make run` (see docs/loadtest.md)
	mkdir -p .var
	$(STACK) exec locust -f locustfiles/$${SCENARIO:-fan_journey}.py --headless -u $${USERS:-200} -r $${SPAWN:-50} -t $${DURATION:-60s} --host $${TARGET:-http://127.0.0.1:8000} --csv .var/locust --html .var/locust.html

simulate-onsale: ## the LUX Tour on-sale replayed end to end, report under reports/ (docs/simulation.md)
	$(STACK) exec python scripts/simulate_onsale.py $(SIM_ARGS)

bench:
	$(STACK) exec sh -c 'for f in bench/[!_]*.py; do echo "== $$f"; python $$f || exit 1; done'

stop:       ## stop the private PostgreSQL/Redis under .var/ (if any)
	$(STACK) stop
