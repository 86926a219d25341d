#!/usr/bin/env python3
"""Scan the demo for injection and other web flaws with sqlmap and wapiti (both from PyPI).

    python3 scripts/security_scan.py [--out scan-report] [--minutes 10] [--skip-wapiti]

Builds a throw-away SQLite database with the demo programme, serves it on 127.0.0.1 only, and:

- sqlmap, logged in as the Boeung Trabek CO leader, on the list filters (problems, proposals,
  meetings, version comparison) and on the forms of the problem, meeting and proposal pages:
  each page's own form, field by field, with plausible values and a fresh CSRF token before
  every request (not ``--forms``, which also posts the top bar's logout form and would test
  the rest logged out); each run logs in afresh (a long scan outlives the idle limit) and is
  checked afterwards to have stayed logged in;
- wapiti, logged in as the same leader, on the whole demo, with an explicit module list that
  leaves out every module fetching data from or sending data to the internet (``wapp``,
  ``nikto``, ``ssrf``, ``xxe``, ``log4shell``, ``takeover``, ``shellshock`` …) and its
  callback endpoints pointed at the demo.

Neither tool tries to reach anything but 127.0.0.1: Python audit hooks loaded into both
record every name look-up, connection and datagram aimed elsewhere, and the summary counts
them (``network_beyond_127.0.0.1``; 0 expected). wapiti 3.2.3 needs three settings for that
(see :func:`run_wapiti`): its ``backup`` module left out, ``--dns-endpoint`` an address, and
``--no-bugreport``. As a second guard, after the tools are installed the scan runs in a
network namespace of its own with only a loopback device (``unshare --net``, when this user
may), so even a new look-up could not leave the machine.

The tools are installed into ``.venv-scan`` (Debian's wapiti 3.0.4 crashes on ``-x`` under
Python 3.11). Reports go to ``--out``; a summary is printed at the end.
"""

import argparse
import http.cookiejar
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCAN_VENV = ROOT / ".venv-scan"
#: wapiti modules that only talk to the target (no internet look-ups, no callbacks)
WAPITI_MODULES = [
    "sql",
    "timesql",
    "xss",
    "permanentxss",
    "exec",
    "file",
    "redirect",
    "crlf",
    "csrf",
    "csp",
    "cookieflags",
    "http_headers",
    "methods",
    "htaccess",
    "upload",
    "ldap",
]
# Left out besides the internet-facing ones: ``backup``. In wapiti 3.2.3 it makes its guesses
# by replacing the page's last path segment everywhere in the URL, host and port included
# (``/proposals/12`` on 127.0.0.1 asks for the host ``12.zip7.0.0.1``): DNS look-ups for
# made-up names, and bad ports that crash the module (a crash report is then uploaded to the
# project's server unless ``--no-bugreport``). Consult has no file-named pages to back up.
# the demo's CO leader, Boeung Trabek
LEADER = "012 000 001"
#: loaded into both tools' Python processes (through PYTHONPATH): records every name look-up
#: and every connection or datagram aimed anywhere but 127.0.0.1, from Python's audit events
NETWATCH = """
import os, sys

_LOG = os.environ["CONSULT_SCAN_NETWATCH_LOG"]
_LOCAL = {"127.0.0.1", b"127.0.0.1", None}


def _note(kind, target):
    with open(_LOG, "a") as log:
        log.write(f"{kind} {target!r}\\n")


def _watch(event, args):
    if event in ("socket.getaddrinfo", "socket.gethostbyname") and args[0] not in _LOCAL:
        _note(event, args[0])
    elif event in ("socket.connect", "socket.sendto") and isinstance(args[1], tuple):
        if args[1][0] not in _LOCAL:
            _note(event, args[1][:2])


sys.addaudithook(_watch)
"""
#: set inside the network namespace the scan runs in
ISOLATED = "CONSULT_SCAN_ISOLATED"


def tools() -> tuple[Path, Path]:
    if not (SCAN_VENV / "bin" / "wapiti").exists():
        subprocess.run([sys.executable, "-m", "venv", str(SCAN_VENV)], check=True)
        subprocess.run(
            [str(SCAN_VENV / "bin" / "pip"), "install", "-q", "sqlmap", "wapiti3"], check=True
        )
    return SCAN_VENV / "bin" / "sqlmap", SCAN_VENV / "bin" / "wapiti"


