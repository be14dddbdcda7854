"""No outbound network: `citeqa ingest`, `ask`, `eval` and `serve` run with every outbound
connection refused, and attempt none (no telemetry, no model download, no update check).

Three layers, all per child process:
* a sitecustomize.py on PYTHONPATH patches socket (connect, connect_ex, sendto, sendmsg,
  create_connection, getaddrinfo, gethostbyname) to refuse any non-loopback address and log
  the attempt with its stack; it also keeps uvloop out, so asyncio's sockets pass through it;
* the child runs in its own network namespace (`unshare -rn`, loopback only), so an attempt
  the patches miss (C or Rust code) cannot leave the machine either;
* with strace installed, connect/sendto/sendmsg system calls are traced, which catches
  attempts made below Python.
The children get a clean environment: no HF_HUB_OFFLINE, ANONYMIZED_TELEMETRY,
GRADIO_ANALYTICS_ENABLED or ORT_DISABLE_TELEMETRY, so it is citeqa's own defaults that keep
them offline.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "articles"
QUESTIONS = ROOT / "samples" / "questions.jsonl"
BIN = Path(sys.executable).parent
CITEQA = str(BIN / "citeqa")
BRIDGE_Q = "How many vehicles cross the Old Tanner Bridge on a weekday?"
STRACE = shutil.which("strace")
UNSHARE = shutil.which("unshare")
OFFLINE_FLAGS = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "ANONYMIZED_TELEMETRY",
    "GRADIO_ANALYTICS_ENABLED",
    "DO_NOT_TRACK",
    "ORT_DISABLE_TELEMETRY",
    "PYTHONPATH",
)

BLOCKER = '''
"""Test harness (tests/test_no_network.py): refuse and log every outbound network attempt."""
import ipaddress, json, os, socket, sys, traceback

_LOG = os.environ["NO_NET_LOG"]
with open(_LOG + ".loaded", "a") as _f:
    _f.write(json.dumps({"pid": os.getpid(), "argv": sys.argv}) + "\\n")
sys.modules["uvloop"] = None  # asyncio's own loop, whose sockets go through the patches below


class OutboundBlocked(OSError):
    pass


def _local(host):
    if host in (None, "", "localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(call, target):
    stack = [f"{f.filename}:{f.lineno} {f.name}" for f in traceback.extract_stack()[-14:-2]]
    with open(_LOG, "a") as log:
        log.write(json.dumps({"pid": os.getpid(), "argv": sys.argv[:3], "call": call,
                              "target": repr(target), "stack": stack}) + "\\n")
    raise OutboundBlocked(101, f"outbound network blocked by the test: {call} {target!r}")


def _ok(sock, address):
    return sock.family == socket.AF_UNIX or not isinstance(address, tuple) or _local(address[0])


_real = {name: getattr(socket.socket, name) for name in ("connect", "connect_ex", "sendto",
                                                         "sendmsg")}
_getaddrinfo, _create_connection = socket.getaddrinfo, socket.create_connection
_gethostbyname, _gethostbyname_ex = socket.gethostbyname, socket.gethostbyname_ex


def connect(self, address):
    if not _ok(self, address):
        _refuse("connect", address)
    return _real["connect"](self, address)


def connect_ex(self, address):
    if not _ok(self, address):
        _refuse("connect_ex", address)
    return _real["connect_ex"](self, address)


def sendto(self, data, *args):
    if not _ok(self, args[-1]):
        _refuse("sendto", args[-1])
    return _real["sendto"](self, data, *args)


def sendmsg(self, buffers, ancdata=(), flags=0, address=None):
    if address is not None and not _ok(self, address):
        _refuse("sendmsg", address)
    extra = () if address is None else (address,)
    return _real["sendmsg"](self, buffers, ancdata, flags, *extra)


def getaddrinfo(host, *args, **kwargs):
    if not _local(host):
        _refuse("getaddrinfo", host)
    return _getaddrinfo(host, *args, **kwargs)


def create_connection(address, *args, **kwargs):
    if not _local(address[0]):
        _refuse("create_connection", address)
    return _create_connection(address, *args, **kwargs)


def gethostbyname(host):
    if not _local(host):
        _refuse("gethostbyname", host)
    return _gethostbyname(host)


def gethostbyname_ex(host):
    if not _local(host):
        _refuse("gethostbyname_ex", host)
    return _gethostbyname_ex(host)


socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
socket.socket.sendto, socket.socket.sendmsg = sendto, sendmsg
socket.getaddrinfo, socket.create_connection = getaddrinfo, create_connection
socket.gethostbyname, socket.gethostbyname_ex = gethostbyname, gethostbyname_ex
'''

# run inside the new namespace: bring loopback up (it starts down), then become the command
NETNS_ENTRY = """
import fcntl, os, socket, struct, sys
IFF_UP, IFF_LOOPBACK, IFF_RUNNING, SIOCSIFFLAGS = 0x1, 0x8, 0x40, 0x8914
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH", b"lo", IFF_UP | IFF_LOOPBACK | IFF_RUNNING))
os.execvp(sys.argv[1], sys.argv[1:])
"""

SERVE_DRIVER = '''
"""Inside the namespace: start `citeqa serve` (blocked), ask it one question, stop it."""
import json, os, signal, socket, subprocess, sys, time
command, port, question = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
server_env = json.loads(os.environ.pop("SERVER_ENV"))
server = subprocess.Popen(command, env=server_env, start_new_session=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
result = {}
try:
    deadline = time.monotonic() + 150
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("server did not start: " + server.stdout.read().decode())
            time.sleep(0.5)
    from gradio_client import Client
    result["answer"] = Client(f"http://127.0.0.1:{port}", verbose=False).predict(
        question, api_name="/ask")
finally:
    os.killpg(server.pid, signal.SIGINT)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    result["server_output"] = server.stdout.read().decode(errors="replace")[-3000:]
    print(json.dumps(result))
'''


@dataclass
class Offline:
    """Where one test's blocker lives and logs."""

    folder: Path

    @property
    def log(self) -> Path:
        return self.folder / "attempts.jsonl"

    @property
    def strace_log(self) -> Path:
        return self.folder / "strace.log"

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in OFFLINE_FLAGS
            # the run's own export cache stays (conftest): the user's is not the tests' to write
            and (not k.startswith("CITEQA_") or k == "CITEQA_CACHE_DIR")
        }
        env.update(PYTHONPATH=str(self.folder / "blocker"), NO_NET_LOG=str(self.log))
        return env

    def command(self, argv: list[str]) -> list[str]:
        """argv in a fresh network namespace (loopback only), traced when strace is here."""
        traced = (
            [
                STRACE,
                "-f",
                "-qq",
                "--seccomp-bpf",
                "-e",
                "trace=connect,sendto,sendmsg",
                "-e",
                "signal=none",
                "-o",
                str(self.strace_log),
                *argv,
            ]
            if STRACE
            else argv
        )
        entry = str(self.folder / "netns_entry.py")
        return [UNSHARE or "unshare", "-rn", sys.executable, "-I", entry, *traced]

    def run(self, argv: list[str], timeout: int = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(argv),
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.folder,
        )

    def attempts(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def loaded(self) -> list[dict]:
        path = Path(f"{self.log}.loaded")
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def traced(self) -> list[str]:
        """System calls that addressed a non-loopback IPv4/IPv6 host."""
        if not STRACE or not self.strace_log.exists():
            return []
        out = []
        for line in self.strace_log.read_text(errors="replace").splitlines():
            for address in re.findall(
                r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"', line
            ):
                host = address[0] or address[1]
                if not (host.startswith("127.") or host in ("::1", "::ffff:127.0.0.1")):
                    out.append(line)
        return out

    def assert_silent(self) -> None:
        attempts = self.attempts()
        assert attempts == [], json.dumps(attempts, indent=1)[:4000]
        assert self.traced() == []
        assert self.loaded(), "the blocker never loaded: the check proved nothing"


def make_offline(folder: Path) -> Offline:
    if not UNSHARE or subprocess.run([UNSHARE, "-rn", "true"]).returncode != 0:
        pytest.fail("`unshare -rn` (util-linux) must work: it keeps these children offline")
    (folder / "blocker").mkdir(parents=True)
    (folder / "blocker" / "sitecustomize.py").write_text(BLOCKER)
    (folder / "netns_entry.py").write_text(NETNS_ENTRY)
    return Offline(folder)


@pytest.fixture
def offline(tmp_path) -> Offline:
    return make_offline(tmp_path)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory) -> tuple[Path, Offline, subprocess.CompletedProcess[str]]:
    """`citeqa ingest samples/articles`, offline, into a store the other commands read."""
    folder = tmp_path_factory.mktemp("no-network")
    home = folder / "home"
    offline = make_offline(folder / "ingest")
    result = offline.run([CITEQA, "--home", str(home), "ingest", "--quiet", str(SAMPLES)])
    return home, offline, result


