"""Turns side-by-side.sh's runs.tsv (name, system, status[, JSON line]) into the markdown table of issue 15.

    python3 side_by_side_table.py RUNS_TSV CARD COMMIT SHAPES > side-by-side.md

One row per configuration, in the order run: our and Hugging Face PEFT's tokens/s, peak GiB and MFU, and the
ratios the issue's goals are stated in (ours / theirs), then what our device counted per step (launches, and the
share of product work with float32 operands); runs that were skipped or failed are listed below it. Then, for each
of our runs that has one, where the device time of its profiled step went: busy and wall time, and the most
expensive kernels and product shapes.
"""
import datetime
import json
import sys


def main():
    runs_tsv, card, commit, shapes = sys.argv[1:5]
    rows, notes = {}, []
    for raw in open(runs_tsv, encoding="utf-8"):
        parts = raw.rstrip("\n").split("\t")
        name, system, status = parts[0], parts[1], parts[2]
        rows.setdefault(name, {})
        if status == "ok":
            rows[name][system] = json.loads(parts[3])
        else:
            notes.append(f"- {name}, {system}: {status}")
    precisions = sorted({by["finetune4j"]["precision"] for by in rows.values() if "finetune4j" in by})
    out = [f"# LoRA side by side: finetune4j and Hugging Face PEFT",
           "",
           f"Card: {card}. Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC. "
           f"Commit: {commit}. Shapes: {shapes}. Our precision: {', '.join(precisions) or '-'} (HF PEFT: bf16).",
           "",
           "| configuration | ours tokens/s | HF tokens/s | speed ratio | ours peak GiB | HF peak GiB | memory ratio "
           "| ours MFU | HF MFU | ours launches/step | ours f32 product share |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, by in rows.items():
        ours, hf = by.get("finetune4j"), by.get("hf-peft")
        out.append("| " + " | ".join([
            name,
            cell(ours, "tokens_per_s"), cell(hf, "tokens_per_s"), ratio(ours, hf, "tokens_per_s"),
            cell(ours, "peak_gib"), cell(hf, "peak_gib"), ratio(ours, hf, "peak_gib"),
            cell(ours, "mfu"), cell(hf, "mfu"), cell(ours, "launches_per_step"),
            cell(ours, "gemm_f32_share")]) + " |")
    out += qlora_against_lora(rows)
    if notes:
        out += ["", "Not measured:"] + notes
    profiled = [(name, by["finetune4j"]["profile"]) for name, by in rows.items()
                if "profile" in by.get("finetune4j", {})]
    if profiled:
        out += ["", "## Where our step's device time goes (one profiled step after the timed ones)"]
    for name, profile in profiled:
        wall, busy = profile["wall_ms"], profile["busy_ms"]
        out += ["", f"### {name}: {busy:,.1f} ms busy of {wall:,.1f} ms"
                    f" ({100 * busy / wall if wall else 0:.0f}%; the rest the device waited on the host)", "",
                "| work | calls | ms | share of wall |", "| --- | --- | --- | --- |"]
        out += [f"| {e['name']} | {e['calls']:,} | {e['ms']:,.3f} | {100 * e['ms'] / wall if wall else 0:.1f}% |"
                for e in profile["top"]]
    print("\n".join(out))


def qlora_against_lora(rows):
    """QLoRA's goals are ratios to our own LoRA on the same shape, batch and sequence (plain LoRA, no checkpointing)."""
    ours = [r["finetune4j"] for r in rows.values() if "finetune4j" in r]
    shape = lambda r: (r["config"], r["batch"], r["seq"])
    plain = {shape(r): r for r in ours if not (r["qlora"] or r["dora"] or r["gradient_checkpointing"])}
    lines = []
    for name, by in rows.items():
        q = by.get("finetune4j")
        if q is None or not q["qlora"] or shape(q) not in plain:
            continue
        lora = plain[shape(q)]
        lines.append(f"| {name} | {ratio(q, lora, 'tokens_per_s')} | {ratio(q, lora, 'peak_gib')} |")
    if not lines:
        return []
    return ["", "QLoRA against our LoRA on the same shape and batch (goals: tokens/s at least 0.7x, peak at most 0.5x):",
            "", "| configuration | tokens/s ratio | peak ratio |", "| --- | --- | --- |"] + lines


def cell(result, field):
    return "-" if result is None or field not in result else f"{result[field]:,}"


def ratio(ours, theirs, field):
    if ours is None or theirs is None or not theirs[field]:
        return "-"
    return f"{ours[field] / theirs[field]:.2f}x"


if __name__ == "__main__":
    main()
