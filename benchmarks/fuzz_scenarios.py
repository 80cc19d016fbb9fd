"""Long property-based fuzz of the scenario file reader; prints a markdown report.

Every generated file must either load and sample (three frames), or raise a
``ScenegenError`` whose message lines all start with ``FILE:LINE:COL:``. Anything else is a
failure: another exception type, a message without a position, or a case that takes longer
than ``--timeout-s`` (a hang). Cases run in a child process with a watchdog, so even a hang
inside C code is caught; the child is restarted after one.

Case families (hypothesis strategies, seeded, so a run is reproducible):

* ``random-text``: text over YAML's and the expression grammar's special characters;
* ``random-yaml``: random documents of mappings/lists/scalars, keys drawn from the
  scenario schema's key names, dumped as YAML;
* ``mutation``: 1-6 edits (insert a fragment, delete, duplicate or swap lines, re-indent,
  flip a byte) of every example in ``scenarios/``;
* ``numbers``: numbers in every example replaced by huge, tiny, NaN/inf and odd literals;
* ``nesting``: deep lists, mappings, block sequences, expressions, alias bombs, and
  documents with up to 500,000 values;
* ``bytes``: empty, binary, NUL, BOM-only, over-size files;
* ``encoding``: examples encoded as UTF-16/32, Latin-1, CP1252, Shift-JIS, UTF-8 with BOM;
* ``code``: object-constructing YAML tags and Python code in expression positions.

Usage::

    python benchmarks/fuzz_scenarios.py --cases 10000 [--seed 0] [--timeout-s 5]
        [--save-failures DIR]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import re
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((REPO / "scenarios").glob("*.yaml"))

# Family -> share of the cases.
SHARES = {
    "random-text": 0.18,
    "random-yaml": 0.18,
    "mutation": 0.30,
    "numbers": 0.10,
    "nesting": 0.06,
    "bytes": 0.06,
    "encoding": 0.06,
    "code": 0.06,
}

# -- the child: loads one file, says what happened ---------------------------------------


def _outcome(path: Path) -> tuple[str, str]:
    """("loaded" | "rejected" | "bad-message" | "crash", detail) for the file at ``path``."""
    from scenegen.errors import ScenegenError
    from scenegen.scenario import load_scenario, sample_scene

    position = re.compile(re.escape(str(path)) + r":\d+:\d+: ")
    try:
        scenario = load_scenario(path)
        for frame in range(3):
            sample_scene(scenario, frame, 0, 3)
    except ScenegenError as error:
        lines = str(error).splitlines() or [""]
        bad = [line for line in lines if not position.match(line)]
        if bad:
            return "bad-message", f"{type(error).__name__}: {bad[0][:300]}"
        return "rejected", lines[0][len(str(path)) :][:200]
    except Exception as error:  # the property under test: nothing else may escape
        frames = traceback.extract_tb(error.__traceback__)[-3:]
        where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames))
        return "crash", f"{type(error).__name__}: {str(error)[:200]} at {where}"
    return "loaded", ""


def _serve(conn, folder: str) -> None:
    path = Path(folder) / "case.yaml"
    while True:
        data = conn.recv()
        if data is None:
            return
        path.write_bytes(data)
        conn.send(_outcome(path))


class Checker:
    """Runs cases in a child process; a case that outlives the timeout is a hang."""

    def __init__(self, folder: Path, timeout_s: float) -> None:
        self.folder, self.timeout_s = folder, timeout_s
        self._ctx = mp.get_context("spawn")
        self._start()

    def _start(self) -> None:
        self._conn, child = self._ctx.Pipe()
        self._process = self._ctx.Process(
            target=_serve, args=(child, str(self.folder)), daemon=True
        )
        self._process.start()

    def check(self, data: bytes) -> tuple[str, str]:
        self._conn.send(data)
        if self._conn.poll(self.timeout_s):
            return self._conn.recv()
        self._process.kill()
        self._process.join()
        self._start()
        return "hang", f"no answer within {self.timeout_s} s"

    def close(self) -> None:
        self._conn.send(None)
        self._process.join(5)


# -- case families (strategies producing the bytes of one file) ---------------------------

_SPECIAL = list("{}[](),:-#&*!|>'\"%@`?~ \n\t.=_0123456789eExyz\\\u00e9\u2028\x85\x01\x00\ufeff")
_FRAGMENTS = [
    *_SPECIAL,
    "uniform(",
    "randint(",
    "choice([",
    "normal(",
    "truncnormal(",
    ")",
    "])",
    "true",
    "null",
    "~",
    "!!str ",
    "!!float ",
    "!!binary ",
    "!!python/object:os.system ",
    "&a ",
    "*a",
    "<<: *a",
    "\n  ",
    "\n    - ",
    "- ",
    "? ",
    "--- ",
    "...",
    "%YAML 1.1\n",
    "__import__('os')",
    "1e309",
    ".nan",
    "-.inf",
    "99999999999999999999999",
    "0x1F",
    "1_000",
    "2001-12-14",
    "weights=[",
]
_NUMBERS = [
    "1e308",
    "1e309",
    "-1e309",
    "1e-330",
    ".inf",
    "-.inf",
    ".nan",
    ".NaN",
    "nan",
    "inf",
    "-0",
    "-0.0",
    "99999999999999999999999999",
    "-99999999999999999999999999",
    "0x7fffffffffffffff",
    "0o777",
    "0b101",
    "1_000_000",
    "1e5",
    "+12",
    "2.5e-3",
    "1:30",
    "0",
    "-1",
    "uniform(1e308, 1e309)",
    "uniform(.nan, 1)",
    "randint(0, 99999999999999999999)",
    "normal(0, 1e308)",
    "truncnormal(0, 1, .inf, -.inf)",
    "choice([.nan])",
]
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e-?\d+)?(?![\w.])")
_KEYS = [
    "version",
    "name",
    "description",
    "seed",
    "frames",
    "min_visible_pixels",
    "road",
    "type",
    "lanes",
    "curvature_1_m",
    "ego",
    "speed_m_s",
    "sensors",
    "camera",
    "preset",
    "width",
    "height",
    "fov_deg",
    "pitch_deg",
    "lidar",
    "azimuth_steps",
    "environment",
    "time_of_day",
    "sun",
    "elevation_deg",
    "weather",
    "fog",
    "visibility_m",
    "rain",
    "rate_mm_h",
    "snow",
    "actors",
    "class",
    "count",
    "placement",
    "mesh",
    "events",
    "probability",
    "sweep",
    "road.lanes",
    "x",
]


def _texts() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in EXAMPLES]


def _random_text() -> st.SearchStrategy[bytes]:
    pieces = st.lists(st.sampled_from(_SPECIAL + _FRAGMENTS), max_size=60)
    plain = st.text(max_size=80)  # any Unicode, lone surrogates included
    text = pieces.map("".join) | plain
    return text.map(lambda t: t.encode("utf-8", "surrogatepass"))


def _random_yaml() -> st.SearchStrategy[bytes]:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.text(max_size=20)
        | st.sampled_from(_NUMBERS + _FRAGMENTS)
    )
    keys = st.sampled_from(_KEYS) | st.text(max_size=8)
    tree = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
        max_leaves=30,
    )
    document = st.fixed_dictionaries(
        {"version": st.sampled_from([1, 1, 1, 2, "1"]), "name": st.sampled_from(["f", ""])},
        optional={key: tree for key in _KEYS[2:12]},
    )
    style = st.sampled_from([None, True, False])
    return st.tuples(document | tree, style).map(
        lambda pair: yaml.safe_dump(
            pair[0], default_flow_style=pair[1], allow_unicode=True
        ).encode()
    )


def _mutation() -> st.SearchStrategy[bytes]:
    @st.composite
    def mutate(draw) -> bytes:
        text = draw(st.sampled_from(_texts()))
        for _ in range(draw(st.integers(1, 2) | st.integers(1, 6))):  # many small edits load
            lines = text.splitlines(keepends=True) or [""]
            kind = draw(
                st.sampled_from(["insert", "delete", "dup", "swap", "indent", "byte", "truncate"])
            )
            at = draw(st.integers(0, len(text)))
            if kind == "insert":
                text = text[:at] + draw(st.sampled_from(_FRAGMENTS)) + text[at:]
            elif kind == "delete":
                text = text[:at] + text[at + draw(st.integers(1, 12)) :]
            elif kind == "dup":
                i = draw(st.integers(0, len(lines) - 1))
                text = "".join(lines[: i + 1] + lines[i:])
            elif kind == "swap":
                i, j = (draw(st.integers(0, len(lines) - 1)) for _ in range(2))
                lines[i], lines[j] = lines[j], lines[i]
                text = "".join(lines)
            elif kind == "indent":
                i = draw(st.integers(0, len(lines) - 1))
                lines[i] = " " * draw(st.integers(0, 6)) + lines[i].lstrip(" ")
                text = "".join(lines)
            elif kind == "byte":
                data = bytearray(text.encode("utf-8"))
                if data:
                    data[min(at, len(data) - 1)] ^= 1 << draw(st.integers(0, 7))
                return bytes(data)
            else:
                text = text[:at]
        return text.encode("utf-8", "surrogatepass")

    return mutate()


def _numbers() -> st.SearchStrategy[bytes]:
    @st.composite
    def replace(draw) -> bytes:
        text = draw(st.sampled_from(_texts()))
        matches = list(_NUMBER.finditer(text))
        chosen = draw(st.lists(st.sampled_from(matches), min_size=1, max_size=4, unique=True))
        for match in sorted(chosen, key=lambda m: -m.start()):
            text = text[: match.start()] + draw(st.sampled_from(_NUMBERS)) + text[match.end() :]
        return text.encode()

    return replace()


def _nesting() -> st.SearchStrategy[bytes]:
    def doc(kind: str, depth: int) -> str:
        if kind == "flow-list":
            return "version: 1\nname: n\nroad: " + "[" * depth + "1" + "]" * depth + "\n"
        if kind == "flow-map":
            return "version: 1\nname: n\nroad: " + "{a: " * depth + "1" + "}" * depth + "\n"
        if kind == "block-list":
            return "version: 1\nname: n\nactors:\n" + "".join(
                "  " * i + "-\n" for i in range(depth)
            )
        if kind == "block-map":
            return "version: 1\nname: n\nroad:\n" + "".join(
                "  " * (i + 1) + "k:\n" for i in range(depth)
            )
        if kind == "expression":
            return (
                "version: 1\nname: n\nego: {speed_m_s: "
                + "uniform(" * depth
                + "1, 2"
                + ")" * depth
                + "}\n"
            )
        if kind == "choice-list":
            return (
                "version: 1\nname: n\nroad: {lanes: choice("
                + "[" * depth
                + "1"
                + "]" * depth
                + ")}\n"
            )
        if kind == "wide-list":  # up to 1 MiB of values: must be refused quickly
            return "version: 1\nname: n\nroad: [" + "1," * (depth * 100) + "]\n"
        if kind == "many-keys":
            return "version: 1\nname: n\n" + "".join(f"k{i}: 1\n" for i in range(depth * 20))
        # "Billion laughs": each level refers to the previous one ten times.
        levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for i in range(1, depth % 12 + 2):
            levels.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
        return "version: 1\nname: n\nx:\n" + "".join(f"  {line}\n" for line in levels)

    kinds = st.sampled_from(
        [
            "flow-list",
            "flow-map",
            "block-list",
            "block-map",
            "expression",
            "choice-list",
            "wide-list",
            "many-keys",
            "alias",
        ]
    )
    depths = st.integers(1, 40) | st.integers(40, 5000)
    return st.tuples(kinds, depths).map(lambda kd: doc(*kd).encode())


def _bytes() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.just(b""),
        st.binary(max_size=400),
        st.sampled_from(
            [b"\x00", b"\xef\xbb\xbf", b"\xff\xfe", b"\n" * 10, b" ", b"---\n", b"..."]
        ),
        st.integers(1024 * 1024 - 10, 1024 * 1024 + 10).map(lambda n: b"#" * (n - 1) + b"\n"),
        st.tuples(st.sampled_from(_texts()), st.integers(0, 2000)).map(
            lambda ti: ti[0].encode()[: ti[1]] + b"\x00" + ti[0].encode()[ti[1] :]
        ),
    )


def _encoding() -> st.SearchStrategy[bytes]:
    def encode(text: str, codec: str) -> bytes:
        # Non-ASCII in a comment: the file stays valid if the bytes are read correctly.
        return ("# caf\u00e9, \u00fcber, \u96ea\u306e\u591c\n" + text).encode(codec, "replace")

    codecs = st.sampled_from(
        [
            "utf-16",
            "utf-16-le",
            "utf-16-be",
            "utf-32",
            "latin-1",
            "cp1252",
            "shift_jis",
            "utf-8-sig",
        ]
    )
    return st.tuples(st.sampled_from(_texts()), codecs).map(lambda tc: encode(*tc))


def _code() -> st.SearchStrategy[bytes]:
    payloads = [
        '!!python/object/apply:os.system ["touch /tmp/scenegen-fuzz-pwned"]',
        "!!python/name:os.system",
        "!!python/object/new:subprocess.Popen [[touch, /tmp/scenegen-fuzz-pwned]]",
        "!!python/module:os",
        "!custom {a: 1}",
        "!!binary aGVsbG8=",
        "!!timestamp 2001-12-14",
        "!!set {a, b}",
        "!!omap [a: 1]",
        "__import__('os').system('touch /tmp/scenegen-fuzz-pwned')",
        "eval('1')",
        "exec('import os')",
        "uniform(__import__('os'), 1)",
        "choice([open('/etc/passwd')])",
        "(lambda: 1)()",
        "().__class__.__bases__[0].__subclasses__()",
        "uniform(1, 2).__class__",
        "{{7*7}}",
        "${HOME}",
    ]
    positions = [
        "version: 1\nname: n\nroad: {lanes: P}\n",
        "version: 1\nname: n\nego:\n  speed_m_s: P\n",
        "version: 1\nname: P\n",
        "P\n",
        "version: 1\nname: n\nactors:\n  - {class: car, count: P}\n",
        "version: 1\nname: n\nsweep:\n  road.lanes: [P]\n",
    ]
    return st.tuples(st.sampled_from(positions), st.sampled_from(payloads)).map(
        lambda pp: pp[0].replace("P", pp[1]).encode()
    )


FAMILIES: dict[str, Callable[[], st.SearchStrategy[bytes]]] = {
    "random-text": _random_text,
    "random-yaml": _random_yaml,
    "mutation": _mutation,
    "numbers": _numbers,
    "nesting": _nesting,
    "bytes": _bytes,
    "encoding": _encoding,
    "code": _code,
}

# -- driver -------------------------------------------------------------------------------


def run_family(
    name: str, cases: int, checker: Checker, seed: int
) -> tuple[Counter, list[tuple[str, bytes]], float]:
    counts: Counter = Counter()
    failures: list[tuple[str, bytes]] = []
    strategy = FAMILIES[name]()
    started = time.perf_counter()
    attempt = 0
    while sum(counts.values()) < cases and attempt < 50:
        remaining = cases - sum(counts.values())

        @hypothesis_seed(seed * 1000 + attempt)
        @settings(
            max_examples=remaining,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def case(data: bytes) -> None:
            if sum(counts.values()) >= cases:
                return
            outcome, detail = checker.check(data)
            counts[outcome] += 1
            if outcome not in ("loaded", "rejected"):
                failures.append((f"{outcome}: {detail}", data))

        case()
        attempt += 1
    return counts, failures, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="total cases (all families)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the case generators")
    parser.add_argument("--timeout-s", type=float, default=5.0, help="per-case time limit")
    parser.add_argument("--save-failures", type=Path, help="write failing inputs here")
    args = parser.parse_args()

    marker = Path("/tmp/scenegen-fuzz-pwned")
    marker.unlink(missing_ok=True)
    totals: Counter = Counter()
    rows = []
    all_failures: dict[str, list[tuple[str, bytes]]] = defaultdict(list)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="scenegen-fuzz-") as folder:
        checker = Checker(Path(folder), args.timeout_s)
        try:
            for name, share in SHARES.items():
                n = max(1, round(args.cases * share))
                counts, failures, seconds = run_family(name, n, checker, args.seed)
                totals.update(counts)
                all_failures[name] = failures
                rows.append((name, counts, seconds))
                print(f"{name}: {sum(counts.values())} cases in {seconds:.1f} s", file=sys.stderr)
        finally:
            checker.close()
    elapsed = time.perf_counter() - started
    failed = sum(len(f) for f in all_failures.values())

    print(f"# Scenario reader fuzz: {sum(totals.values())} cases, {failed} failures\n")
    print(
        f"`python benchmarks/fuzz_scenarios.py --cases {args.cases} --seed {args.seed} "
        f"--timeout-s {args.timeout_s}` — {elapsed:.0f} s, per-case limit {args.timeout_s} s\n"
    )
    print("| family | cases | loaded + sampled | rejected with FILE:LINE:COL | failures | s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, counts, seconds in rows:
        bad = sum(v for k, v in counts.items() if k not in ("loaded", "rejected"))
        print(
            f"| {name} | {sum(counts.values())} | {counts['loaded']} | {counts['rejected']} "
            f"| {bad} | {seconds:.1f} |"
        )
    bad_total = sum(v for k, v in totals.items() if k not in ("loaded", "rejected"))
    print(
        f"| **all** | {sum(totals.values())} | {totals['loaded']} | {totals['rejected']} "
        f"| {bad_total} | {elapsed:.1f} |"
    )
    print(f"\nCode execution marker file created: {'YES' if marker.exists() else 'no'}")
    if failed:
        print("\n## Failures (first 20 per family)\n")
        for name, failures in all_failures.items():
            for i, (detail, data) in enumerate(failures[:20]):
                print(f"- {name}: {detail} — input {data[:120]!r}")
                if args.save_failures:
                    args.save_failures.mkdir(parents=True, exist_ok=True)
                    (args.save_failures / f"{name}-{i:03d}.yaml").write_bytes(data)
    return 1 if failed or marker.exists() else 0


if __name__ == "__main__":
    sys.exit(main())
