"""Pure warehouse rules: no Flask, SQL or hardware imports (a test enforces it)."""
