"""Build a knowledge base from discovered rules and ask it each kind of query.

Usage: python examples/reasoning.py

Discovers the rules of the tic-tac-toe endgame boards that Loom generates, then asks
whether facts are consistent, what they entail and why, what they force, the most
plausible full board, and which classes remain possible.
"""

from __future__ import annotations

import loom
from loom.demo import tic_tac_toe
from loom.reason import format_answer


def main() -> None:
    model = loom.discover(tic_tac_toe(), "y", random_state=0)
    print(model)
    # The rule set carries its schema, so the knowledge base needs nothing else.
    with loom.KnowledgeBase(model) as kb:
        queries = [
            ("Consistency", kb.check("tl = x and tm = x and tr = x and y = n")),
            ("Entailment", kb.entails("tl = x and tm = x and tr = x", "y = p")),
            ("Entailment, open board", kb.entails("tl = x and mm = o", "y = p")),
            ("Consequences", kb.consequences("ml = x and mm = x and mr = x")),
            ("Completion", kb.complete("tl = o and tm = o")),
            ("Classification", kb.classify("bl = x and bm = x and br = x", "y")),
        ]
        for title, answer in queries:
            print(f"\n== {title}")
            print(format_answer(answer))


if __name__ == "__main__":
    main()
