#!/usr/bin/env python3
"""Reads each doctor case's findings.json and prints one line per case; exit 1 if any fails."""
import json, sys

work = sys.argv[1]
rows, failed = [], 0
for line in sys.stdin.read().strip().splitlines():
    case, expected, absent, extra = line.split("|")
    try:
        f = json.load(open(f"{work}/Reports/{case}/findings.json"))
    except (OSError, ValueError) as e:
        rows.append((case, expected, f"no findings ({e.__class__.__name__})", "-", "FAIL")); failed += 1; continue
    diagnoses = f.get("diagnoses") or []
    found = [f"{d['severity']}:{d['code']}" + (f"@{d['layer']}" if d['layer'] else "") + f"(e{d['epoch']})" for d in diagnoses]
    codes = [d["code"] for d in diagnoses]
    want = [c for c in expected.split(" ")[0].split(",") if c != "none"] if not expected.startswith("none") else []
    ok = True
    if want:
        ok &= any(c in codes for c in want)
    if absent != "-":
        ok &= not any(c in codes for c in absent.split(","))
    if extra == "no-problem":
        ok &= not any(d["severity"] == "problem" for d in diagnoses)
    if extra.startswith("aliased="):
        layer, index = extra.split("=")[1].split(":")
        newest = f["epochs"][-1]
        flagged = {l["name"]: l["aliased_filters"] for l in newest["layers"]}
        ok &= flagged.get(layer) == [int(index)] and all(v == [] for k, v in flagged.items() if k != layer)
    top = codes[0] if codes else "-"
    names = "yes" if (want and top in want) or (not want and (not diagnoses or diagnoses[0]["severity"] != "problem")) else "no"
    seconds = open(f"{work}/{case}.seconds").read().strip() if case else "?"
    rows.append((case, expected, " ".join(found) or "(none)", f"{names}", "pass" if ok else "FAIL", seconds))
    failed += 0 if ok else 1
print("| case | expected cause | diagnoses found (ranked) | top names the cause | result | seconds |")
print("|---|---|---|---|---|---|")
for r in rows:
    r = r + ("",) * (6 - len(r))
    print("| " + " | ".join(r) + " |")
sys.exit(1 if failed else 0)
