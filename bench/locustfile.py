"""The load mix of bench/bench_load.py, for locust against a running platform (the local runtime):

    LOAD_TOKEN=<bearer token> .venv/bin/locust -f bench/locustfile.py --headless -u 50 -r 10 -t 60s \
        -H http://127.0.0.1:3000

Each user creates its own api trigger on start, then creates (api and scheduled triggers), lists,
reads, fires its api trigger, lists logs and reads the log aggregate, in the weights below, with
0.5-1.5 s between its requests (LOAD_WAIT_MIN / LOAD_WAIT_MAX change that). Any answer that is not
2xx counts as a failure. With LOAD_CACHE_STATS set to a path, the X-Cache values of the log reads
(hit / miss / bypass) are written there as JSON when the run stops.
"""

import json
import os
import random
from collections import Counter
from typing import Any

from locust import FastHttpUser, between, events, task

TOKEN = os.environ.get("LOAD_TOKEN", "")
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
API_TRIGGER = {"type": "api", "payload": {"key": "value"}}
SCHEDULED_TRIGGER = {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}}
FIRE_BODY = {"key": "other"}
#: How many of its created ids a user keeps to read back (the newest ones).
KEEP_IDS = 200

cache_statuses: Counter[str] = Counter()


class PlatformUser(FastHttpUser):
    wait_time = between(float(os.environ.get("LOAD_WAIT_MIN", "0.5")), float(os.environ.get("LOAD_WAIT_MAX", "1.5")))

    def on_start(self) -> None:
        self.trigger_ids: list[str] = []
        self.api_trigger_id: str | None = self._create(API_TRIGGER)

    def _request(self, method: str, path: str, name: str, body: Any = None) -> Any:
        """One request; anything but 2xx (or a 2xx without the JSON it promises) is a failure.
        Returns the decoded JSON body on success, else None."""
        with self.client.request(method, path, name=name, headers=HEADERS, json=body, catch_response=True) as response:
            if not 200 <= (response.status_code or 0) < 300:
                detail = (response.text or "")[:200] if response.status_code else str(response.error)
                response.failure(f"HTTP {response.status_code}: {detail}")
                return None
            cache = response.headers.get("X-Cache") if response.headers else None
            if cache:
                cache_statuses[f"{name} {cache}"] += 1
            try:
                return response.json()
            except ValueError:
                response.failure(f"HTTP {response.status_code} without a JSON body")
                return None

    def _create(self, definition: dict[str, Any]) -> str | None:
        created = self._request("POST", "/triggers", "POST /triggers", definition)
        if not created:
            return None
        self.trigger_ids.append(created["id"])
        del self.trigger_ids[:-KEEP_IDS]
        return str(created["id"])

    @task(1)
    def create_api_trigger(self) -> None:
        self._create(API_TRIGGER)

    @task(1)
    def create_scheduled_trigger(self) -> None:
        self._create(SCHEDULED_TRIGGER)

    @task(3)
    def list_triggers(self) -> None:
        self._request("GET", "/triggers?limit=50", "GET /triggers?limit=50")

    @task(4)
    def get_trigger(self) -> None:
        if self.trigger_ids:
            trigger_id = random.choice(self.trigger_ids)
            self._request("GET", f"/triggers/{trigger_id}", "GET /triggers/{id}")

    @task(3)
    def fire(self) -> None:
        if self.api_trigger_id is None:  # its creation failed (counted): try again
            self.api_trigger_id = self._create(API_TRIGGER)
            return
        self._request("POST", f"/triggers/{self.api_trigger_id}/fire", "POST /triggers/{id}/fire", FIRE_BODY)

    @task(4)
    def list_logs(self) -> None:
        self._request("GET", "/logs", "GET /logs")

    @task(2)
    def aggregate_logs(self) -> None:
        self._request("GET", "/logs/aggregate", "GET /logs/aggregate")


@events.test_stop.add_listener
def _write_cache_statuses(**_: Any) -> None:
    path = os.environ.get("LOAD_CACHE_STATS")
    if path:
        with open(path, "w") as sink:
            json.dump(dict(cache_statuses), sink, indent=1, sort_keys=True)