def demo_server(tmp: Path):
    """The demo on 127.0.0.1 at a free port: (base URL, stop function)."""
    import logging

    from werkzeug.serving import make_server

    from consult import create_app, demo
    from consult.extensions import db

    app = create_app(
        {
            "CONSULT_ENV": "demo",
            "SECRET_KEY": "scan-" + "x" * 40,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/demo.sqlite",
            "UPLOAD_FOLDER": str(tmp / "uploads"),
            "RATELIMIT_ENABLED": False,  # a scanner is a flood of requests by design
            "SECURITY_LOG": str(tmp / "security.log"),
        }
    )
    with app.app_context():
        db.create_all()
        demo.seed()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.server_port}", server.shutdown, app


def log_in(base: str, login: str, password: str) -> str:
    """The session cookie of ``login``, as ``session=…``."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "login": login, "password": password})
    opener.open(f"{base}/login", data=data.encode())
    cookie = next(c for c in jar if c.name == "session")
    return f"session={cookie.value}"


def targets(app) -> tuple[list[str], list[str]]:
    """(filter URLs with their query, form pages) of the leader's CO."""
    from sqlalchemy import select

    from consult.auth.models import User
    from consult.auth.service import find_by_login
    from consult.extensions import db
    from consult.proposals.models import Proposal

    with app.app_context():
        leader = find_by_login(LEADER)
        assert isinstance(leader, User)
        co = leader.current_memberships()[0].co_id
        proposal = db.session.scalar(select(Proposal.id).where(Proposal.co_id == co).limit(1))
    filters = [
        f"/co/{co}/problems?status=open&category=drainage",
        f"/co/{co}/proposals?state=draft&page=1",
        f"/co/{co}/meetings?after=1",
        f"/proposals/{proposal}/versions/compare?a=1&b=1",
        f"/co/{co}/problems/new?meeting_id=1",
    ]
    forms = [f"/co/{co}/problems/new", f"/co/{co}/meetings/new", f"/co/{co}/proposals/new"]
    return filters, forms


#: values that pass the forms' checks, so the payloads reach the services and the database
PLAUSIBLE = {
    "day": date.today().isoformat(),
    "time": "10:00",
    "latitude": "11.55",
    "longitude": "104.92",
    # empty: ignored by the one-time-key check, so every request is a new submission
    "submission_key": "",
}


class _PageForm(HTMLParser):
    """The fields of a page's own form: the POST form without an ``action`` (it posts back to
    the page), not the top bar's logout and language forms, which would end the scan's session."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._inside = False
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._inside = a.get("method", "").lower() == "post" and not a.get("action")
        elif self._inside and tag in ("input", "textarea") and a.get("name"):
            if a.get("type") not in ("file", "submit"):
                value = PLAUSIBLE.get(a["name"], a.get("value") or "1")
                self.fields.setdefault(a["name"], value)
        elif self._inside and tag == "select" and a.get("name"):
            self._select = a["name"]
        elif self._select and tag == "option" and a.get("value"):
            self.fields.setdefault(self._select, a["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._inside = False
        elif tag == "select":
            self._select = None


def form_data(base: str, cookie: str, path: str) -> str:
    """The page's own form as ``name=value&…``, each field given a plausible value."""
    request = urllib.request.Request(base + path, headers={"Cookie": cookie})
    parser = _PageForm()
    parser.feed(urllib.request.urlopen(request).read().decode())
    return urllib.parse.urlencode(parser.fields)