# -- the blocker itself ---------------------------------------------------------------------

PROBE = textwrap.dedent("""
    import asyncio, json, socket, sys, urllib.request
    import httpx
    outcomes = {}
    def attempt(name, call):
        try:
            call()
            outcomes[name] = "connected"
        except OSError as err:
            outcomes[name] = "blocked" if "blocked by the test" in str(err) else repr(err)
        except Exception as err:  # clients wrap the OSError
            outcomes[name] = "blocked" if "blocked by the test" in str(err) else repr(err)
    attempt("create_connection", lambda: socket.create_connection(("192.0.2.1", 9), timeout=2))
    attempt("connect", lambda: socket.socket().connect(("198.51.100.7", 80)))
    attempt("connect_ex", lambda: socket.socket().connect_ex(("203.0.113.9", 443)))
    attempt("ipv6", lambda: socket.socket(socket.AF_INET6).connect(("2001:db8::1", 80, 0, 0)))
    attempt("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(
        b"x", ("192.0.2.53", 53)))
    attempt("dns", lambda: socket.getaddrinfo("huggingface.co", 443))
    attempt("urllib", lambda: urllib.request.urlopen("http://example.com/", timeout=2))
    attempt("httpx", lambda: httpx.get("https://pypi.org/simple/", timeout=2))
    async def aio():
        await asyncio.wait_for(asyncio.open_connection("192.0.2.2", 80), 2)
    attempt("asyncio", lambda: asyncio.run(aio()))
    async def aio_client():
        async with httpx.AsyncClient() as client:
            await client.get("https://example.org/", timeout=2)
    attempt("httpx-async", lambda: asyncio.run(aio_client()))
    try:
        import uvloop  # noqa
        outcomes["uvloop"] = "importable"
    except ImportError:
        outcomes["uvloop"] = "kept out"
    server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen()
    socket.create_connection(server.getsockname(), timeout=2).close()
    outcomes["loopback"] = "connected"
    print(json.dumps(outcomes))
""")


