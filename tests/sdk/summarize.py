"""Adds up the JUnit reports that tests/sdk/run.sh collected and prints the counts.

usage: summarize.py OUT_DIR RUNNER_FAILURES
Exits 1 when any test failed or was skipped, when a suite ran no test or
left no report (its runner crashed), or when RUNNER_FAILURES > 0.
"""

import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

SUITES = ["python", "js", "cli", "schema"]


def count(report: Path) -> tuple[int, int, int]:
    passed = failed = skipped = 0
    for case in ElementTree.parse(report).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def main() -> int:
    out_dir = Path(sys.argv[1])
    runner_failures = int(sys.argv[2])
    totals = [0, 0, 0]

    for backend in sorted(p for p in out_dir.iterdir() if p.is_dir()):
        for suite in SUITES:
            report = backend / f"{suite}.xml"
            if not report.exists():
                print(f"{backend.name:>8} {suite:<7} no report")
                runner_failures += 1
                continue
            passed, failed, skipped = count(report)
            if passed + failed + skipped == 0:
                print(f"{backend.name:>8} {suite:<7} ran no test")
                runner_failures += 1
                continue
            totals = [totals[0] + passed, totals[1] + failed, totals[2] + skipped]
            print(f"{backend.name:>8} {suite:<7} {passed} passed, {failed} failed, {skipped} skipped")

    passed, failed, skipped = totals
    failed += runner_failures
    print(f"sdk: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or skipped else 0


if __name__ == "__main__":
    sys.exit(main())
