"""Say what pip-audit really checked: it prints "No known vulnerabilities found" even when its
vulnerability service was unreachable and it checked nothing, so this counts the packages it audited.

Usage: python scripts/audit_summary.py <lock> <pip-audit JSON report>; exits 1 when a package has a
known vulnerability, 0 otherwise (a package that could not be checked is reported, not failed).
"""

import json
import sys
from pathlib import Path


def main(lock: str, report_path: str) -> int:
    dependencies = json.loads(Path(report_path).read_text())["dependencies"]
    skipped = [dependency for dependency in dependencies if "skip_reason" in dependency]
    vulnerable = [dependency for dependency in dependencies if dependency.get("vulns")]
    print(
        f"pip-audit {lock}: {len(dependencies) - len(skipped)} of {len(dependencies)} packages checked, "
        f"{len(vulnerable)} with known vulnerabilities"
    )
    if skipped:
        print(f"  not checked ({len(skipped)}), e.g.: {skipped[0]['skip_reason']}")
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixed_in = ", ".join(vuln["fix_versions"]) or "no fix yet"
            print(f"  {dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {fixed_in})")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
