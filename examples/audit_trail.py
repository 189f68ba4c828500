"""Crystallize reliable rules into a store, then export and verify its audit trail.

Usage: python examples/audit_trail.py [FILE.csv TARGET]

Without arguments it uses the tic-tac-toe endgame boards that Loom generates. The
store (audit_trail.db), the Markdown report and the JSONL export are written to the
current folder.
"""

from __future__ import annotations

import sys

import loom
from loom.crystal import CrystalStore, audit, fold_scenarios
from loom.demo import tic_tac_toe


def main(argv: list[str]) -> None:
    if len(argv) > 2:
        table = loom.BitTable.from_csv(argv[1], target=argv[2])
    else:
        table = loom.BitTable.from_frame(tic_tac_toe(), target="y")
    target = table.target

    # Five folds are the scenarios a rule must stay reliable across.
    scenarios = fold_scenarios(table, 5, random_state=0)
    with CrystalStore("audit_trail.db") as store:
        model = loom.discover(table, target, store=store, scenarios=scenarios,
                              random_state=0)
        loom.discover_invariants(table, store=store, scenarios=scenarios)
        # A second run applies the crystals as fixed rules and adds evidence.
        again = loom.discover(table, target, store=store, scenarios=scenarios,
                              random_state=1)
        print(f"model: {len(model.rules)} rules; second run: {len(again.rules)} rules")
        print(f"new crystals from the second run: {len(again.info['crystals']['new'])}")

        print("\nActive crystals:")
        for crystal in store.active():
            print(f"  {crystal.id[:12]}  {crystal.text}")

        audit.export_file(store, "audit.md", format="md")
        audit.export_file(store, "audit.jsonl", format="jsonl")
        summary = store.summary()
        print(f"\n{summary.n_crystals} crystals, {summary.n_events} events; "
              "wrote audit.md and audit.jsonl")
        result = store.verify()
        print(f"verify: {'intact' if result.ok else 'DAMAGED'}, head {result.head[:16]}")


if __name__ == "__main__":
    main(sys.argv)
