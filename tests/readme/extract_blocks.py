#!/usr/bin/env python3
"""Writes each C and C++ code block of a Markdown file to its own source file.

  extract_blocks.py README.md OUT_DIR

Blocks fenced as ```c become readme_block_N.c, ```cpp become
readme_block_N.cc (N counts from 1 in the file's order); each must be a
whole program. Prints the written files' names, one a line (CMake reads
them). Files whose text is unchanged are not rewritten, so a README edit
that touches no block rebuilds nothing.
"""
import os
import re
import sys


def main() -> int:
    readme, out_dir = sys.argv[1], sys.argv[2]
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    os.makedirs(out_dir, exist_ok=True)
    blocks = re.findall(r"^```(c|cpp)\n(.*?)^```$", text, flags=re.M | re.S)
    for n, (lang, body) in enumerate(blocks, start=1):
        name = os.path.join(out_dir, f"readme_block_{n}.{'c' if lang == 'c' else 'cc'}")
        source = f"/* {os.path.basename(readme)}, code block {n} ({lang}) */\n{body}"
        old = None
        if os.path.exists(name):
            with open(name, encoding="utf-8") as f:
                old = f.read()
        if old != source:
            with open(name, "w", encoding="utf-8") as f:
                f.write(source)
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