def test_the_blocker_refuses_and_logs_every_kind_of_attempt(offline):
    """Control: outbound attempts of every kind are refused and logged; loopback works."""
    probe = offline.folder / "probe.py"
    probe.write_text(PROBE)
    result = offline.run([sys.executable, str(probe)], timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    outcomes = json.loads(result.stdout.strip().splitlines()[-1])
    blocked = {k for k, v in outcomes.items() if v == "blocked"}
    assert blocked == {
        "create_connection",
        "connect",
        "connect_ex",
        "ipv6",
        "udp",
        "dns",
        "urllib",
        "httpx",
        "asyncio",
        "httpx-async",
    }, outcomes
    assert outcomes["uvloop"] == "kept out" and outcomes["loopback"] == "connected"
    attempts = offline.attempts()
    assert len(attempts) >= len(blocked), attempts
    assert {a["call"] for a in attempts} >= {
        "connect",
        "connect_ex",
        "sendto",
        "getaddrinfo",
        "create_connection",
    }
    assert all(a["stack"] for a in attempts)
    print(f"\nblocker control: {len(attempts)} outbound attempts refused and logged")


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (apt-get install strace)")
def test_strace_sees_connects_made_below_python(offline):
    """Control for the third layer: a connect() through libc skips the Python patches, and
    strace still reports it (the namespace stops the packet)."""
    code = textwrap.dedent("""
        import ctypes, socket, struct
        libc = ctypes.CDLL(None, use_errno=True)
        s = socket.socket()
        address = struct.pack("!HH4s8x", socket.AF_INET, 80, socket.inet_aton("192.0.2.77"))
        address = struct.pack("=H", socket.AF_INET) + address[2:]
        print(libc.connect(s.fileno(), address, len(address)), ctypes.get_errno())
    """)
    result = offline.run([sys.executable, "-c", code], timeout=60)
    assert result.returncode == 0, result.stderr
    assert offline.attempts() == []  # the Python layer never saw it ...
    traced = offline.traced()
    assert any("192.0.2.77" in line for line in traced), offline.strace_log.read_text()


# -- the commands ---------------------------------------------------------------------------


def test_ingest_offline(ingested):
    _, offline, result = ingested
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1].startswith("6 added"), result.stdout
    offline.assert_silent()


