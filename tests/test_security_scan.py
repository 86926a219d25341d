"""The security scan's reading of sqlmap's output (scripts/security_scan.py): a confirmed
injection point is reported; a parameter sqlmap flags on the way and then finds not
injectable is listed apart, not as a finding."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "security_scan.py"
spec = importlib.util.spec_from_file_location("security_scan", SCRIPT)
security_scan = importlib.util.module_from_spec(spec)
spec.loader.exec_module(security_scan)

FLAGGED_THEN_REJECTED = """
[17:46:53] [INFO] testing for SQL injection on POST parameter 'location'
[17:55:20] [INFO] POST parameter 'location' appears to be 'Oracle AND time-based blind' injectable
[17:56:27] [WARNING] POST parameter 'location' does not seem to be injectable
[16:58:05] [INFO] heuristic (basic) test shows that POST parameter 'present' might be SQL injectable
[17:00:40] [WARNING] POST parameter 'present' does not seem to be injectable
"""

CONFIRMED = """
[10:00:01] [INFO] heuristic (basic) test shows that GET parameter 'id' might be SQL injectable
[10:00:09] [INFO] GET parameter 'id' appears to be 'AND boolean-based blind' injectable
sqlmap identified the following injection point(s) with a total of 46 HTTP(s) requests:
---
Parameter: id (GET)
    Type: boolean-based blind
    Title: AND boolean-based blind - WHERE or HAVING clause
    Payload: id=1 AND 1234=1234
---
"""


def test_a_parameter_flagged_then_found_not_injectable_is_not_a_finding():
    confirmed, rejected = security_scan.findings(FLAGGED_THEN_REJECTED)
    assert confirmed == []
    assert [line.split("parameter '")[1].split("'")[0] for line in rejected] == [
        "location",
        "present",
    ]


def test_a_confirmed_injection_point_is_reported():
    confirmed, rejected = security_scan.findings(CONFIRMED)
    assert confirmed == ["Parameter: id (GET)"]
    assert rejected == []
