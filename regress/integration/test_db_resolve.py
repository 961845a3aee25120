"""The chrooted db child reaches PostgreSQL by host name: the parent
resolves the name and hands libpq the address."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Benjid, PgCluster, Tap, http_get  # noqa: E402

tap = Tap()


def main():
    obj = sys.argv[1]
    pg = PgCluster().start()
    try:
        url = f"postgresql://localhost:{pg.port}/benji"
        d = Benjid(obj, env={"SPRING_DATASOURCE_URL": url,
                             "SPRING_DATASOURCE_USERNAME": "benji"})
        try:
            d.start()
            ready = False
            for _ in range(100):
                status, _, body = http_get(d.port,
                                           "/actuator/health/readiness")
                if status == 200:
                    ready = True
                    break
                time.sleep(0.05)
            tap.ok(ready, "readiness UP with the database named localhost",
                   d.log_text()[-2000:])
            status, _, body = http_get(d.port, "/api/portfolio/positions")
            tap.ok(status in (200, 204), f"positions answer ({status})",
                   body)
            # Run the migrations a second time: PostgreSQL then sends
            # notices, which must reach the log as JSON, not plain text.
            d.stop()
            d.start()
            plain = [r["unparsed"] for r in d.log_records()
                     if "unparsed" in r]
            tap.eq(plain, [], "every log line is JSON, notices included")
            if os.geteuid() == 0:
                pid = d.children()["db"]
                tap.ok(os.readlink(f"/proc/{pid}/root") != "/",
                       "the db child is chrooted")
        finally:
            d.cleanup()
    finally:
        pg.cleanup()
    tap.done()


main()