def test_ask_offline(offline, ingested):
    home, _, _ = ingested
    result = offline.run([CITEQA, "--home", str(home), "ask", BRIDGE_Q, "--json"])
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout)
    assert not answer["abstained"] and "9,600" in answer["text"]
    offline.assert_silent()


def test_eval_offline_with_baselines(offline, ingested):
    """eval, with the dense baseline (langchain-huggingface + langchain-chroma) as well."""
    home, _, _ = ingested
    result = offline.run(
        [
            CITEQA,
            "--home",
            str(home),
            "eval",
            str(QUESTIONS),
            "--limit",
            "4",
            "--compare",
            "bm25,dense",
            "--json",
            "--quiet",
        ]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert set(summary["baselines"]) == {"bm25", "dense"}, summary
    offline.assert_silent()


def test_serve_offline_answers_through_gradio_client(offline, ingested):
    home, _, _ = ingested
    port = 7860  # the namespace is the server's own: no other listener can hold the port
    driver = offline.folder / "serve_driver.py"
    driver.write_text(SERVE_DRIVER)
    server = offline.command([CITEQA, "--home", str(home), "serve", "--port", str(port)])
    # the driver (the client side) runs in the namespace too, without the blocker
    server_argv = server[server.index("-I") + 2 :]  # the part after `unshare ... entry.py`
    env = offline.env()
    client_env = {k: v for k, v in env.items() if k not in ("PYTHONPATH", "NO_NET_LOG")}
    client_env["SERVER_ENV"] = json.dumps(env)
    result = subprocess.run(
        [
            *server[: server.index("-I") + 2],
            sys.executable,
            str(driver),
            json.dumps(server_argv),
            str(port),
            BRIDGE_Q,
        ],
        env=client_env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=offline.folder,
    )
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert "9,600" in outcome["answer"]["text"], outcome
    assert f"citeqa chat on http://127.0.0.1:{port}" in outcome["server_output"]
    offline.assert_silent()
    assert any("serve" in a["argv"] for a in offline.loaded())


LINGER = textwrap.dedent("""
    import sys, time
    from qa import Assistant
    with Assistant(home=sys.argv[1], read_only=True) as assistant:
        print(assistant.ask(sys.argv[2]).text)
        time.sleep(float(sys.argv[3]))
""")


def test_a_process_that_keeps_onnxruntime_loaded_stays_offline(offline, ingested):
    """A reader embeds questions and reads sentences with onnxruntime, which since 1.29 looks up
    its telemetry collector about ten seconds after it starts unless ORT_DISABLE_TELEMETRY is
    set when it loads (`citeqa ask` exits before that; a server does not)."""
    home, _, _ = ingested
    script = offline.folder / "linger.py"
    script.write_text(LINGER)
    result = offline.run([sys.executable, str(script), str(home), BRIDGE_Q, "25"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "9,600" in result.stdout
    offline.assert_silent()