def still_logged_in(base: str, cookie: str, path: str) -> bool:
    """Whether ``cookie`` still opens ``path`` (a scan that logged itself out tested nothing)."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        return (
            opener.open(urllib.request.Request(base + path, headers={"Cookie": cookie})).status
            == 200
        )
    except urllib.error.HTTPError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def findings(output: str) -> tuple[list[str], list[str]]:
    """What one sqlmap run found: the injection points it confirmed ("Parameter: x (POST)"
    under "identified the following injection point(s)"), and the parameters it flagged on
    the way ("might be", "appears to be … injectable") but then found not injectable."""
    confirmed, flagged, rejected = [], {}, set()
    points = False
    for line in output.splitlines():
        if "identified the following injection point" in line:
            points = True
        elif points and line.strip().startswith("Parameter:"):
            confirmed.append(line.strip())
        elif line.strip() == "---" and confirmed:
            points = False
        named = re.search(r"parameter '([^']+)'", line)
        if named is None:
            continue
        if "does not seem to be injectable" in line:
            rejected.add(named.group(1))
        elif "might be SQL injectable" in line or "injectable" in line and "appears" in line:
            flagged.setdefault(named.group(1), line.strip())
    return confirmed, [flagged[name] for name in flagged if name in rejected]


def _expired_sessions(security_log: Path) -> int:
    if not security_log.exists():
        return 0
    return sum('"session.expired"' in line for line in security_log.read_text().splitlines())


def run_sqlmap(
    sqlmap: Path, base: str, log_in_again, filters, forms, out: Path, security_log: Path
) -> dict:
    """sqlmap on each filter URL and each form, every run with a session of its own
    (``log_in_again()``): the session ends after SESSION_IDLE_MINUTES without a request, and a
    long scan outlives it. Each run takes the refreshed cookie the answers set; a run during
    which the demo's security log records an expired session is reported (it went on
    logged out, testing nothing)."""
    found, flagged, runs, logged_out = [], [], 0, []
    common = [
        str(sqlmap),
        "--batch",
        "--level=2",
        "--risk=1",
        "--technique=BEUST",
        "--disable-coloring",
        f"--output-dir={out / 'sqlmap'}",
        "--skip=csrf_token,session",  # the CSRF token, and the signed session cookie
        "--ignore-code=400,403,404",
    ]

    def job(path: str, cookie: str) -> list[str]:
        if path not in forms:
            return [*common, f"--cookie={cookie}", "-u", base + path]
        # The page's own form, field by field, with a fresh CSRF token before every request.
        return [
            *common,
            f"--cookie={cookie}",
            "-u",
            base + path,
            f"--data={form_data(base, cookie, path)}",
            "--csrf-token=csrf_token",
            f"--csrf-url={base + path}",
        ]

    log = out / "sqlmap.log"
    with log.open("w") as stream:
        for path in [*filters, *forms]:
            runs += 1
            cookie = log_in_again()
            command = job(path, cookie)
            expired = _expired_sessions(security_log)
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            stream.write(f"$ sqlmap {path}\n{result.stdout}\n{result.stderr}\n")
            confirmed, rejected = findings(result.stdout)
            found += [f"{path}: {point}" for point in confirmed]
            flagged += [f"{path}: {line}" for line in rejected]
            if _expired_sessions(security_log) > expired:
                logged_out.append(path)
    tested = len(re.findall(r"testing for SQL injection on \w+ parameter", log.read_text()))
    return {
        "targets": runs,
        "parameters_tested": tested,
        "injectable": found,
        "flagged_then_found_not_injectable": flagged,
        "runs_logged_out_on_the_way": logged_out,
        "log": str(log),
    }


def run_wapiti(wapiti: Path, base: str, cookie: str, out: Path, minutes: int) -> dict:
    report = out / "wapiti.json"
    command = [
        str(wapiti),
        "-u",
        base + "/",
        "--scope",
        "folder",
        "-m",
        ",".join(WAPITI_MODULES),
        "-C",
        cookie,
        "-x",
        base + "/logout",
        "-x",
        base + "/language",
        "-x",
        base + "/co/*/members/*/leave",
        # wapiti's --max-scan-time bounds the crawl only; each attack module has its own
        # bound: a quarter of the budget to crawl, the rest shared by the modules
        "--max-scan-time",
        str(minutes * 15),
        "--max-attack-time",
        str(max(20, minutes * 45 // len(WAPITI_MODULES))),
        # its callback endpoints default to the project's servers on the internet (looked up
        # at start even when no module uses them): point them at this machine
        "--endpoint",
        base + "/",
        "--dns-endpoint",
        "127.0.0.1",  # an address: its log4shell module resolves it at start even when unused
        # a module that raises would otherwise upload a crash report to the project's server
        "--no-bugreport",
        # fewer concurrent tasks: with many, its own session database was "locked" under load
        "--tasks",
        "4",
        "--flush-session",
        "-f",
        "json",
        "-o",
        str(report),
        "--verbose",
        "0",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    (out / "wapiti.log").write_text(result.stdout + "\n" + result.stderr)
    summary: dict = {"exit": result.returncode, "report": str(report)}
    if report.exists():
        data = json.loads(report.read_text())
        summary["vulnerabilities"] = {k: len(v) for k, v in data["vulnerabilities"].items() if v}
        summary["anomalies"] = {k: len(v) for k, v in data.get("anomalies", {}).items() if v}
        summary["additionals"] = {k: len(v) for k, v in data.get("additionals", {}).items() if v}
        summary["crawled"] = data.get("infos", {}).get("crawled_pages_nbr")
    return summary


def watch_network(tmp: Path) -> Path:
    """Load :data:`NETWATCH` into this process and the tools' (they inherit the environment);
    returns the file where attempts to reach beyond 127.0.0.1 are written."""
    folder = tmp / "netwatch"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(NETWATCH)
    log = tmp / "network-attempts.log"
    os.environ["CONSULT_SCAN_NETWATCH_LOG"] = str(log)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(folder), os.environ.get("PYTHONPATH")])
    )
    spec = importlib.util.spec_from_file_location("netwatch", folder / "sitecustomize.py")
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    return log


def _can_isolate() -> bool:
    """Whether this user may make a network namespace (root, or unprivileged namespaces)."""
    if not (shutil.which("unshare") and shutil.which("ip")):
        return False
    return subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="scan-report", type=Path)
    parser.add_argument("--minutes", type=int, default=10, help="wapiti's time budget")
    parser.add_argument("--skip-wapiti", action="store_true")
    parser.add_argument("--skip-sqlmap", action="store_true")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sqlmap, wapiti = tools()  # installed with the network, before it is cut off
    if os.environ.get(ISOLATED) is None and _can_isolate():
        # The scan itself runs in a network namespace of its own, with only a loopback
        # device: the demo and both tools reach 127.0.0.1 and nothing else, by construction
        # (wapiti otherwise looks up hosts on the internet: 284 DNS queries in one scan).
        inner = f"ip link set lo up && exec {shlex.join([sys.executable, *sys.argv])}"
        env = {**os.environ, ISOLATED: "1"}
        return subprocess.run(["unshare", "--net", "sh", "-c", inner], env=env).returncode
    if os.environ.get(ISOLATED) is None:
        print("unshare --net is not allowed here: the scan runs without network isolation")
    with tempfile.TemporaryDirectory() as tmp:
        watched = watch_network(Path(tmp))
        base, stop, app = demo_server(Path(tmp))
        try:
            password = app.config["DEMO_PASSWORD"]
            filters, forms = targets(app)
            summary = {"server": base}
            if not args.skip_sqlmap:
                summary["sqlmap"] = run_sqlmap(
                    sqlmap,
                    base,
                    lambda: log_in(base, LEADER, password),
                    filters,
                    forms,
                    args.out,
                    Path(tmp) / "security.log",
                )
            if not args.skip_wapiti:
                cookie = log_in(base, LEADER, password)
                summary["wapiti"] = run_wapiti(wapiti, base, cookie, args.out, args.minutes)
                summary["wapiti"]["still_logged_in"] = still_logged_in(base, cookie, forms[0])
            security_log = Path(tmp) / "security.log"
            if security_log.exists():
                lines = security_log.read_text().splitlines()
                events = [json.loads(line)["event"] for line in lines]
                summary["security_log_events"] = {e: events.count(e) for e in sorted(set(events))}
            attempts = watched.read_text().splitlines() if watched.exists() else []
            summary["network_beyond_127.0.0.1"] = {
                "attempts": len(attempts),
                "targets": sorted(set(attempts))[:20],
            }
        finally:
            stop()
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
