"""The benchmark's table: one per database, a row a page, the goals' breaches marked."""

ENGINE_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
# The goals: within 1.5x of the demo size, within 3x of the framework floor.
MAX_BIG_OVER_DEMO = 1.5
MAX_BIG_OVER_FLOOR = 3.0


def breaches(row):
    found = []
    if row["big_over_demo"] > MAX_BIG_OVER_DEMO:
        found.append(f"big/demo > {MAX_BIG_OVER_DEMO:g}")
    if row["big_over_floor"] > MAX_BIG_OVER_FLOOR:
        found.append(f"big/floor > {MAX_BIG_OVER_FLOOR:g}")
    if any(status != 200 for status in row["statuses"]):
        found.append("status " + "/".join(map(str, row["statuses"])))
    return found


def table(engine, rows):
    floor_demo = sorted(r["demo_floor_ms"] for r in rows)[len(rows) // 2] if rows else 0
    floor_big = sorted(r["big_floor_ms"] for r in rows)[len(rows) // 2] if rows else 0
    lines = [
        f"**{ENGINE_NAMES.get(engine, engine)}** (floor, the password page: {floor_demo:.1f} ms demo,"
        f" {floor_big:.1f} ms big; medians of the pairs)",
        "",
        "| page | as | demo ms | big ms | big/demo | big/floor | queries demo/big | goals |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        broken = breaches(r)
        lines.append(
            f"| {r['page']} | {r['role']} | {r['demo_page_ms']:.1f} | {r['big_page_ms']:.1f} |"
            f" {r['big_over_demo']:.2f} | {r['big_over_floor']:.2f} | {r['demo_queries']}/{r['big_queries']} |"
            f" {'**✗ ' + ', '.join(broken) + '**' if broken else 'ok'} |"
        )
    return "\n".join(lines)


def storm_table(storm):
    """One row a storm run (a dict, or a list of them: as fast as answered, then at an offered rate)."""
    if not storm:
        return ""
    if "error" in storm:
        return f"Booking storm (PostgreSQL, big): not run: {storm['error']}"
    runs = storm if isinstance(storm, list) else [storm]
    keys = [k for k in runs[0] if not isinstance(runs[0][k], dict | list)]
    lines = ["**Booking storm** (PostgreSQL, big set)", "", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_shown(run.get(k)) for k in keys) + " |" for run in runs]
    for run in runs:
        for k, v in run.items():
            if isinstance(v, dict | list) and v:
                lines.append(f"\n{k}: {v}")
    return "\n".join(lines) + "\n"


def _shown(value):
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def markdown(results):
    parts = [
        f"Commit {results['commit']}{' (with uncommitted changes in the tree)' if results['dirty'] else ''},"
        f" {results['when']}; {results['machine']}; {results['repeat']} rounds after {results['warmup']} warm-up,"
        " median ms."
    ]
    for engine, data in results["engines"].items():
        if data.get("sizes"):
            parts.append(f"Sizes ({ENGINE_NAMES[engine]}): {data['sizes']}")
        parts.append(table(engine, data.get("pages", [])))
        if data.get("storm"):
            parts.append(storm_table(data["storm"]))
    return "\n\n".join(parts) + "\n"
